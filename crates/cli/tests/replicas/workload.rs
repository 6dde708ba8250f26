//! The fault test's workload (`faults.rs`): clients that keep each kind
//! of request going through the proxy and book what they saw and wrote.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mooring_stellar::{Keypair, PublicKey, envelope, sep10 as challenge};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use super::common::HorizonStub;
use super::common::recovery::{tx, xdr};

use mooring_cluster::anchor::{BRL, ISSUER, USDC};

/// What one kind of request saw.
#[derive(Default)]
pub struct Seen {
    pub ok: u64,
    /// Tolerated failures by kind: `502`, `503`, `connection`…
    pub errors: BTreeMap<String, u64>,
    /// Wrong answers: each fails the test.
    pub wrong: Vec<String>,
    pub micros: Option<Histogram<u64>>,
}

/// Everything the workload saw and wrote.
#[derive(Default)]
pub struct Book {
    pub seen: BTreeMap<&'static str, Seen>,
    /// Acknowledged SEP-12 writes: (customer id, first_name, document).
    pub customers: Vec<(String, String, Vec<u8>)>,
    /// Transactions created and paid: (id, Horizon operation id).
    pub paid: Vec<(String, String)>,
}

pub type Shared = Arc<Mutex<Book>>;

/// An outcome: `Ok(status, body)` when the server answered, else the
/// connection's failure.
pub type Answer = Result<(u16, Value), String>;

/// Records one answer of `kind` that took `took`: `expected` statuses are
/// successes, 502/503/504 and connection failures are tolerated (they are
/// what a fault looks like), anything else is wrong.
pub fn record(
    book: &Shared,
    kind: &'static str,
    took: Duration,
    got: &Answer,
    expected: &[u16],
) -> bool {
    let mut b = book.lock().unwrap();
    let seen = b.seen.entry(kind).or_default();
    let h = seen
        .micros
        .get_or_insert_with(|| Histogram::new_with_bounds(1, 120_000_000, 3).unwrap());
    let _ = h.record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1));
    match got {
        Ok((status, _)) if expected.contains(status) => {
            seen.ok += 1;
            true
        }
        Ok((status @ (502..=504), _)) => {
            *seen.errors.entry(status.to_string()).or_default() += 1;
            false
        }
        // The rate limit is not what this test is about, but a busy
        // replica answering 429 is not a wrong answer either.
        Ok((429, _)) => {
            *seen.errors.entry("429".into()).or_default() += 1;
            false
        }
        Ok((status, body)) => {
            seen.wrong.push(format!("{status} {body}"));
            false
        }
        Err(e) => {
            *seen.errors.entry(e.clone()).or_default() += 1;
            false
        }
    }
}

/// A wrong answer that is not a status: `what` went wrong for `kind`.
pub fn wrong(book: &Shared, kind: &'static str, what: String) {
    book.lock()
        .unwrap()
        .seen
        .entry(kind)
        .or_default()
        .wrong
        .push(what);
}

pub struct Load {
    pub base: String,
    pub http: reqwest::Client,
    pub book: Shared,
    pub until: Instant,
}

impl Load {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (Duration, Answer) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        self.send(req).await
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> (Duration, Answer) {
        let started = Instant::now();
        let got = match req.timeout(Duration::from_secs(30)).send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                Ok((status, res.json().await.unwrap_or(Value::Null)))
            }
            Err(e) if e.is_timeout() => Err("timeout".into()),
            Err(_) => Err("connection".into()),
        };
        (started.elapsed(), got)
    }

    pub fn going(&self) -> bool {
        Instant::now() < self.until
    }

    /// A login; `None` when a fault got in the way. The signed challenge
    /// is then replayed: accepted twice would be a wrong answer.
    pub async fn login(&self, kp: &Keypair) -> Option<String> {
        let network = mooring_stellar::Network::new(mooring_stellar::network::TESTNET_PASSPHRASE);
        let (took, got) = self
            .call(
                Method::GET,
                &format!("/auth?account={}", kp.public_key()),
                None,
                None,
            )
            .await;
        if !record(&self.book, "challenge", took, &got, &[200]) {
            return None;
        }
        let xdr = got.ok()?.1["transaction"].as_str()?.to_owned();
        let signed = challenge::sign_challenge(&xdr, &network, &[kp]).ok()?;
        let body = json!({ "transaction": signed });
        let (took, got) = self.call(Method::POST, "/auth", None, Some(&body)).await;
        if !record(&self.book, "token", took, &got, &[200]) {
            return None;
        }
        let token = got.ok()?.1["token"].as_str()?.to_owned();
        let (took, again) = self.call(Method::POST, "/auth", None, Some(&body)).await;
        record(&self.book, "token replay", took, &again, &[400]);
        Some(token)
    }
}

