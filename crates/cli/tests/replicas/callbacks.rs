//! SEP-12 callbacks across replicas: each status change is put in the
//! database's outbox by whichever replica made it, and the outbox workers
//! of all replicas together deliver each once, in order, signed with the
//! shared key (SEP-12 §Customer Callback PUT).

use std::time::Duration;

use base64::Engine as _;
use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Options, Receiver, Setup};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_enqueued_by_every_replica_arrive_once_each_in_order() {
    let receiver = Receiver::default();
    let url = receiver.start().await.join("kyc-callback").unwrap();
    let host = format!("127.0.0.1:{}", url.port().unwrap());
    let config = json!({"sep12": {"callbacks": {"allow_http_hosts": [host], "retry_secs": 1}}});
    let options = Options {
        config: Some(config),
        ..Options::default()
    };
    let Some(s) = Setup::start(3, options).await else {
        return;
    };
    let token = s.login(&Keypair::random()).await;
    let put = |i: usize, body: Value| {
        let url = s.at(i).url("/customer");
        let token = token.clone();
        let s = &s;
        async move { s.call(Method::PUT, &url, Some(&token), Some(&body)).await }
    };
    let (_, got) = put(0, json!({"type": "sep31-sender", "first_name": "Ann"})).await;
    let id = got["id"].as_str().unwrap().to_owned();
    let callback = json!({"url": url.as_str()});
    let (status, got) = s
        .call(
            Method::PUT,
            &s.at(1).url("/customer/callback"),
            Some(&token),
            Some(&callback),
        )
        .await;
    assert_eq!(status, 200, "{got}");

    // Four changes, each made through another replica than the last.
    let (status, _) = put(
        2,
        json!({"last_name": "Lee", "email_address": "ann@example.com"}),
    )
    .await;
    assert_eq!(status, 202, "NEEDS_INFO -> PROCESSING on replica 2");
    let ask = json!({"fields": ["last_name"]});
    let path = format!("/admin/customers/{id}/request-info");
    assert_eq!(s.admin(0, Method::POST, &path, Some(&ask)).await.0, 200);
    let (status, _) = put(1, json!({"last_name": "Leigh"})).await;
    assert_eq!(status, 202, "NEEDS_INFO -> PROCESSING on replica 1");
    let path = format!("/admin/customers/{id}/accept");
    assert_eq!(s.admin(2, Method::POST, &path, None).await.0, 200);

    receiver.wait_for("/kyc-callback", 4).await;
    // Time for a duplicate to arrive, were any replica to send one again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let statuses: Vec<String> = receiver
        .got("/kyc-callback")
        .iter()
        .map(|(_, body)| body["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        statuses,
        ["PROCESSING", "NEEDS_INFO", "PROCESSING", "ACCEPTED"],
        "each change once, in order"
    );
    let signing = Keypair::from_secret_seed(&s.cluster.keys.signing_seed).unwrap();
    for (headers, body) in receiver.raw("/kyc-callback") {
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["id"],
            id.as_str()
        );
        let header = headers["signature"].to_str().unwrap();
        let (t, sig) = header.split_once(", s=").unwrap();
        let t = t.strip_prefix("t=").unwrap();
        let sig = base64::engine::general_purpose::STANDARD
            .decode(sig)
            .unwrap();
        let payload = format!("{t}.127.0.0.1.{body}");
        assert!(
            signing.public_key().verify(payload.as_bytes(), &sig),
            "signed with the shared key"
        );
    }
    s.finish().await;
}
