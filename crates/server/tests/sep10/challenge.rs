//! Refused challenge requests (`GET /auth`): the account, memo and
//! client_domain parameters, the server's own key, and the authorization of
//! challenge requests (SEP-10 v3.4.0) by a JWT of the client domain's key or
//! the account's.

use crate::common::sep10::{
    assert_refused, server_challenge, start_with_wallet, tampered, wallet_domain,
};
use crate::common::{Engine, TestServer, assert_error, muxed_account};
use mooring_server::clock::Clock as _;
use mooring_stellar::xdr::Memo;
use mooring_stellar::{Keypair, envelope};
use serde_json::json;

async fn invalid_account_parameter(engine: Engine) {
    let srv = TestServer::start(engine).await;
    for bad in [
        "GBAD",
        "SBGWSG6BTNCKCOB3DIFBGCVMUPQFYPA2G4O34RMTB343OYPXU5DJDVMN",
        "alice*example.com",
    ] {
        assert_error(
            srv.get_challenge(&[("account", bad)]).await,
            400,
            "account: not a valid Stellar account: expected a G… or M… address",
        );
    }
    assert_error(srv.get_challenge(&[]).await, 400, "account is required");
    srv.stop().await;
}

async fn muxed_account_with_memo(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let muxed = muxed_account(Keypair::random().public_key(), 5);
    assert_error(
        srv.get_challenge(&[("account", &muxed.to_string()), ("memo", "5")])
            .await,
        400,
        "a memo cannot be combined with a muxed (M…) account; use one or the other",
    );
    srv.stop().await;
}

async fn non_id_memo(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    for bad in ["hello", "-1", "18446744073709551616", "0x10"] {
        assert_error(
            srv.get_challenge(&[("account", &kp.public_key().to_string()), ("memo", bad)])
                .await,
            400,
            "memo: memo must be an id memo: a decimal integer from 0 to 18446744073709551615 without leading zeros",
        );
    }
    // And in a submitted challenge.
    let xdr = tampered(&srv, &kp, |tx| {
        tx.memo = Memo::Text("hello".try_into().unwrap())
    })
    .await;
    assert_refused(&srv, &xdr, &kp, "only id memos are allowed").await;
    srv.stop().await;
}

async fn the_servers_own_key_cannot_authenticate(engine: Engine) {
    let srv = TestServer::start(engine).await;
    assert_error(
        srv.get_challenge(&[("account", &srv.signing.public_key().to_string())])
            .await,
        400,
        "account: this server's own signing key cannot authenticate",
    );
    // Even with a challenge the server built for itself, a copy of its own
    // signature does not stand in for the master key's.
    let xdr = server_challenge(&srv, &srv.signing, srv.clock.now(), 900, &srv.network);
    let env = envelope::decode(&xdr).unwrap();
    let (tx, sigs) = envelope::transaction(&env).unwrap();
    let copied = envelope::encode(&envelope::envelope(
        tx,
        vec![sigs[0].clone(), sigs[0].clone()],
    ));
    assert_error(
        srv.post_token(&copied).await,
        400,
        "transaction carries the same signature more than once",
    );
    srv.stop().await;
}

async fn client_domain_that_cannot_be_fetched(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let kp = Keypair::random();
    let account = kp.public_key().to_string();
    // Not on the development list: only https to public addresses is tried,
    // so a loopback address is refused without a request.
    let local = wallet_domain(&Keypair::random().public_key().to_string()).await;
    assert_error(
        srv.get_challenge(&[("account", &account), ("client_domain", &local)])
            .await,
        400,
        &format!(
            "could not fetch the stellar.toml of client_domain '{local}': it is not a public address"
        ),
    );
    assert_error(
        srv.get_challenge(&[
            ("account", &account),
            ("client_domain", "https://wallet.example"),
        ])
        .await,
        400,
        "client_domain must be a domain name (host or host:port, at most 64 characters)",
    );
    srv.stop().await;
}

/// An EdDSA JWT for `GET /auth`'s Authorization header (SEP-10 v3.4.0).
fn request_jwt(signer: &Keypair, claims: serde_json::Value) -> String {
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    let der = ed25519_dalek::SigningKey::from_bytes(&signer.seed_bytes())
        .to_pkcs8_der()
        .unwrap();
    let key = jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes());
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA),
        &claims,
        &key,
    )
    .unwrap()
}

