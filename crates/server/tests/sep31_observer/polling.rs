//! Streaming down, the observer pages (docs/payments.md: "when the stream
//! fails it pages again after `poll_secs`"); and where it starts: the first
//! time, from the account's latest payment, so what was paid before Mooring
//! ever watched is not its to match, and everything paid after is.

use std::time::Duration;

use crate::common::Engine;
use crate::on_both_engines;
use crate::{Anchor, DEADLINE, payments, tweak};

on_both_engines!(
    streaming_down_payments_are_polled,
    the_first_cursor_is_pinned,
    paid_before_mooring_watched_is_not_matched,
);

/// Waits until the stand-in answered `n` more page (not stream) requests
/// than `before`.
async fn polls(a: &Anchor, before: usize, n: usize) {
    let until = tokio::time::Instant::now() + DEADLINE;
    while pages(a) < before + n {
        assert!(
            tokio::time::Instant::now() < until,
            "the observer does not poll"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pages(a: &Anchor) -> usize {
    a.srv
        .horizon
        .payments_requests()
        .iter()
        .filter(|r| !r.stream)
        .count()
}

async fn streaming_down_payments_are_polled(engine: Engine) {
    let a = Anchor::start(engine).await;
    a.srv.horizon.fail_streaming(true);
    let streams = || {
        a.srv
            .horizon
            .payments_requests()
            .iter()
            .filter(|r| r.stream)
            .count()
    };
    let t = a.create("100").await;
    let before = pages(&a);
    let op = a.pay_usdc("100", &t.memo);
    a.wait_status(&t.id, "pending_receiver").await;
    assert_eq!(a.seen(&op).await["outcome"], "matched");
    // It was a page that carried it: asked with the saved cursor, in
    // Horizon's order, pages of 200, joined with the transactions.
    let asked: Vec<_> = a
        .srv
        .horizon
        .payments_requests()
        .into_iter()
        .filter(|r| !r.stream)
        .skip(before)
        .collect();
    assert!(!asked.is_empty());
    for r in &asked {
        let q = |k: &str| {
            r.query
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(r.account, a.dist);
        assert_eq!(
            (q("order"), q("limit"), q("join")),
            (Some("asc"), Some("200"), Some("transactions")),
            "{r:?}"
        );
        assert!(
            q("cursor").is_some_and(|c| c.parse::<u64>().is_ok()),
            "a paging token: {r:?}"
        );
    }

    // A part payment and the rest, both polled; then streaming is back.
    let t2 = a.create("100").await;
    a.pay_usdc("30", &t2.memo);
    a.pay_usdc("70", &t2.memo);
    a.wait_status(&t2.id, "pending_receiver").await;
    a.srv.horizon.fail_streaming(false);
    let streamed = streams();
    let t3 = a.create("100").await;
    a.pay_usdc("100", &t3.memo);
    a.wait_status(&t3.id, "pending_receiver").await;
    assert!(streams() > streamed, "the observer streams again");
    a.srv.stop().await;
}

/// Before the first record, the observer starts from the account's latest
/// payment, saved (docs/payments.md: "the first time, from the account's
/// latest payment"), not from Horizon's `now`, which Horizon reads anew on
/// every request: polled with `now`, nothing would ever be found, and a
/// stream reopened with it would miss what was paid while none was open.
/// From the first start on, nothing paid is missed.
async fn the_first_cursor_is_pinned(engine: Engine) {
    let a = Anchor::start_unprimed(engine, |_| {}).await;
    // The observer has started (it asked Horizon something), has seen no
    // record, and from now on can only poll.
    let until = tokio::time::Instant::now() + DEADLINE;
    while a.srv.horizon.payments_requests().is_empty() {
        assert!(
            tokio::time::Instant::now() < until,
            "the observer never asked Horizon"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.srv.horizon.fail_streaming(true);
    // Its first question: the account's latest payment.
    let first = &a.srv.horizon.payments_requests()[0];
    let q = |k: &str| {
        first
            .query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        (first.stream, q("order"), q("limit")),
        (false, Some("desc"), Some("1")),
        "{first:?}"
    );
    let t = a.create("100").await;
    let polled = a.pay_usdc("100", &t.memo);
    // Polled a few times since; then streaming comes back.
    polls(&a, pages(&a), 3).await;
    a.srv.horizon.fail_streaming(false);
    let t2 = a.create("100").await;
    let streamed = a.pay_usdc("100", &t2.memo);
    a.wait_status(&t2.id, "pending_receiver").await;
    assert_eq!(a.seen(&streamed).await["outcome"], "matched");
    let all = crate::ids(&payments(&a.srv, "limit=500").await);
    assert!(
        all.contains(&polled),
        "payment {polled}, made after the observer started watching while Horizon's stream was down, was never seen (seen: {all:?})"
    );
    a.wait_status(&t.id, "pending_receiver").await;
    let now = a
        .srv
        .horizon
        .payments_requests()
        .into_iter()
        .find(|r| r.query.iter().any(|(k, v)| k == "cursor" && v == "now"));
    assert!(now.is_none(), "pages cannot follow `now`: {now:?}");
    a.srv.stop().await;
}

/// Where the observer starts is pinned when the first transaction to the
/// account is created: a payment made before that (before Mooring knew of
/// the account) is not matched, even with a memo that later names a
/// transaction — staff match such payments by hand; a transaction created
/// and paid while no observer ran is matched once one does. (Here the
/// transactions are created by a server whose observer is off, and only
/// then does an observing server start.)
async fn paid_before_mooring_watched_is_not_matched(engine: Engine) {
    let mut a = Anchor::start_unprimed(engine, |c| c.sep31.observer.enabled = false).await;
    let stray = a.pay_usdc("100", "1");
    let t = a.create("100").await;
    // Creating pinned the cursor: one request for the latest payment.
    let asked = a.srv.horizon.payments_requests();
    assert!(
        asked
            .iter()
            .all(|r| !r.stream && r.query.iter().any(|(k, v)| k == "order" && v == "desc")),
        "only the latest payment was asked for: {asked:?}"
    );
    let paid = a.pay_usdc("100", &t.memo);

    let partner = a.partner.public_key().to_string();
    a.srv.shutdown().await;
    let again = a.srv.replica_with(tweak(&partner, &a.dist)).await;
    let old = std::mem::replace(&mut a.srv, again);
    a.token = a.srv.token_for(&a.partner, None).await;
    a.wait_status(&t.id, "pending_receiver").await;
    let all = crate::ids(&payments(&a.srv, "limit=500").await);
    assert!(
        all.contains(&paid),
        "{paid} was made after the transaction: {all:?}"
    );
    assert!(
        !all.contains(&stray),
        "{stray} was paid before Mooring knew of the account: {all:?}"
    );
    drop(old);
    a.srv.stop().await;
}
