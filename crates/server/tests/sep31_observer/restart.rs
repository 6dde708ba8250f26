//! Stopped at any point, the observer resumes where it stopped: nothing
//! skipped, nothing counted twice; and one replica at a time holds the
//! lease — a stopped one gives it up at once, a killed one loses it after
//! `lease_secs` (docs/payments.md §The payment observer).

use std::time::Duration;

use mooring_server::config::Config;
use tokio::time::Instant;

use crate::common::{Engine, StubPayment, TestServer};
use crate::on_both_engines;
use crate::{Anchor, Created, LEASE_SECS, account, issuer, payments, tweak, wait_status_within};

on_both_engines!(
    a_restart_mid_stream_loses_and_repeats_nothing,
    a_stopped_holder_hands_over_at_once,
    a_killed_holder_is_taken_over_after_its_lease,
);

/// How long a takeover may take: the lease, a renewal, and a few seconds.
fn takeover() -> Duration {
    Duration::from_secs(LEASE_SECS + 5)
}

/// A server on a runtime of its own: [`Killable::kill`] drops the runtime,
/// and with it every task of the server, at whatever await it is — no
/// shutdown runs, the lease is not given up. A killed process, as near as
/// one process can have one.
struct Killable {
    rt: Option<tokio::runtime::Runtime>,
    srv: Option<TestServer>,
}

impl Killable {
    async fn replica_of(base: &TestServer, tweak: impl FnOnce(&mut Config)) -> Killable {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let srv = tokio::task::block_in_place(|| rt.block_on(base.replica_with(tweak)));
        Killable {
            rt: Some(rt),
            srv: Some(srv),
        }
    }

    fn kill(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
        self.srv.take();
    }
}

