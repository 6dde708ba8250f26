//! SEP-12 beyond the wallet's endpoints, on SQLite and PostgreSQL: the
//! admin API and its audit log, verification codes, signed callbacks that
//! survive outages and restarts, and encryption at rest checked byte by byte.

mod common;

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use common::customer::{admin_customer, admin_file, put_form, put_json};
use common::{Engine, TestServer, assert_error, serve, texts, wrong_code};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

async fn status_of(srv: &TestServer, token: &str) -> Value {
    TestServer::send(srv.with_token(Method::GET, "/customer?type=sep31-sender", token))
        .await
        .1
}

async fn admin_requires_its_own_token(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (_, jwt) = srv.login().await;
    let url = format!("{}admin/customers", srv.admin);
    let (status, body) = TestServer::send(srv.http.get(&url)).await;
    assert_eq!(status, 401, "{body}");
    // A SEP-10 session token never opens the admin API.
    assert_error(
        TestServer::send(srv.http.get(&url).bearer_auth(&jwt)).await,
        401,
        "admin token is not valid",
    );
    assert_error(
        TestServer::send(srv.http.get(&url).bearer_auth("x".repeat(40))).await,
        401,
        "admin token is not valid",
    );
    // And the admin API is not on the public listener.
    assert_eq!(
        TestServer::send(
            srv.http
                .get(srv.url("/admin/customers"))
                .bearer_auth(common::ADMIN_TOKEN)
        )
        .await
        .0,
        404
    );
    srv.stop().await;
}

async fn decisions_move_the_customer_and_are_audited(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (_, token) = srv.login().await;
    let (_, body) = put_json(&srv, &token, json!({"type": "sep31-sender", "first_name": "Ann", "last_name": "Lee", "email_address": "ann@example.com"})).await;
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(status_of(&srv, &token).await["status"], "PROCESSING");

    // The list has no personal data; the detail has it, decrypted.
    let (status, list) = TestServer::send(srv.admin(Method::GET, "/admin/customers")).await;
    assert_eq!(status, 200);
    assert_eq!(list["customers"][0]["id"], id);
    assert_eq!(list["customers"][0]["status"], "PROCESSING");
    assert!(!list.to_string().contains("Ann"), "{list}");
    let (_, detail) = TestServer::send(
        srv.admin(Method::GET, &format!("/admin/customers/{id}"))
            .header("x-mooring-actor", "jo@anchor"),
    )
    .await;
    assert_eq!(detail["fields"]["first_name"]["value"], "Ann");
    assert_eq!(detail["statuses"]["sep31-sender"]["status"], "PROCESSING");

    // Ask for a field again: NEEDS_INFO, with the reason on the field.
    let ask = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/request-info"))
        .json(&json!({"fields": ["last_name"], "reason": "does not match the ID"}));
    assert_eq!(TestServer::send(ask).await.0, 200);
    let seen = status_of(&srv, &token).await;
    assert_eq!(seen["status"], "NEEDS_INFO");
    assert_eq!(seen["provided_fields"]["last_name"]["status"], "REJECTED");
    assert_eq!(
        seen["provided_fields"]["last_name"]["error"],
        "does not match the ID"
    );
    assert!(seen["fields"].get("last_name").is_some());
    // Sent again, accepted.
    put_json(&srv, &token, json!({"last_name": "Leigh"})).await;
    let accept = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/accept"))
        .json(&json!({"type": "sep31-sender"}));
    assert_eq!(TestServer::send(accept).await.1["status"], "ACCEPTED");
    assert_eq!(status_of(&srv, &token).await["status"], "ACCEPTED");
    // One field by hand, then a final rejection, which needs a reason.
    let field = srv
        .admin(
            Method::POST,
            &format!("/admin/customers/{id}/fields/email_address"),
        )
        .json(&json!({"status": "PROCESSING"}));
    assert_eq!(TestServer::send(field).await.1["status"], "PROCESSING");
    let no_reason = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/reject"))
        .json(&json!({}));
    assert_eq!(TestServer::send(no_reason).await.0, 400);
    let reject = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/reject"))
        .json(&json!({"reason": "This person is on a sanctions list"}));
    assert_eq!(TestServer::send(reject).await.0, 200);
    let seen = status_of(&srv, &token).await;
    assert_eq!(
        (seen["status"].as_str(), seen["message"].as_str()),
        (Some("REJECTED"), Some("This person is on a sanctions list"))
    );
    assert_error(
        TestServer::send(srv.admin(Method::GET, "/admin/customers/nope")).await,
        404,
        "customer not found",
    );

    // Every read and decision is in the audit log, without personal data or reasons.
    let (_, audit) =
        TestServer::send(srv.admin(Method::GET, &format!("/admin/audit?customer_id={id}"))).await;
    let actions = texts(&audit["entries"], "action");
    for a in [
        "customer.read",
        "customer.request_info",
        "customer.accept",
        "customer.field_status",
        "customer.reject",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == "admin:jo@anchor")
    );
    let text = audit.to_string();
    for secret in [
        "Ann",
        "Leigh",
        "ann@example.com",
        "sanctions",
        "does not match",
    ] {
        assert!(
            !text.contains(secret),
            "audit log contains {secret}: {text}"
        );
    }
    srv.stop().await;
}

