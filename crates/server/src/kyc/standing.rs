//! Each target's standing — its KYC state as last answered, its
//! `rule_gen`, whether KYC is required, its own rules and whom it inherits
//! KYC from — in `kyc_accounts`, reconciled with the KYC records on every
//! evaluation: the state is always computed afresh, and a change from what
//! was last answered bumps `rule_gen` (once, however many replicas see it)
//! and wakes the target's polls.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::wake::{Wakeups, announce};
use super::{KycError, OwnState, Records, Target};
use crate::clock::Clock;
use crate::config::{KycState, Rule};
use crate::db::{Conn, Db, Tx, prepare_numbered};
use crate::{with_conn, with_tx};

/// What an evaluation found.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// Whom it is about.
    pub target: Target,
    /// Seen before (a row) or with a SEP-12 record.
    pub known: bool,
    /// With a SEP-12 record, which binds its KYC to the account.
    pub bound: bool,
    /// The state now.
    pub state: KycState,
    /// Bumped by every change of state or rules; 0 for a target never seen.
    pub rule_gen: u64,
    /// A soft limit denied an operation since the last decision.
    pub kyc_required: bool,
    /// Its own rules, replacing the configured ones.
    pub rules: Option<Vec<Rule>>,
    /// The account it inherits KYC from, while that holds.
    pub inherited_from: Option<Target>,
    /// An attester staff revoked, which may not attest it again.
    pub barred_attester: Option<Target>,
}

/// A target's standing as read under the lock of an attestation.
#[derive(Debug)]
pub struct Locked {
    /// Whom it inherits from.
    pub inherited_from: Option<Target>,
    /// The attester staff barred.
    pub barred_attester: Option<Target>,
    /// How many other accounts the attester attests.
    pub attested: usize,
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    state: String,
    rule_gen: i64,
    kyc_required: i64,
    rules: Option<String>,
    inherited_from: Option<String>,
    barred_attester: Option<String>,
}

impl Row {
    /// The row as [`load`] selects it.
    fn from_inline(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Row {
            state: r.get(0)?,
            rule_gen: r.get(1)?,
            kyc_required: r.get(2)?,
            rules: r.get(3)?,
            inherited_from: r.get(4)?,
            barred_attester: r.get(5)?,
        })
    }
}

/// The standings, and who to wake when one changes.
pub struct Standing {
    db: Db,
    clock: Arc<dyn Clock>,
    records: Arc<dyn Records>,
    wakeups: Wakeups,
    kyc_type: String,
}

