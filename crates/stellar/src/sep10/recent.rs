//! The signatures a server put on the challenges it issued most recently.
//!
//! A server must check that a challenge coming back carries its own
//! signature (SEP-10 §Token). ed25519 is deterministic, so re-signing the
//! hash and comparing is exact; comparing with the signature recorded when
//! the challenge was issued is exact too, and costs nothing. A challenge not
//! found here (issued by another replica, before a restart, or pushed out by
//! later ones) is simply signed again.

use std::sync::Mutex;

use subtle::ConstantTimeEq;

/// Entries in the table (96 KiB). A wallet sends a challenge back moments
/// after it got it; each challenge issued meanwhile overwrites its slot
/// with a chance of 1 in 1,024, so after 100 others it is still found 9
/// times in 10 (after 1,000, about 4 in 10).
const SLOTS: usize = 1024;

/// A challenge's hash and the server's signature on it; all zeros is empty
/// (no transaction hashes to zero).
type Slot = [u8; 96];

/// A fixed table indexed by the challenge hash: bounded memory, no
/// allocation per login, and a newer challenge simply overwrites an older
/// one in its slot.
pub struct RecentSignatures {
    slots: Mutex<Vec<Slot>>,
}

impl RecentSignatures {
    /// An empty table. Its pages are only touched as challenges are issued.
    pub fn new() -> Self {
        RecentSignatures {
            slots: Mutex::new(vec![[0; 96]; SLOTS]),
        }
    }

    /// Records the server's signature on the challenge with this hash.
    pub fn record(&self, hash: &[u8; 32], signature: &[u8; 64]) {
        let mut slot = [0; 96];
        slot[..32].copy_from_slice(hash);
        slot[32..].copy_from_slice(signature);
        self.lock()[index(hash)] = slot;
    }

    /// Whether `signature` is the one recorded for `hash`: `None` when no
    /// signature is recorded for it. Compared in constant time, as
    /// [`Keypair::made`](crate::keys::Keypair::made) does.
    pub fn matches(&self, hash: &[u8; 32], signature: &[u8]) -> Option<bool> {
        let slot = self.lock()[index(hash)];
        (slot[..32] == hash[..]).then(|| slot[32..].ct_eq(signature).into())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        // A slot is written whole under the lock: a panic elsewhere cannot
        // leave one half-written.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for RecentSignatures {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for RecentSignatures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecentSignatures")
    }
}

fn index(hash: &[u8; 32]) -> usize {
    usize::from(u16::from_le_bytes([hash[0], hash[1]])) % SLOTS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::ClientAccount;
    use crate::envelope;
    use crate::keys::Keypair;
    use crate::network::Network;
    use crate::sep10::{
        ChallengeError, ChallengeRequest, NONCE_LEN, ReadOptions, ServerKey, build_challenge,
        read_challenge_envelope,
    };

    #[test]
    fn a_slot_answers_only_for_its_own_hash() {
        let recent = RecentSignatures::new();
        let hash = [7; 32];
        recent.record(&hash, &[1; 64]);
        assert_eq!(recent.matches(&hash, &[1; 64]), Some(true));
        assert_eq!(recent.matches(&hash, &[2; 64]), Some(false));
        assert_eq!(recent.matches(&hash, &[1; 63]), Some(false));
        // Same slot, another hash: not recorded, so the caller re-signs.
        let mut other = hash;
        other[31] = 8;
        assert_eq!(recent.matches(&other, &[1; 64]), None);
        recent.record(&other, &[3; 64]);
        assert_eq!(recent.matches(&hash, &[1; 64]), None);
    }

    #[test]
    fn the_server_signature_is_checked_whether_recorded_or_not() {
        let server = Keypair::random();
        let network = Network::testnet();
        let homes = ["anchor.example.com".to_owned()];
        let request = ChallengeRequest {
            account: ClientAccount::Account(Keypair::random().public_key()),
            memo: None,
            home_domain: &homes[0],
            web_auth_domain: "anchor.example.com",
            client_domain: None,
        };
        let built = build_challenge(&server, &network, &request, 1_000, 300, &[5; NONCE_LEN])
            .expect("builds");
        let recent = RecentSignatures::new();
        let read = |env: &_, recent: &RecentSignatures| {
            let opts = ReadOptions {
                server: ServerKey::Recent(&server, recent),
                network: &network,
                home_domains: &homes,
                web_auth_domain: "anchor.example.com",
                require_web_auth_domain: true,
                now: 1_010,
                min_time_grace: 0,
            };
            read_challenge_envelope(env, &opts).map(|c| c.server_signature)
        };
        let mut forged = built.envelope.clone();
        let stellar_xdr::TransactionEnvelope::Tx(v1) = &mut forged else {
            panic!("a v1 envelope")
        };
        let mut signature = v1.signatures[0].clone();
        signature.signature.0 = vec![0; 64].try_into().expect("64 bytes");
        v1.signatures = vec![signature].try_into().expect("one signature");

        // Not recorded: signed again and compared.
        assert_eq!(read(&built.envelope, &recent), Ok(0));
        assert_eq!(
            read(&forged, &recent),
            Err(ChallengeError::NotSignedByServer)
        );
        // Recorded: compared with the record.
        recent.record(&built.hash, &built.signature);
        assert_eq!(read(&built.envelope, &recent), Ok(0));
        assert_eq!(
            read(&forged, &recent),
            Err(ChallengeError::NotSignedByServer)
        );
        assert_eq!(
            envelope::hash(
                &envelope::transaction(&built.envelope).expect("a tx").0,
                &network
            ),
            built.hash
        );
    }
}
