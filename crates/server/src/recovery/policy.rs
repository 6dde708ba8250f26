//! What a recovery signer may sign (SEP-30 §POST /accounts/<address>/sign/
//! <signing-address>): only transactions that act for the registered
//! account. The transaction's source and every operation's source must be
//! absent (operations only), the account, or a configured sponsor account
//! the server never holds keys for (CAP-33 sponsorship, which §POST …/sign
//! names). Fee-bump envelopes are refused: their inner transaction could be
//! wrapped by anyone, and their outer source is another account.

use mooring_stellar::envelope::{self, EnvelopeError};
use mooring_stellar::xdr::{MuxedAccount, Transaction};
use mooring_stellar::{ClientAccount, Network, PublicKey};

/// Why a transaction is not signed. The text is for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not a transaction envelope at all.
    #[error("{0}")]
    Envelope(EnvelopeError),
    /// The transaction's source is another account.
    #[error(
        "the transaction's source account must be the registered account (or a configured sponsor)"
    )]
    Source,
    /// An operation's source is another account.
    #[error(
        "operation {0} has a source account that is neither the registered account nor a configured sponsor"
    )]
    OperationSource(usize),
    /// Nothing to sign.
    #[error("the transaction has no operations")]
    Empty,
}

/// Checks `transaction` (base64 XDR) against the policy for `account`, and
/// returns the hash to sign on `network`.
pub fn check(
    transaction: &str,
    account: &PublicKey,
    sponsors: &[PublicKey],
    network: &Network,
) -> Result<[u8; 32], PolicyError> {
    let env = envelope::decode(transaction).map_err(PolicyError::Envelope)?;
    let (tx, _) = envelope::transaction(&env).map_err(PolicyError::Envelope)?;
    allowed(&tx, account, sponsors)?;
    Ok(envelope::hash(&tx, network))
}

fn allowed(
    tx: &Transaction,
    account: &PublicKey,
    sponsors: &[PublicKey],
) -> Result<(), PolicyError> {
    // A muxed source is its underlying account on the ledger.
    let ok = |m: &MuxedAccount| {
        let key = ClientAccount::from_xdr(m).account();
        key == *account || sponsors.contains(&key)
    };
    if !ok(&tx.source_account) {
        return Err(PolicyError::Source);
    }
    if tx.operations.is_empty() {
        return Err(PolicyError::Empty);
    }
    for (i, op) in tx.operations.iter().enumerate() {
        if let Some(source) = &op.source_account
            && !ok(source)
        {
            return Err(PolicyError::OperationSource(i));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mooring_stellar::Keypair;
    use mooring_stellar::xdr::{
        FeeBumpTransaction, FeeBumpTransactionEnvelope, FeeBumpTransactionExt,
        FeeBumpTransactionInnerTx, Memo, Operation, OperationBody, Preconditions, SequenceNumber,
        SetOptionsOp, TransactionEnvelope, TransactionExt, TransactionV1Envelope, VecM,
    };

    fn op(source: Option<MuxedAccount>) -> Operation {
        Operation {
            source_account: source,
            body: OperationBody::SetOptions(SetOptionsOp {
                inflation_dest: None,
                clear_flags: None,
                set_flags: None,
                master_weight: None,
                low_threshold: None,
                med_threshold: None,
                high_threshold: None,
                home_domain: None,
                signer: None,
            }),
        }
    }

    fn tx(source: &PublicKey, ops: Vec<Operation>) -> Transaction {
        Transaction {
            source_account: source.to_muxed_account(),
            fee: 100,
            seq_num: SequenceNumber(1),
            cond: Preconditions::None,
            memo: Memo::None,
            operations: ops.try_into().unwrap(),
            ext: TransactionExt::V0,
        }
    }

    fn b64(tx: Transaction) -> String {
        envelope::encode(&envelope::envelope(tx, vec![]))
    }

    #[test]
    fn only_the_account_or_a_sponsor_may_be_a_source() {
        let net = Network::testnet();
        let account = Keypair::random().public_key();
        let sponsor = Keypair::random().public_key();
        let other = Keypair::random().public_key();
        let sponsors = [sponsor];
        let t = tx(
            &account,
            vec![op(None), op(Some(account.to_muxed_account()))],
        );
        let want = envelope::hash(&t, &net);
        assert_eq!(check(&b64(t), &account, &sponsors, &net), Ok(want));
        let t = tx(&sponsor, vec![op(Some(account.to_muxed_account()))]);
        assert!(check(&b64(t), &account, &sponsors, &net).is_ok());
        let t = tx(&other, vec![op(None)]);
        assert_eq!(
            check(&b64(t), &account, &sponsors, &net),
            Err(PolicyError::Source)
        );
        let t = tx(&account, vec![op(None), op(Some(other.to_muxed_account()))]);
        assert_eq!(
            check(&b64(t), &account, &sponsors, &net),
            Err(PolicyError::OperationSource(1))
        );
        // Sponsors are only sponsors when configured.
        let t = tx(&sponsor, vec![op(None)]);
        assert_eq!(
            check(&b64(t), &account, &[], &net),
            Err(PolicyError::Source)
        );
        assert_eq!(
            check(&b64(tx(&account, vec![])), &account, &[], &net),
            Err(PolicyError::Empty)
        );
    }

    #[test]
    fn fee_bumps_and_garbage_are_refused() {
        let net = Network::testnet();
        let account = Keypair::random().public_key();
        let inner = TransactionV1Envelope {
            tx: tx(&account, vec![op(None)]),
            signatures: VecM::default(),
        };
        let bump = TransactionEnvelope::TxFeeBump(FeeBumpTransactionEnvelope {
            tx: FeeBumpTransaction {
                fee_source: account.to_muxed_account(),
                fee: 200,
                inner_tx: FeeBumpTransactionInnerTx::Tx(inner),
                ext: FeeBumpTransactionExt::V0,
            },
            signatures: VecM::default(),
        });
        assert_eq!(
            check(&envelope::encode(&bump), &account, &[], &net),
            Err(PolicyError::Envelope(EnvelopeError::FeeBump))
        );
        assert_eq!(
            check("not base64!", &account, &[], &net),
            Err(PolicyError::Envelope(EnvelopeError::Base64))
        );
        assert_eq!(
            check("AAAA", &account, &[], &net),
            Err(PolicyError::Envelope(EnvelopeError::Xdr))
        );
    }
}
