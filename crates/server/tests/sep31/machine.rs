//! The status machine (docs/payments.md §Status machine) through the admin
//! API: every legal staff move, every illegal one 409 naming the current
//! status, expiry of unpaid transactions, completing without a known
//! `amount_out`, and the audit log of each change. Transactions are paid
//! on the Horizon stand-in and moved to `pending_receiver` by the observer.

use reqwest::Method;
use serde_json::{Value, json};

use super::{
    assert_error_is, assert_refusal, assert_sep31_fields, body, create_tx, id_of, move_tx, paid_tx,
    refund_tx, staff_view, start, start_custom, start_quoting, transaction, wait_status,
};
use crate::common::{Engine, TestServer};
use crate::on_both_engines;

/// Every status there is.
const ALL: [&str; 9] = [
    "pending_sender",
    "pending_stellar",
    "pending_customer_info_update",
    "pending_receiver",
    "pending_external",
    "completed",
    "refunded",
    "expired",
    "error",
];

/// A refund of `amount` (fee 0) with a made-up Stellar hash.
pub fn a_refund(amount: &str) -> Value {
    json!({"stellar_transaction_id": "c0ffee".repeat(10) + "c0ff", "amount": amount})
}

/// A 409 whose text names the current status `from` and the refused `to`.
#[track_caller]
pub fn assert_conflict(got: &(u16, Value), from: &str, to: &str) {
    let text = assert_refusal(got, 409, &format!("{from} -> {to}"));
    let names = text.starts_with(&format!("the transaction is {from}")) && text.contains(to);
    assert!(
        names,
        "{from} -> {to}: the 409 must name the current status: {text}"
    );
}

/// Asserts the staff moves to every status not in `legal` are 409 (and
/// the refund too, unless `legal` has `refunded`: a refund, never a
/// move), and the transaction unchanged.
pub async fn refused_from(srv: &TestServer, token: &str, id: &str, from: &str, legal: &[&str]) {
    let before = transaction(srv, token, id).await;
    for to in ALL
        .iter()
        .filter(|s| !legal.contains(s) || **s == "refunded")
    {
        assert_conflict(&move_tx(srv, id, json!({ "status": to })).await, from, to);
    }
    if !legal.contains(&"refunded") {
        assert_conflict(&refund_tx(srv, id, a_refund("1")).await, from, "refunded");
    }
    assert_eq!(
        transaction(srv, token, id).await,
        before,
        "a 409 changes nothing"
    );
}

/// Staff move `id` to `to` (with `extra` fields), asserting 200 and the
/// staff view's status; the transaction object after.
async fn moved(srv: &TestServer, token: &str, id: &str, to: &str, extra: Value) -> Value {
    let mut b = extra;
    b["status"] = json!(to);
    let (status, got) = move_tx(srv, id, b).await;
    assert_eq!(status, 200, "-> {to}: {got}");
    assert_eq!(got["transaction"]["status"], to, "-> {to}: {got}");
    let t = transaction(srv, token, id).await;
    assert_sep31_fields(&t, to);
    t
}

/// `pending_sender` moves by staff only to `error`; `error` is final.
async fn an_unpaid_transaction_moves_by_staff_only_to_error(engine: Engine) {
    let a = start(engine).await;
    let p = a.acme_parties().await;
    let id = id_of(&create_tx(&a.srv, &p.token, &body(&p, "100")).await);
    assert_error_is(
        &move_tx(&a.srv, &id, json!({"status": "completed"})).await,
        409,
        "the transaction is pending_sender; it can move to error, not to completed",
        "the contract's own example",
    );
    refused_from(&a.srv, &p.token, &id, "pending_sender", &["error"]).await;
    for bad in [
        json!({"status": "paid"}),
        json!({}),
        json!({"status": "error", "x": 1}),
    ] {
        assert_refusal(
            &move_tx(&a.srv, &id, bad.clone()).await,
            400,
            &bad.to_string(),
        );
    }
    for unknown in ["9d3c1f0a-5e2b-4c7d-8a9f-0b1c2d3e4f5a", "nope"] {
        let got = move_tx(&a.srv, unknown, json!({"status": "error"})).await;
        assert_refusal(&got, 404, &format!("moving {unknown}"));
    }
    moved(
        &a.srv,
        &p.token,
        &id,
        "error",
        json!({"message": "sanctions"}),
    )
    .await;
    refused_from(&a.srv, &p.token, &id, "error", &[]).await;
    let text = assert_refusal(
        &move_tx(&a.srv, &id, json!({"status": "completed"})).await,
        409,
        "",
    );
    assert_eq!(
        text, "the transaction is error, which is final; it cannot move to completed",
        "a final status says so"
    );
    a.srv.stop().await;
}