impl Standing {
    /// Over `records`, whose state of type `kyc_type` is a target's own.
    pub fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        records: Arc<dyn Records>,
        wakeups: Wakeups,
        kyc_type: String,
    ) -> Standing {
        Standing {
            db,
            clock,
            records,
            wakeups,
            kyc_type,
        }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The records.
    pub fn records(&self) -> &dyn Records {
        self.records.as_ref()
    }

    /// The notifiers of this process's polls.
    pub fn wakeups(&self) -> &Wakeups {
        &self.wakeups
    }

    /// The SEP-12 type whose status is a target's own KYC.
    pub fn kyc_type(&self) -> &str {
        &self.kyc_type
    }

    fn now(&self) -> i64 {
        i64::try_from(self.clock.now()).unwrap_or(i64::MAX)
    }

    /// A target's own KYC.
    pub async fn own(&self, t: &Target) -> Result<Option<OwnState>, KycError> {
        self.records.own_state(t, &self.kyc_type).await
    }

    /// The target's standing now, reconciled: a state that differs from
    /// the one last answered is stored with `rule_gen + 1` and announced;
    /// an inheritance whose attester no longer holds KYC is revoked.
    pub async fn evaluate(&self, t: &Target) -> Result<Evaluated, KycError> {
        // Another evaluation that stored a state between this one's reads
        // wins; this one then reads again, so that what it answers is
        // what is stored (three tries: a burst of decisions settles).
        for _ in 0..2 {
            if let Some(ev) = self.evaluate_once(t).await? {
                return Ok(ev);
            }
        }
        self.evaluate_once(t)
            .await?
            .ok_or(KycError::Db(crate::db::DbError::Conflict))
    }

    /// One evaluation; `None` when another stored a different state
    /// between its reads.
    async fn evaluate_once(&self, t: &Target) -> Result<Option<Evaluated>, KycError> {
        // The row before the records: a state computed from records read
        // later is never older than the row it replaces, so a slow
        // evaluation cannot put back a state a quicker one moved on from.
        let mut row = load(self.db.reader(), t).await?;
        let own = self.own(t).await?;
        if row.is_none() && own.is_none() {
            return Ok(Some(Evaluated {
                target: t.clone(),
                known: false,
                bound: false,
                state: KycState::None,
                rule_gen: 0,
                kyc_required: false,
                rules: None,
                inherited_from: None,
                barred_attester: None,
            }));
        }
        let mut inherited_from = row
            .as_ref()
            .and_then(|r| r.inherited_from.as_deref())
            .and_then(Target::from_key);
        let mut inherits = false;
        if let Some(a) = &inherited_from {
            match self.own(a).await? {
                Some(OwnState::Accepted) if own.is_some() => inherits = true,
                // Under review again: the inheritance waits for the outcome.
                Some(OwnState::Processing) if own.is_some() => {}
                // Rejected, sent back, erased — or the target was erased.
                _ => {
                    self.revoke(
                        t,
                        Some(a),
                        "mooring",
                        "the attester no longer holds KYC",
                        false,
                    )
                    .await?;
                    inherited_from = None;
                    row = load(self.db.reader(), t).await?;
                }
            }
        }
        // A rejection of the account's own outranks what it inherits.
        let state = match own {
            Some(OwnState::Accepted) => KycState::Accepted,
            Some(OwnState::Rejected) => KycState::Rejected,
            _ if inherits => KycState::Inherited,
            Some(o) => o.state(),
            None => KycState::None,
        };
        let now = self.now();
        let row = match row {
            None => {
                insert(Conn::Db(&self.db), now, t, state).await?;
                load(self.db.reader(), t).await?
            }
            Some(r) if r.state != state.as_str() => {
                let moved = with_conn!(Conn::Db(&self.db), e => sqlx::query(
                    "UPDATE kyc_accounts SET state = $4, rule_gen = rule_gen + 1, \
                     kyc_required = CASE WHEN $5 THEN 0 ELSE kyc_required END, updated_at = $6 \
                     WHERE account = $1 AND memo = $2 AND memo_type = $3 AND state = $7",
                )
                .bind(t.address())
                .bind(t.memo_value())
                .bind(t.memo_type())
                .bind(state.as_str())
                .bind(state.passed())
                .bind(now)
                .bind(&r.state)
                .execute(e)
                .await?
                .rows_affected());
                if moved == 0 {
                    return Ok(None);
                }
                announce(&self.db, &self.wakeups, t).await;
                load(self.db.reader(), t).await?
            }
            Some(r) => Some(r),
        };
        let row = row.ok_or(crate::db::DbError::NotFound)?;
        if row.state != state.as_str() {
            // Someone stored another state meanwhile: read again.
            return Ok(None);
        }
        let rules = row.rules.as_deref().and_then(|json| {
            serde_json::from_str(json)
                .map_err(|e| {
                    tracing::error!(error = %e, "stored account rules are unreadable; using the configured ones");
                })
                .ok()
        });
        Ok(Some(Evaluated {
            target: t.clone(),
            known: true,
            bound: own.is_some(),
            state,
            rule_gen: u64::try_from(row.rule_gen).unwrap_or(0),
            kyc_required: row.kyc_required != 0,
            rules,
            inherited_from,
            barred_attester: row.barred_attester.as_deref().and_then(Target::from_key),
        }))
    }

    /// Marks KYC as required for `t` (a soft limit denied it), once until
    /// the next decision: `rule_gen + 1`, announced.
    pub async fn require_kyc(&self, t: &Target, state: KycState) -> Result<(), KycError> {
        let now = self.now();
        insert(Conn::Db(&self.db), now, t, state).await?;
        let moved = with_conn!(Conn::Db(&self.db), e => sqlx::query(
            "UPDATE kyc_accounts SET kyc_required = 1, rule_gen = rule_gen + 1, updated_at = $4 \
             WHERE account = $1 AND memo = $2 AND memo_type = $3 AND kyc_required = 0 AND state = $5",
        )
        .bind(t.address())
        .bind(t.memo_value())
        .bind(t.memo_type())
        .bind(now)
        .bind(state.as_str())
        .execute(e)
        .await?
        .rows_affected());
        if moved == 1 {
            announce(&self.db, &self.wakeups, t).await;
        }
        Ok(())
    }

    /// Makes `t` known (the business server recorded an operation of it).
    pub async fn touch(&self, tx: &mut Tx, t: &Target, state: KycState) -> Result<(), KycError> {
        insert(tx.into(), self.now(), t, state).await
    }

    /// Sets (or, with `None`, clears) the target's own rules, in `tx`:
    /// `rule_gen + 1`. Announce after the commit.
    pub async fn set_rules(
        &self,
        tx: &mut Tx,
        t: &Target,
        rules: Option<&[Rule]>,
    ) -> Result<u64, KycError> {
        let now = self.now();
        let state = KycState::None;
        insert(tx.into(), now, t, state).await?;
        let json = rules.map(|r| serde_json::to_string(r).unwrap_or_default());
        let generation: i64 = with_tx!(tx, c => sqlx::query_scalar(
            "UPDATE kyc_accounts SET rules = $4, rule_gen = rule_gen + 1, updated_at = $5 \
             WHERE account = $1 AND memo = $2 AND memo_type = $3 RETURNING rule_gen",
        )
        .bind(t.address())
        .bind(t.memo_value())
        .bind(t.memo_type())
        .bind(json)
        .bind(now)
        .fetch_one(c)
        .await?);
        Ok(u64::try_from(generation).unwrap_or(0))
    }

    /// Records in `tx` that `t` inherits KYC from `attester` (its
    /// attributes copied by [`Records::inherit`]): `rule_gen + 1`.
    pub async fn set_inherited(
        &self,
        tx: &mut Tx,
        t: &Target,
        attester: &Target,
    ) -> Result<(), KycError> {
        let now = self.now();
        insert(tx.into(), now, t, KycState::None).await?;
        with_tx!(tx, c => sqlx::query(
            "UPDATE kyc_accounts SET inherited_from = $4, state = 'inherited', kyc_required = 0, \
             rule_gen = rule_gen + 1, updated_at = $5 \
             WHERE account = $1 AND memo = $2 AND memo_type = $3",
        )
        .bind(t.address())
        .bind(t.memo_value())
        .bind(t.memo_type())
        .bind(attester.key())
        .bind(now)
        .execute(c)
        .await.map(|_| ())?);
        Ok(())
    }

    /// In `tx`, for an attestation of `t` by `attester`: both standings
    /// exist and are locked until the transaction ends (on SQLite its
    /// writer is alone already), so that concurrent attestations are
    /// counted and judged one after the other. Answers whom `t` inherits
    /// from, whom it may not inherit from, and how many other accounts
    /// `attester` attests, as of now.
    pub async fn lock_for_attestation(
        &self,
        tx: &mut Tx,
        attester: &Target,
        t: &Target,
    ) -> Result<Locked, KycError> {
        let now = self.now();
        insert(tx.into(), now, attester, KycState::Accepted).await?;
        insert(tx.into(), now, t, KycState::None).await?;
        let lock = if matches!(tx, Tx::Postgres(_)) {
            " FOR UPDATE"
        } else {
            ""
        };
        let mut row = (None, None);
        // One order for every transaction (attester, then target): no deadlock.
        for who in [attester, t] {
            row = with_tx!(tx, c => sqlx::query_as::<_, (Option<String>, Option<String>)>(&format!(
                "SELECT inherited_from, barred_attester FROM kyc_accounts \
                 WHERE account = $1 AND memo = $2 AND memo_type = $3{lock}"
            ))
            .bind(who.address())
            .bind(who.memo_value())
            .bind(who.memo_type())
            .fetch_one(c)
            .await?);
        }
        let given: i64 = with_tx!(tx, c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM kyc_accounts WHERE inherited_from = $1 \
             AND NOT (account = $2 AND memo = $3 AND memo_type = $4)",
        )
        .bind(attester.key())
        .bind(t.address())
        .bind(t.memo_value())
        .bind(t.memo_type())
        .fetch_one(c)
        .await?);
        Ok(Locked {
            inherited_from: row.0.as_deref().and_then(Target::from_key),
            barred_attester: row.1.as_deref().and_then(Target::from_key),
            attested: usize::try_from(given).unwrap_or(0),
        })
    }

    /// The targets inheriting from `attester` now.
    pub async fn attested_by(&self, attester: &Target) -> Result<Vec<Target>, KycError> {
        const SQL: &str = "SELECT account, memo FROM kyc_accounts WHERE inherited_from = $1 ORDER BY account, memo";
        let rows: Vec<(String, String)> = if let Db::Sqlite(s) = &self.db {
            // Read after every customer change: on this thread (`db::Inline`).
            s.read_here(|conn| {
                prepare_numbered(conn, SQL, &[&attester.key()])?
                    .raw_query()
                    .mapped(|r| Ok((r.get(0)?, r.get(1)?)))
                    .collect()
            })?
        } else {
            with_conn!(self.db.reader(), e => sqlx::query_as(SQL)
                .bind(attester.key())
                .fetch_all(e)
                .await?)
        };
        Ok(rows
            .iter()
            .filter_map(|(a, m)| Target::parse(a, (!m.is_empty()).then_some(m.as_str())))
            .collect())
    }

    /// Ends `t`'s inheritance (from `expected`, or from whoever it is):
    /// the copied attributes deleted, `rule_gen + 1`, announced. Nothing
    /// when it inherits from no one (or from another). `bar`: the attester
    /// may not attest `t` again (staff revoked it; a replay of the same
    /// signed request must not undo that).
    pub async fn revoke(
        &self,
        t: &Target,
        expected: Option<&Target>,
        actor: &str,
        why: &str,
        bar: bool,
    ) -> Result<bool, KycError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        // The standing first, then the copy: the order an attestation
        // takes them in too, so the two never wait on each other.
        let moved = with_tx!(&mut tx, c => sqlx::query(
            "UPDATE kyc_accounts SET \
             barred_attester = CASE WHEN $5 THEN inherited_from ELSE barred_attester END, \
             inherited_from = NULL, rule_gen = rule_gen + 1, updated_at = $4 \
             WHERE account = $1 AND memo = $2 AND memo_type = $3 AND inherited_from IS NOT NULL \
             AND ($6 = '' OR inherited_from = $6)",
        )
        .bind(t.address())
        .bind(t.memo_value())
        .bind(t.memo_type())
        .bind(now)
        .bind(bar)
        .bind(expected.map(Target::key).unwrap_or_default())
        .execute(c)
        .await?
        .rows_affected());
        if moved == 1 {
            self.records.disinherit(&mut tx, t).await?;
            let detail = format!("{}: {why}", t.key());
            crate::audit::record(
                &mut tx,
                actor,
                "kyc.inheritance_revoked",
                None,
                Some(&detail),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        if moved == 1 {
            announce(&self.db, &self.wakeups, t).await;
        }
        Ok(moved == 1)
    }

    /// Tells the polls of `t`, here and on every replica.
    pub async fn announce(&self, t: &Target) {
        announce(&self.db, &self.wakeups, t).await;
    }

    /// Takes the changes the KYC records report, for as long as the server
    /// runs: wakes the polls of each target everywhere, and re-evaluates
    /// it (if it has a standing) and every target inheriting from it, so an
    /// attester's rejection or erasure ends their inheritance at once.
    pub async fn follow(self: Arc<Self>, mut changes: mpsc::Receiver<Target>) {
        while let Some(t) = changes.recv().await {
            self.announce(&t).await;
            if let Err(e) = self.cascade(&t).await {
                tracing::warn!(error = %e, "could not re-evaluate KYC standings after a change");
            }
        }
    }

    /// Re-evaluates every target that inherits KYC (in batches of 500),
    /// so an attester's rejection or erasure ends their inheritance even
    /// when its change was never followed (a full queue, a crash).
    pub async fn sweep_inheritance(&self) -> Result<u64, KycError> {
        let mut after = (String::new(), String::new(), String::new());
        let mut seen = 0;
        loop {
            let rows: Vec<(String, String, String)> = with_conn!(self.db.reader(), e => sqlx::query_as(
                "SELECT account, memo, memo_type FROM kyc_accounts WHERE inherited_from IS NOT NULL \
                 AND (account, memo, memo_type) > ($1, $2, $3) \
                 ORDER BY account, memo, memo_type LIMIT 500",
            )
            .bind(&after.0)
            .bind(&after.1)
            .bind(&after.2)
            .fetch_all(e)
            .await?);
            let Some(last) = rows.last().cloned() else {
                return Ok(seen);
            };
            for (a, m, _) in &rows {
                if let Some(t) = Target::parse(a, (!m.is_empty()).then_some(m.as_str())) {
                    self.evaluate(&t).await?;
                    seen += 1;
                }
            }
            after = last;
        }
    }

    async fn cascade(&self, t: &Target) -> Result<(), KycError> {
        if load(self.db.reader(), t).await?.is_some() {
            self.evaluate(t).await?;
        }
        for dep in self.attested_by(t).await? {
            self.evaluate(&dep).await?;
        }
        Ok(())
    }
}