async fn the_audit_log_is_append_only(engine: Engine) {
    let srv = TestServer::start(engine).await;
    TestServer::send(srv.admin(Method::GET, "/admin/customers")).await;
    let db = mooring_server::db::Db::connect(&srv.db.url, 1)
        .await
        .unwrap();
    let (update, delete) = match &db {
        mooring_server::db::Db::Sqlite(s) => (
            {
                let p = &s.write;
                sqlx::query("UPDATE audit_log SET actor = 'x'")
                    .execute(p)
                    .await
                    .is_err()
            },
            {
                let p = &s.write;
                sqlx::query("DELETE FROM audit_log")
                    .execute(p)
                    .await
                    .is_err()
            },
        ),
        mooring_server::db::Db::Postgres(p) => (
            sqlx::query("UPDATE audit_log SET actor = 'x'")
                .execute(p)
                .await
                .is_err(),
            sqlx::query("DELETE FROM audit_log")
                .execute(p)
                .await
                .is_err(),
        ),
    };
    assert!(update && delete, "updates and deletes are refused");
    db.close().await;
    srv.stop().await;
}

async fn verification_codes_confirm_phone_and_email(engine: Engine) {
    let srv = TestServer::start_with(engine, |c| {
        c.sep12.verification.fields = vec!["mobile_number".into(), "email_address".into()]
    })
    .await;
    let (_, token) = srv.login().await;
    let (_, body) = put_json(&srv, &token, json!({"first_name": "Ann", "last_name": "Lee", "email_address": "ann@example.com", "mobile_number": "+14155552671"})).await;
    let id = body["id"].as_str().unwrap().to_owned();
    let seen = status_of(&srv, &token).await;
    assert_eq!(seen["status"], "NEEDS_INFO");
    assert_eq!(
        seen["provided_fields"]["mobile_number"]["status"],
        "VERIFICATION_REQUIRED"
    );
    let code = |field: &str| {
        srv.codes
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(c, f, _)| *c == id && f == field)
            .map(|(_, _, code)| code.clone())
            .unwrap()
    };
    let (phone, email) = (code("mobile_number"), code("email_address"));
    assert_eq!(phone.len(), 6);
    let wrong = wrong_code(&phone);
    assert_error(
        put_json(
            &srv,
            &token,
            json!({"id": id, "mobile_number_verification": wrong}),
        )
        .await,
        400,
        "The provided confirmation code was invalid.",
    );
    assert_eq!(
        put_json(
            &srv,
            &token,
            json!({"id": id, "mobile_number_verification": phone})
        )
        .await
        .0,
        202
    );
    assert_eq!(
        status_of(&srv, &token).await["provided_fields"]["mobile_number"]["status"],
        "ACCEPTED"
    );
    // A code is single-use.
    assert_error(
        put_json(
            &srv,
            &token,
            json!({"id": id, "mobile_number_verification": phone}),
        )
        .await,
        400,
        "The provided confirmation code was invalid.",
    );
    // The deprecated endpoint answers the status.
    let verify = srv
        .with_token(Method::PUT, "/customer/verification", &token)
        .json(&json!({"id": id, "email_address_verification": email}));
    let (status, body) = TestServer::send(verify).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["provided_fields"]["email_address"]["status"],
        "ACCEPTED"
    );
    srv.stop().await;
}

async fn verification_codes_expire_after_too_many_attempts(engine: Engine) {
    let srv = TestServer::start_with(engine, |c| {
        c.sep12.verification.fields = vec!["mobile_number".into()]
    })
    .await;
    let (_, token) = srv.login().await;
    let id = put_json(&srv, &token, json!({"mobile_number": "+14155552671"}))
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = srv.codes.lock().unwrap().last().unwrap().2.clone();
    let wrong = wrong_code(&code);
    for _ in 0..5 {
        put_json(
            &srv,
            &token,
            json!({"id": id, "mobile_number_verification": wrong}),
        )
        .await;
    }
    assert_error(
        put_json(
            &srv,
            &token,
            json!({"id": id, "mobile_number_verification": code}),
        )
        .await,
        400,
        "The provided confirmation code was invalid.",
    );
    srv.stop().await;
}