impl Drop for Killable {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The door through which [`heir`]s read Horizon.
const HEIRS_DOOR: usize = 2;

/// A replica configured by `tweak` that reads Horizon through a door of
/// its own (the same payments), so its requests are told apart.
async fn heir(srv: &TestServer, tweak: impl FnOnce(&mut Config)) -> TestServer {
    let door = srv.horizon.another_door(HEIRS_DOOR).await;
    srv.replica_with(move |c| {
        tweak(c);
        c.stellar.horizon_url = Some(door);
    })
    .await
}

/// Payments requests made by [`heir`]s.
fn heirs_requests(srv: &TestServer) -> usize {
    let all = srv.horizon.payments_requests();
    all.iter().filter(|r| r.door == HEIRS_DOOR).count()
}

/// Payments of `amount` USDC with each transaction's memo, from fresh
/// accounts.
fn parts(a: &Anchor, ts: &[Created], amount: &str) -> Vec<StubPayment> {
    let usdc = issuer();
    ts.iter()
        .map(|t| {
            let asset = Some(("USDC", usdc.as_str()));
            StubPayment::new(&a.dist, &account(), asset, amount, Some(("id", &t.memo)))
        })
        .collect()
}

async fn create(a: &Anchor, n: usize) -> Vec<Created> {
    let mut ts = Vec::with_capacity(n);
    for _ in 0..n {
        ts.push(a.create("100").await);
    }
    ts
}

/// Waits until `srv` reports any of `ops`; how many it reports then.
async fn any_seen(srv: &TestServer, ops: &[String]) -> usize {
    let until = Instant::now() + crate::DEADLINE;
    loop {
        let n = crate::ids(&payments(srv, "limit=500").await)
            .iter()
            .filter(|id| ops.contains(id))
            .count();
        if n > 0 {
            return n;
        }
        assert!(Instant::now() < until, "none of the payments was reported");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every transaction of `ts` is `pending_receiver` without a surplus,
/// every one of `ops` is listed exactly once, `40`s as underpaid and the
/// rest as matched, and nothing is overpaid.
async fn all_paid_once(a: &Anchor, ts: &[Created], ops: &[String]) {
    for t in ts {
        a.wait_status(&t.id, "pending_receiver").await;
    }
    let all = payments(&a.srv, "limit=500").await;
    for op in ops {
        let listed: Vec<_> = all.iter().filter(|p| p["id"] == op.as_str()).collect();
        assert_eq!(
            listed.len(),
            1,
            "payment {op} is listed {} times",
            listed.len()
        );
        let want = if listed[0]["amount"] == "40.0000000" {
            "underpaid"
        } else {
            "matched"
        };
        assert_eq!(listed[0]["outcome"], want, "{}", listed[0]);
    }
    let overpaid = payments(&a.srv, "outcome=overpaid").await;
    assert!(overpaid.is_empty(), "counted twice: {overpaid:?}");
    for t in ts {
        let staff = a.staff(&t.id).await;
        assert!(staff.get("amount_received").is_none(), "{staff}");
        assert!(staff.get("status_message").is_none(), "{staff}");
    }
}

async fn a_restart_mid_stream_loses_and_repeats_nothing(engine: Engine) {
    const N: usize = 24;
    let mut a = Anchor::start(engine).await;
    let ts = create(&a, N).await;
    // 40 of each and the other 60 of the first half; stopped as soon as
    // the observer reported one of them.
    let mut first = parts(&a, &ts, "40");
    first.extend(parts(&a, &ts[..N / 2], "60"));
    let mut ops = a.srv.horizon.add_payments_bulk(&first);
    let seen = any_seen(&a.srv, &ops).await;
    a.srv.shutdown().await;
    eprintln!("stopped with {seen} of {} payments reported", ops.len());
    // Paid while it is down, behind more than a page (200) of payments
    // without a memo.
    let from = account();
    let noise: Vec<StubPayment> = (0..250)
        .map(|_| StubPayment::new(&a.dist, &from, None, "0.0000001", None))
        .collect();
    let noise = a.srv.horizon.add_payments_bulk(&noise);
    ops.extend(
        a.srv
            .horizon
            .add_payments_bulk(&parts(&a, &ts[N / 2..], "60")),
    );

    let partner = a.partner.public_key().to_string();
    let again = a.srv.replica_with(tweak(&partner, &a.dist)).await;
    let old = std::mem::replace(&mut a.srv, again);
    a.token = a.srv.token_for(&a.partner, None).await;
    all_paid_once(&a, &ts, &ops).await;
    let unmatched = crate::ids(&payments(&a.srv, "outcome=unmatched&limit=500").await);
    assert!(
        noise.iter().all(|op| unmatched.contains(op)),
        "the whole backlog was read"
    );
    drop(old);
    a.srv.stop().await;
}

async fn a_stopped_holder_hands_over_at_once(engine: Engine) {
    const N: usize = 16;
    let mut a = Anchor::start(engine).await;
    let partner = a.partner.public_key().to_string();
    // The first holds the lease (it has seen a payment); the second waits,
    // reading Horizon through a door of its own.
    let second = heir(&a.srv, tweak(&partner, &a.dist)).await;
    let ts = create(&a, N).await;
    let mut first = parts(&a, &ts, "40");
    first.extend(parts(&a, &ts[..N / 2], "60"));
    let mut ops = a.srv.horizon.add_payments_bulk(&first);
    any_seen(&a.srv, &ops).await;
    assert_eq!(
        heirs_requests(&a.srv),
        0,
        "the replica without the lease read Horizon"
    );
    // Stopped mid-stream: it gives the lease up at once.
    a.srv.shutdown().await;
    let stopped = Instant::now();
    let old = std::mem::replace(&mut a.srv, second);
    a.token = a.srv.token_for(&a.partner, None).await;
    let t = a.create("100").await;
    a.pay_usdc("100", &t.memo);
    wait_status_within(&a.srv, &a.token, &t.id, "pending_receiver", takeover()).await;
    eprintln!("taken over {:?} after the stop", stopped.elapsed());
    assert!(heirs_requests(&a.srv) > 0, "the heir reads Horizon");

    ops.extend(
        a.srv
            .horizon
            .add_payments_bulk(&parts(&a, &ts[N / 2..], "60")),
    );
    all_paid_once(&a, &ts, &ops).await;
    drop(old);
    a.srv.stop().await;
}

async fn a_killed_holder_is_taken_over_after_its_lease(engine: Engine) {
    const N: usize = 12;
    // The server answering HTTP never observes; the holder is a replica
    // that can be killed, the heir a replica that waits for the lease.
    let a = Anchor::start_unprimed(engine, |c| c.sep31.observer.enabled = false).await;
    let t = tweak(&a.partner.public_key().to_string(), &a.dist);
    let mut holder = Killable::replica_of(&a.srv, t.clone()).await;
    a.prime().await;
    let mut heir = heir(&a.srv, t).await;

    // While both run, over a few renewals, each payment counts once.
    let ts = create(&a, N).await;
    let mut ops = Vec::new();
    for t in &ts[..N / 2] {
        ops.push(a.pay_usdc("100", &t.memo));
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    // Killed in the middle of a stream of payments.
    let mut rest = parts(&a, &ts[N / 2..], "40");
    rest.extend(parts(&a, &ts[N / 2..], "60"));
    let bulk = a.srv.horizon.add_payments_bulk(&rest);
    any_seen(&a.srv, &bulk).await;
    assert_eq!(
        heirs_requests(&a.srv),
        0,
        "the replica without the lease read Horizon"
    );
    holder.kill();
    let killed = Instant::now();
    ops.extend(bulk);
    let after = a.create("100").await;
    a.pay_usdc("100", &after.memo);
    wait_status_within(&a.srv, &a.token, &after.id, "pending_receiver", takeover()).await;
    eprintln!("taken over {:?} after the kill", killed.elapsed());
    assert!(heirs_requests(&a.srv) > 0, "the heir reads Horizon");
    all_paid_once(&a, &ts, &ops).await;
    heir.shutdown().await;
    drop((heir, holder));
    a.srv.stop().await;
}
