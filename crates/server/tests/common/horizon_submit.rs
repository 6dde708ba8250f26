//! Transactions submitted to the Horizon stand-in: `POST /transactions`
//! with the form field `tx` (a base64 XDR envelope), checked in Horizon's
//! order (source account, sequence number, time bounds, signatures,
//! operations) and answered with Horizon's JSON or its
//! `transaction_failed` problem. An accepted transaction is applied:
//! payments go into the payments feed (horizon_payments.rs), where a
//! payment observer sees them, and Set Options change the source
//! account's signers and thresholds.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mooring_stellar::envelope::{self, EnvelopeError};
use mooring_stellar::xdr::{
    AccountId, Asset, DecoratedSignature, Memo, MuxedAccount, Operation, OperationBody,
    Preconditions, SetOptionsOp, SignerKey, TimeBounds, Transaction, Uint256,
};
use mooring_stellar::{Network, PublicKey};
use serde_json::{Value, json};
use url::Url;

use super::HorizonStub;
use super::horizon::{StubAccount, StubState};
use super::horizon_payments::{PaymentsFeed, StubPayment};

/// What Horizon answers for a successful transaction as `result_xdr`: fee
/// 100, one operation, success (the stand-in does not compute it).
const RESULT_XDR: &str = "AAAAAAAAAGQAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAA=";

impl HorizonStub {
    /// The envelopes (base64 XDR) `POST /transactions` accepted so far,
    /// oldest first.
    pub fn submitted(&self) -> Vec<String> {
        self.state.lock().unwrap().submitted.clone()
    }

    /// The account as it stands now (after the Set Options submitted), or
    /// `None` if the stand-in does not know it.
    pub fn account(&self, id: &PublicKey) -> Option<StubAccount> {
        let state = self.state.lock().unwrap();
        state.accounts.get(&id.to_string()).cloned()
    }

    /// The account's current sequence number: 3298702387052545 until it
    /// submits a transaction, then that transaction's.
    pub fn sequence(&self, id: &PublicKey) -> i64 {
        self.state.lock().unwrap().sequence(&id.to_string())
    }
}

/// The submission part of the stand-in.
#[derive(Clone)]
struct Submit {
    state: Arc<Mutex<StubState>>,
    payments: PaymentsFeed,
}

/// `POST /transactions`, to merge into the stand-in.
pub(super) fn router(state: &Arc<Mutex<StubState>>, payments: &PaymentsFeed) -> Router {
    let submit = Submit {
        state: state.clone(),
        payments: payments.clone(),
    };
    Router::new()
        .route("/transactions", post(transactions))
        .with_state(submit)
}

/// Why a transaction was refused: Horizon's `result_codes`.
struct Failure {
    transaction: &'static str,
    /// One code per operation, for `tx_failed` only.
    operations: Vec<&'static str>,
}

fn refuse(transaction: &'static str) -> Failure {
    Failure {
        transaction,
        operations: Vec::new(),
    }
}

/// Horizon's problem for a request without a readable envelope.
fn malformed(xdr: &str, detail: &str) -> Response {
    let body = json!({
        "type": "https://stellar.org/horizon-errors/transaction_malformed",
        "title": "Transaction Malformed", "status": 400,
        "detail": format!("Horizon could not decode the transaction envelope in this request: {detail}."),
        "extras": {"envelope_xdr": xdr},
    });
    problem_json(body)
}

/// Horizon's problem for a transaction the network refused.
fn failed(xdr: &str, f: Failure) -> Response {
    let mut codes = json!({"transaction": f.transaction});
    if !f.operations.is_empty() {
        codes["operations"] = json!(f.operations);
    }
    let body = json!({
        "type": "https://stellar.org/horizon-errors/transaction_failed",
        "title": "Transaction Failed", "status": 400,
        "detail": "The transaction failed when submitted to the stellar network. The `extras.result_codes` field on this response contains further details.",
        "extras": {"envelope_xdr": xdr, "result_codes": codes},
    });
    problem_json(body)
}

