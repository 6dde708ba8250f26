//! The rules: which limits apply to an account, whether an operation
//! passes them, and the account's KYC status as `/kyc-check` answers it,
//! long polls included (docs/kyc.md); staff's side is in `staff.rs`.

use std::sync::Arc;
use std::time::Duration;

use mooring_stellar::{Amount, PublicKey};
use serde::Serialize;
use utoipa::ToSchema;

use super::store;
use crate::clock::Clock;
use crate::config::{KycState, LimitsConfig, Op, Rule};
use crate::db::{Conn, DbError, Tx};
use crate::http::Principal;
use crate::kyc::{Evaluated, KycError, Standing, Target};
use crate::{audit, with_tx};

/// Taler's `TALER_EC_EXCHANGE_GENERIC_KYC_REQUIRED`, kept so that clients
/// written for Taler read the 451 the same way.
pub const CODE_KYC_REQUIRED: u32 = 1028;
/// Taler's `TALER_EC_EXCHANGE_KYC_CHECK_AUTHORIZATION_FAILED`.
pub const CODE_AUTHORIZATION_FAILED: u32 = 1930;
/// Taler's `TALER_EC_EXCHANGE_KYC_CHECK_REQUEST_UNKNOWN`.
pub const CODE_UNKNOWN: u32 = 1935;
/// Taler's `TALER_EC_EXCHANGE_KYC_CHECK_AUTHORIZATION_KEY_UNKNOWN`.
pub const CODE_KEY_UNKNOWN: u32 = 1937;

/// A limit as clients see it (Taler's `AccountLimit`, with the asset and
/// what counts against it now).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = limits::Limit)]
pub struct Limit {
    /// The operation.
    #[schema(value_type = Operation)]
    pub operation_type: Op,
    /// The rule's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub rule_name: Option<String>,
    /// SEP-38 asset: `stellar:CODE:ISSUER`, `stellar:native` or `iso4217:XXX`.
    pub asset: String,
    /// The most allowed (per operation, or in the window): a decimal with at
    /// most 7 places.
    #[schema(value_type = String, pattern = "^[0-9]+(\\.[0-9]{1,7})?$")]
    pub threshold: Amount,
    /// The rolling window in seconds, or `null`: per operation.
    #[schema(required = true)]
    pub timeframe_secs: Option<u64>,
    /// Passing KYC lifts it.
    pub soft_limit: bool,
    /// Counted against the threshold now (in the window; 0 for a limit per
    /// operation).
    #[schema(value_type = String, pattern = "^[0-9]+(\\.[0-9]{1,7})?$")]
    pub used: Amount,
    /// When the oldest operation counted leaves the window (unix seconds),
    /// or `null`: nothing counted.
    #[schema(required = true)]
    pub resets_at: Option<i64>,
}

/// An operation a limit applies to (`config::Op`).
#[derive(ToSchema)]
#[schema(as = limits::Operation, rename_all = "lowercase")]
#[allow(dead_code)] // described; `config::Op` is what is sent
pub enum Operation {
    /// SEP-6/24 deposits.
    Deposit,
    /// SEP-6/24 withdrawals.
    Withdraw,
    /// Payments sent (SEP-31).
    Send,
    /// Payments received.
    Receive,
    /// Firm quotes (SEP-38).
    Quote,
}

/// An account's KYC state (`config::KycState`; docs/kyc.md §KYC state and
/// rules).
#[derive(ToSchema)]
#[schema(as = limits::KycState, rename_all = "lowercase")]
#[allow(dead_code)] // described; `config::KycState` is what is sent
pub enum KycStateName {
    /// No SEP-12 record, or one that needs information.
    None,
    /// Under review.
    Pending,
    /// Accepted.
    Accepted,
    /// Attested by an accepted account (DD45).
    Inherited,
    /// Rejected.
    Rejected,
}

/// An account's KYC status (Taler's `AccountKycStatus`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = limits::AccountKycStatus)]
pub struct AccountStatus {
    /// The account's KYC state.
    #[schema(value_type = KycStateName)]
    pub state: KycState,
    /// Under review (state `pending`).
    pub aml_review: bool,
    /// Bumped by every change of state or rules (for `min_rule`).
    #[schema(minimum = 0)]
    pub rule_gen: u64,
    /// The SEP-12 server.
    pub kyc_url: String,
    /// The SEP-12 customer type whose acceptance lifts soft limits.
    #[serde(rename = "type")]
    pub kind: String,
    /// The exposed limits in force.
    pub limits: Vec<Limit>,
}

/// What `/kyc-check` answers when it is not an error.
#[derive(Debug, Clone)]
pub enum Status {
    /// 204: KYC is off.
    Disabled,
    /// 200: no KYC needed now.
    Clear(AccountStatus),
    /// 202: KYC needed (or under review).
    Required(AccountStatus),
}