/// Logins, each replayed once.
pub async fn logins(load: Arc<Load>) {
    while load.going() {
        load.login(&Keypair::random()).await;
    }
}

/// A fresh account each round: login, `PUT /customer` with a document,
/// read back through another replica.
pub async fn customers(load: Arc<Load>, worker: usize) {
    let mut n = 0;
    while load.going() {
        n += 1;
        let Some(token) = load.login(&Keypair::random()).await else {
            continue;
        };
        let marker = format!("fault-{worker}-{n}");
        let mut doc = vec![0xFF, 0xD8, 0xFF, 0xE0];
        doc.extend_from_slice(marker.as_bytes());
        doc.resize(24 * 1024, u8::try_from(n % 251).unwrap());
        let form = Form::new()
            .text("type", "sep6")
            .text("first_name", marker.clone())
            .text("last_name", "Fault")
            .part(
                "photo_id_front",
                Part::bytes(doc.clone()).file_name("front.jpg"),
            );
        let req = load
            .http
            .put(format!("{}/customer", load.base))
            .bearer_auth(&token)
            .multipart(form);
        let (took, got) = load.send(req).await;
        if !record(&load.book, "sep12 put", took, &got, &[202]) {
            continue;
        }
        let id = got.unwrap().1["id"].as_str().unwrap_or_default().to_owned();
        load.book
            .lock()
            .unwrap()
            .customers
            .push((id.clone(), marker, doc));
        let (took, got) = load
            .call(
                Method::GET,
                &format!("/customer?id={id}&type=sep6"),
                Some(&token),
                None,
            )
            .await;
        if record(&load.book, "sep12 get", took, &got, &[200])
            && !got.unwrap().1["provided_fields"]["photo_id_front"].is_object()
        {
            wrong(
                &load.book,
                "sep12 get",
                format!("{id}: the document is not provided"),
            );
        }
    }
}

/// SEP-30: one account registered, then signatures checked one by one.
pub async fn signs(load: Arc<Load>) {
    let (owner, friend) = (Keypair::random(), Keypair::random());
    let account = owner.public_key();
    let body = json!({"identities": [{"role": "owner", "auth_methods": [
        {"type": "stellar_address", "value": friend.public_key().to_string()}]}]});
    let mut signer = None;
    while signer.is_none() && load.going() {
        let Some(token) = load.login(&owner).await else {
            continue;
        };
        let (took, got) = load
            .call(
                Method::POST,
                &format!("/accounts/{account}"),
                Some(&token),
                Some(&body),
            )
            .await;
        // A registration cut short may have landed: then it is a 409 …
        // and the account is there; read it instead.
        if record(&load.book, "sep30 register", took, &got, &[200, 409]) {
            let (_, got) = load
                .call(
                    Method::GET,
                    &format!("/accounts/{account}"),
                    Some(&token),
                    None,
                )
                .await;
            signer = got
                .ok()
                .and_then(|(_, b)| b["signers"][0]["key"].as_str().map(str::to_owned));
        }
    }
    let Some(signer) = signer else { return };
    let key = PublicKey::parse(&signer).unwrap();
    let network = mooring_stellar::Network::new(mooring_stellar::network::TESTNET_PASSPHRASE);
    let mut token = None;
    while load.going() {
        if token.is_none() {
            token = load.login(&friend).await;
            continue;
        }
        let t = tx(&account, &[None, Some(account)]);
        let body = json!({"transaction": xdr(&t)});
        let path = format!("/accounts/{account}/sign/{signer}");
        let (took, got) = load
            .call(Method::POST, &path, token.as_deref(), Some(&body))
            .await;
        if record(&load.book, "sep30 sign", took, &got, &[200]) {
            use base64::Engine as _;
            let b = got.unwrap().1;
            let sig = base64::engine::general_purpose::STANDARD
                .decode(b["signature"].as_str().unwrap_or_default())
                .unwrap_or_default();
            if !key.verify(&envelope::hash(&t, &network), &sig) {
                wrong(&load.book, "sep30 sign", format!("a bad signature: {b}"));
            }
        }
    }
}

