//! `mooring send` end to end: a receiving anchor (Mooring, in process) with
//! a partner entry for the sender, a loopback Horizon that accepts the
//! submitted payment and streams it to the receiver's observer, and staff
//! completing the transaction through `mooring admin`.
//!
//! - `a_payment_is_followed_through_a_customer_update_to_completed`: the
//!   whole flow; the observer is kept from seeing the payment until the
//!   command has reported `pending_sender`; staff ask for the receiver's
//!   account number again, the operator corrects it in the receiver's file,
//!   the command sends the new value and the transaction resumes;
//! - `print_xdr_pays_nothing_and_max_wait_gives_up`: `--print-xdr` prints
//!   the unsigned payment and submits nothing; `--max-wait` ends with code 2;
//! - `a_field_no_party_file_has_stops_before_any_transaction`: the anchor
//!   asks for a field the files lack: no transaction, no payment.
//!
//! Nothing is timed except the deadline of the waits ([`DEADLINE`]).

#[path = "../../../server/tests/common/mod.rs"]
mod common;

#[path = "../common/mod.rs"]
mod cli;

mod anchors;
mod sending;

use std::time::Duration;

use anchors::anchors;
use common::Engine;
use mooring_stellar::xdr::{Asset, Memo, MuxedAccount, OperationBody, Uint256};
use mooring_stellar::{PublicKey, envelope};
use sending::{Sending, texts};
use serde_json::json;

/// The issuer of the USDC received (made up).
pub const ISSUER: &str = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";
/// The longest the test waits for anything.
pub const DEADLINE: Duration = Duration::from_secs(60);
/// The SEP-12 type of senders.
pub const SENDER: &str = "sep31-sender";
/// The SEP-12 type of receivers.
pub const RECEIVER: &str = "sep31-receiver";

/// The sender: what the anchor asks for, and `birth_date`, which it does
/// not (so must never be sent).
pub const SENDER_FILE: &str = r#"
[fields]
first_name = "Ana"
last_name = "Silva"
email_address = "ana@example.com"
birth_date = "1990-05-17"
"#;

/// The receiver, under memo 42: what the anchor asks for, and
/// `mobile_number`, which it does not.
pub const RECEIVER_FILE: &str = r#"
memo = 42
[fields]
first_name = "Bea"
last_name = "Souza"
bank_account_number = "12345678"
bank_number = "021000021"
mobile_number = "+5511987654321"
"#;

/// The transaction id of a `[5/7] transaction <id>: …` line.
fn id_of(line: &str) -> String {
    line.strip_prefix("[5/7] transaction ")
        .and_then(|r| r.split(':').next())
        .unwrap_or_else(|| panic!("no id in {line:?}"))
        .to_owned()
}

/// The statuses `status …` lines of `stdout` name, in order.
fn statuses(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("status "))
        .map(|r| r.split_whitespace().next().unwrap_or_default().to_owned())
        .collect()
}

/// Checks that `xdr` pays 25 USDC from `from` to `dist` with `memo` as an
/// id memo, in one operation; its signature count.
fn assert_payment(xdr: &str, from: &PublicKey, dist: &str, memo: &str) -> usize {
    let env = envelope::decode(xdr).unwrap_or_else(|e| panic!("{e}: {xdr}"));
    let (tx, signatures) = envelope::transaction(&env).unwrap();
    let key = |m: &MuxedAccount| match m {
        MuxedAccount::Ed25519(Uint256(b)) => PublicKey::from_bytes(*b).to_string(),
        other => panic!("a muxed account: {other:?}"),
    };
    assert_eq!(key(&tx.source_account), from.to_string(), "the payer");
    assert_eq!(tx.memo, Memo::Id(memo.parse().unwrap()), "the memo");
    let [op] = tx.operations.as_slice() else {
        panic!("one operation: {:?}", tx.operations);
    };
    let OperationBody::Payment(p) = &op.body else {
        panic!("a payment: {op:?}");
    };
    assert_eq!(key(&p.destination), dist, "to the distribution account");
    assert_eq!(p.amount, 25 * 10_000_000, "25 USDC in stroops");
    let Asset::CreditAlphanum4(a) = &p.asset else {
        panic!("USDC, 4 letters: {:?}", p.asset);
    };
    assert_eq!(&a.asset_code.0, b"USDC");
    let mooring_stellar::xdr::PublicKey::PublicKeyTypeEd25519(Uint256(issuer)) = &a.issuer.0;
    assert_eq!(PublicKey::from_bytes(*issuer).to_string(), ISSUER);
    signatures.len()
}