/// Why an operation is refused: the body of the 451.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = limits::Denial)]
pub struct Denial {
    /// Taler's `TALER_EC_EXCHANGE_GENERIC_KYC_REQUIRED`.
    #[schema(minimum = 1028, maximum = 1028)]
    pub code: u32,
    /// What to do (also the `error`).
    pub hint: String,
    /// The target to check.
    pub account: String,
    /// Its memo, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub memo: Option<String>,
    /// The key KYC is bound to: the account's own.
    pub account_pub: String,
    /// The operation's key is not that one.
    pub bad_kyc_auth: bool,
    /// Whether passing KYC can lift the limit.
    pub soft_limit: bool,
    /// The limit's name, when exposed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub rule_name: Option<String>,
    /// Where to check: `/kyc-check/{account}`.
    pub kyc_check: String,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    /// 400.
    #[error("{0}")]
    Invalid(String),
    /// 403: the caller may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 403 (`/kyc-check`): the token is for another account.
    #[error("the token is not for this account; authenticate with SEP-10 as it")]
    NotYours {
        /// The account (and memo) the token must be for.
        expected: Target,
    },
    /// 404: never seen.
    #[error("the account is not known here: it has no KYC record and was never gated")]
    Unknown {
        /// The default exposed limits.
        limits: Vec<Limit>,
    },
    /// 409: known, but with no SEP-12 record to bind KYC to.
    #[error(
        "the account has no KYC record here to bind to; open one with PUT /customer and the account's SEP-10 token"
    )]
    Unbound {
        /// The SEP-12 server.
        kyc_url: String,
        /// The type to use.
        kind: String,
        /// Its `rule_gen` (for `min_rule`).
        rule_gen: u64,
    },
    /// 451.
    #[error("{}", .0.hint)]
    KycRequired(Box<Denial>),
    /// 500.
    #[error(transparent)]
    Kyc(#[from] KycError),
}

impl From<DbError> for LimitError {
    fn from(e: DbError) -> Self {
        LimitError::Kyc(e.into())
    }
}

/// An operation to check.
#[derive(Debug, Clone)]
pub struct Check {
    /// Whose.
    pub target: Target,
    /// What.
    pub op: Op,
    /// How much.
    pub amount: Amount,
    /// Of which SEP-38 asset.
    pub asset: String,
    /// The key that authorises it, when not the account's own.
    pub key: Option<PublicKey>,
    /// Count it in the rolling windows when allowed (admin only).
    pub record: bool,
}

/// Who asks.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A wallet, with its SEP-10 token.
    Wallet(Principal),
    /// The business server, with the admin token.
    Admin(String),
}

/// A long poll's parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Poll {
    /// How long to wait at most.
    pub timeout: Duration,
    /// Taler's long-poll target: 1, 2 or 3 (others: none).
    pub lpt: Option<u8>,
    /// Answer once `rule_gen` is greater.
    pub min_rule: Option<u64>,
}

/// What [`Limits`] is built from.
pub struct LimitsParts {
    /// The standings.
    pub standing: Arc<Standing>,
    /// `[limits]`.
    pub cfg: LimitsConfig,
    /// The longest long poll.
    pub long_poll_max: Duration,
    /// The SEP-12 server's URL.
    pub kyc_url: String,
    /// The public base URL (for `kyc_check` links).
    pub public_url: String,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

/// The limits service.
pub struct Limits {
    pub(super) standing: Arc<Standing>,
    pub(super) cfg: LimitsConfig,
    pub(super) long_poll_max: Duration,
    pub(super) kyc_url: String,
    pub(super) public_url: String,
    pub(super) clock: Arc<dyn Clock>,
}

/// Whether a token speaks for `t`: its account, and its memo when it has
/// one (a token without one speaks for every memo of its account, as in
/// SEP-12 §Shared Accounts).
pub fn speaks_for(p: &Principal, t: &Target) -> bool {
    let memo = p.memo.map(|m| m.value()).or(p.account.muxed_id());
    p.account.account() == t.account && memo.is_none_or(|m| Some(m) == t.memo)
}

impl Limits {
    /// The service.
    pub fn new(parts: LimitsParts) -> Limits {
        Limits {
            standing: parts.standing,
            cfg: parts.cfg,
            long_poll_max: parts.long_poll_max,
            kyc_url: parts.kyc_url,
            public_url: parts.public_url,
            clock: parts.clock,
        }
    }

    pub(super) fn now(&self) -> i64 {
        i64::try_from(self.clock.now()).unwrap_or(i64::MAX)
    }

    /// Gating is on.
    pub fn enabled(&self) -> bool {
        self.cfg.enabled
    }