/// SEP-38 firm quotes taken by SEP-31 transactions (each quote then tried
/// again: a second transaction is a wrong answer), paid on Horizon.
pub async fn payments(
    load: Arc<Load>,
    partner: Keypair,
    horizon: HorizonStub,
    parties: (String, String),
) {
    let mut token = None;
    while load.going() {
        let Some(t) = token.clone() else {
            token = load.login(&partner).await;
            continue;
        };
        let body =
            json!({"sell_asset": USDC, "buy_asset": BRL, "sell_amount": "100", "context": "sep31"});
        let (took, got) = load
            .call(Method::POST, "/sep38/quote", Some(&t), Some(&body))
            .await;
        if !record(&load.book, "sep38 quote", took, &got, &[201]) {
            continue;
        }
        let quote = got.unwrap().1["id"].clone();
        let body = json!({"amount": "100", "asset_code": "USDC", "asset_issuer": ISSUER,
                          "funding_method": "SEPA", "sender_id": parties.0,
                          "receiver_id": parties.1, "quote_id": quote});
        let (took, got) = load
            .call(Method::POST, "/sep31/transactions", Some(&t), Some(&body))
            .await;
        if !record(&load.book, "sep31 create", took, &got, &[201]) {
            continue;
        }
        let created = got.unwrap().1;
        let (took, again) = load
            .call(Method::POST, "/sep31/transactions", Some(&t), Some(&body))
            .await;
        record(&load.book, "quote replay", took, &again, &[400]);
        let (id, memo) = (created["id"].as_str(), created["stellar_memo"].as_str());
        let (Some(id), Some(memo)) = (id, memo) else {
            wrong(
                &load.book,
                "sep31 create",
                format!("no id or memo: {created}"),
            );
            continue;
        };
        let from = Keypair::random().public_key().to_string();
        let to = created["stellar_account_id"].as_str().unwrap_or_default();
        let op = horizon.pay(to, &from, Some(("USDC", ISSUER)), "100", Some(("id", memo)));
        load.book.lock().unwrap().paid.push((id.to_owned(), op));
    }
}

/// `/kyc-check` long polls of 1.5 s on an account under review.
pub async fn polls(load: Arc<Load>) {
    let kp = Keypair::random();
    let mut token = None;
    while load.going() {
        let Some(t) = token.clone() else {
            if let Some(t) = load.login(&kp).await {
                let body = json!({"first_name": "Poll", "last_name": "Fault", "email_address": "p@example.org"});
                let (took, got) = load
                    .call(Method::PUT, "/customer", Some(&t), Some(&body))
                    .await;
                if record(&load.book, "sep12 put", took, &got, &[202]) {
                    token = Some(t);
                }
            }
            continue;
        };
        let path = format!("/kyc-check/{}?timeout_ms=1500&lpt=2", kp.public_key());
        let (took, got) = load.call(Method::GET, &path, Some(&t), None).await;
        record(&load.book, "kyc-check poll", took, &got, &[200, 202]);
    }
}
