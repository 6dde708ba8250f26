//! The authentication table of docs/quotes.md §Partners, row by row, on
//! each of the five endpoints; 403 bodies that name no partner; partners by
//! account and by verified client domain; KYC limits on firm quotes.

use base64::Engine as _;
use mooring_client::sep10::LoginOptions;
use mooring_stellar::{ClientAccount, Keypair};
use reqwest::Method;
use serde_json::{Value, json};

use super::{
    ACME, Anchor, BRL, USDC, ZENITH, assert_refusal, created, get, get_quote, post_quote, start,
    start_custom, table,
};
use crate::common::recovery::alg_none;
use crate::common::sep10::wallet_domain;
use crate::common::{Engine, TestServer, claims};
use crate::on_both_engines;

/// A quote request any partner may make.
fn quote_body() -> Value {
    json!({"sell_asset": BRL, "buy_asset": USDC, "sell_amount": "542", "context": "sep31"})
}

/// The five endpoints with `token` (or none): (what, status, body).
async fn all_endpoints(
    srv: &TestServer,
    token: Option<&str>,
    quote_id: &str,
) -> Vec<(String, (u16, Value))> {
    let price = [
        ("sell_asset", BRL),
        ("buy_asset", USDC),
        ("sell_amount", "542"),
        ("context", "sep31"),
    ];
    let prices = [("sell_asset", BRL), ("sell_amount", "542")];
    let mut out = vec![
        ("GET /info".to_owned(), get(srv, "/info", &[], token).await),
        (
            "GET /prices".to_owned(),
            get(srv, "/prices", &prices, token).await,
        ),
        (
            "GET /price".to_owned(),
            get(srv, "/price", &price, token).await,
        ),
        (
            "POST /quote".to_owned(),
            post_quote(srv, token, &quote_body()).await,
        ),
    ];
    let path = format!("/sep38/quote/{quote_id}");
    let read = match token {
        Some(t) => TestServer::send(srv.with_token(Method::GET, &path, t)).await,
        None => TestServer::send(srv.http.get(srv.url(&path))).await,
    };
    out.push((format!("GET /quote/{quote_id}"), read));
    out
}

/// Asserts a 403 `{"error"}` that names no partner and none of their
/// accounts.
#[track_caller]
fn assert_forbidden(a: &Anchor, got: &(u16, Value), what: &str) -> String {
    let error = assert_refusal(got, 403, what);
    for secret in [
        ACME.to_owned(),
        ZENITH.to_owned(),
        a.alice.public_key().to_string(),
        a.alice2.public_key().to_string(),
        a.bob.public_key().to_string(),
    ] {
        assert!(
            !error.to_lowercase().contains(&secret.to_lowercase()),
            "{what}: the 403 names a partner or a partner's account ({secret}): {error}"
        );
    }
    error
}

/// A quote of alice's, for the GET rows.
async fn alices_quote(a: &Anchor) -> String {
    let token = a.alice_token().await;
    let q = created(
        post_quote(&a.srv, Some(&token), &quote_body()).await,
        "alice's quote",
    );
    q["id"].as_str().unwrap_or_default().to_owned()
}

/// No `Authorization`: indicative prices answered, quotes 403.
async fn anonymous_callers_get_prices_but_no_quotes(engine: Engine) {
    let a = start(engine).await;
    let id = alices_quote(&a).await;
    for (what, got) in all_endpoints(&a.srv, None, &id).await {
        if what.starts_with("POST /quote") || what.starts_with("GET /quote") {
            assert_forbidden(&a, &got, &format!("{what} without a token"));
        } else {
            assert_eq!(got.0, 200, "{what} without a token: {}", got.1);
        }
    }
}