/// A wallet's callback receiver on loopback: records what arrives, checks
/// nothing itself; answers 503 while `down`.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    down: Arc<Mutex<bool>>,
}

impl Receiver {
    async fn start(&self) -> url::Url {
        let me = self.clone();
        let app = axum::Router::new().route(
            "/kyc-callback",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let me = me.clone();
                async move {
                    if *me.down.lock().unwrap() {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    me.got.lock().unwrap().push((headers, body));
                    StatusCode::OK
                }
            }),
        );
        serve(app).await
    }

    fn statuses(&self) -> Vec<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| {
                serde_json::from_str::<Value>(b).unwrap()["status"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }
}

/// SEP-12 §VERIFY signature, as a wallet does it; the timestamp must be
/// from `since` (server time, less two minutes) to the server's now (plus
/// two minutes).
fn verify_signature(srv: &TestServer, since: u64, headers: &HeaderMap, body: &str) {
    let header = headers["signature"].to_str().unwrap();
    let (t, s) = header.split_once(", s=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let sig = base64::engine::general_purpose::STANDARD.decode(s).unwrap();
    let payload = format!("{t}.127.0.0.1.{body}");
    assert!(
        srv.signing.public_key().verify(payload.as_bytes(), &sig),
        "callback signature verifies"
    );
    let t = t.parse::<u64>().unwrap();
    let now = mooring_server::clock::Clock::now(srv.clock.as_ref());
    assert!(
        t + 120 >= since && t <= now + 120,
        "fresh timestamp: {t} not in {since}..={now}"
    );
}

async fn wait_for(receiver: &Receiver, n: usize) {
    for _ in 0..100 {
        if receiver.got.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("expected {n} callbacks, got {:?}", receiver.statuses());
}

async fn callbacks_arrive_signed_in_order_after_an_outage_and_a_restart(engine: Engine) {
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let host = format!("127.0.0.1:{}", url.port().unwrap());
    let tweak = move |c: &mut mooring_server::config::Config| {
        c.sep12.callbacks.allow_http_hosts = vec![host.clone()];
        c.sep12.callbacks.retry_secs = 1;
    };
    let mut srv = TestServer::start_with(engine, tweak.clone()).await;
    let start = mooring_server::clock::Clock::now(srv.clock.as_ref());
    let (_, token) = srv.login().await;
    let id = put_json(
        &srv,
        &token,
        json!({"type": "sep31-sender", "first_name": "Ann"}),
    )
    .await
    .1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let callback = srv
        .with_token(Method::PUT, "/customer/callback", &token)
        .json(&json!({"url": format!("{url}kyc-callback")}));
    assert_eq!(TestServer::send(callback).await.0, 200);

    // NEEDS_INFO -> PROCESSING: delivered and signed.
    put_json(
        &srv,
        &token,
        json!({"last_name": "Lee", "email_address": "ann@example.com"}),
    )
    .await;
    wait_for(&receiver, 1).await;
    let (headers, body) = receiver.got.lock().unwrap()[0].clone();
    verify_signature(&srv, start, &headers, &body);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["id"], id);

    // The receiver goes down; two changes happen.
    *receiver.down.lock().unwrap() = true;
    let ask = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/request-info"))
        .json(&json!({"fields": ["last_name"]}));
    TestServer::send(ask).await;
    put_json(&srv, &token, json!({"last_name": "Leigh"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        receiver.statuses(),
        ["PROCESSING"],
        "nothing got through while down"
    );

    // The server restarts while the receiver is still down. (Retries that
    // fall due at once are signed at real time, later ones an hour on.)
    srv.shutdown().await;
    let srv2 = srv.replica_with(tweak).await;
    *receiver.down.lock().unwrap() = false;
    srv2.clock.advance(3600);
    wait_for(&receiver, 3).await;
    assert_eq!(
        receiver.statuses(),
        ["PROCESSING", "NEEDS_INFO", "PROCESSING"],
        "all of them, in order"
    );
    for (h, b) in receiver.got.lock().unwrap().iter().skip(1) {
        verify_signature(&srv2, start, h, b);
    }
    // ACCEPTED is the last callback: the URL is then forgotten.
    let accept = srv2.admin(Method::POST, &format!("/admin/customers/{id}/accept"));
    TestServer::send(accept).await;
    wait_for(&receiver, 4).await;
    assert_eq!(receiver.statuses().last().unwrap(), "ACCEPTED");
    srv2.stop().await;
    drop(srv);
}

async fn callback_urls_must_be_safe(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (_, token) = srv.login().await;
    let set = |url: &str| {
        srv.with_token(Method::PUT, "/customer/callback", &token)
            .json(&json!({"url": url}))
    };
    assert_error(
        TestServer::send(set("https://wallet.example.com/cb")).await,
        404,
        "customer not found",
    );
    put_json(&srv, &token, json!({"first_name": "Ann"})).await;
    assert_eq!(
        TestServer::send(set("https://wallet.example.com/cb"))
            .await
            .0,
        200
    );
    for bad in [
        "http://wallet.example.com/cb",
        "https://169.254.169.254/latest",
        "https://localhost/cb",
        "ftp://x/y",
    ] {
        assert_error(
            TestServer::send(set(bad)).await,
            400,
            "url must be https:// to a public host on the default port",
        );
    }
    assert_error(
        TestServer::send(
            srv.with_token(Method::PUT, "/customer/callback", &token)
                .json(&json!({})),
        )
        .await,
        400,
        "url is required",
    );
    // A name is looked up at registration too: this machine's own name
    // resolves to one of its own (non-public) addresses.
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let hostname = hostname.trim();
    let own = tokio::net::lookup_host((hostname, 443))
        .await
        .map(|mut a| a.any(|a| !mooring_server::net::is_public(a.ip())))
        .unwrap_or(false);
    if own && !hostname.eq_ignore_ascii_case("localhost") {
        assert_error(
            TestServer::send(set(&format!("https://{hostname}/cb"))).await,
            400,
            "url's host resolves to an address that is not public",
        );
    }
    srv.stop().await;
}

/// The last error recorded for the customer's pending callback.
async fn last_callback_error(srv: &TestServer) -> Option<String> {
    let db = mooring_server::db::Db::connect(&srv.db.url, 1)
        .await
        .unwrap();
    let sql = "SELECT last_error FROM callback_outbox ORDER BY id LIMIT 1";
    let row: Option<(Option<String>,)> = match &db {
        mooring_server::db::Db::Sqlite(s) => sqlx::query_as(sql).fetch_optional(&s.write).await,
        mooring_server::db::Db::Postgres(p) => sqlx::query_as(sql).fetch_optional(p).await,
    }
    .unwrap();
    db.close().await;
    row.and_then(|r| r.0)
}

async fn a_redirecting_callback_receiver_is_recorded_as_such(engine: Engine) {
    let app = axum::Router::new().fallback(|| async {
        (
            StatusCode::TEMPORARY_REDIRECT,
            [(axum::http::header::LOCATION, "http://127.0.0.1:9/elsewhere")],
        )
    });
    let url = serve(app).await;
    let host = format!("127.0.0.1:{}", url.port().unwrap());
    let srv = TestServer::start_with(engine, move |c| {
        c.sep12.callbacks.allow_http_hosts = vec![host.clone()];
        c.sep12.callbacks.retry_secs = 1;
    })
    .await;
    let (_, token) = srv.login().await;
    put_json(
        &srv,
        &token,
        json!({"type": "sep31-sender", "first_name": "Ann"}),
    )
    .await;
    let callback = srv
        .with_token(Method::PUT, "/customer/callback", &token)
        .json(&json!({"url": format!("{url}cb")}));
    assert_eq!(TestServer::send(callback).await.0, 200);
    put_json(
        &srv,
        &token,
        json!({"last_name": "Lee", "email_address": "ann@example.com"}),
    )
    .await;
    let mut error = None;
    for _ in 0..50 {
        error = last_callback_error(&srv).await;
        if error.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        error.as_deref(),
        Some("redirected (callbacks do not follow redirects)")
    );
    srv.stop().await;
}

/// Every file under `dir`, with its bytes.
fn all_files(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn nothing_personal_is_stored_in_the_clear_and_erasure_leaves_nothing(engine: Engine) {
    const MARKER: &str = "ZQXJ-unique-marker-7731";
    let srv = TestServer::start(engine).await;
    let (kp, token) = srv.login().await;
    let data = srv.dir.path().join("data");
    let mut before = Vec::new();
    all_files(&data.join("blobs"), &mut before);
    let mut doc = vec![0xFF, 0xD8, 0xFF, 0xE0];
    doc.extend_from_slice(MARKER.as_bytes());
    doc.extend(std::iter::repeat_n(b'x', 200_000));
    let form = Form::new()
        .text("first_name", format!("Ann {MARKER}"))
        .text("address", format!("1 {MARKER} Street\nSpringfield"))
        .text("email_address", "zqxj.marker.7731@example.com")
        .part(
            "photo_id_front",
            Part::bytes(doc.clone()).file_name("id.jpg"),
        );
    let (status, body) = put_form(&srv, &token, form).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    // The admin API reads the document back intact: it was stored.
    let (_, detail) = admin_customer(&srv, &id).await;
    let file_id = detail["fields"]["photo_id_front"]["file_id"]
        .as_str()
        .unwrap();
    let got = admin_file(&srv, &id, file_id).await;
    assert_eq!(got.headers()["content-type"], "image/jpeg");
    assert_eq!(got.bytes().await.unwrap().as_ref(), doc.as_slice());

    // Every byte under the server's folder: database, WAL, documents.
    let mut files = Vec::new();
    all_files(srv.dir.path(), &mut files);
    if engine == Engine::Sqlite {
        assert!(
            files
                .iter()
                .any(|(p, _)| p.ends_with("test.db-wal") || p.ends_with("test.db"))
        );
    }
    for needle in [MARKER.as_bytes(), b"zqxj.marker.7731@example.com"] {
        for (path, bytes) in &files {
            assert!(!contains(bytes, needle), "plaintext in {}", path.display());
        }
    }
    if engine == Engine::Postgres {
        // PostgreSQL's files are not in the data folder: read every row as text.
        let dump = db_dump(&srv.db.url).await;
        assert!(
            !dump.contains(MARKER) && !dump.contains("zqxj.marker"),
            "plaintext in PostgreSQL"
        );
    }

    // Erasure: rows, documents and the data key are gone.
    let path = format!("/customer/{}", kp.public_key());
    assert_eq!(
        TestServer::send(srv.with_token(Method::DELETE, &path, &token))
            .await
            .0,
        200
    );
    let mut after = Vec::new();
    all_files(&data.join("blobs"), &mut after);
    assert_eq!(
        after.len(),
        before.len(),
        "document count back where it was"
    );
    let counts = row_counts(&srv.db.url, &id).await;
    assert_eq!(
        counts,
        [0, 0, 0, 0],
        "customers, fields, files, codes of {id}"
    );
    let mut files = Vec::new();
    all_files(srv.dir.path(), &mut files);
    for (path, bytes) in &files {
        assert!(
            !contains(bytes, MARKER.as_bytes()),
            "plaintext in {} after erasure",
            path.display()
        );
    }
    srv.stop().await;
}

async fn row_counts(url: &str, id: &str) -> [i64; 4] {
    let db = mooring_server::db::Db::connect(url, 1).await.unwrap();
    let mut out = [0; 4];
    for (i, sql) in [
        "SELECT COUNT(*) FROM customers WHERE id = $1",
        "SELECT COUNT(*) FROM customer_fields WHERE customer_id = $1",
        "SELECT COUNT(*) FROM files WHERE customer_id = $1",
        "SELECT COUNT(*) FROM verification_codes WHERE customer_id = $1",
    ]
    .iter()
    .enumerate()
    {
        out[i] = match &db {
            mooring_server::db::Db::Sqlite(s) => {
                let mut reader = s.read.get().await.unwrap();
                sqlx::query_scalar(sql)
                    .bind(id)
                    .fetch_one(&mut *reader)
                    .await
                    .unwrap()
            }
            mooring_server::db::Db::Postgres(p) => {
                sqlx::query_scalar(sql).bind(id).fetch_one(p).await.unwrap()
            }
        };
    }
    db.close().await;
    out
}

async fn db_dump(url: &str) -> String {
    let db = mooring_server::db::Db::connect(url, 1).await.unwrap();
    let mut out = String::new();
    if let mooring_server::db::Db::Postgres(p) = &db {
        for table in [
            "customers",
            "customer_fields",
            "files",
            "audit_log",
            "callback_outbox",
        ] {
            let rows: Vec<String> =
                sqlx::query_scalar(&format!("SELECT row_to_json(t)::text FROM {table} t"))
                    .fetch_all(p)
                    .await
                    .unwrap();
            out.push_str(&rows.join("\n"));
        }
    }
    db.close().await;
    out
}

on_both_engines!(
    a_redirecting_callback_receiver_is_recorded_as_such,
    admin_requires_its_own_token,
    decisions_move_the_customer_and_are_audited,
    the_audit_log_is_append_only,
    verification_codes_confirm_phone_and_email,
    verification_codes_expire_after_too_many_attempts,
    callbacks_arrive_signed_in_order_after_an_outage_and_a_restart,
    callback_urls_must_be_safe,
    nothing_personal_is_stored_in_the_clear_and_erasure_leaves_nothing,
);
