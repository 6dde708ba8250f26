//! Horizon as it is in the wild: down for a while, streams that end at
//! once, events split anywhere by the network.

use std::time::Duration;

use crate::common::{Engine, HorizonStub};
use crate::on_both_engines;
use crate::{Anchor, DEADLINE};

on_both_engines!(
    a_payment_made_while_horizon_is_down_is_matched_after,
    streams_that_end_at_once_are_not_hammered,
    events_split_anywhere_are_read,
);

fn streams(h: &HorizonStub) -> usize {
    h.payments_requests().iter().filter(|r| r.stream).count()
}

/// Waits until the observer has made `n` more requests of the stand-in.
async fn asked(h: &HorizonStub, n: usize) {
    let before = h.payments_requests().len();
    let until = tokio::time::Instant::now() + DEADLINE;
    while h.payments_requests().len() < before + n {
        assert!(
            tokio::time::Instant::now() < until,
            "the observer stopped asking Horizon"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_payment_made_while_horizon_is_down_is_matched_after(engine: Engine) {
    let a = Anchor::start(engine).await;
    let t = a.create("100").await;
    a.srv.horizon.fail_payments(Some(503));
    let op = a.pay_usdc("100", &t.memo);
    // Asked again and again, and answered 503 each time.
    asked(&a.srv.horizon, 3).await;
    assert_eq!(a.transaction(&t.id).await["status"], "pending_sender");
    a.srv.horizon.fail_payments(Some(500));
    asked(&a.srv.horizon, 2).await;
    a.srv.horizon.fail_payments(None);
    a.wait_status(&t.id, "pending_receiver").await;
    assert_eq!(a.seen(&op).await["outcome"], "matched");
    a.srv.stop().await;
}

/// A stream that ends at once ("byebye") is a stream that failed: the
/// observer pages again after `poll_secs` (1 s here) — it does not ask
/// Horizon in a loop without pause. Payments still arrive.
async fn streams_that_end_at_once_are_not_hammered(engine: Engine) {
    let a = Anchor::start(engine).await;
    let h = &a.srv.horizon;
    h.end_streams_at_once(true);
    let t = a.create("100").await;
    a.pay_usdc("40", &t.memo);
    a.pay_usdc("60", &t.memo);
    a.wait_status(&t.id, "pending_receiver").await;
    // Over 3 seconds: a page and a stream a second, give or take; a
    // hundred would be a loop.
    let before = h.payments_requests().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let made = h.payments_requests().len() - before;
    assert!(
        made < 30,
        "{made} requests to Horizon in 3 s with poll_secs = 1: streams ending at once are retried without pause"
    );
    a.srv.stop().await;
}

async fn events_split_anywhere_are_read(engine: Engine) {
    let a = Anchor::start(engine).await;
    let h = &a.srv.horizon;
    for n in [1, 7, 100] {
        h.stream_in_pieces(Some(n));
        // Once a stream opened since, in pieces of n bytes.
        let before = streams(h);
        let until = tokio::time::Instant::now() + DEADLINE;
        while streams(h) == before {
            assert!(tokio::time::Instant::now() < until, "no new stream");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let t = a.create("100").await;
        let op = a.pay_usdc("100", &t.memo);
        a.wait_status(&t.id, "pending_receiver").await;
        assert_eq!(a.seen(&op).await["outcome"], "matched", "pieces of {n}");
    }
    a.srv.stop().await;
}
