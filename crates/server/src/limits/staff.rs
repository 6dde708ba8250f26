//! The limits as compliance staff see and set them: an account's whole
//! standing, its own rules, and the purge of old recorded operations.

use super::service::{LimitError, Limits};
use crate::audit;
use crate::config::Rule;
use crate::db::Purge;
use crate::kyc::Target;

impl Limits {
    /// An account's standing for staff: state, rules (all of them),
    /// inheritance.
    pub async fn account(&self, t: &Target) -> Result<serde_json::Value, LimitError> {
        let ev = self.standing.evaluate(t).await?;
        let mut rules = Vec::new();
        for r in self.rules(&ev) {
            let (used, resets_at) = self.used(self.standing.db().reader(), t, r).await?;
            rules.push(serde_json::json!({
                "rule": r,
                "applies": r.applies_in(ev.state),
                "used": used,
                "resets_at": resets_at,
            }));
        }
        let attested: Vec<String> = self
            .standing
            .attested_by(t)
            .await?
            .iter()
            .map(Target::key)
            .collect();
        Ok(serde_json::json!({
            "account": t.address(),
            "memo": t.memo.map(|m| m.to_string()),
            "known": ev.known,
            "bound": ev.bound,
            "state": ev.state,
            "rule_gen": ev.rule_gen,
            "kyc_required": ev.kyc_required,
            "own_rules": ev.rules.is_some(),
            "rules": rules,
            "inherited_from": ev.inherited_from.as_ref().map(Target::key),
            "attested": attested,
        }))
    }

    /// Sets (or clears) an account's own rules; audited; wakes its polls.
    pub async fn set_rules(
        &self,
        actor: &str,
        t: &Target,
        rules: Option<Vec<Rule>>,
    ) -> Result<u64, LimitError> {
        if let Some(rules) = &rules {
            for (i, r) in rules.iter().enumerate() {
                r.check()
                    .map_err(|m| LimitError::Invalid(format!("rule {}: {m}", i + 1)))?;
            }
            if rules.len() > 100 {
                return Err(LimitError::Invalid("at most 100 rules per account".into()));
            }
            let kept = self.cfg.operations_retention_days.saturating_mul(86_400);
            if rules
                .iter()
                .any(|r| r.timeframe_secs.is_some_and(|t| t > kept))
            {
                return Err(LimitError::Invalid(
                    "a rule's timeframe_secs is longer than limits.operations_retention_days keeps operations".into(),
                ));
            }
        }
        let mut tx = self.standing.db().begin().await?;
        let generation = self
            .standing
            .set_rules(&mut tx, t, rules.as_deref())
            .await?;
        let detail = match &rules {
            Some(r) => format!("{} rules for {}; rule_gen {generation}", r.len(), t.key()),
            None => format!("configured rules for {}; rule_gen {generation}", t.key()),
        };
        audit::record(
            &mut tx,
            actor,
            "limits.rules",
            None,
            Some(&detail),
            self.now(),
        )
        .await?;
        tx.commit().await?;
        self.standing.announce(t).await;
        Ok(generation)
    }

    /// Deletes recorded operations older than the retention, in small
    /// batches; answers how many.
    pub async fn purge(&self) -> Result<u64, LimitError> {
        let days = i64::try_from(self.cfg.operations_retention_days).unwrap_or(i64::MAX / 86_400);
        let before = self.now().saturating_sub(days.saturating_mul(86_400));
        Ok(Purge {
            table: "kyc_operations",
            key: "id",
            filter: "at < $1",
        }
        .run(self.standing.db(), before)
        .await?)
    }
}
