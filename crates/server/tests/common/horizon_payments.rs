//! The payments of the Horizon stand-in: `GET /accounts/{id}/payments` as
//! Horizon documents it, in pages of JSON (`cursor`, `order`, `limit`,
//! `join=transactions`) and, with `Accept: text/event-stream`, as
//! server-sent events that stay open and carry each payment as it is made.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::HorizonStub;

/// One payment to add with [`HorizonStub::add_payments_bulk`].
#[derive(Debug, Clone)]
pub struct StubPayment {
    /// The payee.
    pub to: String,
    /// The payer.
    pub from: String,
    /// `(code, issuer)`; `None` for XLM.
    pub asset: Option<(String, String)>,
    /// A decimal; written with 7 places.
    pub amount: String,
    /// `(memo_type, memo)`: `id`, `text` or `hash`; `None` for no memo.
    pub memo: Option<(String, String)>,
    /// `false` for a payment of a failed transaction.
    pub successful: bool,
}

impl StubPayment {
    /// A successful payment.
    pub fn new(
        to: &str,
        from: &str,
        asset: Option<(&str, &str)>,
        amount: &str,
        memo: Option<(&str, &str)>,
    ) -> StubPayment {
        StubPayment {
            to: to.to_owned(),
            from: from.to_owned(),
            asset: asset.map(|(c, i)| (c.to_owned(), i.to_owned())),
            amount: amount.to_owned(),
            memo: memo.map(|(t, m)| (t.to_owned(), m.to_owned())),
            successful: true,
        }
    }

    /// Its record in Horizon's shape, for [`HorizonStub::add_record`] to
    /// add once a test changed it (a path payment, say).
    pub fn record(&self) -> Value {
        record(self, 0, 0)
    }
}

/// A request for payments the stand-in answered: its query and whether it
/// asked for a stream.
#[derive(Debug, Clone)]
pub struct PaymentsRequest {
    /// Which of [`HorizonStub::another_door`]'s ports it came through.
    pub door: usize,
    pub account: String,
    pub query: Vec<(String, String)>,
    pub stream: bool,
}

#[derive(Default)]
pub(super) struct Ledger {
    /// Every record, oldest first: (paging token, from, to, record).
    records: Vec<(u64, String, String, Value)>,
    /// The next ledger sequence.
    ledger: u64,
    /// Event-stream requests answer 500.
    pub(super) streaming_fails: bool,
    /// Every payments request answers this.
    pub(super) fail_with: Option<u16>,
    /// Streams are written in pieces of this many bytes.
    pub(super) pieces: Option<usize>,
    /// Streams send what there is, say `"byebye"` and close.
    pub(super) end_at_once: bool,
    requests: Vec<PaymentsRequest>,
}

/// The payments part of the stand-in.
#[derive(Clone)]
pub struct PaymentsFeed {
    pub(super) ledger: Arc<Mutex<Ledger>>,
    /// Bumped on every change; streams wake on it.
    pub(super) changed: Arc<watch::Sender<u64>>,
    door: usize,
}

impl PaymentsFeed {
    pub fn new() -> PaymentsFeed {
        let ledger = Ledger {
            ledger: 1_000,
            ..Ledger::default()
        };
        PaymentsFeed {
            ledger: Arc::new(Mutex::new(ledger)),
            changed: Arc::new(watch::Sender::new(0)),
            door: 0,
        }
    }

    /// The same payments, their requests marked with `door`.
    pub fn through(&self, door: usize) -> PaymentsFeed {
        PaymentsFeed {
            door,
            ..self.clone()
        }
    }

    /// `GET /accounts/{id}/payments`, to merge into the stand-in.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/accounts/{id}/payments", get(payments))
            .with_state(self.clone())
    }

    pub(super) fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }
}