async fn get_with_auth(
    srv: &TestServer,
    query: &[(&str, &str)],
    auth: Option<String>,
) -> (u16, serde_json::Value) {
    let mut req = srv.http.get(srv.url("/auth")).query(query);
    if let Some(a) = auth {
        req = req.header("authorization", format!("Bearer {a}"));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

async fn challenge_request_authorization_when_required(engine: Engine) {
    let (srv, wallet, domain) = start_with_wallet(engine, |c| {
        c.sep10.challenge_auth.required = true;
    })
    .await;
    let kp = Keypair::random();
    let account = kp.public_key().to_string();
    let endpoint = srv.url("/auth");
    let t = srv.clock.now();
    let q = [("account", account.as_str()), ("memo", "7")];

    assert_error(
        get_with_auth(&srv, &q, None).await,
        401,
        "Missing authorization header",
    );
    // Signed by the account's key, claims repeating the request.
    let good = json!({"iat": t, "exp": t + 300, "web_auth_endpoint": endpoint, "account": account, "memo": "7"});
    assert_eq!(
        get_with_auth(&srv, &q, Some(request_jwt(&kp, good.clone())))
            .await
            .0,
        200
    );
    assert_error(
        get_with_auth(&srv, &q, Some(request_jwt(&kp, json!({"iat": t - 600, "exp": t - 300, "web_auth_endpoint": endpoint, "account": account, "memo": "7"})))).await,
        400,
        "Provided authorization JWT has been expired",
    );
    assert_error(
        get_with_auth(
            &srv,
            &q,
            Some(request_jwt(&Keypair::random(), good.clone())),
        )
        .await,
        400,
        "Provided authorization JWT is not valid: it must be an EdDSA JWT with iat, exp and web_auth_endpoint, signed by the client domain's SIGNING_KEY or else the account's key",
    );
    assert_error(
        get_with_auth(&srv, &q, Some(request_jwt(&kp, json!({"iat": t, "exp": t + 300, "web_auth_endpoint": endpoint, "account": account, "memo": "8"})))).await,
        400,
        "Provided authorization JWT is not valid: its claims do not match the request's parameters",
    );
    assert_error(
        get_with_auth(&srv, &q, Some(request_jwt(&kp, json!({"iat": t, "exp": t + 300, "web_auth_endpoint": "https://evil/auth", "account": account, "memo": "7"})))).await,
        400,
        "Provided authorization JWT is not valid: web_auth_endpoint does not match this endpoint",
    );
    // With a client domain, the domain's key signs.
    let q = [
        ("account", account.as_str()),
        ("client_domain", domain.as_str()),
    ];
    let claims = json!({"iat": t, "exp": t + 300, "web_auth_endpoint": endpoint, "account": account, "client_domain": domain});
    assert_eq!(
        get_with_auth(&srv, &q, Some(request_jwt(&wallet, claims.clone())))
            .await
            .0,
        200
    );
    assert_eq!(
        get_with_auth(&srv, &q, Some(request_jwt(&kp, claims)))
            .await
            .0,
        400
    );
    srv.stop().await;
}

async fn challenge_request_from_an_application_not_allowed(engine: Engine) {
    let (srv, wallet, domain) = start_with_wallet(engine, |c| {
        c.sep10.challenge_auth.required = true;
        c.sep10.challenge_auth.allowed_client_domains = vec!["approved-wallet.example".into()];
    })
    .await;
    let kp = Keypair::random();
    let account = kp.public_key().to_string();
    let t = srv.clock.now();
    let q = [
        ("account", account.as_str()),
        ("client_domain", domain.as_str()),
    ];
    let claims = json!({"iat": t, "exp": t + 300, "web_auth_endpoint": srv.url("/auth"), "account": account, "client_domain": domain});
    assert_error(
        get_with_auth(&srv, &q, Some(request_jwt(&wallet, claims))).await,
        403,
        &format!("Application {domain} is not allowed to authenticate."),
    );
    srv.stop().await;
}

/// `GET /auth` from `ip` (through the trusted proxy on loopback):
/// (status, Retry-After, body).
async fn challenge_from(
    srv: &TestServer,
    ip: &str,
    account: &str,
) -> (u16, Option<u64>, serde_json::Value) {
    let res = srv
        .http
        .get(srv.url("/auth"))
        .query(&[("account", account)])
        .header("x-forwarded-for", ip)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry, res.json().await.unwrap())
}

/// `sep10.challenges_per_ip_per_minute`, counted per client network across
/// replicas (the counts meet in the database), malformed requests included.
async fn challenges_are_limited_per_address_across_replicas(engine: Engine) {
    let limited = |c: &mut mooring_server::Config| {
        c.sep10.challenges_per_ip_per_minute = 3;
        c.http.trusted_proxies = vec!["127.0.0.1/32".into()];
    };
    let a = TestServer::start_with(engine, limited).await;
    let b = a.replica_with(limited).await;
    let account = Keypair::random().public_key().to_string();
    for _ in 0..3 {
        assert_eq!(challenge_from(&a, "192.0.2.1", &account).await.0, 200);
    }
    let (status, retry, body) = challenge_from(&a, "192.0.2.1", &account).await;
    assert_eq!(status, 429, "{body}");
    assert!(retry.is_some_and(|s| (1..=60).contains(&s)), "{retry:?}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("too many challenge requests"),
        "{body}"
    );
    // Another network is not limited; an IPv6 client is counted by its /64.
    assert_eq!(challenge_from(&a, "192.0.2.2", &account).await.0, 200);
    for (i, ip) in ["2001:db8:5:6::1", "2001:db8:5:6::2", "2001:db8:5:6:ffff::3"]
        .iter()
        .enumerate()
    {
        assert_eq!(challenge_from(&a, ip, &account).await.0, 200, "{i}");
    }
    assert_eq!(challenge_from(&a, "2001:db8:5:6::9", &account).await.0, 429);
    // The replica learns the count from the database within a few flushes
    // (one a second); without shared counts it would answer 200 forever.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (status, _, body) = challenge_from(&b, "192.0.2.1", &account).await;
        if status == 429 {
            break;
        }
        assert_eq!(status, 200, "{body}");
        assert!(
            std::time::Instant::now() < deadline,
            "the replica never saw the count"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Malformed requests count too: three of them use up a fresh address.
    for _ in 0..3 {
        assert_eq!(
            challenge_from(&a, "192.0.2.3", "not-an-account").await.0,
            400
        );
    }
    assert_eq!(challenge_from(&a, "192.0.2.3", &account).await.0, 429);
    // The next window starts afresh.
    a.clock.advance(60);
    assert_eq!(challenge_from(&a, "192.0.2.1", &account).await.0, 200);
    b.stop().await;
    a.stop().await;
}

crate::on_both_engines!(
    challenges_are_limited_per_address_across_replicas,
    the_servers_own_key_cannot_authenticate,
    invalid_account_parameter,
    muxed_account_with_memo,
    non_id_memo,
    challenge_request_authorization_when_required,
    challenge_request_from_an_application_not_allowed,
    client_domain_that_cannot_be_fetched,
);
