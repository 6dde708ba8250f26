//! DD64's processing: one run of steps 1 to 4, and how each `/kyc-check`
//! answer moves the algorithm's variables.

use std::time::SystemTime;

use mooring_stellar::{ClientAccount, PublicKey};
use url::Url;

use super::wire::{Attempt, CheckAnswer, ErrorBody, OperationDenied, memo_from};
use super::{
    Action, Anchor, BackoffReason, KycWait, Limit, Outcome, Target, Verdict, evaluate,
    is_zero_limited, next_backoff,
};

/// Where step 3 leaves a run.
pub(super) enum Next {
    Done(Outcome),
    /// DD64 step 4, with these limits (`None`: the defaults of `GET /limits`).
    Limits(LimitsCase),
}

pub(super) struct LimitsCase {
    limits: Option<Vec<Limit>>,
    kyc_url: Option<Url>,
    kyc_type: Option<String>,
    kyc_done: bool,
    aml_review: bool,
}

impl KycWait {
    /// One DD64 processing run: step 1 tries the operation unless it was
    /// denied within the retry interval, step 2 asks `/kyc-check`, step 3
    /// reads the answer, step 4 the exposed limits.
    pub async fn run(&mut self, anchor: &Anchor) -> Outcome {
        if !self.initialized {
            self.initialize(anchor).await;
        }
        if self.may_attempt((self.clock)()) {
            self.window_again_at = None;
            match self.attempt(anchor).await {
                Attempt::Allowed => {
                    self.action = Action::None;
                    return Outcome::Allowed;
                }
                Attempt::Denied(denied) => self.on_denied(denied),
                Attempt::Failed(reason) => return self.back_off(reason),
            }
        }
        let answer = match self.kyc_check(anchor).await {
            Ok(answer) => answer,
            Err(reason) => return self.back_off(reason),
        };
        match self.on_answer(answer) {
            Next::Done(outcome) => outcome,
            Next::Limits(mut case) => {
                if case.limits.is_none() {
                    match anchor.limits().await {
                        Ok(d) => self.defaults = Some(d),
                        Err(e) => return self.back_off(BackoffReason::Unreachable(e.to_string())),
                    }
                    case = self.with_defaults(case);
                }
                self.step4(case)
            }
        }
    }

    /// DD64 initialization of `last_deny`; an anchor whose `/limits` can't be
    /// read is simply tried.
    async fn initialize(&mut self, anchor: &Anchor) {
        self.initialized = true;
        if let Ok(defaults) = anchor.limits().await {
            if is_zero_limited(&defaults, self.op, &self.asset, self.amount) {
                self.last_deny = Some((self.clock)());
            }
            self.defaults = Some(defaults);
        }
    }

    /// DD64 step 1's condition; `>=` so that `AgainAt(last_deny + 1 h)` tries.
    pub(super) fn may_attempt(&self, now: SystemTime) -> bool {
        match self.last_deny {
            None => true,
            Some(denied) => {
                now >= denied + self.retry_interval
                    || self.window_again_at.is_some_and(|t| now >= t)
            }
        }
    }

    fn on_denied(&mut self, denied: OperationDenied) {
        self.last_deny = Some((self.clock)());
        self.last_bad_kyc_auth = denied.bad_kyc_auth;
        self.last_hard_deny = !denied.soft_limit;
        if let Ok(account) = ClientAccount::parse(&denied.account) {
            let memo = denied.memo.as_ref().and_then(memo_from);
            self.target = Target { account, memo };
        }
    }

    fn back_off(&mut self, reason: BackoffReason) -> Outcome {
        self.backoff = Some(next_backoff(self.backoff));
        Outcome::Backoff { reason }
    }

