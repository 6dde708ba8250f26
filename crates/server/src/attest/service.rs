//! DD45's checks, in the order docs/kyc.md gives them, and the inheritance
//! written in one transaction: the attester's attributes copied under the
//! target's key, the target's standing marked inherited.

use std::sync::Arc;

use mooring_stellar::attest::{self, FuzzyDate};
use mooring_stellar::{Network, PublicKey};
use serde::Serialize;

use crate::audit;
use crate::clock::Clock;
use crate::kyc::{KycError, OwnState, Standing, Target};

const MAXED: &str = "the attester has attested as many accounts as allowed";
const OTHER: &str = "the target inherits KYC from another account";
const BARRED: &str =
    "staff revoked this attester's attestation of the target; it cannot be given again";

/// An attestation as received.
#[derive(Debug, Clone)]
pub struct Attestation {
    /// Who inherits.
    pub target: PublicKey,
    /// Who lends its KYC.
    pub attester: PublicKey,
    /// The attester's ed25519 signature over [`attest::message`].
    pub signature: [u8; 64],
    /// The target's birthday, when the attester sets one.
    pub birthday: Option<FuzzyDate>,
    /// Unix seconds after which the signature is worthless.
    pub expires: u64,
}

/// The 200 answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = attest::Attested)]
pub struct Attested {
    /// The target (`G…`), which now inherits the attester's KYC.
    pub target: String,
    /// The attester (`G…`).
    pub attester: String,
    /// Always `inherited`.
    #[schema(pattern = "^inherited$")]
    pub state: &'static str,
    /// The birthday set, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub birthday: Option<String>,
}

