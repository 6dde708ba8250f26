//! Checking a text value against its field's encoding (SEP-9 §Encodings):
//! errors name the field, never the value.

use super::Kind::{self, *};
use super::{Field, MAX_MULTILINE, MAX_TEXT, iso};

/// Why a value was refused; the text names the field, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{field}' {problem}")]
pub struct Invalid {
    /// The field.
    pub field: String,
    /// What is wrong, in the seed's style ("cannot be decoded. Must be jpg or png.").
    pub problem: String,
}

pub(super) fn invalid(field: &str, problem: impl Into<String>) -> Invalid {
    Invalid {
        field: field.to_owned(),
        problem: problem.into(),
    }
}

/// Checks a text value against its field's encoding; returns it normalised
/// (trimmed). Binary fields are checked by [`sniff`] instead.
pub fn validate(field: &Field, raw: &str, phone_is_hash: bool) -> Result<String, Invalid> {
    let value = raw.trim();
    let name = field.name;
    if value.is_empty() {
        return Err(invalid(name, "must not be empty"));
    }
    let (limit, multiline) = match field.kind {
        MultiLine => (MAX_MULTILINE, true),
        _ => (MAX_TEXT, false),
    };
    if value.chars().count() > limit {
        return Err(invalid(name, format!("is longer than {limit} characters")));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
    {
        return Err(invalid(name, "contains control characters"));
    }
    if value.chars().any(is_bidi_control) {
        return Err(invalid(
            name,
            "contains bidirectional control characters (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C)",
        ));
    }
    let ok = match field.kind {
        Text | MultiLine => true,
        Date => is_date(value),
        YearMonth => is_year_month(value),
        Integer => {
            !value.is_empty() && value.len() <= 18 && value.bytes().all(|b| b.is_ascii_digit())
        }
        Occupation => (1..=4).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()),
        Country3 => iso::is_country3(value),
        Country2 => iso::is_country2(value),
        Language => iso::is_language(value),
        Phone => phone_is_hash || is_e164(value),
        Email => is_email(value),
        Choice(c) => c.contains(&value),
        Binary(_) => {
            return Err(invalid(
                name,
                "is a file: send it as multipart/form-data or as <field>_file_id",
            ));
        }
    };
    if ok {
        Ok(value.to_owned())
    } else {
        Err(invalid(name, expected(field.kind)))
    }
}

/// Unicode's explicit directional formatting characters (UAX #9 §2):
/// invisible, they make a name or an address display as something else
/// ("Trojan Source", CVE-2021-42574).
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

fn expected(kind: Kind) -> String {
    match kind {
        Date => "must be a date in ISO 8601 format, YYYY-MM-DD".into(),
        YearMonth => "must be a year and month as YY-MM".into(),
        Integer => "must be a non-negative whole number".into(),
        Occupation => "must be an ISCO-08 occupation code (1 to 4 digits)".into(),
        Country3 => "must be an ISO 3166-1 alpha-3 country code, e.g. USA".into(),
        Country2 => "must be an ISO 3166-1 alpha-2 country code, e.g. US".into(),
        Language => "must be an ISO 639-1 language code, e.g. en".into(),
        Phone => "must be a phone number in E.164 format, e.g. +14155552671".into(),
        Email => "must be an email address".into(),
        Choice(c) => format!("must be one of: {}", c.join(", ")),
        Text | MultiLine | Binary(_) => "is not valid".into(),
    }
}

/// ISO 8601 calendar date `YYYY-MM-DD`, a real day.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| {
        s.get(r)
            .filter(|p| p.bytes().all(|c| c.is_ascii_digit()))?
            .parse::<u32>()
            .ok()
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1 && (1..=days).contains(&d)
}

fn is_year_month(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 5
        && b[2] == b'-'
        && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit())
        && matches!(s[3..5].parse::<u32>(), Ok(1..=12))
}

/// E.164: `+`, a country code not starting with 0, at most 15 digits in all.
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// A pragmatic email check: one `@`, a plausible local part, a domain of
/// dot-separated labels with a top-level name.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = s.len() <= 254
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|t| t.len() >= 2 && t.bytes().all(|b| b.is_ascii_alphabetic()));
    local_ok && domain_ok
}
