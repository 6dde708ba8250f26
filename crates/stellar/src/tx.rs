//! Building the few transactions a wallet or sending anchor makes: a
//! payment to the account and memo an anchor named (SEP-31), and the Set
//! Options that add or weigh signers (SEP-30).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use stellar_xdr::{
    AlphaNum4, AlphaNum12, Asset, AssetCode4, AssetCode12, Duration, Hash, Memo, Operation,
    OperationBody, PaymentOp, Preconditions, PreconditionsV2, SequenceNumber, SetOptionsOp, Signer,
    SignerKey, StringM, TimeBounds, TimePoint, Transaction, TransactionExt, Uint256,
};

use crate::amount::Amount;
use crate::keys::PublicKey;

/// The network's minimum fee per operation, in stroops.
pub const BASE_FEE: u32 = 100;

/// Why a transaction could not be built from what was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// An asset code that is not 1–12 letters and digits.
    #[error("asset code {0:?} is not 1 to 12 letters and digits")]
    AssetCode(String),
    /// A memo that does not fit its type.
    #[error("memo {value:?} is not a valid {kind} memo")]
    Memo {
        /// `id`, `text` or `hash`.
        kind: String,
        /// What was given.
        value: String,
    },
    /// More than 100 operations, or none.
    #[error("a transaction has 1 to 100 operations")]
    Operations,
}

/// The asset `code` of `issuer`, or XLM for `native`/no issuer.
pub fn asset(code: &str, issuer: Option<&PublicKey>) -> Result<Asset, TxError> {
    let Some(issuer) = issuer else {
        return match code {
            "native" | "XLM" => Ok(Asset::Native),
            _ => Err(TxError::AssetCode(code.to_owned())),
        };
    };
    let bytes = code.as_bytes();
    if bytes.is_empty() || bytes.len() > 12 || !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return Err(TxError::AssetCode(code.to_owned()));
    }
    let issuer = issuer.to_account_id();
    if bytes.len() <= 4 {
        let mut c = [0u8; 4];
        c[..bytes.len()].copy_from_slice(bytes);
        Ok(Asset::CreditAlphanum4(AlphaNum4 {
            asset_code: AssetCode4(c),
            issuer,
        }))
    } else {
        let mut c = [0u8; 12];
        c[..bytes.len()].copy_from_slice(bytes);
        Ok(Asset::CreditAlphanum12(AlphaNum12 {
            asset_code: AssetCode12(c),
            issuer,
        }))
    }
}

/// A memo of `kind` (`id`, `text`, `hash`, as SEP-31's
/// `stellar_memo_type` names them; a hash in base64) holding `value`.
pub fn memo(kind: &str, value: &str) -> Result<Memo, TxError> {
    let bad = || TxError::Memo {
        kind: kind.to_owned(),
        value: value.to_owned(),
    };
    match kind {
        "id" => crate::IdMemo::parse(value)
            .map(|m| Memo::Id(m.value()))
            .map_err(|_| bad()),
        "text" => StringM::try_from(value.as_bytes().to_vec())
            .map(Memo::Text)
            .map_err(|_| bad()),
        "hash" => {
            let bytes = STANDARD.decode(value).map_err(|_| bad())?;
            let hash: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
            Ok(Memo::Hash(Hash(hash)))
        }
        _ => Err(bad()),
    }
}

/// A payment of `amount` of `asset` to `destination`.
pub fn payment(destination: &PublicKey, asset: Asset, amount: Amount) -> Operation {
    Operation {
        source_account: None,
        body: OperationBody::Payment(PaymentOp {
            destination: destination.to_muxed_account(),
            asset,
            amount: amount.units(),
        }),
    }
}

/// A Set Options that gives `key` the signing `weight` (0 removes it).
pub fn set_signer(key: &PublicKey, weight: u32) -> Operation {
    set_options(SetOptionsOp {
        signer: Some(Signer {
            key: SignerKey::Ed25519(Uint256(*key.as_bytes())),
            weight,
        }),
        ..empty_set_options()
    })
}

/// A Set Options that sets the master key's weight alone (0 takes the
/// account's own key off).
pub fn set_master_weight(weight: u32) -> Operation {
    set_options(SetOptionsOp {
        master_weight: Some(weight),
        ..empty_set_options()
    })
}

