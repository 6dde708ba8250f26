//! The Horizon stand-in's payments, read as Horizon's documentation says
//! they are read: pages after a cursor, ascending, and the same endpoint
//! as server-sent events that stay open.

use std::time::Duration;

use futures::StreamExt as _;
use serde_json::Value;

use crate::common::{HorizonStub, StubPayment};
use crate::{account, issuer};

async fn page(h: &HorizonStub, account: &str, query: &str) -> (u16, Value) {
    let url = format!("{}accounts/{account}/payments?{query}", h.url);
    let res = reqwest::get(url).await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

fn records(page: &Value) -> Vec<Value> {
    page["_embedded"]["records"].as_array().unwrap().clone()
}

#[tokio::test]
async fn pages_are_horizons() {
    let h = HorizonStub::start().await;
    let (dist, other, payer) = (account(), account(), account());
    let usdc = issuer();
    let first = h.pay(
        &dist,
        &payer,
        Some(("USDC", &usdc)),
        "40",
        Some(("id", "77")),
    );
    h.pay(&other, &payer, None, "1", None);
    let out = h.pay(&payer, &dist, None, "2.5", Some(("text", "refund")));
    let mut bulk: Vec<StubPayment> = (0..12)
        .map(|i| StubPayment::new(&dist, &payer, None, &format!("{i}.1234567"), None))
        .collect();
    bulk[0].successful = false;
    let many = h.add_payments_bulk(&bulk);

    // Unknown accounts have an empty page; the default limit is 10.
    assert_eq!(records(&page(&h, &account(), "order=asc").await.1).len(), 0);
    let (status, p) = page(&h, &dist, "order=asc&join=transactions").await;
    assert_eq!(status, 200);
    let got = records(&p);
    assert_eq!(got.len(), 10);
    assert!(p["_links"]["next"]["href"].is_string(), "{p}");
    let r = &got[0];
    assert_eq!(
        (r["id"].as_str(), r["paging_token"].as_str()),
        (Some(first.as_str()), Some(first.as_str()))
    );
    assert_eq!(
        (r["type"].as_str(), r["asset_type"].as_str()),
        (Some("payment"), Some("credit_alphanum4"))
    );
    assert_eq!(
        (r["asset_code"].as_str(), r["asset_issuer"].as_str()),
        (Some("USDC"), Some(usdc.as_str()))
    );
    assert_eq!(
        (r["from"].as_str(), r["to"].as_str()),
        (Some(payer.as_str()), Some(dist.as_str()))
    );
    assert_eq!(
        (r["amount"].as_str(), r["transaction_successful"].as_bool()),
        (Some("40.0000000"), Some(true))
    );
    assert_eq!(r["transaction_hash"].as_str().unwrap().len(), 64);
    assert_eq!(r["transaction"]["memo_type"], "id");
    assert_eq!(r["transaction"]["memo"], "77");
    assert!(r["created_at"].as_str().unwrap().ends_with('Z'));
    // The payment out is the account's too; native has no code or issuer.
    assert_eq!(got[1]["id"], out.as_str());
    assert_eq!(got[1]["asset_type"], "native");
    assert!(got[1].get("asset_code").is_none());
    assert_eq!(got[1]["transaction"]["memo_type"], "text");
    assert_eq!(got[2]["id"], many[0].as_str());
    assert_eq!(got[2]["transaction_successful"], false);
    assert!(got[3]["transaction"].get("memo").is_none());
    assert_eq!(got[3]["transaction"]["memo_type"], "none");

    // After a cursor, compared as numbers; limit up to 200; `now` is empty.
    let (_, p) = page(
        &h,
        &dist,
        &format!("cursor={}&limit=200&order=asc", many[5]),
    )
    .await;
    assert_eq!(crate::ids(&records(&p)), many[6..].to_vec());
    let (_, p) = page(&h, &dist, "cursor=now&limit=200&order=asc").await;
    assert!(records(&p).is_empty());
    assert_eq!(page(&h, &dist, "limit=201").await.0, 400);
    assert_eq!(page(&h, &dist, "cursor=abc").await.0, 400);
    // The stand-in remembers what it was asked.
    assert!(h.payments_requests().iter().all(|r| !r.stream));
}

/// Reads `res`'s body until `want` events (blank-line ended) arrived.
async fn events(res: &mut reqwest::Response, want: usize) -> String {
    let mut text = String::new();
    while text.matches("\n\n").count() < want {
        let chunk = tokio::time::timeout(Duration::from_secs(5), res.chunk())
            .await
            .expect("an event in 5 s")
            .unwrap()
            .expect("the stream stays open");
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    text
}

#[tokio::test]
async fn streams_are_server_sent_events() {
    let h = HorizonStub::start().await;
    let (dist, payer) = (account(), account());
    let old = h.pay(&dist, &payer, None, "1", None);
    let client = reqwest::Client::new();
    let url = format!(
        "{}accounts/{dist}/payments?cursor=now&order=asc&join=transactions",
        h.url
    );
    let mut now = client
        .get(&url)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(now.status(), 200);
    assert!(
        now.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let from_start = url.replace("cursor=now", "cursor=");
    let mut all = client
        .get(&from_start)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();

    let hello = "retry: 1000\nevent: open\ndata: \"hello\"\n\n";
    assert_eq!(events(&mut now, 1).await, hello, "`now` sends nothing old");
    let text = events(&mut all, 2).await;
    assert!(
        text.starts_with(&format!("{hello}id: {old}\ndata: {{")),
        "{text}"
    );
    let data: Value =
        serde_json::from_str(text.lines().nth(5).unwrap().strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(data["id"], old.as_str());

    // New payments arrive on open streams, each one event.
    let new = h.pay(
        &dist,
        &payer,
        Some(("USDC", &issuer())),
        "3",
        Some(("id", "9")),
    );
    let text = events(&mut now, 1).await;
    assert!(
        text.starts_with(&format!("id: {new}\ndata: {{")) && text.ends_with("}\n\n"),
        "{text}"
    );
    assert_eq!(
        text.trim_end().lines().count(),
        2,
        "one line of JSON: {text}"
    );
    assert!(
        events(&mut all, 1)
            .await
            .starts_with(&format!("id: {new}\n"))
    );

    // Switched off: open streams end, new ones get 500; pages still work.
    h.fail_streaming(true);
    let rest = tokio::time::timeout(
        Duration::from_secs(5),
        now.bytes_stream().collect::<Vec<_>>(),
    )
    .await;
    assert!(rest.is_ok(), "the stream ends");
    let res = client
        .get(&url)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let (status, p) = page(&h, &dist, "order=asc").await;
    assert_eq!((status, records(&p).len()), (200, 2));
    h.fail_streaming(false);
    let res = client
        .get(&url)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(h.payments_requests().iter().filter(|r| r.stream).count(), 4);

    // Cut short: what there is, "byebye", closed.
    h.end_streams_at_once(true);
    let res = client
        .get(&from_start)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    assert!(
        text.starts_with(hello) && text.ends_with("event: close\ndata: \"byebye\"\n\n"),
        "{text}"
    );
    assert_eq!(text.matches("\nid: ").count(), 2, "{text}");
    h.end_streams_at_once(false);
    // In pieces: the same bytes.
    h.stream_in_pieces(Some(3));
    let mut res = client
        .get(&from_start)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    let text = events(&mut res, 3).await;
    assert!(text.starts_with(&format!("{hello}id: {old}\n")), "{text}");
    // Down: pages and streams alike.
    h.fail_payments(Some(503));
    assert_eq!(page(&h, &dist, "order=asc").await.0, 503);
    let res = client
        .get(&url)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
}