on_both_engines!(
    a_payment_is_followed_through_a_customer_update_to_completed,
    print_xdr_pays_nothing_and_max_wait_gives_up,
    a_field_no_party_file_has_stops_before_any_transaction,
);

async fn a_payment_is_followed_through_a_customer_update_to_completed(engine: Engine) {
    let a = anchors(
        engine,
        &[
            "first_name",
            "last_name",
            "bank_account_number",
            "bank_number",
        ],
    )
    .await;
    a.prime().await;
    let me = a.key.public_key();
    let sequence = a.srv.horizon.sequence(&me);
    // The observer cannot see the payment until the command has seen the
    // transaction unpaid.
    a.srv.horizon.fail_payments(Some(503));
    let mut s = Sending::start(&a, &[]);
    let to = a.srv.base.as_str().trim_end_matches('/').to_owned();
    s.expect(&format!("[1/7] logged in to {to} as {me} (SEP-10)"))
        .await;
    s.expect(&format!(
        "[2/7] {to} receives USDC: sender type {SENDER}, receiver type {RECEIVER}, quotes not offered"
    ))
    .await;
    // Each party gives what the anchor asks for, and nothing else.
    s.expect(&format!(
        "[3/7] sender ({SENDER}): sent email_address, first_name, last_name; status ACCEPTED"
    ))
    .await;
    s.expect(&format!(
        "[3/7] receiver ({RECEIVER}): sent bank_account_number, bank_number, first_name, last_name; status ACCEPTED"
    ))
    .await;
    s.expect("[4/7] no quote").await;
    let created = s.expect_start("[5/7] transaction ").await;
    let id = id_of(&created);
    let staff = a.admin_get(&format!("/admin/transactions/{id}")).await;
    let t = &staff["transaction"];
    let receiver_id = t["receiver_id"].as_str().unwrap().to_owned();
    assert_eq!(
        created,
        format!(
            "[5/7] transaction {id}: pay 25 USDC to {} with id memo {}",
            a.dist,
            t["stellar_memo"].as_str().unwrap()
        )
    );
    s.expect_start("[6/7] paid: Stellar transaction ").await;
    s.expect("status pending_sender").await;
    a.srv.horizon.fail_payments(None);
    s.expect("status pending_receiver").await;

    // Staff ask for the receiver's account number again; the operator
    // corrects it in the receiver's file.
    let corrected = RECEIVER_FILE.replace("12345678", "87654321");
    std::fs::write(a.dir.path().join("receiver.toml"), corrected).unwrap();
    let why = "the account number does not match the bank's records";
    let moved = a
        .staff(&[
            "update",
            &id,
            "--status",
            "pending_customer_info_update",
            "--customer",
            "receiver",
            "--field",
            "bank_account_number",
            "--message",
            why,
        ])
        .await;
    assert_eq!(
        moved["transaction"]["status"], "pending_customer_info_update",
        "{moved}"
    );
    s.expect(&format!("status pending_customer_info_update: {why}"))
        .await;
    s.expect(&format!("the anchor asks: {why}")).await;
    s.expect(&format!(
        "update sender ({SENDER}): sent nothing new; status ACCEPTED"
    ))
    .await;
    // The corrected value, read from the file again, and only it.
    s.expect(&format!(
        "update receiver ({RECEIVER}): sent bank_account_number; status ACCEPTED"
    ))
    .await;
    // Accepted at once (auto_accept): the transaction resumes by itself.
    s.expect("status pending_receiver").await;

    let done = a.staff(&["update", &id, "--status", "completed"]).await;
    assert_eq!(done["transaction"]["status"], "completed", "{done}");
    s.expect("status completed").await;
    s.expect(&format!("[7/7] {id} is completed")).await;
    assert_eq!(s.exit_code().await, Some(0), "{}", s.so_far());

    let stdout = s.stdout.lock().unwrap().clone();
    assert_eq!(
        statuses(&stdout),
        [
            "pending_sender",
            "pending_receiver",
            "pending_customer_info_update",
            "pending_receiver",
            "completed"
        ],
        "{stdout}"
    );
    // One payment, signed, and the account's sequence number used once.
    let submitted = a.srv.horizon.submitted();
    assert_eq!(submitted.len(), 1, "{submitted:?}");
    let memo = t["stellar_memo"].as_str().unwrap();
    assert_eq!(assert_payment(&submitted[0], &me, &a.dist, memo), 1);
    assert_eq!(a.srv.horizon.sequence(&me), sequence + 1);
    let t = a.admin_get(&format!("/admin/transactions/{id}")).await;
    let t = &t["transaction"];
    assert_eq!(
        (&t["status"], &t["amount_in"], &t["amount_out"]),
        (
            &json!("completed"),
            &json!("25.0000000"),
            &json!("25.0000000")
        ),
        "{t}"
    );
    assert!(t["stellar_transaction_id"].is_string(), "paid: {t}");
    // The fields not asked for stayed with the sending anchor.
    let sender = a.provided(t["sender_id"].as_str().unwrap(), SENDER).await;
    assert_eq!(sender, ["email_address", "first_name", "last_name"]);
    let receiver = a.provided(&receiver_id, RECEIVER).await;
    assert_eq!(
        receiver,
        [
            "bank_account_number",
            "bank_number",
            "first_name",
            "last_name"
        ]
    );
    let (ok, customer) = common::customer::admin_customer(&a.srv, &receiver_id).await;
    assert_eq!(ok, 200, "{customer}");
    let number = &customer["fields"]["bank_account_number"];
    assert_eq!(
        (&number["value"], &number["status"]),
        (&json!("87654321"), &json!("ACCEPTED")),
        "the corrected account number: {customer}"
    );
    drop(s);
    a.srv.stop().await;
}