/// A Set Options that sets the master key's weight and the three
/// thresholds.
pub fn set_weights(master: u32, low: u32, medium: u32, high: u32) -> Operation {
    set_options(SetOptionsOp {
        master_weight: Some(master),
        low_threshold: Some(low),
        med_threshold: Some(medium),
        high_threshold: Some(high),
        ..empty_set_options()
    })
}

fn empty_set_options() -> SetOptionsOp {
    SetOptionsOp {
        inflation_dest: None,
        clear_flags: None,
        set_flags: None,
        master_weight: None,
        low_threshold: None,
        med_threshold: None,
        high_threshold: None,
        home_domain: None,
        signer: None,
    }
}

fn set_options(op: SetOptionsOp) -> Operation {
    Operation {
        source_account: None,
        body: OperationBody::SetOptions(op),
    }
}

/// A transaction of `source` with sequence number `sequence` (the
/// account's current one plus one), valid until `valid_for` seconds after
/// `now` (and from any time before: a clock running ahead of the ledger's
/// must not make it too early), paying the base fee per operation.
pub fn transaction(
    source: &PublicKey,
    sequence: i64,
    memo: Memo,
    operations: Vec<Operation>,
    now: u64,
    valid_for: u64,
) -> Result<Transaction, TxError> {
    let count = u32::try_from(operations.len()).map_err(|_| TxError::Operations)?;
    if count == 0 {
        return Err(TxError::Operations);
    }
    Ok(Transaction {
        source_account: source.to_muxed_account(),
        fee: BASE_FEE.saturating_mul(count),
        seq_num: SequenceNumber(sequence),
        cond: Preconditions::V2(PreconditionsV2 {
            time_bounds: Some(TimeBounds {
                min_time: TimePoint(0),
                max_time: TimePoint(now.saturating_add(valid_for)),
            }),
            ledger_bounds: None,
            min_seq_num: None,
            min_seq_age: Duration(0),
            min_seq_ledger_gap: 0,
            extra_signers: Default::default(),
        }),
        memo,
        operations: operations.try_into().map_err(|_| TxError::Operations)?,
        ext: TransactionExt::V0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Keypair;

    #[test]
    fn assets_take_the_width_their_code_needs() {
        let issuer = Keypair::random().public_key();
        assert!(matches!(
            asset("USDC", Some(&issuer)),
            Ok(Asset::CreditAlphanum4(_))
        ));
        assert!(matches!(
            asset("USDCOIN", Some(&issuer)),
            Ok(Asset::CreditAlphanum12(_))
        ));
        assert_eq!(asset("native", None), Ok(Asset::Native));
        assert!(asset("", Some(&issuer)).is_err());
        assert!(asset("THIRTEENCHARS", Some(&issuer)).is_err());
        assert!(asset("US-D", Some(&issuer)).is_err());
        assert!(asset("USDC", None).is_err());
    }

    #[test]
    fn memos_are_read_as_their_type_says() {
        assert_eq!(memo("id", "42"), Ok(Memo::Id(42)));
        assert!(memo("id", "-1").is_err());
        assert!(memo("id", "+5").is_err());
        assert!(matches!(memo("text", "hello"), Ok(Memo::Text(_))));
        assert!(memo("text", &"x".repeat(29)).is_err());
        let h = STANDARD.encode([7u8; 32]);
        assert_eq!(memo("hash", &h), Ok(Memo::Hash(Hash([7u8; 32]))));
        assert!(memo("hash", "AAAA").is_err());
        assert!(memo("return", "x").is_err());
    }

    #[test]
    fn fees_count_operations_and_empty_transactions_are_refused() {
        let source = Keypair::random().public_key();
        let key = Keypair::random().public_key();
        let tx = transaction(
            &source,
            5,
            Memo::None,
            vec![set_signer(&key, 1), set_weights(2, 2, 2, 2)],
            1_000,
            300,
        )
        .unwrap();
        assert_eq!(tx.fee, 200);
        assert_eq!(tx.seq_num, SequenceNumber(5));
        assert_eq!(
            transaction(&source, 5, Memo::None, vec![], 0, 1),
            Err(TxError::Operations)
        );
    }
}
