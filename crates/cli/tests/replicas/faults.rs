//! Faults under load (issue 13, part 3): a mixed workload through the
//! proxy against three replicas while one replica is killed with SIGKILL
//! and started again, and while PostgreSQL (a server of this test's own)
//! is stopped and started. Clients may see errors while that happens —
//! the proxy's 502 for a request cut short by the kill, 503 while the
//! database is away — but never a wrong answer; afterwards every
//! acknowledged write is there and intact, no challenge or quote was used
//! twice, every payment was matched once, and the outboxes drain.
//!
//! `MOORING_FAULT_SECS` sets the load's length (default 24 s, the
//! `scripts/test` variant); README §Replicas gives the full run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use mooring_cluster::{Cluster, Documents, Postgres, S3Store, Spec};
use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::{Value, json};

use super::common::{HorizonStub, interop};
use super::workload::{Book, Load, Shared, customers, logins, payments, polls, signs};
use super::{BUCKET, Receiver};

use mooring_cluster::anchor::{self, USDC};

/// The configuration of the run: the anchor of `mooring_cluster::anchor`
/// with one partner, the business server's webhooks, a KYC rule that keeps
/// polls waiting.
fn config(partner: &Keypair, dist: &str, webhook: &url::Url) -> Value {
    let host = format!("127.0.0.1:{}", webhook.port().unwrap());
    let mut config = anchor::config("acme", &[partner.public_key().to_string()], dist);
    config["database_max_connections"] = json!(6);
    config["sep10"] = json!({"challenges_per_ip_per_minute": 1_000_000});
    config["sep31"]["webhook_url"] = json!(webhook.as_str());
    config["sep31"]["callbacks"] = json!({"allow_http_hosts": [host], "retry_secs": 1});
    config["sep31"]["observer"] = json!({"enabled": true, "lease_secs": 3, "poll_secs": 1});
    config["limits"] = json!({"rules": [
        {"name": "unverified-send", "op": "send", "asset": USDC, "threshold": "100"}]});
    config
}