/// `amount` with 7 decimal places, as Horizon writes amounts.
fn seven_places(amount: &str) -> String {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    assert!(fraction.len() <= 7, "a Stellar amount has at most 7 places");
    format!("{whole}.{fraction:0<7}")
}

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// The record of `p`, operation `id`, in Horizon's shape with the joined
/// transaction (`join=transactions`).
fn record(p: &StubPayment, id: u64, ledger: u64) -> Value {
    let base = "https://horizon.stub";
    let hash = hex::encode(rand::random::<[u8; 32]>());
    let at = now_rfc3339();
    let mut tx = json!({
        "_links": {"self": {"href": format!("{base}/transactions/{hash}")}},
        "id": hash, "paging_token": (id & !0xfff).to_string(), "successful": p.successful,
        "hash": hash, "ledger": ledger, "created_at": at, "source_account": p.from,
        "source_account_sequence": "3298702387052546", "fee_account": p.from,
        "fee_charged": "100", "max_fee": "100", "operation_count": 1,
        "memo_type": p.memo.as_ref().map_or("none", |m| m.0.as_str()),
        "signatures": [],
    });
    if let Some((kind, memo)) = &p.memo {
        tx["memo"] = json!(memo);
        if kind == "text" {
            use base64::Engine as _;
            tx["memo_bytes"] = json!(base64::engine::general_purpose::STANDARD.encode(memo));
        }
    }
    let op = format!("{base}/operations/{id}");
    let mut r = json!({
        "_links": {
            "self": {"href": op},
            "transaction": {"href": format!("{base}/transactions/{hash}")},
            "effects": {"href": format!("{op}/effects")},
            "succeeds": {"href": format!("{base}/effects?order=desc&cursor={id}")},
            "precedes": {"href": format!("{base}/effects?order=asc&cursor={id}")},
        },
        "id": id.to_string(), "paging_token": id.to_string(),
        "transaction_successful": p.successful, "source_account": p.from,
        "type": "payment", "type_i": 1, "created_at": at, "transaction_hash": hash,
        "asset_type": "native",
        "from": p.from, "to": p.to, "amount": seven_places(&p.amount),
        "transaction": tx,
    });
    if let Some((code, issuer)) = &p.asset {
        r["asset_type"] = json!(if code.len() <= 4 {
            "credit_alphanum4"
        } else {
            "credit_alphanum12"
        });
        r["asset_code"] = json!(code);
        r["asset_issuer"] = json!(issuer);
    }
    r
}

impl HorizonStub {
    /// Makes a payment of `amount` of `asset` (`(code, issuer)`, `None` for
    /// XLM) from `from` to `to`, with `memo` (`(memo_type, memo)`), in a
    /// ledger of its own; Horizon's operation id.
    pub fn pay(
        &self,
        to: &str,
        from: &str,
        asset: Option<(&str, &str)>,
        amount: &str,
        memo: Option<(&str, &str)>,
    ) -> String {
        let p = StubPayment::new(to, from, asset, amount, memo);
        self.add_payments_bulk(&[p]).remove(0)
    }

    /// Adds `payments` at once, one transaction each in one new ledger, in
    /// this order; their operation ids.
    pub fn add_payments_bulk(&self, payments: &[StubPayment]) -> Vec<String> {
        let feed = &self.payments;
        let ids = {
            let mut l = feed.ledger.lock().unwrap();
            l.ledger += 1;
            let seq = l.ledger;
            let mut ids = Vec::with_capacity(payments.len());
            for (i, p) in payments.iter().enumerate() {
                // Horizon's operation ids: ledger, transaction, operation.
                let id = (seq << 32) | ((u64::try_from(i).unwrap() + 1) << 12) | 1;
                l.records
                    .push((id, p.from.clone(), p.to.clone(), record(p, id, seq)));
                ids.push(id.to_string());
            }
            ids
        };
        feed.bump();
        ids
    }

    /// Adds a record of another kind (`create_account`, `account_merge`,
    /// a path payment) as given; `id` and `paging_token` are set here and
    /// `from` and `to` say whose it is. Its operation id.
    pub fn add_record(&self, from: &str, to: &str, mut r: Value) -> String {
        let feed = &self.payments;
        let id = {
            let mut l = feed.ledger.lock().unwrap();
            l.ledger += 1;
            let id = (l.ledger << 32) | (1 << 12) | 1;
            r["id"] = json!(id.to_string());
            r["paging_token"] = json!(id.to_string());
            l.records.push((id, from.to_owned(), to.to_owned(), r));
            id
        };
        feed.bump();
        id.to_string()
    }