async fn print_xdr_pays_nothing_and_max_wait_gives_up(engine: Engine) {
    let a = anchors(
        engine,
        &[
            "first_name",
            "last_name",
            "bank_account_number",
            "bank_number",
        ],
    )
    .await;
    let me = a.key.public_key();
    let sequence = a.srv.horizon.sequence(&me);
    let out = a.send_to_end(&["--print-xdr", "--max-wait", "2"]).await;
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "gave up\n{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("[5/7] transaction "))
        .unwrap_or_else(|| panic!("no [5/7] line\n{stdout}\n{stderr}"));
    let id = id_of(lines[at]);
    let memo = lines[at].rsplit(' ').next().unwrap();
    assert_eq!(
        lines.get(at + 1),
        Some(&"[6/7] the payment, unsigned, to sign and submit elsewhere:"),
        "{stdout}"
    );
    let xdr = lines.get(at + 2).expect("the envelope");
    assert_eq!(assert_payment(xdr, &me, &a.dist, memo), 0, "unsigned");
    assert_eq!(statuses(&stdout), ["pending_sender"], "{stdout}");
    assert!(
        stderr.contains("gave up after") && stderr.contains("still pending_sender"),
        "{stderr}"
    );
    assert!(a.srv.horizon.submitted().is_empty(), "nothing submitted");
    assert_eq!(a.srv.horizon.sequence(&me), sequence);
    let t = a.admin_get(&format!("/admin/transactions/{id}")).await;
    assert_eq!(t["transaction"]["status"], "pending_sender", "{t}");
    a.srv.stop().await;
}

async fn a_field_no_party_file_has_stops_before_any_transaction(engine: Engine) {
    // The receiver must also give a branch number, which neither file has.
    let a = anchors(
        engine,
        &[
            "first_name",
            "last_name",
            "bank_account_number",
            "bank_number",
            "bank_branch_number",
        ],
    )
    .await;
    let out = a.send_to_end(&[]).await;
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "failed\n{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "[3/7] receiver ({RECEIVER}): sent bank_account_number, bank_number, first_name, last_name; status NEEDS_INFO; still needed: bank_branch_number"
        )),
        "the missing field is named\n{stdout}"
    );
    // The error names the customer, the field and the file to add it to.
    let file = a.file("receiver.toml");
    assert!(
        stderr.contains(&format!(
            "needs more about the receiver ({RECEIVER}) before a transaction (SEP-12): add bank_branch_number to {file}"
        )),
        "the error names the customer, the field and the file\n{stderr}"
    );
    assert!(!stdout.contains("[4/7]"), "stopped at SEP-12\n{stdout}");
    assert!(!stdout.contains("[5/7]"), "{stdout}");
    let list = a.admin_get("/admin/transactions").await;
    assert_eq!(list["transactions"], json!([]), "no transaction: {list}");
    assert!(a.srv.horizon.submitted().is_empty(), "nothing submitted");
    a.srv.stop().await;
}
