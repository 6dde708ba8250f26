//! Transaction envelopes: decode (v0, v1, fee-bump) with limits, encode, hash,
//! sign, and find who signed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use stellar_xdr::{
    DecoratedSignature, Limits, ReadXdr, Transaction, TransactionEnvelope, TransactionV1Envelope,
    VecM, WriteXdr,
};

use crate::keys::{Keypair, PublicKey};
use crate::network::Network;

/// Largest envelope, in base64 characters, that [`decode`] reads. A SEP-10
/// challenge is well under 2 KiB; the limit keeps a hostile input from costing
/// more than a few microseconds.
pub const MAX_ENVELOPE_BASE64_LEN: usize = 64 * 1024;

/// XDR nesting depth allowed while decoding untrusted input.
const MAX_XDR_DEPTH: u32 = 64;

/// Why an envelope could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Longer than [`MAX_ENVELOPE_BASE64_LEN`].
    #[error("transaction is too large ({0} characters; at most {MAX_ENVELOPE_BASE64_LEN} allowed)")]
    TooLarge(usize),
    /// Not standard base64.
    #[error("transaction is not valid base64")]
    Base64,
    /// Base64, but not a `TransactionEnvelope` in XDR.
    #[error("transaction is not a valid XDR TransactionEnvelope")]
    Xdr,
    /// A fee-bump envelope where a plain transaction is needed.
    #[error("transaction is a fee-bump envelope; a plain transaction envelope is required")]
    FeeBump,
}

/// Decodes a base64 XDR `TransactionEnvelope` from an untrusted source, with
/// length and depth limits.
pub fn decode(b64: &str) -> Result<TransactionEnvelope, EnvelopeError> {
    let b64 = b64.trim();
    if b64.len() > MAX_ENVELOPE_BASE64_LEN {
        return Err(EnvelopeError::TooLarge(b64.len()));
    }
    let bytes = STANDARD.decode(b64).map_err(|_| EnvelopeError::Base64)?;
    let limits = Limits {
        depth: MAX_XDR_DEPTH,
        len: bytes.len(),
    };
    TransactionEnvelope::from_xdr(&bytes, limits).map_err(|_| EnvelopeError::Xdr)
}

/// Encodes an envelope as base64 XDR.
pub fn encode(envelope: &TransactionEnvelope) -> String {
    let bytes = envelope
        .to_xdr(Limits::none())
        .expect("an in-memory envelope always encodes");
    STANDARD.encode(bytes)
}

/// The transaction inside a v0 or v1 envelope, as a v1 `Transaction` (a v0
/// transaction hashes as its v1 form since protocol 13), with its signatures.
/// Fee-bump envelopes are refused.
pub fn transaction(
    envelope: &TransactionEnvelope,
) -> Result<(Transaction, &[DecoratedSignature]), EnvelopeError> {
    match envelope {
        TransactionEnvelope::TxV0(e) => Ok((e.tx.clone().into(), e.signatures.as_slice())),
        TransactionEnvelope::Tx(e) => Ok((e.tx.clone(), e.signatures.as_slice())),
        TransactionEnvelope::TxFeeBump(_) => Err(EnvelopeError::FeeBump),
    }
}

/// The hash a signature of `tx` on `network` signs.
pub fn hash(tx: &Transaction, network: &Network) -> [u8; 32] {
    tx.hash(network.id())
        .expect("an in-memory transaction always encodes")
}

/// Wraps a transaction and its signatures in a v1 envelope.
pub fn envelope(tx: Transaction, signatures: Vec<DecoratedSignature>) -> TransactionEnvelope {
    TransactionEnvelope::Tx(TransactionV1Envelope {
        tx,
        signatures: VecM::try_from(signatures).expect("at most 20 signatures"),
    })
}

/// Adds `keypair`'s signature of `tx` to `signatures`.
pub fn sign(
    tx: &Transaction,
    network: &Network,
    keypair: &Keypair,
    signatures: &mut Vec<DecoratedSignature>,
) {
    signatures.push(keypair.sign_decorated(&hash(tx, network)));
}

/// Appends `keypair`'s signature to a v0 or v1 envelope in place.
pub fn sign_envelope(
    envelope: &mut TransactionEnvelope,
    network: &Network,
    keypair: &Keypair,
) -> Result<(), EnvelopeError> {
    let (tx, _) = transaction(envelope)?;
    let signature = keypair.sign_decorated(&hash(&tx, network));
    let signatures = match envelope {
        TransactionEnvelope::TxV0(e) => &mut e.signatures,
        TransactionEnvelope::Tx(e) => &mut e.signatures,
        TransactionEnvelope::TxFeeBump(_) => return Err(EnvelopeError::FeeBump),
    };
    let mut all = signatures.to_vec();
    all.push(signature);
    *signatures = VecM::try_from(all).map_err(|_| EnvelopeError::Xdr)?;
    Ok(())
}

/// True if `sig` is a valid signature by `key` of `hash`. The hint is checked
/// first, as stellar-core does, so a signature is only tried against keys it
/// claims to be from.
pub fn signed_by(hash: &[u8; 32], sig: &DecoratedSignature, key: &PublicKey) -> bool {
    sig.hint.0 == key.hint() && key.verify(hash, sig.signature.0.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stellar_xdr::{Memo, MuxedAccount, Preconditions, SequenceNumber, TransactionExt, Uint256};

    fn tx(source: &PublicKey) -> Transaction {
        Transaction {
            source_account: MuxedAccount::Ed25519(Uint256(*source.as_bytes())),
            fee: 100,
            seq_num: SequenceNumber(0),
            cond: Preconditions::None,
            memo: Memo::None,
            operations: VecM::default(),
            ext: TransactionExt::V0,
        }
    }

    #[test]
    fn encode_decode_round_trip_and_signatures_verify() {
        let kp = Keypair::random();
        let net = Network::testnet();
        let t = tx(&kp.public_key());
        let mut sigs = vec![];
        sign(&t, &net, &kp, &mut sigs);
        let env = envelope(t.clone(), sigs);
        let back = decode(&encode(&env)).unwrap();
        let (t2, sigs2) = transaction(&back).unwrap();
        assert_eq!(t2, t);
        let h = hash(&t2, &net);
        assert!(signed_by(&h, &sigs2[0], &kp.public_key()));
        // The same signature does not hold on another network.
        assert!(!signed_by(
            &hash(&t2, &Network::public()),
            &sigs2[0],
            &kp.public_key()
        ));
    }

    #[test]
    fn decode_rejects_garbage_with_distinct_errors() {
        assert_eq!(decode("%%%"), Err(EnvelopeError::Base64));
        assert_eq!(decode("AAAA"), Err(EnvelopeError::Xdr));
        assert_eq!(decode(""), Err(EnvelopeError::Xdr));
        let long = "A".repeat(MAX_ENVELOPE_BASE64_LEN + 4);
        assert!(matches!(decode(&long), Err(EnvelopeError::TooLarge(_))));
    }
}