    /// The payments requests answered so far, oldest first.
    pub fn payments_requests(&self) -> Vec<PaymentsRequest> {
        self.payments.ledger.lock().unwrap().requests.clone()
    }

    /// The paging token of the newest record: what `now` means now.
    pub fn latest_paging_token(&self) -> Option<String> {
        let l = self.payments.ledger.lock().unwrap();
        l.records.last().map(|r| r.0.to_string())
    }
}

pub(super) fn problem(status: u16, title: &str, detail: &str) -> Response {
    let body = json!({
        "type": format!("https://stellar.org/horizon-errors/{}", title.to_lowercase().replace(' ', "_")),
        "title": title, "status": status, "detail": detail,
    });
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// Records of `account` after `cursor` (a paging token) in `l`.
pub(super) fn after(l: &Ledger, account: &str, cursor: u64) -> Vec<(u64, Value)> {
    l.records
        .iter()
        .filter(|(id, from, to, _)| *id > cursor && (from == account || to == account))
        .map(|(id, _, _, r)| (*id, r.clone()))
        .collect()
}

async fn payments(
    State(feed): State<PaymentsFeed>,
    Path(account): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let stream = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let mut l = feed.ledger.lock().unwrap();
    l.requests.push(PaymentsRequest {
        door: feed.door,
        account: account.clone(),
        query: query.clone(),
        stream,
    });
    // `now` is the newest ledger at the time of the request; no cursor is
    // the first record (ascending) or the last (descending).
    let cursor = match q("cursor").as_deref() {
        None | Some("") => None,
        Some("now") => Some(l.records.last().map_or(0, |r| r.0)),
        Some(c) => match c.parse::<u64>() {
            Ok(c) => Some(c),
            Err(_) => return problem(400, "Bad Request", "cursor: not a paging token"),
        },
    };
    let limit = match q("limit").as_deref() {
        None | Some("") => 10,
        Some(n) => match n.parse::<usize>() {
            Ok(n) if (1..=200).contains(&n) => n,
            _ => return problem(400, "Bad Request", "limit: must be from 1 to 200"),
        },
    };
    let desc = match q("order").as_deref() {
        None | Some("" | "asc") => false,
        Some("desc") => true,
        Some(_) => return problem(400, "Bad Request", "order: must be asc or desc"),
    };
    if let Some(status) = l.fail_with {
        let title = StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error");
        return problem(status, title, "Horizon is down");
    }
    if stream {
        if l.streaming_fails {
            return problem(500, "Internal Server Error", "streaming is down");
        }
        drop(l);
        return super::horizon_stream::events(feed, account, cursor.unwrap_or(0));
    }
    let mut records = if desc {
        let before = cursor.filter(|&c| c > 0).unwrap_or(u64::MAX);
        let mut r: Vec<(u64, Value)> = after(&l, &account, 0)
            .into_iter()
            .filter(|r| r.0 < before)
            .collect();
        r.reverse();
        r
    } else {
        after(&l, &account, cursor.unwrap_or(0))
    };
    records.truncate(limit);
    drop(l);
    let here = format!("/accounts/{account}/payments");
    let link = |c: &str, o: &str| format!("{here}?cursor={c}&limit={limit}&order={o}");
    let given = q("cursor").unwrap_or_default();
    let first = records.first().map_or(given.clone(), |r| r.0.to_string());
    let last = records.last().map_or(given.clone(), |r| r.0.to_string());
    let (order, back) = if desc {
        ("desc", "asc")
    } else {
        ("asc", "desc")
    };
    let body = json!({
        "_links": {
            "self": {"href": link(&given, order)},
            "next": {"href": link(&last, order)},
            "prev": {"href": link(&first, back)},
        },
        "_embedded": {"records": records.into_iter().map(|r| r.1).collect::<Vec<_>>()},
    });
    axum::Json(body).into_response()
}
