//! The anchor's business server for `price_source = "http"`
//! (docs/quotes.md §The business server's price), on loopback: it records
//! every request Mooring sends and answers as a test tells it — one answer
//! for every request, or one per request ([`Reply::Per`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Anchor, BRL, USDC, assets, dec, object_keys, start_custom};
use crate::common::{Engine, serve};

/// What the business server answers.
#[derive(Clone)]
pub enum Reply {
    /// 200 with this body.
    Json(Value),
    /// 200 with this body, after a while.
    Slow(Duration, Value),
    /// This status, an empty JSON object.
    Status(u16),
    /// 200 with this text as `application/json`.
    Raw(String),
    /// 200 with the body this function makes of the request's.
    Per(fn(&Value) -> Value),
}

/// The business server: what it was asked (content type, body) and what it
/// answers.
#[derive(Clone)]
pub struct Business {
    requests: Arc<Mutex<Vec<(String, Value)>>>,
    reply: Arc<Mutex<Reply>>,
}

impl Business {
    /// Starts one on loopback; its price URL.
    pub async fn start(reply: Reply) -> (Business, String) {
        let b = Business {
            requests: Arc::default(),
            reply: Arc::new(Mutex::new(reply)),
        };
        let app = axum::Router::new()
            .route("/sep38/price", axum::routing::post(answer))
            .with_state(b.clone());
        let url = serve(app).await;
        (b, format!("{}sep38/price", url.as_str()))
    }

    /// From now on, answers `reply`.
    pub fn set(&self, reply: Reply) {
        *self.reply.lock().unwrap_or_else(|p| p.into_inner()) = reply;
    }

    /// The bodies received so far, each checked to be JSON sent as JSON.
    pub fn requests(&self) -> Vec<Value> {
        let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        requests
            .iter()
            .map(|(content_type, body)| {
                assert!(
                    content_type.starts_with("application/json"),
                    "the price request's Content-Type is {content_type:?}, not application/json"
                );
                body.clone()
            })
            .collect()
    }
}

async fn answer(State(b): State<Business>, headers: HeaderMap, body: String) -> Response {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    b.requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((content_type, parsed.clone()));
    let reply = b.reply.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match reply {
        Reply::Json(v) => axum::Json(v).into_response(),
        Reply::Slow(wait, v) => {
            tokio::time::sleep(wait).await;
            axum::Json(v).into_response()
        }
        Reply::Status(code) => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            axum::Json(json!({})),
        )
            .into_response(),
        Reply::Raw(text) => ([("content-type", "application/json")], text).into_response(),
        Reply::Per(make) => axum::Json(make(&parsed)).into_response(),
    }
}

/// `[sep38]` asking `price_url`, 1 s to answer; BRL→USDC and USDC→BRL.
pub fn http_source(price_url: &str) -> Value {
    json!({
        "enabled": true,
        "price_source": "http",
        "price_url": price_url,
        "price_timeout_secs": 1,
        "assets": assets(),
        "prices": [
            {"sell_asset": BRL, "buy_asset": USDC},
            {"sell_asset": USDC, "buy_asset": BRL},
        ],
    })
}

/// A quoting server whose business server answers `reply`.
pub async fn with_business(engine: Engine, reply: Reply) -> (Anchor, Business) {
    let (business, url) = Business::start(reply).await;
    (
        start_custom(engine, http_source(&url), |_| {}).await,
        business,
    )
}

/// Whether two RFC 3339 texts are the same instant.
fn same_instant(a: &str, b: &str) -> bool {
    let parse = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
    };
    matches!((parse(a), parse(b)), (Some(x), Some(y)) if x == y)
}

/// Asserts one price request: exactly the documented fields, `expected`'s
/// values (amounts compared as numbers, `expires_at` as instants), and null
/// for the others — so an indicative ask must carry `id: null` and
/// `expires_at: null`.
#[track_caller]
pub fn assert_request(got: &Value, expected: &Value, what: &str) {
    assert_eq!(
        object_keys(got),
        [
            "account",
            "buy_amount",
            "buy_asset",
            "buy_delivery_method",
            "context",
            "country_code",
            "expires_at",
            "id",
            "memo",
            "partner",
            "sell_amount",
            "sell_asset",
            "sell_delivery_method",
            "type"
        ],
        "{what}: the documented fields of the price request: {got}"
    );
    for key in object_keys(got) {
        let want = expected.get(&key).unwrap_or(&Value::Null);
        let same = match (key.as_str(), want) {
            ("sell_amount" | "buy_amount", Value::String(_)) => {
                got[&key].is_string() && dec(&got[&key]) == dec(want)
            }
            ("expires_at", Value::String(w)) => {
                got[&key].as_str().is_some_and(|g| same_instant(g, w))
            }
            _ => &got[&key] == want,
        };
        assert!(
            same,
            "{what}: {key} is {}, expected {want}; request {got}",
            got[&key]
        );
    }
}

/// A fee in BRL, the sell asset, with details.
pub fn brl_fee() -> Value {
    json!({"total": "42.00", "asset": BRL, "details": [
        {"name": "PIX fee", "description": "Fee charged in order to process the outgoing PIX transaction.",
         "amount": "12.00"},
        {"name": "Service fee", "amount": "30.00"},
    ]})
}

/// 5 BRL per USDC, the fee 42 BRL: 542 BRL buy (542 − 42) / 5 = 100 USDC.
pub fn five_with_brl_fee() -> Reply {
    Reply::Json(json!({"price": "5.00", "fee": brl_fee()}))
}
