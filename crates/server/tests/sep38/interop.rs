//! A client nobody here wrote: tests/interop/python/sep38.py signs in with
//! the published stellar-sdk's SEP-10 helpers as a partner's account (its
//! secret passed in) and drives the five endpoints over plain HTTP; the
//! quote it made is then read here, with the partner's own token.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use super::{BRL, USDC, get_quote, start_custom};
use crate::common::{Engine, interop};
use crate::on_both_engines;

async fn python_stellar_sdk_quotes_as_a_partner(engine: Engine) {
    let Some(python) = interop::python() else {
        return;
    };
    let sep38 = json!({
        "enabled": true,
        "assets": [
            {"asset": USDC},
            {"asset": BRL, "country_codes": ["BR"],
             "sell_delivery_methods": [{"name": "PIX", "description": "Send BRL to our PIX key"}]},
        ],
        "prices": [{"sell_asset": BRL, "buy_asset": USDC, "price": "5",
                    "fee_fixed": "2", "fee_percent": "1"}],
    });
    let a = start_custom(engine, sep38, |_| {}).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/python/sep38.py");
    let base = a.srv.url("");
    let secret = a.alice.secret_seed().as_str().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(base)
            .arg(secret)
            .output()
    })
    .await
    .expect("the script's thread")
    .expect("python runs");
    assert!(
        out.status.success(),
        "sep38.py failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(out.stdout.trim_ascii())
        .unwrap_or_else(|e| panic!("sep38.py printed no JSON ({e}): {:?}", out.stdout));
    let quote = &seen["quote"];
    let id = quote["id"].as_str().unwrap_or_default();
    assert!(!id.is_empty(), "the script's quote has an id: {seen}");
    // The quote is alice's: her own token reads exactly what Python saw.
    let token = a.alice_token().await;
    assert_eq!(
        get_quote(&a.srv, &token, id).await,
        (200, quote.clone()),
        "the quote made by stellar-sdk's client, read with the partner's token"
    );
}

on_both_engines!(python_stellar_sdk_quotes_as_a_partner);