    /// DD64 step 3, up to where step 4 needs limits.
    pub(super) fn on_answer(&mut self, answer: CheckAnswer) -> Next {
        let status = answer.status();
        let code = answer.code();
        // A failure says nothing of rule_gen: keep it for `min_rule`.
        let rule_gen = match answer {
            CheckAnswer::Failed(_) => self.last_rule_gen,
            _ => answer.rule_gen(),
        };
        let same = self.last_check_status == Some(status)
            && self.last_check_code == code
            && self.last_rule_gen == rule_gen;
        self.last_check_status = Some(status);
        self.last_check_code = code;
        self.last_rule_gen = rule_gen;
        if !same {
            // docs/kyc.md: the backoff resets when the answer changes in any way.
            self.backoff = None;
        }
        let outcome = match answer {
            CheckAnswer::Failed(m) => self.back_off(BackoffReason::Unreachable(m)),
            // docs/kyc.md: after a hard denial, a 200 goes to step 4 with
            // its limits — once, even when it repeats the last answer — so
            // that a limit nothing can lift is reported as such instead of
            // retried every hour.
            CheckAnswer::Ok(s) if self.last_hard_deny => {
                self.last_hard_deny = false;
                self.last_aml_review = Some(s.aml_review);
                return Next::Limits(LimitsCase {
                    kyc_done: s.state.is_done(),
                    aml_review: s.aml_review,
                    limits: Some(s.limits),
                    kyc_url: s.kyc_url,
                    kyc_type: s.kyc_type,
                });
            }
            _ if same => self.back_off(BackoffReason::Unchanged),
            CheckAnswer::Ok(s) => {
                self.last_aml_review = Some(s.aml_review);
                self.last_deny = None;
                self.action = Action::None;
                Outcome::Progress
            }
            CheckAnswer::Disabled => {
                self.last_deny = None;
                self.action = Action::None;
                Outcome::Progress
            }
            CheckAnswer::Required(s) => {
                self.last_aml_review = Some(s.aml_review);
                let verdict = evaluate(
                    &s.limits,
                    self.op,
                    &self.asset,
                    self.amount,
                    s.state.is_done(),
                );
                if verdict != Verdict::Allowed {
                    return Next::Limits(LimitsCase {
                        kyc_done: s.state.is_done(),
                        aml_review: s.aml_review,
                        limits: Some(s.limits),
                        kyc_url: s.kyc_url,
                        kyc_type: s.kyc_type,
                    });
                }
                self.action = if s.aml_review {
                    Action::AwaitReview
                } else {
                    Action::None
                };
                Outcome::Progress
            }
            CheckAnswer::Forbidden(body) => self.on_forbidden(body),
            CheckAnswer::Unknown(body) if !self.last_bad_kyc_auth => {
                return Next::Limits(self.with_defaults(LimitsCase {
                    limits: body.limits,
                    kyc_url: None,
                    kyc_type: None,
                    kyc_done: false,
                    aml_review: false,
                }));
            }
            CheckAnswer::Unknown(_) => {
                let (kyc_url, kyc_type) = self.default_kyc();
                self.action = Action::OpenRecord { kyc_url, kyc_type };
                self.back_off(BackoffReason::KycAuth)
            }
            CheckAnswer::Unbound(body) => {
                let (url, kind) = self.default_kyc();
                self.action = Action::OpenRecord {
                    kyc_url: body.kyc_url.or(url),
                    kyc_type: body.kyc_type.or(kind),
                };
                self.back_off(BackoffReason::KycAuth)
            }
            CheckAnswer::Other(status, body) => self.back_off(BackoffReason::Refused {
                status,
                message: body.error.unwrap_or_default(),
            }),
        };
        Next::Done(outcome)
    }

    /// DD64 step 3, 403: switch to the expected key if the wallet holds it.
    fn on_forbidden(&mut self, body: ErrorBody) -> Outcome {
        let Some(expected) = body
            .expected_account_pub
            .as_deref()
            .and_then(|k| PublicKey::parse(k).ok())
        else {
            let message = body.error.unwrap_or_default();
            return self.back_off(BackoffReason::Refused {
                status: 403,
                message,
            });
        };
        let held = self
            .keypairs
            .iter()
            .position(|k| k.public_key() == expected);
        match held {
            Some(i) if i != self.account_key => {
                self.account_key = i;
                self.action = Action::None;
                Outcome::Progress
            }
            _ => {
                self.action = Action::ProvideKey {
                    account_pub: expected,
                    memo: body.expected_memo.as_ref().and_then(memo_from),
                };
                self.back_off(BackoffReason::WrongKey)
            }
        }
    }

    /// DD64 step 4 (docs/kyc.md decides its branches).
    pub(super) fn step4(&mut self, case: LimitsCase) -> Outcome {
        let limits = case.limits.unwrap_or_default();
        let now = (self.clock)();
        let hourly = self.last_deny.unwrap_or(now) + self.retry_interval;
        match evaluate(&limits, self.op, &self.asset, self.amount, case.kyc_done) {
            Verdict::Never {
                rule_name,
                threshold,
            } => {
                self.action = Action::Impossible {
                    rule_name,
                    threshold,
                };
                self.back_off(BackoffReason::HardLimit)
            }
            Verdict::NeedsKyc { .. } => {
                self.action = if case.aml_review {
                    Action::AwaitReview
                } else {
                    Action::CompleteKyc {
                        kyc_url: case.kyc_url,
                        kyc_type: case.kyc_type,
                    }
                };
                self.back_off(BackoffReason::KycRequired)
            }
            Verdict::Window { until } => {
                self.window_again_at = until;
                let at = until.unwrap_or(hourly);
                self.action = Action::WaitUntil(at);
                Outcome::AgainAt(at)
            }
            // A hidden rule is in the way: DD64 tries again after the interval.
            Verdict::Allowed => {
                self.action = Action::WaitUntil(hourly);
                Outcome::AgainAt(hourly)
            }
        }
    }

    fn default_kyc(&self) -> (Option<Url>, Option<String>) {
        self.defaults
            .as_ref()
            .map(|d| (d.kyc_url.clone(), d.kyc_type.clone()))
            .unwrap_or_default()
    }

    fn with_defaults(&self, mut case: LimitsCase) -> LimitsCase {
        if let Some(d) = &self.defaults {
            case.limits = case.limits.or_else(|| Some(d.limits.clone()));
            case.kyc_url = case.kyc_url.or_else(|| d.kyc_url.clone());
            case.kyc_type = case.kyc_type.or_else(|| d.kyc_type.clone());
        }
        case
    }
}
