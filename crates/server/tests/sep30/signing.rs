//! Signing follows the policy: the account's own transactions, sponsors,
//! and refusals, with access checked before anything is read.

use crate::common::recovery::{call, register, sign, tx, xdr};
use crate::common::{Engine, TestServer, assert_error};
use mooring_stellar::xdr::{
    FeeBumpTransaction, FeeBumpTransactionEnvelope, FeeBumpTransactionExt,
    FeeBumpTransactionInnerTx, TransactionEnvelope, TransactionV1Envelope, VecM,
};
use mooring_stellar::{Keypair, PublicKey, envelope};
use reqwest::Method;
use serde_json::json;

async fn signing_follows_the_policy(engine: Engine) {
    let sponsor = Keypair::random().public_key();
    let srv = TestServer::start_with(engine, |c| {
        c.sep30.sponsor_accounts = vec![sponsor.to_string()];
    })
    .await;
    let owner = Keypair::random();
    let friend = Keypair::random();
    let stranger = Keypair::random();
    let account = owner.public_key();
    let signer = register(&srv, &owner, &friend.public_key()).await;
    let signer_key = PublicKey::parse(&signer).unwrap();
    let friend_token = srv.token_for(&friend, None).await;
    let stranger_token = srv.token_for(&stranger, None).await;
    let path = format!("/accounts/{account}/sign/{signer}");

    // A recovery: the account's own transaction, signed for the identity.
    let good = tx(&account, &[None, Some(account)]);
    let (status, got) = sign(&srv, &path, &friend_token, &xdr(&good)).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["network_passphrase"], srv.network.passphrase());
    let sig = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(got["signature"].as_str().unwrap())
            .unwrap()
    };
    assert!(signer_key.verify(&envelope::hash(&good, &srv.network), &sig));
    // The hash as the published Python stellar-sdk computes it.
    if let Some(python) = crate::common::interop::python() {
        let out = std::process::Command::new(python)
            .args([
                "-c",
                "import sys; from stellar_sdk import TransactionEnvelope as E; print(E.from_xdr(sys.argv[1], sys.argv[2]).hash_hex())",
                &xdr(&good),
                srv.network.passphrase(),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = hex::decode(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
        assert!(
            signer_key.verify(&theirs, &sig),
            "signature over stellar-sdk's hash"
        );
    }

    // A sponsor may be a source; nobody else.
    let sponsored = tx(&sponsor, &[Some(account)]);
    let (status, _) = sign(&srv, &path, &friend_token, &xdr(&sponsored)).await;
    assert_eq!(status, 200);
    let other = Keypair::random().public_key();
    for (t, error) in [
        (
            xdr(&tx(&other, &[None])),
            "the transaction's source account must be the registered account (or a configured sponsor)",
        ),
        (
            xdr(&tx(&account, &[None, Some(other)])),
            "operation 1 has a source account that is neither the registered account nor a configured sponsor",
        ),
        (xdr(&tx(&account, &[])), "the transaction has no operations"),
        ("%%%".to_owned(), "transaction is not valid base64"),
        (
            "AAAA".to_owned(),
            "transaction is not a valid XDR TransactionEnvelope",
        ),
        (
            envelope::encode(&TransactionEnvelope::TxFeeBump(
                FeeBumpTransactionEnvelope {
                    tx: FeeBumpTransaction {
                        fee_source: account.to_muxed_account(),
                        fee: 200,
                        inner_tx: FeeBumpTransactionInnerTx::Tx(TransactionV1Envelope {
                            tx: good.clone(),
                            signatures: VecM::default(),
                        }),
                        ext: FeeBumpTransactionExt::V0,
                    },
                    signatures: VecM::default(),
                },
            )),
            "transaction is a fee-bump envelope; a plain transaction envelope is required",
        ),
    ] {
        assert_error(sign(&srv, &path, &friend_token, &t).await, 400, error);
    }
    assert_error(
        call(&srv, Method::POST, &path, &friend_token, Some(&json!({}))).await,
        400,
        "`transaction` is required",
    );

    // Access is checked before anything is read: a stranger's well-formed
    // and garbage requests, for a real or an unknown account or key, all
    // get the same 404; no token at all gets 401 whatever the body.
    let unknown = Keypair::random().public_key();
    let other_signer = register(&srv, &Keypair::random(), &stranger.public_key()).await;
    for p in [
        path.clone(),
        format!("/accounts/{account}/sign/{other_signer}"),
        format!("/accounts/{unknown}/sign/{signer}"),
        format!("/accounts/{account}/sign/GARBAGE"),
    ] {
        for b in [
            json!({ "transaction": xdr(&good) }),
            json!({ "transaction": "%%%" }),
        ] {
            assert_error(
                call(&srv, Method::POST, &p, &stranger_token, Some(&b)).await,
                404,
                "account not found",
            );
        }
        let anonymous = TestServer::send(
            srv.http
                .post(srv.url(&p))
                .json(&json!({ "transaction": "%%%" })),
        )
        .await;
        assert_eq!(anonymous.0, 401);
    }
    // The caller may reach the account, but the key is another account's.
    assert_error(
        sign(
            &srv,
            &format!("/accounts/{account}/sign/{other_signer}"),
            &friend_token,
            &xdr(&good),
        )
        .await,
        404,
        "signing key not found for this account",
    );
    srv.stop().await;
}

crate::on_both_engines!(signing_follows_the_policy,);