/// Retries `f` until it answers `Some` (at most a minute): for the set-up
/// and the checks after the faults, when every replica is back.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    f: impl Fn() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within a minute");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The report: per kind, successes, tolerated errors, latency.
fn report(book: &Book, secs: u64) -> String {
    let mut out = format!("faults under load, {secs} s, 3 replicas:\n");
    out.push_str("kind               ok  errors                    p50 ms   p99 ms   max ms\n");
    for (kind, s) in &book.seen {
        let h = s.micros.as_ref();
        let ms = |q: f64| h.map_or(0.0, |h| h.value_at_quantile(q) as f64 / 1000.0);
        let errors: Vec<String> = s.errors.iter().map(|(k, n)| format!("{k}×{n}")).collect();
        out.push_str(&format!(
            "{kind:<16} {:>5}  {:<24} {:>7.1}  {:>7.1}  {:>7.1}\n",
            s.ok,
            errors.join(" "),
            ms(0.5),
            ms(0.99),
            h.map_or(0.0, |h| h.max() as f64 / 1000.0),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_under_load_lose_nothing_and_answer_nothing_wrong() {
    let Some(python) = interop::python() else {
        return;
    };
    let secs: u64 = std::env::var("MOORING_FAULT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    let pg = Postgres::start().expect("a PostgreSQL of the test's own");
    let s3 = S3Store::moto(&python, BUCKET).await.expect("moto starts");
    let horizon = HorizonStub::start().await;
    let business = Receiver::default();
    let webhook = business.start().await.join("webhook").unwrap();
    let partner = Keypair::random();
    let dist = Keypair::random().public_key().to_string();
    let spec = Spec {
        binary: env!("CARGO_BIN_EXE_mooring").into(),
        replicas: 3,
        database_url: pg.url.clone(),
        documents: Documents::S3 {
            endpoint: s3.endpoint.clone(),
            bucket: BUCKET.into(),
        },
        horizon_url: horizon.url.clone(),
        config: toml::to_string(&config(&partner, &dist, &webhook)).unwrap(),
        env: vec![("MOORING_LOG_LEVEL".into(), "error".into())],
        replica_env: vec![],
    };
    let mut cluster = Cluster::start(spec).await.expect("the replicas start");
    let admins: Vec<String> = cluster.replicas.iter().map(|r| r.admin_url("")).collect();
    let admin_token = cluster.keys.admin_token.clone();
    let admin = |i: usize, method: Method, path: &str, body: Option<Value>| {
        let mut req = reqwest::Client::new()
            .request(method, format!("{}{path}", admins[i]))
            .bearer_auth(&admin_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        super::send(req)
    };

    // The partner's sender and receiver, accepted.
    let book: Shared = Arc::default();
    let load = Arc::new(Load {
        base: cluster.url(""),
        http: reqwest::Client::new(),
        book: book.clone(),
        until: Instant::now() + Duration::from_secs(3600),
    });
    let token = eventually("the partner's login", || load.login(&partner)).await;
    let mut parties = Vec::new();
    for (kind, fields) in anchor::parties() {
        let (_, got) = load
            .call(Method::PUT, "/customer", Some(&token), Some(&fields))
            .await;
        let id = got.unwrap().1["id"].as_str().unwrap().to_owned();
        let (status, _) = admin(
            0,
            Method::POST,
            &format!("/admin/customers/{id}/accept"),
            Some(json!({"type": kind})),
        )
        .await;
        assert_eq!(status, 200);
        parties.push(id);
    }
    let parties = (parties[0].clone(), parties[1].clone());
    book.lock().unwrap().seen.clear();

    // The load.
    let load = Arc::new(Load {
        base: cluster.url(""),
        http: reqwest::Client::new(),
        book: book.clone(),
        until: Instant::now() + Duration::from_secs(secs),
    });
    let mut workers = vec![
        tokio::spawn(logins(load.clone())),
        tokio::spawn(customers(load.clone(), 0)),
        tokio::spawn(customers(load.clone(), 1)),
        tokio::spawn(signs(load.clone())),
        tokio::spawn(payments(load.clone(), partner, horizon.clone(), parties)),
        tokio::spawn(polls(load.clone())),
        tokio::spawn(polls(load.clone())),
    ];

    // The faults: replica 1 killed a third of the way in and started again
    // three seconds later; PostgreSQL stopped at two thirds for two seconds.
    tokio::time::sleep(Duration::from_secs(secs / 3)).await;
    cluster.replicas[1].kill();
    eprintln!("replica 1 killed");
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.replicas[1]
        .start()
        .await
        .expect("replica 1 starts again");
    eprintln!("replica 1 started again");
    tokio::time::sleep(Duration::from_secs(secs / 3).saturating_sub(Duration::from_secs(3))).await;
    assert!(load.going(), "the load still runs when PostgreSQL stops");
    // pg_ctl waits; the other worker thread keeps the load going.
    tokio::task::block_in_place(|| pg.stop()).expect("PostgreSQL stops");
    eprintln!("PostgreSQL stopped");
    tokio::time::sleep(Duration::from_secs(2)).await;
    tokio::task::block_in_place(|| pg.start_again()).expect("PostgreSQL starts again");
    eprintln!("PostgreSQL started again");
    for w in workers.drain(..) {
        w.await.unwrap();
    }
    let text = report(&book.lock().unwrap(), secs);
    eprintln!("{text}");
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
    let _ = std::fs::write(target.join("replicas-faults.txt"), &text);

    // Nothing wrong was answered, and each kind got through.
    let (written, paid) = {
        let b = book.lock().unwrap();
        let logs = || {
            let all: Vec<String> = cluster
                .replicas
                .iter()
                .map(|r| format!("replica {}:\n{}", r.index, r.output()))
                .collect();
            all.join("\n")
        };
        for (kind, s) in &b.seen {
            assert!(
                s.wrong.is_empty(),
                "{kind}: wrong answers: {:?}\n{}",
                s.wrong,
                logs()
            );
        }
        for kind in [
            "token",
            "token replay",
            "sep12 put",
            "sep30 sign",
            "sep31 create",
            "quote replay",
            "kyc-check poll",
        ] {
            assert!(
                b.seen.get(kind).is_some_and(|s| s.ok > 0),
                "no {kind} got through:\n{text}"
            );
        }
        (b.customers.clone(), b.paid.clone())
    };

    // Every acknowledged write is there, intact, on every replica (eight
    // reads at a time).
    let (admin, admins, admin_token) = (&admin, &admins, &admin_token);
    futures::stream::iter(written.iter().enumerate())
        .for_each_concurrent(8, |(i, (id, marker, doc))| async move {
            let at = i % 3;
            let got = eventually("a customer's record", || async {
                let (status, got) =
                    admin(at, Method::GET, &format!("/admin/customers/{id}"), None).await;
                (status == 200).then_some(got)
            })
            .await;
            assert_eq!(
                got["fields"]["first_name"]["value"],
                marker.as_str(),
                "{id}"
            );
            let file = got["fields"]["photo_id_front"]["file_id"].as_str().unwrap();
            let url = format!("{}/admin/customers/{id}/files/{file}", admins[at]);
            let bytes = reqwest::Client::new()
                .get(url)
                .bearer_auth(admin_token)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            assert!(bytes == *doc, "{id}: the document is intact");
        })
        .await;

    // Every payment recorded once and matched to its transaction, which
    // now waits for its receiver (read from the database: there are more
    // than the admin API lists in one page).
    let db = sqlx::PgPool::connect(&pg.url).await.unwrap();
    let seen: Vec<(String, Option<String>, String)> =
        eventually("every payment matched", || async {
            let rows: Vec<(String, Option<String>, String)> =
                sqlx::query_as("SELECT id, transaction_id, outcome FROM observed_payments")
                    .fetch_all(&db)
                    .await
                    .ok()?;
            (rows.len() >= paid.len()).then_some(rows)
        })
        .await;
    assert_eq!(seen.len(), paid.len(), "one record per payment");
    let by_op: std::collections::HashMap<&str, (&Option<String>, &str)> = seen
        .iter()
        .map(|(op, t, outcome)| (op.as_str(), (t, outcome.as_str())))
        .collect();
    for (id, op) in &paid {
        let (t, outcome) = by_op[op.as_str()];
        assert_eq!(
            (t.as_deref(), outcome),
            (Some(id.as_str()), "matched"),
            "payment {op}"
        );
    }
    let waiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sep31_transactions WHERE status = 'pending_receiver'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        usize::try_from(waiting).unwrap(),
        paid.len(),
        "every paid transaction moved once"
    );

    // The outboxes drain, and each transaction's webhooks arrived in order.
    eventually("the outboxes drain", || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM payment_outbox) + (SELECT count(*) FROM callback_outbox)",
        )
        .fetch_one(&db)
        .await
        .ok()?;
        (n == 0).then_some(())
    })
    .await;
    let order = ["pending_sender", "pending_receiver"];
    let mut statuses: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (_, b) in business.got("/webhook") {
        let t = &b["transaction"];
        let (id, status) = (t["id"].as_str(), t["status"].as_str());
        if let (Some(id), Some(status)) = (id, status) {
            statuses
                .entry(id.to_owned())
                .or_default()
                .push(status.to_owned());
        }
    }
    let mut duplicates = 0;
    for (id, _) in &paid {
        let got = statuses.remove(id).unwrap_or_default();
        let mut distinct = got.clone();
        distinct.dedup();
        duplicates += got.len() - distinct.len();
        assert_eq!(distinct, order, "the webhooks of {id}, in order");
    }
    eprintln!(
        "{} customers written, {} transactions paid; {duplicates} webhooks sent twice (a delivery cut short by the kill is sent again)",
        written.len(),
        paid.len()
    );
    drop(cluster);
}
