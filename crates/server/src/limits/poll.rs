//! `/kyc-check`'s long polls (Taler's `timeout_ms`, `lpt`, `min_rule`):
//! what a poll waits for, and the wait itself — subscribed before each
//! read, woken by a change anywhere, re-reading every [`REREAD`] anyway.

use std::time::Duration;

use tokio::time::Instant;

use super::service::{LimitError, Limits, Poll, Status, speaks_for};
use crate::http::Principal;
use crate::kyc::Target;

/// A waiting poll re-reads the state this often even without a wake-up
/// (a notification lost while a listener reconnected; SQLite replicas).
const REREAD: Duration = Duration::from_secs(15);

impl Limits {
    /// `GET /kyc-check/{account}`: the status now, or — long polling — as
    /// soon as it is what the poll waits for, or at the timeout.
    pub async fn kyc_check(
        &self,
        p: &Principal,
        t: &Target,
        poll: Poll,
    ) -> Result<Status, LimitError> {
        if !speaks_for(p, t) {
            return Err(LimitError::NotYours {
                expected: t.clone(),
            });
        }
        if !self.enabled() {
            return Ok(Status::Disabled);
        }
        let deadline = Instant::now() + poll.timeout.min(self.long_poll_max);
        let mut first: Option<(u16, u64)> = None;
        loop {
            // Subscribed before reading, so a change made while reading
            // still wakes this poll.
            let notify = self.standing().wakeups().subscribe(t);
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Boxed: the poll's future stays small while it waits (the
            // evaluation's state is freed once answered), which is most of
            // what a held poll costs.
            let answer = Box::pin(self.answer(t)).await;
            let Some(now) = summary(&answer) else {
                return answer;
            };
            let first = *first.get_or_insert(now);
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !waits(&poll, now, first) {
                return answer;
            }
            // Not kept while waiting: a held poll costs what it holds,
            // and the answer is read again when the wait ends.
            drop(answer);
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep(left.min(REREAD)) => {}
            }
        }
    }
}

/// The status code and `rule_gen` of an answer a poll may wait on; `None`
/// for one it never waits on.
fn summary(answer: &Result<Status, LimitError>) -> Option<(u16, u64)> {
    match answer {
        Ok(Status::Clear(s)) => Some((200, s.rule_gen)),
        Ok(Status::Required(s)) => Some((202, s.rule_gen | if s.aml_review { 1 << 63 } else { 0 })),
        Err(LimitError::Unknown { .. }) => Some((404, 0)),
        Err(LimitError::Unbound { rule_gen, .. }) => Some((409, *rule_gen)),
        _ => None,
    }
}

/// Whether a poll keeps waiting, its answer being `now` (status, rule_gen
/// with the review flag in the top bit) and its first one `first`.
fn waits(poll: &Poll, now: (u16, u64), first: (u16, u64)) -> bool {
    if poll.timeout.is_zero() {
        return false;
    }
    let (status, tagged) = now;
    let review = tagged >> 63 == 1;
    let rule_gen = tagged & !(1 << 63);
    let lpt = match poll.lpt {
        Some(1) => Some(matches!(status, 404 | 409)),
        Some(2) => Some(review),
        Some(3) => Some(status == 202),
        _ => None,
    };
    let older = poll.min_rule.map(|m| rule_gen <= m);
    match (lpt, older) {
        (Some(l), Some(o)) => l && o,
        (Some(l), None) => l,
        (None, Some(o)) => o,
        (None, None) => now == first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_poll_waits_for() {
        let p = |lpt, min_rule| Poll {
            timeout: Duration::from_secs(1),
            lpt,
            min_rule,
        };
        let review = |generation: u64| generation | (1 << 63);
        // lpt=1: until known and bound.
        assert!(waits(&p(Some(1), None), (409, 0), (409, 0)));
        assert!(!waits(&p(Some(1), None), (202, 3), (409, 0)));
        // lpt=2: until the review ends.
        assert!(waits(&p(Some(2), None), (202, review(4)), (202, review(4))));
        assert!(!waits(&p(Some(2), None), (200, 5), (202, review(4))));
        // lpt=3: until KYC is no longer required.
        assert!(waits(&p(Some(3), None), (202, 2), (202, 2)));
        assert!(!waits(&p(Some(3), None), (200, 3), (202, 2)));
        // min_rule: until a newer rule.
        assert!(waits(&p(None, Some(4)), (202, 4), (202, 4)));
        assert!(!waits(&p(None, Some(4)), (202, 5), (202, 4)));
        // Both: either ends it.
        assert!(!waits(
            &p(Some(2), Some(4)),
            (202, review(5)),
            (202, review(4))
        ));
        // Neither: any change.
        assert!(waits(&p(None, None), (404, 0), (404, 0)));
        assert!(!waits(&p(None, None), (409, 0), (404, 0)));
        // lpt beyond 3 is none (Taler ignores it).
        assert!(!waits(&p(Some(7), None), (202, 2), (200, 1)));
        // No timeout: never.
        assert!(!waits(&Poll::default(), (404, 0), (404, 0)));
    }
}
