//! `GET /sep38/info` (SEP-38 §GET Info) and its publication in stellar.toml
//! (docs/quotes.md: `ANCHOR_QUOTE_SERVER` when `[sep38]` is enabled).

use serde_json::json;

use super::{ARS, BRL, USDC, eurc, get, start};
use crate::common::{Engine, TestServer};
use crate::on_both_engines;

/// The configured assets in order; `country_codes` and the delivery methods
/// only on BRL, which configures them; nothing else (no `decimals`, no
/// empty lists, no nulls).
async fn info_lists_the_assets_in_order_with_optional_fields_only_when_configured(engine: Engine) {
    let a = start(engine).await;
    let expected = json!({"assets": [
        {"asset": USDC},
        {"asset": BRL, "country_codes": ["BR"],
         "sell_delivery_methods": [{"name": "PIX", "description": "Send BRL to our PIX key"}],
         "buy_delivery_methods": [
             {"name": "PIX", "description": "BRL to the PIX key of your choice"},
             {"name": "cash", "description": "Pick up cash at an agent"},
         ]},
        {"asset": eurc()},
        {"asset": ARS},
    ]});
    let (status, body) = get(&a.srv, "/info", &[], None).await;
    assert_eq!(status, 200, "GET /sep38/info without a token: {body}");
    assert_eq!(
        body, expected,
        "GET /sep38/info must list exactly the configured assets and fields"
    );
    // A partner's token changes nothing in the answer.
    let token = a.alice_token().await;
    let (status, body) = get(&a.srv, "/info", &[], Some(&token)).await;
    assert_eq!(
        status, 200,
        "GET /sep38/info with a partner's token: {body}"
    );
    assert_eq!(body, expected, "GET /sep38/info with a partner's token");
}

/// `ANCHOR_QUOTE_SERVER` is `<public_url>/sep38` when SEP-38 is enabled.
async fn stellar_toml_publishes_the_quote_server(engine: Engine) {
    let a = start(engine).await;
    let text = a.srv.page(&a.srv.url("/.well-known/stellar.toml")).await;
    let toml: toml::Table = toml::from_str(&text).expect("stellar.toml parses as TOML");
    assert_eq!(
        toml.get("ANCHOR_QUOTE_SERVER").and_then(|v| v.as_str()),
        Some(a.srv.url("/sep38").as_str()),
        "stellar.toml:\n{text}"
    );
}

/// Without `[sep38]` (disabled by default) nothing announces quotes.
async fn stellar_toml_has_no_quote_server_when_disabled(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let text = srv.page(&srv.url("/.well-known/stellar.toml")).await;
    let toml: toml::Table = toml::from_str(&text).expect("stellar.toml parses as TOML");
    assert!(
        !toml.contains_key("ANCHOR_QUOTE_SERVER"),
        "SEP-38 is disabled, yet stellar.toml says:\n{text}"
    );
}

on_both_engines!(
    info_lists_the_assets_in_order_with_optional_fields_only_when_configured,
    stellar_toml_publishes_the_quote_server,
    stellar_toml_has_no_quote_server_when_disabled,
);
