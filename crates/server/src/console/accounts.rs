//! An account's KYC limits and attestations (docs/kyc.md): its state and
//! `rule_gen`, every rule with what counts against it, what it inherited
//! and whom it attested for; its own rules set or cleared, and an
//! inheritance ended — as `/admin/limits/{account}` and
//! `/admin/attestations/{target}` do. The recovery accounts (SEP-30) and
//! the audit log are here too: short pages over the same services.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use maud::html;
use serde_json::Value;

use super::Console;
use super::page::{self, csrf, time};
use super::session::{Posted, Session};
use crate::audit;
use crate::config::Rule;
use crate::error::ApiError;
use crate::http::Query;
use crate::kyc::Target;
use crate::state::With;

pub(super) fn router() -> Router<With<Console>> {
    Router::new()
        .route("/admin/console/accounts", get(account))
        .route("/admin/console/accounts/rules", post(rules))
        .route("/admin/console/accounts/revoke", post(revoke))
        .route("/admin/console/recovery", get(recovery))
        .route("/admin/console/recovery/signers", post(add_signer))
        .route("/admin/console/audit", get(audit_log))
}

fn target_of(account: &str, memo: &str) -> Result<Target, ApiError> {
    Target::parse(account.trim(), Some(memo.trim()).filter(|m| !m.is_empty())).ok_or_else(|| {
        ApiError::bad_request("account must be a G… or M… address, memo an unsigned 64-bit id")
    })
}

fn back(t: &Target, done: &str) -> Response {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("account", &t.address());
    q.append_pair("memo", &t.memo_value());
    page::done(&format!("/admin/console/accounts?{}", q.finish()), done)
}

/// `GET /admin/console/accounts?account=&memo=`.
async fn account(State(console): State<With<Console>>, session: Session, q: Query) -> Response {
    let account = q.0.text("account");
    let memo = q.0.text("memo");
    let form = html! {
        form.filters method="get" action="/admin/console/accounts" {
            label { "Account (G… or M…)" input type="text" name="account" value=(account) size="60"; }
            label { "Memo" input type="text" name="memo" value=(memo); }
            button type="submit" { "Show" }
        }
    };
    if account.is_empty() {
        return page::page(&session, "KYC limits", form);
    }
    let t = match target_of(account, memo) {
        Ok(t) => t,
        Err(e) => return page::failed(&session, e),
    };
    let v: Value = match console.limits.account(&t).await {
        Ok(v) => v,
        Err(e) => return page::failed(&session, e.into()),
    };
    let rules = v["rules"].as_array().cloned().unwrap_or_default();
    // Only the account's own rules fill the form: saved unchanged, the
    // configured ones must not become its own.
    let own: Vec<&Value> = rules.iter().map(|r| &r["rule"]).collect();
    let own_json = match v["own_rules"] == true {
        true => serde_json::to_string_pretty(&own).unwrap_or_default(),
        false => String::new(),
    };
    let body = html! {
        (form)
        @if let Some(d) = q.0.get("done") { p.card role="status" { (d) } }
        table { tbody {
            @for k in ["state", "rule_gen", "known", "bound", "kyc_required", "own_rules", "inherited_from"] {
                tr { th { (k) } td.mono { (v[k].to_string()) } }
            }
            tr { th { "attested for" } td.mono { @for a in v["attested"].as_array().into_iter().flatten() { (a.as_str().unwrap_or("")) br; } } }
        } }
        h2 { "Rules" }
        table {
            thead { tr { th { "Rule" } th { "Applies now" } th { "Used" } th { "Resets" } } }
            tbody { @for r in &rules {
                tr {
                    td.mono { (r["rule"].to_string()) }
                    td { (r["applies"].to_string()) }
                    td { (r["used"].to_string()) }
                    td { @if let Some(at) = r["resets_at"].as_i64() { (time(at)) } }
                }
            } }
        }
        h2 { "This account's own rules" }
        form.card method="post" action="/admin/console/accounts/rules" {
            (csrf(&session))
            input type="hidden" name="account" value=(t.address());
            input type="hidden" name="memo" value=(t.memo_value());
            p.note { "A JSON list of rules (as [limits] rules in mooring.toml) replacing the configured ones (listed above); empty to go back to them." }
            textarea name="rules" rows="8" cols="80" aria-label="rules" { (own_json) }
            br;
            button type="submit" { "Save rules" }
        }
        @if !v["inherited_from"].is_null() {
            form.card method="post" action="/admin/console/accounts/revoke" {
                (csrf(&session))
                input type="hidden" name="account" value=(t.address());
                input type="hidden" name="memo" value=(t.memo_value());
                button.bad type="submit" { "End the inheritance from " (v["inherited_from"].as_str().unwrap_or("")) }
            }
        }
    };
    page::page(&session, "KYC limits", body)
}