fn problem_json(body: Value) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [("content-type", "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

fn muxed_key(account: &MuxedAccount) -> PublicKey {
    match account {
        MuxedAccount::Ed25519(Uint256(b)) => PublicKey::from_bytes(*b),
        MuxedAccount::MuxedEd25519(m) => PublicKey::from_bytes(m.ed25519.0),
    }
}

fn account_key(account: &AccountId) -> PublicKey {
    let mooring_stellar::xdr::PublicKey::PublicKeyTypeEd25519(Uint256(b)) = &account.0;
    PublicKey::from_bytes(*b)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// True if the Set Options needs the high threshold: it changes signers,
/// the master key's weight or the thresholds.
fn needs_high(op: &SetOptionsOp) -> bool {
    op.signer.is_some()
        || op.master_weight.is_some()
        || op.low_threshold.is_some()
        || op.med_threshold.is_some()
        || op.high_threshold.is_some()
}

/// The result code `op` would get: the stand-in applies payments and Set
/// Options with ed25519 signers.
fn op_code(op: &Operation) -> &'static str {
    match &op.body {
        OperationBody::Payment(p) if p.amount <= 0 => "op_malformed",
        OperationBody::Payment(_) => "op_success",
        OperationBody::SetOptions(s) => match &s.signer {
            None => "op_success",
            Some(signer) => match signer.key {
                SignerKey::Ed25519(_) => "op_success",
                _ => "op_not_supported",
            },
        },
        _ => "op_not_supported",
    }
}

/// The checks stellar-core makes, in Horizon's order.
fn check(
    state: &StubState,
    tx: &Transaction,
    signatures: &[DecoratedSignature],
    hash: &[u8; 32],
) -> Result<(), Failure> {
    let source = muxed_key(&tx.source_account).to_string();
    let Some(account) = state.accounts.get(&source) else {
        return Err(refuse("tx_no_source_account"));
    };
    if tx.seq_num.0 != state.sequence(&source).saturating_add(1) {
        return Err(refuse("tx_bad_seq"));
    }
    let bounds: Option<&TimeBounds> = match &tx.cond {
        Preconditions::None => None,
        Preconditions::Time(b) => Some(b),
        Preconditions::V2(v2) => v2.time_bounds.as_ref(),
    };
    if let Some(b) = bounds {
        let now = unix_now();
        if b.max_time.0 != 0 && now > b.max_time.0 {
            return Err(refuse("tx_too_late"));
        }
        if now < b.min_time.0 {
            return Err(refuse("tx_too_early"));
        }
    }
    let high = tx.operations.iter().any(|op| match &op.body {
        OperationBody::SetOptions(s) => needs_high(s),
        _ => false,
    });
    let (_, medium, high_threshold) = account.thresholds;
    let needed = u64::from(if high { high_threshold } else { medium }.max(1));
    let mut counted = HashSet::new();
    let weight: u64 = account
        .signers
        .iter()
        .filter(|(key, _)| counted.insert(*key))
        .filter(|(key, _)| {
            signatures
                .iter()
                .any(|sig| envelope::signed_by(hash, sig, key))
        })
        .map(|(_, w)| u64::from(*w))
        .sum();
    if weight < needed {
        return Err(refuse("tx_bad_auth"));
    }
    let codes: Vec<&'static str> = tx.operations.iter().map(op_code).collect();
    if codes.iter().any(|c| *c != "op_success") {
        return Err(Failure {
            transaction: "tx_failed",
            operations: codes,
        });
    }
    Ok(())
}

/// Gives `key` the signing `weight` among `signers`; 0 removes it.
fn set_weight(signers: &mut Vec<(PublicKey, u32)>, key: PublicKey, weight: u32) {
    match signers.iter().position(|(k, _)| *k == key) {
        Some(i) if weight == 0 => {
            signers.remove(i);
        }
        Some(i) => signers[i].1 = weight,
        None if weight > 0 => signers.push((key, weight)),
        None => {}
    }
}

/// Applies a checked Set Options to `account`, whose key is `me`.
fn set_options(account: &mut StubAccount, me: PublicKey, op: &SetOptionsOp) {
    if let Some(w) = op.master_weight {
        set_weight(&mut account.signers, me, w);
    }
    let t = &mut account.thresholds;
    t.0 = op.low_threshold.unwrap_or(t.0);
    t.1 = op.med_threshold.unwrap_or(t.1);
    t.2 = op.high_threshold.unwrap_or(t.2);
    if let Some(signer) = &op.signer
        && let SignerKey::Ed25519(Uint256(b)) = signer.key
    {
        set_weight(
            &mut account.signers,
            PublicKey::from_bytes(b),
            signer.weight,
        );
    }
}

/// The memo as Horizon writes it: `(memo_type, memo)`.
fn memo_of(memo: &Memo) -> Option<(String, String)> {
    match memo {
        Memo::None => None,
        Memo::Id(n) => Some(("id".into(), n.to_string())),
        Memo::Text(t) => Some((
            "text".into(),
            String::from_utf8_lossy(t.as_slice()).into_owned(),
        )),
        Memo::Hash(h) => Some(("hash".into(), STANDARD.encode(h.0))),
        Memo::Return(h) => Some(("return".into(), STANDARD.encode(h.0))),
    }
}

/// `(code, issuer)` of a credit asset, `None` for XLM.
fn asset_of(asset: &Asset) -> Option<(String, String)> {
    let (code, issuer): (&[u8], _) = match asset {
        Asset::Native => return None,
        Asset::CreditAlphanum4(a) => (&a.asset_code.0, &a.issuer),
        Asset::CreditAlphanum12(a) => (&a.asset_code.0, &a.issuer),
    };
    let end = code.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
    let code = String::from_utf8_lossy(&code[..end]).into_owned();
    Some((code, account_key(issuer).to_string()))
}

/// Stroops as a decimal with 7 places.
fn seven_places(stroops: i64) -> String {
    let sign = if stroops < 0 { "-" } else { "" };
    let n = stroops.unsigned_abs();
    format!("{sign}{}.{:07}", n / 10_000_000, n % 10_000_000)
}

/// Applies a checked transaction to its source account; its payments.
fn apply(state: &mut StubState, tx: &Transaction) -> Vec<StubPayment> {
    let me = muxed_key(&tx.source_account);
    let from = me.to_string();
    let memo = memo_of(&tx.memo);
    let mut account = state.accounts[&from].clone();
    let mut payments = Vec::new();
    for op in tx.operations.iter() {
        match &op.body {
            OperationBody::Payment(p) => payments.push(StubPayment {
                to: muxed_key(&p.destination).to_string(),
                from: from.clone(),
                asset: asset_of(&p.asset),
                amount: seven_places(p.amount),
                memo: memo.clone(),
                successful: true,
            }),
            OperationBody::SetOptions(s) => set_options(&mut account, me, s),
            _ => unreachable!("checked: only payments and Set Options"),
        }
    }
    state.accounts.insert(from.clone(), account);
    state.sequences.insert(from, tx.seq_num.0);
    payments
}

async fn transactions(State(submit): State<Submit>, body: Bytes) -> Response {
    let xdr = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "tx")
        .map(|(_, v)| v.into_owned());
    let Some(xdr) = xdr else {
        return malformed("", "no tx field in the form");
    };
    // Fee-bump envelopes are refused as unreadable: the stand-in has no
    // fee accounts.
    let decoded = envelope::decode(&xdr);
    let read = decoded
        .as_ref()
        .map_err(EnvelopeError::clone)
        .and_then(envelope::transaction);
    let (tx, signatures) = match read {
        Ok(t) => t,
        Err(e) => return malformed(&xdr, &e.to_string()),
    };
    let mut state = submit.state.lock().unwrap();
    if let Some(code) = state.fail_with {
        return (StatusCode::from_u16(code).unwrap(), "{}").into_response();
    }
    let hash = envelope::hash(&tx, &Network::new(state.passphrase()));
    if let Err(f) = check(&state, &tx, signatures, &hash) {
        return failed(&xdr, f);
    }
    let payments = apply(&mut state, &tx);
    state.submitted.push(xdr.clone());
    // All payments of one transaction close in one ledger; the lock is
    // held so that the account and its payments change together.
    let stub = HorizonStub {
        url: Url::parse("http://127.0.0.1/").unwrap(),
        state: submit.state.clone(),
        payments: submit.payments.clone(),
    };
    let newest = if payments.is_empty() {
        stub.latest_paging_token()
    } else {
        stub.add_payments_bulk(&payments).into_iter().next()
    };
    drop(state);
    let ledger = newest.map_or(1_000, |id| id.parse::<u64>().unwrap() >> 32);
    axum::Json(json!({
        "hash": hex::encode(hash), "ledger": ledger, "successful": true,
        "envelope_xdr": xdr, "result_xdr": RESULT_XDR,
    }))
    .into_response()
}
