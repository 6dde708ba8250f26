//! The Horizon stand-in takes submitted transactions as Horizon does: it
//! checks sequence numbers and signatures, applies payments to its
//! payments feed and Set Options to the account's signers.

mod common;

use common::HorizonStub;
use mooring_stellar::envelope::{encode, envelope, hash, sign};
use mooring_stellar::tx::{asset, memo, payment, set_signer, set_weights, transaction};
use mooring_stellar::xdr::{Memo, Operation};
use mooring_stellar::{Amount, Keypair, Network, PublicKey};
use serde_json::Value;

const START: i64 = 3298702387052545;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The envelope of `source`'s next transaction, signed by `signers`.
fn envelope_of(
    stub: &HorizonStub,
    source: &PublicKey,
    memo: Memo,
    ops: Vec<Operation>,
    signers: &[&Keypair],
) -> (String, String) {
    let sequence = stub.sequence(source) + 1;
    let tx = transaction(source, sequence, memo, ops, now(), 300).unwrap();
    let network = Network::testnet();
    let mut signatures = Vec::new();
    for kp in signers {
        sign(&tx, &network, kp, &mut signatures);
    }
    let tx_hash = hex::encode(hash(&tx, &network));
    (encode(&envelope(tx, signatures)), tx_hash)
}

/// `POST /transactions`: (status, content type, JSON body).
async fn submit(stub: &HorizonStub, xdr: &str) -> (u16, String, Value) {
    let url = stub.url.join("transactions").unwrap();
    let res = reqwest::Client::new()
        .post(url)
        .form(&[("tx", xdr)])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, res.json().await.unwrap())
}

async fn get(stub: &HorizonStub, path: &str) -> Value {
    let res = reqwest::get(stub.url.join(path).unwrap()).await.unwrap();
    assert_eq!(res.status(), 200, "GET {path}");
    res.json().await.unwrap()
}

fn xlm(amount: &str) -> Operation {
    let to = Keypair::random().public_key();
    payment(
        &to,
        asset("native", None).unwrap(),
        Amount::parse(amount).unwrap(),
    )
}

#[tokio::test]
async fn a_payment_signed_by_the_master_key_reaches_the_payments_feed() {
    let stub = HorizonStub::start().await;
    let payer = Keypair::random();
    let payee = Keypair::random().public_key();
    stub.set_master_key_only(&payer.public_key());
    let issuer = Keypair::random().public_key();
    let op = payment(
        &payee,
        asset("USDC", Some(&issuer)).unwrap(),
        Amount::parse("12.5").unwrap(),
    );
    let (xdr, tx_hash) = envelope_of(
        &stub,
        &payer.public_key(),
        memo("text", "invoice 7").unwrap(),
        vec![op],
        &[&payer],
    );
    let (status, _, body) = submit(&stub, &xdr).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hash"], tx_hash.as_str());
    assert_eq!(body["successful"], true);
    assert!(body["ledger"].as_u64().is_some(), "{body}");
    assert_eq!(stub.submitted(), vec![xdr.clone()]);

    let page = get(&stub, &format!("accounts/{payee}/payments")).await;
    let records = page["_embedded"]["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{page}");
    let r = &records[0];
    assert_eq!(r["from"], payer.public_key().to_string().as_str());
    assert_eq!(r["to"], payee.to_string().as_str());
    assert_eq!(r["amount"], "12.5000000");
    assert_eq!(r["asset_code"], "USDC");
    assert_eq!(r["asset_issuer"], issuer.to_string().as_str());
    assert_eq!(r["transaction"]["memo_type"], "text");
    assert_eq!(r["transaction"]["memo"], "invoice 7");

    assert_eq!(stub.sequence(&payer.public_key()), START + 1);
    let account = get(&stub, &format!("accounts/{}", payer.public_key())).await;
    assert_eq!(account["sequence"], (START + 1).to_string().as_str());

    // The same envelope again: its sequence number is used up.
    let (status, kind, body) = submit(&stub, &xdr).await;
    assert_eq!(status, 400);
    assert_eq!(kind, "application/problem+json");
    assert_eq!(
        body["type"],
        "https://stellar.org/horizon-errors/transaction_failed"
    );
    assert_eq!(body["extras"]["result_codes"]["transaction"], "tx_bad_seq");
    assert_eq!(body["extras"]["envelope_xdr"], xdr.as_str());
    assert_eq!(stub.submitted().len(), 1);
}