    /// The standings.
    pub fn standing(&self) -> &Standing {
        &self.standing
    }

    /// The SEP-12 type whose acceptance lifts soft limits.
    pub fn kyc_type(&self) -> &str {
        self.standing.kyc_type()
    }

    /// The SEP-12 server.
    pub fn kyc_url(&self) -> &str {
        &self.kyc_url
    }

    pub(super) fn rules<'a>(&'a self, ev: &'a Evaluated) -> &'a [Rule] {
        ev.rules.as_deref().unwrap_or(&self.cfg.rules)
    }

    /// The exposed limits of an account never seen (`GET /limits`, and
    /// the body of a 404).
    pub fn defaults(&self) -> Vec<Limit> {
        self.cfg
            .rules
            .iter()
            .filter(|r| r.exposed && r.applies_in(KycState::None))
            .map(|r| limit(r, Amount::ZERO, None))
            .collect()
    }

    /// What counts against `rule` for `t` now, and when the oldest of it
    /// leaves the window.
    pub(super) async fn used(
        &self,
        c: Conn<'_>,
        t: &Target,
        rule: &Rule,
    ) -> Result<(Amount, Option<i64>), LimitError> {
        let Some(window) = rule.timeframe_secs else {
            return Ok((Amount::ZERO, None));
        };
        let window = i64::try_from(window).unwrap_or(i64::MAX);
        let since = self.now().saturating_sub(window);
        let (sum, oldest) = store::used_since(c, t, rule.op.as_str(), &rule.asset, since).await?;
        Ok((
            Amount::from_units(sum).unwrap_or_default(),
            oldest.map(|o| o.saturating_add(window)),
        ))
    }

    /// The exposed limits in force for an evaluated account.
    async fn in_force(&self, ev: &Evaluated) -> Result<Vec<Limit>, LimitError> {
        let mut out = Vec::new();
        for r in self.rules(ev) {
            if r.exposed && r.applies_in(ev.state) {
                let (used, resets_at) = self
                    .used(self.standing.db().reader(), &ev.target, r)
                    .await?;
                out.push(Limit {
                    soft_limit: r.soft_limit
                        && !ev.state.passed()
                        && ev.state != KycState::Rejected,
                    ..limit(r, used, resets_at)
                });
            }
        }
        Ok(out)
    }

    /// `POST /operations/check`: allowed (with the account's state and
    /// `rule_gen`), or the 451 that says how to lift the limit.
    pub async fn check(&self, caller: &Caller, c: Check) -> Result<(KycState, u64), LimitError> {
        match caller {
            Caller::Wallet(p) if !speaks_for(p, &c.target) => {
                return Err(LimitError::Forbidden(
                    "the token is not for this account; check operations of your own account",
                ));
            }
            Caller::Wallet(_) if c.record => {
                return Err(LimitError::Forbidden(
                    "only the business server (admin token, admin listener) records operations",
                ));
            }
            _ => {}
        }
        if !self.cfg.enabled {
            return Ok((KycState::None, 0));
        }
        let ev = self.standing.evaluate(&c.target).await?;
        self.check_evaluated(caller, &ev, c).await
    }

    /// [`Limits::check`] of an operation of `ev`'s target, evaluated by the
    /// caller (the gate of other capabilities evaluates once for both).
    pub(super) async fn check_evaluated(
        &self,
        caller: &Caller,
        ev: &Evaluated,
        c: Check,
    ) -> Result<(KycState, u64), LimitError> {
        if !c.record {
            let denied = self.judge(self.standing.db().reader(), ev, &c).await?;
            return match denied {
                Some(d) => Err(self.deny(ev, &c, d).await?),
                None => Ok((ev.state, ev.rule_gen)),
            };
        }
        // Checked and recorded in one transaction, the account's row
        // locked, so that two operations cannot both fit the same room.
        let mut tx = self.standing.db().begin().await?;
        self.standing.touch(&mut tx, &c.target, ev.state).await?;
        lock(&mut tx, &c.target).await?;
        if let Some(d) = self.judge((&mut tx).into(), ev, &c).await? {
            drop(tx);
            return Err(self.deny(ev, &c, d).await?);
        }
        store::record(
            &mut tx,
            &c.target,
            c.op.as_str(),
            &c.asset,
            c.amount.units(),
            self.now(),
        )
        .await?;
        if let Caller::Admin(actor) = caller {
            audit::record(
                &mut tx,
                actor,
                "limits.record",
                None,
                Some(&format!("{} {} {}", c.op.as_str(), c.amount, c.asset)),
                self.now(),
            )
            .await?;
        }
        tx.commit().await?;
        if !ev.known {
            // Known from now on: a poll waiting for that (lpt=1) hears it.
            self.standing.announce(&c.target).await;
        }
        Ok((ev.state, ev.rule_gen))
    }

