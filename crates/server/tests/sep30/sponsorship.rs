//! Sponsored account creation for people signed in with an identity
//! provider, within daily limits.

use crate::common::recovery::call;
use crate::common::{Engine, TestServer, assert_error};
use mooring_stellar::xdr::{OperationBody, Preconditions, SequenceNumber};
use mooring_stellar::{Keypair, envelope};
use reqwest::Method;
use serde_json::json;

async fn sponsorship(engine: Engine) {
    let sponsor = Keypair::random();
    let seed = sponsor.secret_seed().as_str().to_owned();
    let srv = TestServer::start_with(engine, move |c| {
        c.sep30.sponsor.enabled = true;
        c.sep30.sponsor.seed = Some(seed.into());
        c.sep30.sponsor.per_identity_per_day = 1;
        c.sep30.sponsor.per_day = 2;
        c.sep30.sms.enabled = true;
    })
    .await;
    srv.horizon.set_master_key_only(&sponsor.public_key());
    // A SEP-10 token costs nothing to make: not enough.
    let (wallet, sep10) = srv.login().await;
    let new_account = Keypair::random();
    let wanted = json!({ "account": new_account.public_key().to_string() });
    assert_error(
        call(&srv, Method::POST, "/sponsor/new", &sep10, Some(&wanted)).await,
        401,
        "sponsorship needs a sign-in token (POST /authorize/token): an email address or phone number, not a SEP-10 token",
    );
    let token = crate::common::signin::by_sms(&srv, "+14155550101").await;
    let (status, got) = call(
        &srv,
        Method::POST,
        "/sponsor/new",
        &token,
        Some(&json!({ "account": new_account.public_key().to_string() })),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["network_passphrase"], srv.network.passphrase());
    let env = envelope::decode(got["transaction"].as_str().unwrap()).unwrap();
    let (tx, signatures) = envelope::transaction(&env).unwrap();
    assert_eq!(tx.source_account, sponsor.public_key().to_muxed_account());
    assert_eq!(
        tx.seq_num.0, 3_298_702_387_052_546,
        "the sponsor's next sequence"
    );
    let bodies: Vec<_> = tx
        .operations
        .iter()
        .map(|o| (&o.source_account, &o.body))
        .collect();
    assert!(matches!(
        bodies[0],
        (None, OperationBody::BeginSponsoringFutureReserves(b)) if b.sponsored_id == new_account.public_key().to_account_id()
    ));
    assert!(matches!(
        bodies[1],
        (None, OperationBody::CreateAccount(c)) if c.destination == new_account.public_key().to_account_id() && c.starting_balance == 0
    ));
    assert!(matches!(
        bodies[2],
        (Some(m), OperationBody::EndSponsoringFutureReserves) if *m == new_account.public_key().to_muxed_account()
    ));
    let hash = envelope::hash(&tx, &srv.network);
    assert_eq!(signatures.len(), 1);
    assert!(envelope::signed_by(
        &hash,
        &signatures[0],
        &sponsor.public_key()
    ));

    // One a day for an identity; and the sponsor's daily total.
    let again = json!({ "account": Keypair::random().public_key().to_string() });
    assert_error(
        call(&srv, Method::POST, "/sponsor/new", &token, Some(&again)).await,
        429,
        "too many accounts sponsored; try again tomorrow",
    );
    let other = crate::common::signin::by_sms(&srv, "+14155550102").await;
    assert_eq!(
        call(&srv, Method::POST, "/sponsor/new", &other, Some(&again))
            .await
            .0,
        200
    );
    let third = crate::common::signin::by_sms(&srv, "+14155550103").await;
    assert_error(
        call(&srv, Method::POST, "/sponsor/new", &third, Some(&again)).await,
        429,
        "too many accounts sponsored; try again tomorrow",
    );
    // An account that exists is not created again.
    srv.horizon.set_master_key_only(&wallet.public_key());
    let exists = json!({ "account": wallet.public_key().to_string() });
    assert_error(
        call(&srv, Method::POST, "/sponsor/new", &third, Some(&exists)).await,
        409,
        "the account already exists on the network",
    );
    assert_error(
        call(
            &srv,
            Method::POST,
            "/sponsor/new",
            &third,
            Some(&json!({ "account": "GABC" })),
        )
        .await,
        400,
        "`account` must be a Stellar account address (G…)",
    );
    let anonymous = TestServer::send(srv.http.post(srv.url("/sponsor/new")).json(&again)).await;
    assert_eq!(anonymous.0, 401);
    // The ledger unreachable: 503, nothing made.
    srv.horizon.fail_with(Some(500));
    assert_error(
        call(&srv, Method::POST, "/sponsor/new", &third, Some(&again)).await,
        503,
        "the Stellar network could not be reached; try again later",
    );
    srv.horizon.fail_with(None);
    srv.stop().await;

    // Not configured: not offered.
    let plain = TestServer::start_with(engine, |c| c.sep30.sms.enabled = true).await;
    let token = crate::common::signin::by_sms(&plain, "+14155550104").await;
    assert_error(
        call(&plain, Method::POST, "/sponsor/new", &token, Some(&again)).await,
        404,
        "account sponsorship is not offered by this server",
    );
    plain.stop().await;
}

/// Two sponsorships asked for at once get distinct sequence numbers, each
/// valid on its own (minSeqNum = the sponsor's sequence, CAP-21): neither
/// is left with a number the other one uses.
async fn concurrent_sponsorships_get_usable_sequence_numbers(engine: Engine) {
    let sponsor = Keypair::random();
    let seed = sponsor.secret_seed().as_str().to_owned();
    let srv = TestServer::start_with(engine, move |c| {
        c.sep30.sponsor.enabled = true;
        c.sep30.sponsor.seed = Some(seed.into());
        c.sep30.sponsor.per_day = 10;
        c.sep30.sms.enabled = true;
    })
    .await;
    srv.horizon.set_master_key_only(&sponsor.public_key());
    let one = crate::common::signin::by_sms(&srv, "+14155550111").await;
    let two = crate::common::signin::by_sms(&srv, "+14155550112").await;
    let ask = |token: String| {
        let body = json!({ "account": Keypair::random().public_key().to_string() });
        let srv = &srv;
        async move { call(srv, Method::POST, "/sponsor/new", &token, Some(&body)).await }
    };
    let (a, b) = tokio::join!(ask(one), ask(two));
    let mut seqs = Vec::new();
    for (status, got) in [a, b] {
        assert_eq!(status, 200, "{got}");
        let env = envelope::decode(got["transaction"].as_str().unwrap()).unwrap();
        let (tx, _) = envelope::transaction(&env).unwrap();
        match &tx.cond {
            Preconditions::V2(p) => {
                assert_eq!(p.min_seq_num, Some(SequenceNumber(3_298_702_387_052_545)));
                assert!(p.time_bounds.is_some());
            }
            other => panic!("expected minSeqNum preconditions, got {other:?}"),
        }
        seqs.push(tx.seq_num.0);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, [3_298_702_387_052_546, 3_298_702_387_052_547]);
    srv.stop().await;
}

crate::on_both_engines!(
    sponsorship,
    concurrent_sponsorships_get_usable_sequence_numbers,
);