#[tokio::test]
async fn signers_added_by_set_options_must_meet_the_thresholds() {
    let stub = HorizonStub::start().await;
    let owner = Keypair::random();
    let me = owner.public_key();
    let (a, b) = (Keypair::random(), Keypair::random());
    stub.set_master_key_only(&me);
    let ops = vec![
        set_signer(&a.public_key(), 1),
        set_signer(&b.public_key(), 1),
        set_weights(2, 2, 2, 2),
    ];
    let (xdr, _) = envelope_of(&stub, &me, Memo::None, ops, &[&owner]);
    let (status, _, body) = submit(&stub, &xdr).await;
    assert_eq!(status, 200, "{body}");
    let account = stub.account(&me).unwrap();
    assert_eq!(account.thresholds, (2, 2, 2));
    let mut signers = account.signers.clone();
    signers.sort();
    let mut expected = vec![(me, 2), (a.public_key(), 1), (b.public_key(), 1)];
    expected.sort();
    assert_eq!(signers, expected);
    let shown = get(&stub, &format!("accounts/{me}")).await;
    assert_eq!(shown["signers"].as_array().unwrap().len(), 3);
    assert_eq!(shown["thresholds"]["med_threshold"], 2);

    let (xdr, _) = envelope_of(&stub, &me, Memo::Id(9), vec![xlm("1")], &[&a]);
    let (status, _, body) = submit(&stub, &xdr).await;
    assert_eq!(status, 400);
    assert_eq!(body["extras"]["result_codes"]["transaction"], "tx_bad_auth");
    assert_eq!(stub.sequence(&me), START + 1);

    let (xdr, _) = envelope_of(&stub, &me, Memo::Id(9), vec![xlm("1")], &[&a, &b]);
    let (status, _, body) = submit(&stub, &xdr).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(stub.sequence(&me), START + 2);
    assert_eq!(stub.submitted().len(), 2);
}

#[tokio::test]
async fn unknown_sources_garbage_and_other_operations_are_refused() {
    let stub = HorizonStub::start().await;
    let stranger = Keypair::random();
    let (xdr, _) = envelope_of(
        &stub,
        &stranger.public_key(),
        Memo::None,
        vec![xlm("1")],
        &[&stranger],
    );
    let (_, _, body) = submit(&stub, &xdr).await;
    assert_eq!(
        body["extras"]["result_codes"]["transaction"],
        "tx_no_source_account"
    );

    let (status, kind, body) = submit(&stub, "not an envelope").await;
    assert_eq!((status, kind.as_str()), (400, "application/problem+json"));
    assert_eq!(body["title"], "Transaction Malformed");

    stub.set_master_key_only(&stranger.public_key());
    let bump = Operation {
        source_account: None,
        body: mooring_stellar::xdr::OperationBody::BumpSequence(
            mooring_stellar::xdr::BumpSequenceOp {
                bump_to: mooring_stellar::xdr::SequenceNumber(START + 10),
            },
        ),
    };
    let (xdr, _) = envelope_of(
        &stub,
        &stranger.public_key(),
        Memo::None,
        vec![xlm("1"), bump],
        &[&stranger],
    );
    let (_, _, body) = submit(&stub, &xdr).await;
    let codes = &body["extras"]["result_codes"];
    assert_eq!(codes["transaction"], "tx_failed");
    assert_eq!(
        codes["operations"],
        serde_json::json!(["op_success", "op_not_supported"])
    );
    assert_eq!(stub.sequence(&stranger.public_key()), START);
}