    /// The limit in force for `ev` that forbids `c`, if any, and whether
    /// passing KYC would lift it.
    async fn judge<'a>(
        &'a self,
        mut conn: Conn<'_>,
        ev: &'a Evaluated,
        c: &Check,
    ) -> Result<Option<(&'a Rule, bool)>, LimitError> {
        let mut denied: Option<(&Rule, bool)> = None;
        for r in self.rules(ev) {
            if r.op != c.op || r.asset != c.asset || !r.applies_in(ev.state) {
                continue;
            }
            let (used, _) = self.used(conn.reborrow(), &c.target, r).await?;
            let fits = used
                .checked_add(c.amount)
                .is_some_and(|total| total <= r.threshold);
            if fits {
                continue;
            }
            // KYC lifts a soft limit — unless it has been done, or
            // refused for good (SEP-12: REJECTED is final).
            let soft = r.soft_limit && !ev.state.passed() && ev.state != KycState::Rejected;
            // A hard limit outranks a soft one: KYC would not help.
            if denied.is_none_or(|(_, s)| s && !soft) {
                denied = Some((r, soft));
            }
        }
        Ok(denied)
    }

    /// The 451 for `c`, denied by `rule`; a soft denial makes KYC required.
    async fn deny(
        &self,
        ev: &Evaluated,
        c: &Check,
        (rule, soft): (&Rule, bool),
    ) -> Result<LimitError, LimitError> {
        if soft {
            self.standing.require_kyc(&c.target, ev.state).await?;
        }
        let bad_kyc_auth = c.key.is_some_and(|k| k != c.target.account);
        let hint = match (soft, bad_kyc_auth) {
            (true, false) => format!(
                "KYC is required: complete SEP-12 as type {} at {}, then try again",
                self.kyc_type(),
                self.kyc_url
            ),
            (true, true) => "KYC is required, and it is bound to the account's own key: authorise the operation with the account's key".to_owned(),
            (false, _) => "over a limit that KYC does not lift".to_owned(),
        };
        let memo = c.target.memo.map(|m| m.to_string());
        let query = memo
            .as_ref()
            .map(|m| format!("?memo={m}"))
            .unwrap_or_default();
        Ok(LimitError::KycRequired(Box::new(Denial {
            code: CODE_KYC_REQUIRED,
            hint,
            account: c.target.address(),
            memo,
            account_pub: c.target.address(),
            bad_kyc_auth,
            soft_limit: soft,
            rule_name: rule.exposed.then(|| rule.name.clone()).flatten(),
            kyc_check: format!(
                "{}/kyc-check/{}{query}",
                self.public_url.trim_end_matches('/'),
                c.target.address()
            ),
        })))
    }

    /// The answer of `/kyc-check` now.
    pub(super) async fn answer(&self, t: &Target) -> Result<Status, LimitError> {
        let ev = self.standing.evaluate(t).await?;
        if !ev.known {
            return Err(LimitError::Unknown {
                limits: self.defaults(),
            });
        }
        if !ev.bound {
            return Err(LimitError::Unbound {
                kyc_url: self.kyc_url.clone(),
                kind: self.kyc_type().to_owned(),
                rule_gen: ev.rule_gen,
            });
        }
        let status = AccountStatus {
            state: ev.state,
            aml_review: ev.state == KycState::Pending,
            rule_gen: ev.rule_gen,
            kyc_url: self.kyc_url.clone(),
            kind: self.kyc_type().to_owned(),
            limits: self.in_force(&ev).await?,
        };
        Ok(if ev.state.passed() {
            Status::Clear(status)
        } else if ev.state == KycState::Pending || ev.kyc_required {
            Status::Required(status)
        } else {
            Status::Clear(status)
        })
    }
}

fn limit(r: &Rule, used: Amount, resets_at: Option<i64>) -> Limit {
    Limit {
        operation_type: r.op,
        rule_name: r.name.clone(),
        asset: r.asset.clone(),
        threshold: r.threshold,
        timeframe_secs: r.timeframe_secs,
        soft_limit: r.soft_limit,
        used,
        resets_at,
    }
}

/// Locks the target's row until the transaction ends (SQLite's writer is
/// already alone).
async fn lock(tx: &mut Tx, t: &Target) -> Result<(), DbError> {
    if let Tx::Postgres(_) = tx {
        with_tx!(tx, c => sqlx::query(
            "SELECT 1 FROM kyc_accounts WHERE account = $1 AND memo = $2 AND memo_type = $3 FOR UPDATE",
        )
        .bind(t.address())
        .bind(t.memo_value())
        .bind(t.memo_type())
        .execute(c)
        .await.map(|_| ())?);
    }
    Ok(())
}
