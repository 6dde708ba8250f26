//! Output for commands that wait: a live status line rewritten in place on
//! a terminal, plain lines otherwise; durations and times for people.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The output: a live status line rewritten in place on a terminal; plain
/// lines, without the live status, otherwise.
pub struct Status {
    live: bool,
    drawn: bool,
}

impl Status {
    pub fn new() -> Self {
        Status {
            live: std::io::stdout().is_terminal(),
            drawn: false,
        }
    }

    /// A line that stays.
    pub fn line(&mut self, text: &str) {
        self.clear();
        println!("{text}");
    }

    /// A line that stays, only where no live status shows it.
    pub fn line_if_plain(&mut self, text: &str) {
        if !self.live {
            println!("{text}");
        }
    }

    /// The live status (terminals only).
    pub fn status(&mut self, text: &str) {
        if self.live {
            let mut out = std::io::stdout().lock();
            // \r and "erase line": rewrite the status in place.
            let _ = write!(out, "\r\x1b[2K{text}");
            let _ = out.flush();
            self.drawn = true;
        }
    }

    pub fn clear(&mut self) {
        if self.drawn {
            print!("\r\x1b[2K");
            let _ = std::io::stdout().flush();
            self.drawn = false;
        }
    }
}

/// Text a server chose, safe to print: control characters (terminal
/// escapes among them) become `?`.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// A duration in its largest units: `4s`, `1m02s`, `3h02m`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs() + u64::from(d.subsec_millis() >= 500);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A time as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_renders_calendar_dates() {
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(utc(t), "2024-02-29 12:34:56 UTC");
    }

    #[test]
    fn server_text_loses_its_control_characters() {
        assert_eq!(clean("ok\x1b[2J\nnext"), "ok?[2J?next");
    }

    #[test]
    fn durations_read_in_the_largest_units() {
        assert_eq!(human(Duration::from_secs(4)), "4s");
        assert_eq!(human(Duration::from_secs(62)), "1m02s");
        assert_eq!(human(Duration::from_secs(3 * 3600 + 120)), "3h02m");
        assert_eq!(human(Duration::from_secs(86_400)), "1d00h");
    }
}
