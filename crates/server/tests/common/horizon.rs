//! A Horizon stand-in on loopback, speaking Horizon's documented JSON.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mooring_stellar::PublicKey;
use serde_json::{Value, json};
use url::Url;

use super::horizon_payments::PaymentsFeed;
use super::serve;

/// An account the Horizon stand-in knows.
#[derive(Clone)]
pub struct StubAccount {
    pub signers: Vec<(PublicKey, u32)>,
    pub thresholds: (u32, u32, u32),
}

/// Every account's sequence number until it submits a transaction.
pub(super) const START_SEQUENCE: i64 = 3298702387052545;

#[derive(Default)]
pub(super) struct StubState {
    pub(super) accounts: HashMap<String, StubAccount>,
    pub(super) fail_with: Option<u16>,
    pub(super) passphrase: Option<String>,
    /// Current sequence numbers; [`START_SEQUENCE`] when absent.
    pub(super) sequences: HashMap<String, i64>,
    /// The envelopes `POST /transactions` accepted, oldest first.
    pub(super) submitted: Vec<String>,
}

impl StubState {
    /// The passphrase of the network the stand-in serves.
    pub(super) fn passphrase(&self) -> &str {
        self.passphrase
            .as_deref()
            .unwrap_or("Test SDF Network ; September 2015")
    }

    /// The current sequence number of `id`.
    pub(super) fn sequence(&self, id: &str) -> i64 {
        self.sequences.get(id).copied().unwrap_or(START_SEQUENCE)
    }
}

/// A Horizon stand-in on loopback: `GET /accounts/{id}` answers the
/// account resource in Horizon's documented shape, or Horizon's 404 problem;
/// `GET /accounts/{id}/payments` the payments made with
/// [`HorizonStub::pay`] (horizon_payments.rs) or submitted with
/// `POST /transactions` (horizon_submit.rs).
#[derive(Clone)]
pub struct HorizonStub {
    pub url: Url,
    pub(super) state: Arc<Mutex<StubState>>,
    pub(super) payments: PaymentsFeed,
}

impl HorizonStub {
    pub async fn start() -> HorizonStub {
        let state = Arc::new(Mutex::new(StubState::default()));
        let payments = PaymentsFeed::new();
        let url = serve(app(&state, &payments)).await;
        HorizonStub {
            url,
            state,
            payments,
        }
    }

    /// The same Horizon on another port, for a server that must be told
    /// apart: payments requests through it are marked with `door` in
    /// [`HorizonStub::payments_requests`] (0 is [`HorizonStub::url`]).
    pub async fn another_door(&self, door: usize) -> Url {
        serve(app(&self.state, &self.payments.through(door))).await
    }

    pub fn set_account(&self, account: &PublicKey, a: StubAccount) {
        self.state
            .lock()
            .unwrap()
            .accounts
            .insert(account.to_string(), a);
    }

    /// An account whose master key is its only signer, all thresholds 0.
    pub fn set_master_key_only(&self, account: &PublicKey) {
        self.set_account(
            account,
            StubAccount {
                signers: vec![(*account, 1)],
                thresholds: (0, 0, 0),
            },
        );
    }

    /// Makes the stand-in claim to serve another network.
    pub fn serve_network(&self, passphrase: &str) {
        self.state.lock().unwrap().passphrase = Some(passphrase.to_owned());
    }

    pub fn fail_with(&self, status: Option<u16>) {
        self.state.lock().unwrap().fail_with = status;
    }
}

fn app(state: &Arc<Mutex<StubState>>, payments: &PaymentsFeed) -> Router {
    Router::new()
        .route("/", get(stub_root))
        .route("/accounts/{id}", get(stub_account))
        .with_state(state.clone())
        .merge(payments.router())
        .merge(super::horizon_submit::router(state, payments))
}

/// Horizon's root resource: which network it serves.
async fn stub_root(State(state): State<Arc<Mutex<StubState>>>) -> Response {
    let passphrase = state.lock().unwrap().passphrase().to_owned();
    axum::Json(json!({
        "horizon_version": "stub",
        "network_passphrase": passphrase,
    }))
    .into_response()
}

async fn stub_account(
    State(state): State<Arc<Mutex<StubState>>>,
    Path(id): Path<String>,
) -> Response {
    let state = state.lock().unwrap();
    if let Some(code) = state.fail_with {
        return (StatusCode::from_u16(code).unwrap(), "{}").into_response();
    }
    match state.accounts.get(&id) {
        Some(a) => {
            let signers: Vec<Value> = a
                .signers
                .iter()
                .map(|(k, w)| json!({"weight": w, "key": k.to_string(), "type": "ed25519_public_key"}))
                .collect();
            let sequence = state.sequence(&id).to_string();
            axum::Json(json!({
                "id": id, "account_id": id, "sequence": sequence,
                "subentry_count": 0, "last_modified_ledger": 1,
                "thresholds": {"low_threshold": a.thresholds.0, "med_threshold": a.thresholds.1, "high_threshold": a.thresholds.2},
                "flags": {"auth_required": false, "auth_revocable": false, "auth_immutable": false, "auth_clawback_enabled": false},
                "balances": [{"balance": "10000.0000000", "asset_type": "native"}],
                "signers": signers, "data": {}, "num_sponsoring": 0, "num_sponsored": 0,
            }))
            .into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            [("content-type", "application/problem+json")],
            r#"{"type":"https://stellar.org/horizon-errors/not_found","title":"Resource Missing","status":404,"detail":"The resource at the url requested was not found."}"#,
        )
            .into_response(),
    }
}