async fn load(c: Conn<'_>, t: &Target) -> Result<Option<Row>, KycError> {
    const SQL: &str = "SELECT state, rule_gen, kyc_required, rules, inherited_from, barred_attester \
                       FROM kyc_accounts WHERE account = $1 AND memo = $2 AND memo_type = $3";
    if let Conn::Read(Db::Sqlite(s)) = &c {
        // Read after every customer change: on this thread (`db::Inline`).
        return Ok(s.read_here(|conn| {
            let mut stmt =
                prepare_numbered(conn, SQL, &[&t.address(), &t.memo_value(), &t.memo_type()])?;
            let mut rows = stmt.raw_query();
            rows.next()?.map(Row::from_inline).transpose()
        })?);
    }
    Ok(with_conn!(c, e => sqlx::query_as::<_, Row>(SQL)
    .bind(t.address())
    .bind(t.memo_value())
    .bind(t.memo_type())
    .fetch_optional(e)
    .await?))
}

async fn insert(c: Conn<'_>, now: i64, t: &Target, state: KycState) -> Result<(), KycError> {
    with_conn!(c, e => sqlx::query(
        "INSERT INTO kyc_accounts (account, memo, memo_type, state, rule_gen, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 1, $5, $5) ON CONFLICT (account, memo, memo_type) DO NOTHING",
    )
    .bind(t.address())
    .bind(t.memo_value())
    .bind(t.memo_type())
    .bind(state.as_str())
    .bind(now)
    .execute(e)
    .await.map(|_| ())?);
    Ok(())
}