/// The audit entries of `id`, oldest first: (actor, action, detail).
pub async fn audit(srv: &TestServer, id: &str) -> Vec<(String, String, String)> {
    let path = format!("/admin/audit?customer_id={id}");
    let (status, body) = TestServer::send(srv.admin(Method::GET, &path)).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    let mut entries: Vec<(String, String, String)> = body["entries"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (s("actor"), s("action"), s("detail"))
        })
        .collect();
    entries.reverse();
    entries
}

/// Asserts the audit log of `id` lists exactly `changes`, oldest first:
/// each its action and, for a move, the status it moved to.
pub async fn assert_audit(srv: &TestServer, id: &str, changes: &[(&str, &str)]) {
    let got = audit(srv, id).await;
    let actions: Vec<&str> = got.iter().map(|e| e.1.as_str()).collect();
    let want: Vec<&str> = changes.iter().map(|c| c.0).collect();
    assert_eq!(actions, want, "the audit log of {id}: {got:?}");
    for ((_, action, detail), (_, to)) in got.iter().zip(changes) {
        assert!(
            detail.contains(to),
            "the {action} entry must name {to}: {got:?}"
        );
    }
}

/// Unpaid past `unpaid_expiry_secs` (600 here), `pending_sender` becomes
/// `expired` by itself; `expired` is final; both changes audited.
async fn an_unpaid_transaction_expires(engine: Engine) {
    let a = start_custom(engine, |c| c.sep31.unpaid_expiry_secs = 600).await;
    let p = a.acme_parties().await;
    let id = id_of(&create_tx(&a.srv, &p.token, &body(&p, "100")).await);
    a.srv.clock.advance(601);
    let t = wait_status(&a.srv, &p.token, &id, "expired").await;
    assert_sep31_fields(&t, "expired");
    assert!(
        t.get("completed_at").is_none(),
        "expired is not completed: {t}"
    );
    refused_from(&a.srv, &p.token, &id, "expired", &[]).await;
    assert_audit(
        &a.srv,
        &id,
        &[("sep31.create", ""), ("sep31.expire", "expired")],
    )
    .await;
    a.srv.stop().await;
}

/// Expiry is for transactions never paid (docs/payments.md: "unpaid past
/// expiry"; SEP-31: `expired` — "funds were never received by the
/// anchor"): one paid in part keeps waiting for the rest. Both are due in
/// the same sweep (the part-paid one first): once the unpaid one has
/// expired, the sweep has passed the other.
async fn a_transaction_paid_in_part_does_not_expire(engine: Engine) {
    let a = start_custom(engine, |c| c.sep31.unpaid_expiry_secs = 600).await;
    let p = a.acme_parties().await;
    let part = create_tx(&a.srv, &p.token, &body(&p, "100")).await;
    let part_id = id_of(&part);
    super::pay(&a, &part, "40");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while transaction(&a.srv, &p.token, &part_id).await["status_message"].is_null() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the part payment was not seen"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    a.srv.clock.advance(1);
    let unpaid = id_of(&create_tx(&a.srv, &p.token, &body(&p, "100")).await);
    a.srv.clock.advance(601);
    wait_status(&a.srv, &p.token, &unpaid, "expired").await;
    let t = transaction(&a.srv, &p.token, &part_id).await;
    assert_eq!(
        (&t["status"], &t["status_message"]),
        (
            &json!("pending_sender"),
            &json!(
                "received 40.0000000 of 100.0000000; pay the remaining 60.0000000 with the same memo"
            )
        ),
        "40 of 100 received: not expired, still waiting for the rest: {t}"
    );
    a.srv.stop().await;
}

