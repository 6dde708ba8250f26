//! The limits as other capabilities meet them ([`Gate`]): SEP-38 firm
//! quotes and SEP-31 transactions are checked, and counted, as the
//! business server's recorded operations are — when some rule concerns
//! their operation and asset.

use futures::future::BoxFuture;
use mooring_stellar::Amount;

use super::service::{Caller, Check, LimitError, Limits};
use crate::config::Op;
use crate::kyc::{Gate, KycError, Target, Verdict};

impl Gate for Limits {
    fn pass<'a>(
        &'a self,
        actor: &'a str,
        target: &'a Target,
        op: Op,
        amount: Amount,
        asset: &'a str,
    ) -> BoxFuture<'a, Result<Verdict, KycError>> {
        Box::pin(self.gate(Some(actor), target, op, amount, asset))
    }

    fn judge<'a>(
        &'a self,
        target: &'a Target,
        op: Op,
        amount: Amount,
        asset: &'a str,
    ) -> BoxFuture<'a, Result<Verdict, KycError>> {
        Box::pin(self.gate(None, target, op, amount, asset))
    }
}

impl Limits {
    /// Judges the operation; with an `actor`, counts it when allowed.
    async fn gate(
        &self,
        actor: Option<&str>,
        target: &Target,
        op: Op,
        amount: Amount,
        asset: &str,
    ) -> Result<Verdict, KycError> {
        if !self.enabled() {
            return Ok(Verdict::Allowed);
        }
        // No rule on this operation and asset, configured or the
        // account's own: nothing to judge, and nothing a window would
        // count (a firm quote is not worth two writes then).
        let ev = self.standing().evaluate(target).await?;
        if !self
            .rules(&ev)
            .iter()
            .any(|r| r.op == op && r.asset == asset)
        {
            return Ok(Verdict::Allowed);
        }
        let check = Check {
            target: target.clone(),
            op,
            amount,
            asset: asset.to_owned(),
            key: None,
            record: actor.is_some(),
        };
        let caller = Caller::Admin(actor.unwrap_or("gate").to_owned());
        match self.check_evaluated(&caller, &ev, check).await {
            Ok(_) => Ok(Verdict::Allowed),
            Err(LimitError::KycRequired(d)) => Ok(Verdict::Denied {
                soft: d.soft_limit,
                kyc_type: self.kyc_type().to_owned(),
                kyc_check: d.kyc_check,
            }),
            Err(LimitError::Kyc(e)) => Err(e),
            // The business server's check of a well-formed operation
            // fails for nothing else; were it to, a 500, never a pass.
            Err(other) => Err(KycError::Db(
                sqlx::Error::Protocol(format!("unexpected limits answer: {other}")).into(),
            )),
        }
    }
}