/// Why an attestation is refused (DD45 §Response).
#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    /// 400.
    #[error("{0}")]
    Invalid(&'static str),
    /// 403: the attester may not attest (or the signature is not its).
    #[error("{0}")]
    Forbidden(&'static str),
    /// 404: a key unknown here.
    #[error("the account has no KYC record here")]
    Unknown {
        /// The unknown `G…`.
        account: String,
    },
    /// 409.
    #[error("{0}")]
    Conflict(&'static str),
    /// 500.
    #[error(transparent)]
    Kyc(#[from] KycError),
}

impl From<crate::db::DbError> for AttestError {
    fn from(e: crate::db::DbError) -> Self {
        AttestError::Kyc(e.into())
    }
}

/// What [`Attest`] is built from.
pub struct AttestParts {
    /// The standings.
    pub standing: Arc<Standing>,
    /// `limits.maximum_attestations`.
    pub maximum: u32,
    /// `limits.attestation_max_lifetime_secs`.
    pub max_lifetime_secs: u64,
    /// The network, whose id the signature covers.
    pub network: Network,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

/// The attestation service.
pub struct Attest {
    standing: Arc<Standing>,
    maximum: u32,
    max_lifetime_secs: u64,
    network: Network,
    clock: Arc<dyn Clock>,
}

impl Attest {
    /// The service.
    pub fn new(p: AttestParts) -> Attest {
        Attest {
            standing: p.standing,
            maximum: p.maximum,
            max_lifetime_secs: p.max_lifetime_secs,
            network: p.network,
            clock: p.clock,
        }
    }

    fn maximum(&self) -> usize {
        usize::try_from(self.maximum).unwrap_or(usize::MAX)
    }

    /// `POST /kyc-attest/{target}`.
    pub async fn attest(&self, a: &Attestation) -> Result<Attested, AttestError> {
        if self.maximum == 0 {
            return Err(AttestError::Forbidden(
                "attestation is turned off at this anchor",
            ));
        }
        if a.target == a.attester {
            return Err(AttestError::Invalid("an account cannot attest itself"));
        }
        let message = attest::message(
            &self.network,
            &a.attester,
            &a.target,
            a.birthday.as_ref(),
            a.expires,
        );
        if !a.attester.verify(&message, &a.signature) {
            return Err(AttestError::Forbidden(
                "attester_sig is not the attester's signature of this attestation",
            ));
        }
        let now = self.clock.now();
        if a.expires <= now {
            return Err(AttestError::Forbidden("the attestation has expired"));
        }
        if a.expires - now > self.max_lifetime_secs {
            return Err(AttestError::Forbidden(
                "the attestation expires too far ahead; sign one that expires sooner",
            ));
        }
        let attester = Target {
            account: a.attester,
            memo: None,
        };
        let target = Target {
            account: a.target,
            memo: None,
        };
        let unknown = |t: &Target| AttestError::Unknown {
            account: t.address(),
        };
        let attester_own = self
            .standing
            .own(&attester)
            .await?
            .ok_or_else(|| unknown(&attester))?;
        // DD45 403: "lacks KYC attestation or its KYC attestation was itself inherited".
        // Before the target is looked up, so that only an accepted customer
        // learns whether another key is one.
        if attester_own != OwnState::Accepted {
            return Err(AttestError::Forbidden(
                "the attester's own KYC is not accepted (an inherited KYC cannot be passed on)",
            ));
        }
        let target_own = self
            .standing
            .own(&target)
            .await?
            .ok_or_else(|| unknown(&target))?;
        let standing = self.standing.evaluate(&target).await?;
        if standing.barred_attester.as_ref() == Some(&attester) {
            return Err(AttestError::Forbidden(BARRED));
        }
        let again = standing.inherited_from.as_ref() == Some(&attester);
        // DD45 403: "has reached the allowed maximum number of transitive
        // attestations" — before any 409 (docs/kyc.md gives the order).
        if !again && self.standing.attested_by(&attester).await?.len() >= self.maximum() {
            return Err(AttestError::Forbidden(MAXED));
        }
        match target_own {
            OwnState::Accepted => {
                return Err(AttestError::Conflict(
                    "the target's own KYC is accepted already",
                ));
            }
            OwnState::Rejected => {
                return Err(AttestError::Conflict(
                    "the target's own KYC was rejected; an attestation does not lift that",
                ));
            }
            OwnState::NeedsInfo | OwnState::Processing => {}
        }
        if standing.inherited_from.is_some() && !again {
            return Err(AttestError::Conflict(OTHER));
        }
        // DD45 409: the birthday "MUST be equal or younger" than the attester's.
        if let Some(b) = &a.birthday
            && let Some(theirs) = self.standing.records().birth_date(&attester).await?
            && let Some(theirs) = FuzzyDate::parse(&theirs)
            && b.earliest() < theirs.earliest()
        {
            return Err(AttestError::Conflict(
                "the birthday is earlier than the attester's",
            ));
        }
        let birthday = a.birthday.map(|b| b.text());
        let mut tx = self.standing.db().begin().await?;
        // Judged again under the locks: concurrent attestations by one
        // attester, or of one target, are counted one after the other.
        let locked = self
            .standing
            .lock_for_attestation(&mut tx, &attester, &target)
            .await?;
        if locked.barred_attester.as_ref() == Some(&attester) {
            return Err(AttestError::Forbidden(BARRED));
        }
        let again = locked.inherited_from.as_ref() == Some(&attester);
        if locked.inherited_from.is_some() && !again {
            return Err(AttestError::Conflict(OTHER));
        }
        if !again && locked.attested >= self.maximum() {
            return Err(AttestError::Forbidden(MAXED));
        }
        let changed = self
            .standing
            .records()
            .inherit(&mut tx, &target, &attester, birthday.as_deref())
            .await?;
        if changed || !again {
            self.standing
                .set_inherited(&mut tx, &target, &attester)
                .await?;
            audit::record(
                &mut tx,
                &format!("account:{}", attester.address()),
                "kyc.attest",
                None,
                Some(&format!(
                    "{} inherits from {}",
                    target.address(),
                    attester.address()
                )),
                i64::try_from(now).unwrap_or(i64::MAX),
            )
            .await?;
        }
        tx.commit().await?;
        if changed || !again {
            self.standing.announce(&target).await;
        }
        Ok(Attested {
            target: target.address(),
            attester: attester.address(),
            state: "inherited",
            birthday,
        })
    }

    /// Ends an inheritance (staff undoing an attestation); audited.
    pub async fn revoke(&self, actor: &str, target: &Target) -> Result<bool, AttestError> {
        Ok(self
            .standing
            .revoke(target, None, actor, "revoked by staff", true)
            .await?)
    }
}