/// Paid in full, a transaction goes through every staff move the machine
/// allows; each is audited with its actor and both statuses.
async fn paid_transactions_go_through_every_legal_move(engine: Engine) {
    let a = start(engine).await;
    let p = a.acme_parties().await;
    let s = &a.srv;
    let b = body(&p, "100");

    // pending_receiver -> pending_external -> completed.
    let id = paid_tx(&a, &p, &b).await;
    let t = transaction(s, &p.token, &id).await;
    assert_sep31_fields(&t, "pending_receiver");
    let hash = t["stellar_transaction_id"].as_str().unwrap_or_default();
    assert!(
        hash.len() == 64 && hash.bytes().all(|c| c.is_ascii_hexdigit()),
        "paid: the payment's Stellar hash: {t}"
    );
    let legal = [
        "pending_external",
        "completed",
        "pending_customer_info_update",
        "error",
    ];
    refused_from(
        s,
        &p.token,
        &id,
        "pending_receiver",
        &[&legal[..], &["refunded"]].concat(),
    )
    .await;
    let ext = json!({"external_transaction_id": "wire-2024-001"});
    let t = moved(s, &p.token, &id, "pending_external", ext).await;
    assert_eq!(t["external_transaction_id"], "wire-2024-001");
    refused_from(
        s,
        &p.token,
        &id,
        "pending_external",
        &["completed", "error", "refunded"],
    )
    .await;
    let t = moved(s, &p.token, &id, "completed", json!({})).await;
    assert_eq!(
        (
            &t["completed_at"],
            &t["amount_out"],
            &t["external_transaction_id"]
        ),
        (
            &t["updated_at"],
            &json!("98.5000000"),
            &json!("wire-2024-001")
        ),
        "completed: when, what was delivered, the payout's reference: {t}"
    );
    refused_from(s, &p.token, &id, "completed", &[]).await;
    let changes = [
        ("sep31.create", ""),
        ("sep31.payment", "pending_receiver"),
        ("sep31.status", "pending_external"),
        ("sep31.status", "completed"),
    ];
    assert_audit(s, &id, &changes).await;
    let staff = staff_view(s, &id).await;
    let empty = Vec::new();
    let listed: Vec<&str> = staff["history"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        listed,
        [
            "sep31.create",
            "sep31.payment",
            "sep31.status",
            "sep31.status"
        ],
        "the staff view's history: {staff}"
    );

    // pending_receiver -> completed; -> error; pending_external -> error.
    let id = paid_tx(&a, &p, &b).await;
    moved(s, &p.token, &id, "completed", json!({})).await;
    let id = paid_tx(&a, &p, &b).await;
    moved(
        s,
        &p.token,
        &id,
        "error",
        json!({"message": "the bank refused it"}),
    )
    .await;
    let id = paid_tx(&a, &p, &b).await;
    moved(s, &p.token, &id, "pending_external", json!({})).await;
    moved(s, &p.token, &id, "error", json!({})).await;
    refused_from(s, &p.token, &id, "error", &[]).await;
    a.srv.stop().await;
}

/// With `destination_asset` and no quote, `amount_out` is unknown until
/// the business server gives it: completing without it is 400.
async fn completing_needs_amount_out_when_none_is_known(engine: Engine) {
    let a = start_quoting(engine).await;
    let p = a.acme_parties().await;
    let mut b = body(&p, "100");
    b["destination_asset"] = json!(super::BRL);
    let id = paid_tx(&a, &p, &b).await;
    assert_error_is(
        &move_tx(&a.srv, &id, json!({"status": "completed"})).await,
        400,
        "amount_out is required to complete: the amount delivered",
        "completing without amount_out",
    );
    for bad in ["-1", "0", "abc", "1.00000001"] {
        let got = move_tx(
            &a.srv,
            &id,
            json!({"status": "completed", "amount_out": bad}),
        )
        .await;
        assert_refusal(&got, 400, &format!("amount_out {bad}"));
    }
    let t = transaction(&a.srv, &p.token, &id).await;
    assert!(t.get("amount_out").is_none(), "still unknown: {t}");
    assert_eq!(
        t["status"], "pending_receiver",
        "still pending_receiver: {t}"
    );
    let t = moved(
        &a.srv,
        &p.token,
        &id,
        "completed",
        json!({"amount_out": "530.25"}),
    )
    .await;
    assert_eq!(
        (&t["amount_out"], &t["amount_out_asset"]),
        (&json!("530.2500000"), &json!(super::BRL)),
        "the amount delivered, with 7 places: {t}"
    );
    a.srv.stop().await;
}

on_both_engines!(
    an_unpaid_transaction_moves_by_staff_only_to_error,
    an_unpaid_transaction_expires,
    a_transaction_paid_in_part_does_not_expire,
    paid_transactions_go_through_every_legal_move,
    completing_needs_amount_out_when_none_is_known,
);
