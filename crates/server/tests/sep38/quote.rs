//! `POST /sep38/quote` and `GET /sep38/quote/{id}` (SEP-38 §POST Quote,
//! §GET Quote; docs/quotes.md): the 201 body, delivery-method rules,
//! `expire_after`, refusals, and who may read a quote, before and after it
//! expires. The server's clock stands still unless a test moves it.

use serde_json::{Value, json};

use super::{
    BRL, USDC, assert_refusal, assert_total_price, created, eurc, get, get_quote, now, object_keys,
    post_quote, rfc3339, start, start_custom, table,
};
use crate::common::Engine;
use crate::on_both_engines;

/// Sell 100 USDC for BRL paid out in cash: fee 2.5 USDC, 541.66 BRL.
fn sell_usdc() -> Value {
    json!({"sell_asset": USDC, "buy_asset": BRL, "sell_amount": "100",
           "buy_delivery_method": "cash", "country_code": "BR", "context": "sep31"})
}

/// Buy 100 USDC with BRL sent by PIX: 507.08 BRL, fee 7.08 BRL.
fn buy_usdc() -> Value {
    json!({"sell_asset": BRL, "buy_asset": USDC, "buy_amount": "100",
           "sell_delivery_method": "PIX", "context": "sep6"})
}

async fn post_quote_answers_201_with_every_documented_field(engine: Engine) {
    let a = start(engine).await;
    let token = a.alice_token().await;
    let expires = rfc3339(now(&a.srv) + 300);

    let q1 = created(
        post_quote(&a.srv, Some(&token), &sell_usdc()).await,
        "sell 100 USDC",
    );
    assert_eq!(
        object_keys(&q1),
        [
            "buy_amount",
            "buy_asset",
            "buy_delivery_method",
            "expires_at",
            "fee",
            "id",
            "price",
            "sell_amount",
            "sell_asset",
            "total_price"
        ],
        "sell 100 USDC: the documented fields, sell_delivery_method only when asked: {q1}"
    );
    assert!(
        q1["id"].as_str().is_some_and(|id| !id.is_empty()),
        "sell 100 USDC: id must be a non-empty string: {q1}"
    );
    assert_total_price(&q1["total_price"], "100", "541.66", "sell 100 USDC");
    let mut rest = q1.clone();
    rest["id"] = Value::Null;
    rest["total_price"] = Value::Null;
    assert_eq!(
        rest,
        json!({"id": null, "expires_at": expires, "total_price": null, "price": "0.18",
               "sell_asset": USDC, "sell_amount": "100.0000000",
               "buy_asset": BRL, "buy_amount": "541.66", "buy_delivery_method": "cash",
               "fee": {"total": "2.5000000", "asset": USDC}}),
        "sell 100 USDC: expires now + quote_ttl_secs (300), table amounts"
    );
    // The firm price is the indicative one (same table, same amount).
    let (status, indicative) = get(
        &a.srv,
        "/price",
        &[
            ("sell_asset", USDC),
            ("buy_asset", BRL),
            ("sell_amount", "100"),
            ("context", "sep31"),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "GET /price: {indicative}");
    assert_eq!(
        q1["total_price"], indicative["total_price"],
        "firm vs indicative"
    );

    let q2 = created(
        post_quote(&a.srv, Some(&token), &buy_usdc()).await,
        "buy 100 USDC",
    );
    let id2 = q2["id"].as_str().unwrap_or_default().to_owned();
    assert_ne!(q2["id"], q1["id"], "two quotes, two ids");
    assert_eq!(
        q2,
        json!({"id": id2, "expires_at": expires, "total_price": "5.0708", "price": "5",
               "sell_asset": BRL, "sell_amount": "507.08", "sell_delivery_method": "PIX",
               "buy_asset": USDC, "buy_amount": "100.0000000",
               "fee": {"total": "7.08", "asset": BRL}}),
        "buy 100 USDC with BRL by PIX"
    );

    // GET: the same body, status 200.
    for q in [&q1, &q2] {
        let id = q["id"].as_str().unwrap_or_default();
        let (status, body) = get_quote(&a.srv, &token, id).await;
        assert_eq!(status, 200, "GET /quote/{id}: {body}");
        assert_eq!(&body, q, "GET /quote/{id} must answer the POST's body");
    }
}

/// A method is required on a side whose `iso4217:` asset lists more than
/// one (BRL to buy: PIX, cash); optional where it lists one (BRL to sell:
/// PIX); a method the asset does not list is 400.
async fn delivery_methods_follow_the_assets_lists(engine: Engine) {
    let a = start(engine).await;
    let token = a.alice_token().await;
    let mut body = sell_usdc();
    body.as_object_mut()
        .map(|o| o.remove("buy_delivery_method"));
    let got = post_quote(&a.srv, Some(&token), &body).await;
    assert_refusal(
        &got,
        400,
        "buying BRL (two methods) without buy_delivery_method",
    );

    for (what, field, value, base) in [
        (
            "buy BRL by wire",
            "buy_delivery_method",
            "wire",
            sell_usdc(),
        ),
        (
            "sell BRL in cash (a buy method only)",
            "sell_delivery_method",
            "cash",
            buy_usdc(),
        ),
        (
            "sell BRL by wire",
            "sell_delivery_method",
            "wire",
            buy_usdc(),
        ),
        (
            "sell USDC by PIX (USDC lists none)",
            "sell_delivery_method",
            "PIX",
            sell_usdc(),
        ),
    ] {
        let mut body = base;
        body[field] = json!(value);
        let got = post_quote(&a.srv, Some(&token), &body).await;
        assert_refusal(&got, 400, what);
    }

    let mut body = sell_usdc();
    body["buy_delivery_method"] = json!("PIX");
    let q = created(
        post_quote(&a.srv, Some(&token), &body).await,
        "buy BRL by PIX",
    );
    assert_eq!(q["buy_delivery_method"], "PIX", "{q}");

    // Selling BRL: one method listed, so none need be named; none echoed.
    let mut body = buy_usdc();
    body.as_object_mut()
        .map(|o| o.remove("sell_delivery_method"));
    let q = created(
        post_quote(&a.srv, Some(&token), &body).await,
        "sell BRL (one method) without naming it",
    );
    assert!(
        q.get("sell_delivery_method").is_none() && q.get("buy_delivery_method").is_none(),
        "no method asked, none answered: {q}"
    );
    // Neither side fiat: no method needed.
    let body =
        json!({"sell_asset": USDC, "buy_asset": eurc(), "buy_amount": "10", "context": "sep31"});
    let q = created(post_quote(&a.srv, Some(&token), &body).await, "buy 10 EURC");
    assert_eq!(
        (&q["sell_amount"], &q["buy_amount"]),
        (&json!("11.0000000"), &json!("10.0000")),
        "buy 10 EURC at 1.1: {q}"
    );
}

async fn expire_after_is_honoured_up_to_the_maximum(engine: Engine) {
    let a = start(engine).await;
    let token = a.alice_token().await;
    let t = now(&a.srv);
    let plus_two = time::UtcOffset::from_hms(2, 0, 0).expect("a valid offset");
    let later_in_paris_summer = time::OffsetDateTime::from_unix_timestamp((t + 1000) as i64)
        .expect("a time of this century")
        .to_offset(plus_two)
        .format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    let cases = [
        ("later than the ttl", rfc3339(t + 1000), rfc3339(t + 1000)),
        ("exactly the maximum", rfc3339(t + 3600), rfc3339(t + 3600)),
        (
            "with a +02:00 offset",
            later_in_paris_summer,
            rfc3339(t + 1000),
        ),
        ("sooner than the ttl", rfc3339(t + 10), rfc3339(t + 300)),
        ("in the past", rfc3339(t - 100), rfc3339(t + 300)),
    ];
    for (what, after, expected) in cases {
        let mut body = sell_usdc();
        body["expire_after"] = json!(after);
        let q = created(
            post_quote(&a.srv, Some(&token), &body).await,
            &format!("expire_after {what} ({after})"),
        );
        assert_eq!(
            q["expires_at"],
            json!(expected),
            "expire_after {what} ({after})"
        );
    }
    for (what, after) in [
        ("a second beyond the maximum", json!(rfc3339(t + 3601))),
        ("a day beyond", json!(rfc3339(t + 86_400))),
        ("not RFC 3339", json!("tomorrow")),
        ("a number", json!(t + 1000)),
    ] {
        let mut body = sell_usdc();
        body["expire_after"] = after.clone();
        let got = post_quote(&a.srv, Some(&token), &body).await;
        assert_refusal(&got, 400, &format!("expire_after {what} ({after})"));
    }
}

/// An `expire_after` with a fraction of a second: SEP-38 wants an
/// `expires_at` on or after it, and `expires_at` has whole seconds, so the
/// next second; at the maximum plus half a second it is beyond the maximum.
async fn expire_after_with_a_fraction_is_not_cut_short(engine: Engine) {
    let a = start(engine).await;
    let token = a.alice_token().await;
    let t = now(&a.srv);
    let half_past = |secs: u64| rfc3339(secs).replace('Z', ".5Z");
    let mut wrong = vec![];
    // Within the maximum: the first whole second on or after it.
    let mut body = sell_usdc();
    body["expire_after"] = json!(half_past(t + 1000));
    let got = post_quote(&a.srv, Some(&token), &body).await;
    let expected = (201, json!(rfc3339(t + 1001)));
    if (got.0, got.1["expires_at"].clone()) != expected {
        wrong.push(format!(
            "expire_after {}: expected 201 with expires_at {}, got {} {}",
            body["expire_after"], expected.1, got.0, got.1
        ));
    }
    // Half a second beyond the maximum: 400.
    body["expire_after"] = json!(half_past(t + 3600));
    let got = post_quote(&a.srv, Some(&token), &body).await;
    if got.0 != 400 {
        wrong.push(format!(
            "expire_after {} (beyond now + max_quote_ttl_secs = {}): expected 400, got {} {}",
            body["expire_after"],
            rfc3339(t + 3600),
            got.0,
            got.1
        ));
    }
    assert!(
        wrong.is_empty(),
        "SEP-38 §POST Quote: expires_at must be on or after expire_after, else 400:\n{}",
        wrong.join("\n")
    );
}

async fn post_quote_refusals_are_400(engine: Engine) {
    let a = start(engine).await;
    let token = a.alice_token().await;
    let with = |k: &str, v: Value| {
        let mut b = sell_usdc();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = sell_usdc();
        b.as_object_mut().map(|o| o.remove(k));
        b
    };
    let cases = [
        (
            "an unknown field",
            with("callback", json!("https://example.com")),
        ),
        ("both amounts", with("buy_amount", json!("541.66"))),
        ("neither amount", without("sell_amount")),
        ("no context", without("context")),
        ("an unknown context", with("context", json!("sep12"))),
        ("no sell_asset", without("sell_asset")),
        ("no buy_asset", without("buy_asset")),
        ("an amount as a number", with("sell_amount", json!(100))),
        (
            "8 places for USDC",
            with("sell_amount", json!("100.00000001")),
        ),
        ("amount zero", with("sell_amount", json!("0"))),
        (
            "a country BRL does not list",
            with("country_code", json!("AR")),
        ),
        // fee = 1 + 0.015 × 1 = 1.015 USDC > 1.
        (
            "a sell amount under the fee",
            with("sell_amount", json!("1")),
        ),
    ];
    for (what, body) in cases {
        let got = post_quote(&a.srv, Some(&token), &body).await;
        assert_refusal(&got, 400, &format!("POST /quote with {what}: {body}"));
    }
    // Not JSON at all.
    let res = a
        .srv
        .http
        .post(a.srv.url("/sep38/quote"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"sell_asset\": ")
        .send()
        .await
        .expect("the server answers");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    assert_refusal(
        &(status, body),
        400,
        "POST /quote with a truncated JSON body",
    );
    // A pair not offered: the documented message.
    let body = json!({"sell_asset": BRL, "buy_asset": eurc(), "sell_amount": "100",
                      "sell_delivery_method": "PIX", "context": "sep31"});
    let got = post_quote(&a.srv, Some(&token), &body).await;
    let error = assert_refusal(&got, 400, "POST /quote BRL → EURC");
    assert_eq!(
        error,
        format!(
            "this anchor does not exchange {BRL} for {}; see GET /prices",
            eurc()
        ),
        "POST /quote BRL → EURC"
    );
}

/// `quote_ttl_secs` and `max_quote_ttl_secs` as configured, not the
/// defaults (300, 3600).
async fn configured_ttls_are_used(engine: Engine) {
    let mut sep38 = table();
    sep38["quote_ttl_secs"] = json!(120);
    sep38["max_quote_ttl_secs"] = json!(600);
    let a = start_custom(engine, sep38, |_| {}).await;
    let token = a.alice_token().await;
    let t = now(&a.srv);
    let q = created(
        post_quote(&a.srv, Some(&token), &sell_usdc()).await,
        "no expire_after",
    );
    assert_eq!(
        q["expires_at"],
        json!(rfc3339(t + 120)),
        "now + quote_ttl_secs (120)"
    );
    let mut body = sell_usdc();
    body["expire_after"] = json!(rfc3339(t + 600));
    let q = created(
        post_quote(&a.srv, Some(&token), &body).await,
        "expire_after at the maximum",
    );
    assert_eq!(
        q["expires_at"],
        json!(rfc3339(t + 600)),
        "expire_after = now + 600"
    );
    body["expire_after"] = json!(rfc3339(t + 601));
    let got = post_quote(&a.srv, Some(&token), &body).await;
    assert_refusal(&got, 400, "expire_after beyond max_quote_ttl_secs (600)");
    // The clock moves: the ttl counts from the quote's own now.
    a.srv.clock.advance(1000);
    let q = created(
        post_quote(&a.srv, Some(&token), &sell_usdc()).await,
        "1000 s later",
    );
    assert_eq!(
        q["expires_at"],
        json!(rfc3339(t + 1120)),
        "1000 s later, + 120"
    );
}

/// SEP-38 §GET Quote: available past `expires_at`, unchanged.
async fn get_quote_answers_the_same_body_after_expiry(engine: Engine) {
    let a = start(engine).await;
    let token = a.alice_token().await;
    let q = created(
        post_quote(&a.srv, Some(&token), &sell_usdc()).await,
        "sell 100 USDC",
    );
    let id = q["id"].as_str().unwrap_or_default();
    for secs in [301, 3600] {
        a.srv.clock.advance(secs);
        let (status, body) = get_quote(&a.srv, &token, id).await;
        assert_eq!(status, 200, "GET /quote/{id} {secs} s later: {body}");
        assert_eq!(body, q, "GET /quote/{id} {secs} s later");
    }
}

/// Another partner, another account of the same partner, the same account
/// with a memo, a malformed id and an unknown id: one and the same 404.
async fn get_quote_is_one_404_for_everyone_but_the_owner(engine: Engine) {
    let a = start(engine).await;
    let alice = a.alice_token().await;
    let q = created(
        post_quote(&a.srv, Some(&alice), &sell_usdc()).await,
        "sell 100 USDC",
    );
    let id = q["id"].as_str().unwrap_or_default().to_owned();
    let not_found = json!({"error": "quote not found"});
    let bob = a.srv.token_for(&a.bob, None).await;
    let alice2 = a.srv.token_for(&a.alice2, None).await;
    let alice_memo = a.srv.token_for(&a.alice, Some(7)).await;
    for (who, token) in [
        ("another partner's account", &bob),
        ("another account of the same partner", &alice2),
        ("the owner's account with a memo", &alice_memo),
    ] {
        let got = get_quote(&a.srv, token, &id).await;
        assert_eq!(got, (404, not_found.clone()), "GET /quote/{id} by {who}");
    }
    let longer = format!("{}0", id.to_uppercase());
    for (what, bad) in [
        ("a malformed id", "not-a-quote-id"),
        ("an unknown id", "5f0c4c1e-0d67-4b3a-9a51-7d3c1b2a9e10"),
        ("a quoted id", "%27%20OR%20%271%27%3D%271"),
        (
            "the id in upper case, one character longer",
            longer.as_str(),
        ),
    ] {
        let got = get_quote(&a.srv, &alice, bad).await;
        assert_eq!(got, (404, not_found.clone()), "GET /quote/{bad}: {what}");
    }
    // A quote made with the memo is that user's alone.
    let mine = created(
        post_quote(&a.srv, Some(&alice_memo), &buy_usdc()).await,
        "buy 100 USDC as alice with memo 7",
    );
    let mine_id = mine["id"].as_str().unwrap_or_default();
    let got = get_quote(&a.srv, &alice_memo, mine_id).await;
    assert_eq!(got, (200, mine.clone()), "GET its own quote with the memo");
    let got = get_quote(&a.srv, &alice, mine_id).await;
    assert_eq!(got, (404, not_found), "GET the memo's quote without it");
    // The owner still reads the first.
    assert_eq!(get_quote(&a.srv, &alice, &id).await, (200, q), "the owner");
}

on_both_engines!(
    post_quote_answers_201_with_every_documented_field,
    delivery_methods_follow_the_assets_lists,
    expire_after_is_honoured_up_to_the_maximum,
    expire_after_with_a_fraction_is_not_cut_short,
    post_quote_refusals_are_400,
    configured_ttls_are_used,
    get_quote_answers_the_same_body_after_expiry,
    get_quote_is_one_404_for_everyone_but_the_owner,
);