/// `POST …/accounts/rules` (`account`, `memo`, `rules`: JSON or empty).
async fn rules(State(console): State<With<Console>>, Posted { session, form }: Posted) -> Response {
    let t = match target_of(form.text("account"), form.text("memo")) {
        Ok(t) => t,
        Err(e) => return page::failed(&session, e),
    };
    let text = form.text("rules").trim();
    let rules: Option<Vec<Rule>> = match text {
        "" => None,
        _ => match serde_json::from_str(text) {
            Ok(r) => Some(r),
            Err(_) => {
                return page::failed(
                    &session,
                    ApiError::bad_request(
                        "rules must be a JSON list of rules: [{\"op\", \"asset\", \"threshold\", …}]",
                    ),
                );
            }
        },
    };
    match console.limits.set_rules(&session.actor, &t, rules).await {
        Ok(generation) => back(&t, &format!("Rules saved; rule_gen is now {generation}.")),
        Err(e) => page::failed(&session, e.into()),
    }
}

/// `POST …/accounts/revoke`: ends an inheritance.
async fn revoke(
    State(console): State<With<Console>>,
    Posted { session, form }: Posted,
) -> Response {
    let t = match target_of(form.text("account"), form.text("memo")) {
        Ok(t) => t,
        Err(e) => return page::failed(&session, e),
    };
    match console.attest.revoke(&session.actor, &t).await {
        Ok(true) => back(
            &t,
            "The inheritance has ended; the copied attributes are deleted.",
        ),
        Ok(false) => back(&t, "The account inherited nothing."),
        Err(e) => page::failed(&session, e.into()),
    }
}

/// `GET /admin/console/recovery?after=`: registered SEP-30 accounts.
async fn recovery(State(console): State<With<Console>>, session: Session, q: Query) -> Response {
    const PAGE: i64 = 50;
    let rows = match console.recovery.staff_list(q.0.text("after"), PAGE).await {
        Ok(r) => r,
        Err(e) => return page::failed(&session, e.into()),
    };
    let next = (rows.len() as i64 == PAGE).then(|| rows.last().map(|r| r.0.address.clone()));
    let body = html! {
        @if let Some(d) = q.0.get("done") { p.card role="status" { (d) } }
        p.note { "Identities are stored only as keyed hashes: their values are not shown because the server does not have them." }
        table {
            thead { tr { th { "Account" } th { "Identities (roles)" } th { "Ways to prove them" } th { "Signing keys, newest first" } th { "Registered" } th {} } }
            tbody { @for (r, roles, keys) in &rows {
                tr {
                    td.mono { (r.address) }
                    td { (roles.join(", ")) }
                    td { (r.auth_methods) }
                    td.mono { @for k in keys { (k) br; } }
                    td { (time(r.created_at)) }
                    td {
                        form.inline method="post" action="/admin/console/recovery/signers" {
                            (csrf(&session))
                            input type="hidden" name="address" value=(r.address);
                            button type="submit" { "Add a signing key" }
                        }
                    }
                }
            } }
        }
        @if let Some(Some(last)) = next {
            p.pager { a href=(page::link("/admin/console/recovery", &[("after", &last)])) { "Next page →" } }
        }
    };
    page::page(&session, "Recovery accounts", body)
}

/// `POST …/recovery/signers` (`address`): key rotation, as the admin API.
async fn add_signer(
    State(console): State<With<Console>>,
    Posted { session, form }: Posted,
) -> Response {
    let address = form.text("address").to_owned();
    match console.recovery.add_signer(&session.actor, &address).await {
        Ok(_) => page::done("/admin/console/recovery", "A new signing key was added."),
        Err(e) => page::failed(&session, e.into()),
    }
}

/// `GET /admin/console/audit?actor=&customer=&action=&before=`.
async fn audit_log(State(console): State<With<Console>>, session: Session, q: Query) -> Response {
    const PAGE: i64 = 100;
    let (actor, customer, action) = (q.0.text("actor"), q.0.text("customer"), q.0.text("action"));
    let before = q.0.text("before").parse().unwrap_or(0);
    let entries = match audit::search(
        console.app.db().reader(),
        actor,
        customer,
        action,
        before,
        PAGE,
    )
    .await
    {
        Ok(e) => e,
        Err(e) => return page::failed(&session, ApiError::from(e)),
    };
    let next = (entries.len() as i64 == PAGE).then(|| entries.last().map(|e| e.id));
    let body = html! {
        form.filters method="get" action="/admin/console/audit" {
            label { "Actor" input type="text" name="actor" value=(actor) placeholder="admin:ana"; }
            label { "Customer or subject" input type="text" name="customer" value=(customer); }
            label { "Action (or its start)" input type="text" name="action" value=(action) placeholder="customer."; }
            button type="submit" { "Filter" }
        }
        table {
            thead { tr { th { "When" } th { "Actor" } th { "Action" } th { "Subject" } th { "Detail" } } }
            tbody { @for e in &entries {
                tr {
                    td { (time(e.at)) }
                    td { (e.actor) }
                    td { (e.action) }
                    td.mono { (e.customer_id.as_deref().unwrap_or("")) }
                    td { (e.detail.as_deref().unwrap_or("")) }
                }
            } }
        }
        @if let Some(Some(last)) = next {
            p.pager { a href=(page::link("/admin/console/audit", &[("actor", actor), ("customer", customer), ("action", action), ("before", &last.to_string())])) { "Older →" } }
        }
    };
    page::page(&session, "Audit log", body)
}