/// Tokens that are not valid, or have expired: 403 on every endpoint, even
/// those that answer without a token.
async fn invalid_and_expired_tokens_are_403_everywhere(engine: Engine) {
    let a = start(engine).await;
    let id = alices_quote(&a).await;
    let alice = a.alice_token().await;
    let (_, stranger) = a.srv.login().await;
    let parts: Vec<&str> = alice.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts: {alice}");
    // The signature's first character changed (all of its bits count).
    let sig = parts[2];
    let first = if sig.starts_with('A') { "B" } else { "A" };
    let bad_signature = format!("{}.{}.{first}{}", parts[0], parts[1], &sig[1..]);
    // A non-partner's token whose claims now say alice (signature kept).
    let other: Vec<&str> = stranger.split('.').collect();
    let forged = format!("{}.{}.{}", other[0], parts[1], other[2]);
    let none = alg_none(&claims(&alice));
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut hs = claims(&alice);
    hs["exp"] = json!(hs["exp"].as_u64().unwrap_or_default() + 1);
    let hs256 = format!(
        "{}.{}.{}",
        b64.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64.encode(hs.to_string()),
        b64.encode([0u8; 32])
    );
    for (kind, token) in [
        ("a word", "hello".to_owned()),
        ("a changed signature", bad_signature),
        ("a partner's claims under another token's signature", forged),
        ("alg none", none),
        ("an HS256 token", hs256),
    ] {
        for (what, got) in all_endpoints(&a.srv, Some(&token), &id).await {
            assert_forbidden(&a, &got, &format!("{what} with {kind}"));
        }
    }
    // alice's own token, once expired (24 h, the default).
    a.srv.clock.advance(24 * 3600);
    for (what, got) in all_endpoints(&a.srv, Some(&alice), &id).await {
        assert_forbidden(&a, &got, &format!("{what} with an expired partner token"));
    }
}

/// A valid token of an account with no agreement: 403 everywhere, saying
/// so without naming who has one.
async fn non_partners_are_403_everywhere(engine: Engine) {
    let a = start(engine).await;
    let id = alices_quote(&a).await;
    let (_, stranger) = a.srv.login().await;
    for (what, got) in all_endpoints(&a.srv, Some(&stranger), &id).await {
        let error = assert_forbidden(&a, &got, &format!("{what} by a non-partner"));
        assert!(
            error.to_lowercase().contains("agreement"),
            "{what} by a non-partner: the 403 must say the account has no agreement with this anchor: {error}"
        );
    }
}

/// Every account of every partner, with or without a memo: answered.
async fn partner_accounts_are_answered_everywhere(engine: Engine) {
    let a = start(engine).await;
    let tokens = [
        ("alice (acme)", a.srv.token_for(&a.alice, None).await),
        ("alice2 (acme)", a.srv.token_for(&a.alice2, None).await),
        ("bob (zenith)", a.srv.token_for(&a.bob, None).await),
        (
            "alice with memo 42",
            a.srv.token_for(&a.alice, Some(42)).await,
        ),
    ];
    for (who, token) in &tokens {
        let q = created(post_quote(&a.srv, Some(token), &quote_body()).await, who);
        let id = q["id"].as_str().unwrap_or_default();
        for (what, got) in all_endpoints(&a.srv, Some(token), id).await {
            let expected = if what.starts_with("POST") { 201 } else { 200 };
            assert_eq!(got.0, expected, "{what} by {who}: {}", got.1);
        }
        assert_eq!(
            get_quote(&a.srv, token, id).await,
            (200, q),
            "{who} reads its quote"
        );
    }
}

