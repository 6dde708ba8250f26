//! The happy paths: a login's token and its claims, the challenge's shape,
//! memos, muxed accounts, form bodies, a second home domain and a verified
//! client domain.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::sep10::{signed, start_with_wallet};
use crate::common::{Engine, TestServer, assert_error, claims, muxed_account};
use mooring_client::sep10::LoginOptions;
use mooring_stellar::xdr::TransactionEnvelope;
use mooring_stellar::{ClientAccount, IdMemo, Keypair, envelope};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn login_issues_a_jwt_with_the_spec_claims(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (kp, token) = srv.login().await;
    let c = claims(&token);
    assert_eq!(c["iss"], srv.url("/auth"));
    assert_eq!(c["sub"], kp.public_key().to_string());
    assert_eq!(c["home_domain"], srv.home_domain);
    assert_eq!(
        c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
        86_400
    );
    let jti = c["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 64);
    assert!(jti.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(c.get("client_domain").is_none());
    srv.stop().await;
}

async fn challenge_has_the_spec_shape_and_network_passphrase(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let res = srv
        .http
        .get(srv.url("/auth"))
        .query(&[("account", kp.public_key().to_string())])
        .header("origin", "https://wallet.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["network_passphrase"],
        "Test SDF Network ; September 2015"
    );
    let env = envelope::decode(body["transaction"].as_str().unwrap()).unwrap();
    let TransactionEnvelope::Tx(v1) = &env else {
        panic!("v1 envelope expected")
    };
    assert_eq!(v1.tx.seq_num.0, 0);
    assert_eq!(v1.tx.operations.len(), 2);
    assert_eq!(v1.signatures.len(), 1);
    let mooring_stellar::xdr::Preconditions::Time(tb) = &v1.tx.cond else {
        panic!("time bounds")
    };
    assert_eq!(tb.max_time.0 - tb.min_time.0, 900);
    assert!(tb.min_time.0.abs_diff(now()) <= 5);
    srv.stop().await;
}

async fn login_with_memo_puts_it_in_sub(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let opts = LoginOptions {
        memo: Some(IdMemo::new(1234567)),
        ..Default::default()
    };
    let token = srv
        .login_as(&ClientAccount::Account(kp.public_key()), &kp, &opts)
        .await
        .unwrap();
    assert_eq!(
        claims(&token)["sub"],
        format!("{}:1234567", kp.public_key())
    );
    srv.stop().await;
}

async fn login_with_muxed_account_puts_it_in_sub(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let muxed = muxed_account(kp.public_key(), 77);
    let token = srv
        .login_as(&muxed, &kp, &LoginOptions::default())
        .await
        .unwrap();
    let sub = claims(&token)["sub"].as_str().unwrap().to_owned();
    assert!(sub.starts_with('M'), "{sub}");
    assert_eq!(sub, muxed.to_string());
    srv.stop().await;
}

async fn form_encoded_token_request_is_accepted(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let xdr = srv.signed_challenge(&kp).await;
    let res = srv
        .http
        .post(srv.url("/auth"))
        .form(&[("transaction", xdr.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["token"].as_str().unwrap().split('.').count() == 3);
    srv.stop().await;
}

async fn second_home_domain_can_be_chosen(engine: Engine) {
    let srv = TestServer::start_with(engine, |c| {
        c.sep10.home_domains = vec!["localhost:1".into(), "anchor.example.com".into()];
    })
    .await;
    let kp = Keypair::random();
    // Domain names are case-insensitive (RFC 4343): the challenge and the
    // token name the domain as configured.
    for asked in ["anchor.example.com", "Anchor.Example.COM"] {
        let (status, body) = srv
            .get_challenge(&[
                ("account", &kp.public_key().to_string()),
                ("home_domain", asked),
            ])
            .await;
        assert_eq!(status, 200, "{body}");
        let xdr = signed(&srv, body["transaction"].as_str().unwrap(), &[&kp]);
        let (status, body) = srv.post_token(&xdr).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            claims(body["token"].as_str().unwrap())["home_domain"],
            "anchor.example.com"
        );
    }
    assert_error(
        srv.get_challenge(&[
            ("account", &kp.public_key().to_string()),
            ("home_domain", "evil.example"),
        ])
        .await,
        400,
        "home_domain is not served here; use one of: localhost:1, anchor.example.com",
    );
    srv.stop().await;
}

async fn client_domain_is_verified_and_claimed(engine: Engine) {
    let (srv, wallet, domain) = start_with_wallet(engine, |_| {}).await;
    let kp = Keypair::random();
    let opts = LoginOptions {
        client_domain: Some((&domain, &wallet)),
        ..Default::default()
    };
    let token = srv
        .login_as(&ClientAccount::Account(kp.public_key()), &kp, &opts)
        .await
        .unwrap();
    assert_eq!(claims(&token)["client_domain"], domain);
    srv.stop().await;
}

crate::on_both_engines!(
    client_domain_is_verified_and_claimed,
    login_issues_a_jwt_with_the_spec_claims,
    challenge_has_the_spec_shape_and_network_passphrase,
    login_with_memo_puts_it_in_sub,
    login_with_muxed_account_puts_it_in_sub,
    form_encoded_token_request_is_accepted,
    second_home_domain_can_be_chosen,
);
