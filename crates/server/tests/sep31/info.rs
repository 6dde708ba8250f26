//! `GET /sep31/info` (SEP-31 §GET Info; docs/payments.md §Endpoints): the
//! asset with its funding methods, SEP-12 types and figures as JSON
//! numbers — the caller's partner's where it has them, left out when not
//! configured — and `DIRECT_PAYMENT_SERVER` in stellar.toml.

use reqwest::Method;
use serde_json::{Value, json};

use super::{RECEIVER, SENDER, USDC, start, start_custom, start_quoting};
use crate::common::{Engine, TestServer};
use crate::on_both_engines;

async fn info(srv: &TestServer, token: &str) -> Value {
    let (status, body) = TestServer::send(srv.with_token(Method::GET, "/sep31/info", token)).await;
    assert_eq!(
        status, 200,
        "GET /sep31/info with a partner's token: {body}"
    );
    body
}

fn sep12() -> Value {
    json!({
        "sender": {"types": {SENDER: {"description": "People sending money"}}},
        "receiver": {"types": {RECEIVER: {"description": "People receiving money"}}},
    })
}

/// ACME has no figures of its own: the asset's (fee 0.5 + 1 %, 1 to
/// 10000); ZENITH has its own (fee 2 + 0.5 %, 10 to 500). Numbers, not
/// strings; no quotes without `[sep38]`.
async fn info_gives_the_asset_with_the_callers_partners_figures(engine: Engine) {
    let a = start(engine).await;
    let acme = a.srv.token_for(&a.acme, None).await;
    assert_eq!(
        info(&a.srv, &acme).await,
        json!({"receive": {"USDC": {
            "quotes_supported": false, "quotes_required": false,
            "funding_methods": ["SEPA", "SWIFT"], "sep12": sep12(),
            "fee_fixed": 0.5, "fee_percent": 1, "min_amount": 1, "max_amount": 10000,
        }}}),
        "ACME: the asset's figures"
    );
    let zenith = a.srv.token_for(&a.zenith, None).await;
    assert_eq!(
        info(&a.srv, &zenith).await,
        json!({"receive": {"USDC": {
            "quotes_supported": false, "quotes_required": false,
            "funding_methods": ["SEPA", "SWIFT"], "sep12": sep12(),
            "fee_fixed": 2, "fee_percent": 0.5, "min_amount": 10, "max_amount": 500,
        }}}),
        "ZENITH: its own figures replace the asset's"
    );
    a.srv.stop().await;
}

/// Figures nobody configured are left out; a partner's figure appears
/// alone when the asset has none.
async fn info_leaves_out_figures_not_configured(engine: Engine) {
    let a = start_custom(engine, |c| {
        let usdc = &mut c.sep31.assets[0];
        (usdc.fee_fixed, usdc.fee_percent) = (None, None);
        (usdc.min_amount, usdc.max_amount) = (None, None);
        let zenith = &mut c.partners[1];
        (zenith.fee_fixed, zenith.fee_percent, zenith.min_amount) = (None, None, None);
    })
    .await;
    let acme = a.srv.token_for(&a.acme, None).await;
    assert_eq!(
        info(&a.srv, &acme).await,
        json!({"receive": {"USDC": {
            "quotes_supported": false, "quotes_required": false,
            "funding_methods": ["SEPA", "SWIFT"], "sep12": sep12(),
        }}}),
        "no figures configured: none given"
    );
    let zenith = a.srv.token_for(&a.zenith, None).await;
    assert_eq!(
        info(&a.srv, &zenith).await["receive"]["USDC"],
        json!({
            "quotes_supported": false, "quotes_required": false,
            "funding_methods": ["SEPA", "SWIFT"], "sep12": sep12(), "max_amount": 500,
        }),
        "ZENITH's max_amount only"
    );
    a.srv.stop().await;
}

/// `quotes_supported` when SEP-38 sells USDC; `quotes_required` as
/// configured.
async fn info_says_quotes_are_supported_and_required(engine: Engine) {
    let a = start_quoting(engine).await;
    let acme = a.srv.token_for(&a.acme, None).await;
    let usdc = &info(&a.srv, &acme).await["receive"]["USDC"];
    assert_eq!(
        (&usdc["quotes_supported"], &usdc["quotes_required"]),
        (&json!(true), &json!(false)),
        "[sep38] sells {USDC}: {usdc}"
    );
    a.srv.stop().await;

    let a = start_custom(engine, |c| {
        c.sep38 = serde_json::from_value(super::sep38()).expect("[sep38] deserializes");
        c.sep31.quotes_required = true;
    })
    .await;
    let acme = a.srv.token_for(&a.acme, None).await;
    let usdc = &info(&a.srv, &acme).await["receive"]["USDC"];
    assert_eq!(
        (&usdc["quotes_supported"], &usdc["quotes_required"]),
        (&json!(true), &json!(true)),
        "quotes_required = true: {usdc}"
    );
    a.srv.stop().await;
}

/// `DIRECT_PAYMENT_SERVER` is `<public_url>/sep31` when SEP-31 is enabled,
/// absent otherwise.
async fn stellar_toml_publishes_the_direct_payment_server(engine: Engine) {
    let a = start(engine).await;
    let text = a.srv.page(&a.srv.url("/.well-known/stellar.toml")).await;
    let toml: toml::Table = toml::from_str(&text).expect("stellar.toml parses as TOML");
    assert_eq!(
        toml.get("DIRECT_PAYMENT_SERVER").and_then(|v| v.as_str()),
        Some(a.srv.url("/sep31").as_str()),
        "stellar.toml:\n{text}"
    );
    a.srv.stop().await;

    let srv = TestServer::start(engine).await;
    let text = srv.page(&srv.url("/.well-known/stellar.toml")).await;
    let toml: toml::Table = toml::from_str(&text).expect("stellar.toml parses as TOML");
    assert!(
        !toml.contains_key("DIRECT_PAYMENT_SERVER"),
        "SEP-31 is disabled, yet stellar.toml says:\n{text}"
    );
    srv.stop().await;
}

on_both_engines!(
    info_gives_the_asset_with_the_callers_partners_figures,
    info_leaves_out_figures_not_configured,
    info_says_quotes_are_supported_and_required,
    stellar_toml_publishes_the_direct_payment_server,
);