/// A partner known by its verified SEP-10 client domain: any account
/// signing in through that domain is answered; the same account without
/// it, or through another domain, is not.
async fn partners_by_client_domain(engine: Engine) {
    let wallet = Keypair::random();
    let domain = wallet_domain(&wallet.public_key().to_string()).await;
    let other_wallet = Keypair::random();
    let other_domain = wallet_domain(&other_wallet.public_key().to_string()).await;
    let (d, o) = (domain.clone(), other_domain.clone());
    let a = start_custom(engine, table(), move |c| {
        c.sep10.client_domain.allow_http_hosts = vec![d.clone(), o];
        c.partners.push(
            serde_json::from_value(json!({"name": "walletco", "client_domains": [d]}))
                .expect("a partner by client domain deserializes"),
        );
    })
    .await;
    let user = Keypair::random();
    let account = ClientAccount::Account(user.public_key());
    let opts = LoginOptions {
        client_domain: Some((&domain, &wallet)),
        ..Default::default()
    };
    let token = a
        .srv
        .login_as(&account, &user, &opts)
        .await
        .expect("login through the partner's client domain");
    assert_eq!(
        claims(&token)["client_domain"],
        json!(domain),
        "the token carries the verified client domain"
    );
    let q = created(
        post_quote(&a.srv, Some(&token), &quote_body()).await,
        "a user of the partner's wallet",
    );
    let id = q["id"].as_str().unwrap_or_default();
    for (what, got) in all_endpoints(&a.srv, Some(&token), id).await {
        let expected = if what.starts_with("POST") { 201 } else { 200 };
        assert_eq!(
            got.0, expected,
            "{what} through the partner's domain: {}",
            got.1
        );
    }
    // The same account, signed in without a client domain.
    let plain = a.srv.token_for(&user, None).await;
    let got = post_quote(&a.srv, Some(&plain), &quote_body()).await;
    let error = assert_forbidden(
        &a,
        &got,
        "POST /quote by the same account without the domain",
    );
    assert!(!error.contains("walletco"), "names the partner: {error}");
    // Through a domain with no agreement.
    let opts = LoginOptions {
        client_domain: Some((&other_domain, &other_wallet)),
        ..Default::default()
    };
    let other = a
        .srv
        .login_as(&account, &user, &opts)
        .await
        .expect("login through another client domain");
    let got = post_quote(&a.srv, Some(&other), &quote_body()).await;
    let error = assert_forbidden(&a, &got, "POST /quote through another client domain");
    assert!(!error.contains("walletco"), "names the partner: {error}");
}

/// A KYC limit on `quote` denying the quoting account is 403 naming
/// `/kyc-check`; the quote's sell_amount, in sell_asset, is what counts.
async fn kyc_limits_on_quotes_are_403_naming_kyc_check(engine: Engine) {
    let a = start_custom(engine, table(), |c| {
        c.limits.rules = serde_json::from_value(json!([
            {"name": "unverified-quotes", "op": "quote", "asset": USDC, "threshold": "100"},
        ]))
        .expect("limits rules deserialize");
    })
    .await;
    let token = a.alice_token().await;
    let sell = |amount: &str| {
        json!({"sell_asset": USDC, "buy_asset": BRL, "sell_amount": amount,
               "buy_delivery_method": "PIX", "context": "sep31"})
    };
    let buy_brl = |amount: &str| {
        json!({"sell_asset": USDC, "buy_asset": BRL, "buy_amount": amount,
               "buy_delivery_method": "PIX", "context": "sep31"})
    };
    created(
        post_quote(&a.srv, Some(&token), &sell("100")).await,
        "selling 100 USDC, the limit",
    );
    // 500 BRL cost 92.3857869 USDC: under the limit.
    created(
        post_quote(&a.srv, Some(&token), &buy_brl("500")).await,
        "buying 500 BRL",
    );
    // Selling BRL for 150 USDC: the USDC bought is not what counts.
    let body =
        json!({"sell_asset": BRL, "buy_asset": USDC, "buy_amount": "150", "context": "sep31"});
    created(
        post_quote(&a.srv, Some(&token), &body).await,
        "buying 150 USDC with BRL",
    );
    for (what, body) in [
        ("selling 100.0000001 USDC", sell("100.0000001")),
        // 600 BRL need at least (108 + 1) / 0.985 ≈ 110.66 USDC.
        ("buying 600 BRL (about 110.66 USDC sold)", buy_brl("600")),
    ] {
        let got = post_quote(&a.srv, Some(&token), &body).await;
        // It may name the caller's own account (its /kyc-check URL), but no
        // partner.
        let error = assert_refusal(&got, 403, what);
        assert!(
            error.contains("/kyc-check"),
            "{what}: the 403 must name /kyc-check: {error}"
        );
        for name in [ACME, ZENITH] {
            assert!(
                !error.contains(name),
                "{what}: the 403 names partner {name}: {error}"
            );
        }
    }
}

on_both_engines!(
    anonymous_callers_get_prices_but_no_quotes,
    invalid_and_expired_tokens_are_403_everywhere,
    non_partners_are_403_everywhere,
    partner_accounts_are_answered_everywhere,
    partners_by_client_domain,
    kyc_limits_on_quotes_are_403_naming_kyc_check,
);
