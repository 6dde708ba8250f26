//! Calling the SEP-30 recovery endpoints as a wallet does: identities,
//! registration, and the transactions a recovery signs.

use mooring_stellar::xdr::{
    Memo, Operation, OperationBody, Preconditions, SequenceNumber, SetOptionsOp, Transaction,
    TransactionExt,
};
use mooring_stellar::{Keypair, PublicKey, envelope};
use reqwest::Method;
use serde_json::{Value, json};

use super::TestServer;

/// A request body of `identities`: (role, [(auth method type, value)]).
pub fn body(identities: &[(&str, &[(&str, &str)])]) -> Value {
    json!({
        "identities": identities
            .iter()
            .map(|(role, methods)| json!({
                "role": role,
                "auth_methods": methods
                    .iter()
                    .map(|(t, v)| json!({ "type": t, "value": v }))
                    .collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>()
    })
}

/// A request with the token as a bearer and an optional JSON body: (status, JSON body).
pub async fn call(
    srv: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    json: Option<&Value>,
) -> (u16, Value) {
    let mut req = srv.with_token(method, path, token);
    if let Some(j) = json {
        req = req.json(j);
    }
    TestServer::send(req).await
}

/// Registers `owner`'s account with one identity proven by `methods`.
pub async fn register_owner(srv: &TestServer, owner: &Keypair, methods: Value) -> String {
    let token = srv.token_for(owner, None).await;
    let (status, got) = call(
        srv,
        Method::POST,
        &format!("/accounts/{}", owner.public_key()),
        &token,
        Some(&json!({ "identities": [{ "role": "owner", "auth_methods": methods }] })),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    got["signers"][0]["key"].as_str().unwrap().to_owned()
}

/// Registers `kp`'s account with one `owner` identity proven by `friend`'s
/// address; returns the signer key.
pub async fn register(srv: &TestServer, kp: &Keypair, friend: &PublicKey) -> String {
    register_owner(
        srv,
        kp,
        json!([{ "type": "stellar_address", "value": friend.to_string() }]),
    )
    .await
}

/// A set-options operation that takes the master key's weight to 0.
pub fn set_options() -> OperationBody {
    OperationBody::SetOptions(SetOptionsOp {
        inflation_dest: None,
        clear_flags: None,
        set_flags: None,
        master_weight: Some(0),
        low_threshold: None,
        med_threshold: None,
        high_threshold: None,
        home_domain: None,
        signer: None,
    })
}

/// A transaction of `source` with one set-options operation per entry of
/// `op_sources`, each with that source account (or none).
pub fn tx(source: &PublicKey, op_sources: &[Option<PublicKey>]) -> Transaction {
    Transaction {
        source_account: source.to_muxed_account(),
        fee: 100,
        seq_num: SequenceNumber(4_294_967_297),
        cond: Preconditions::None,
        memo: Memo::None,
        operations: op_sources
            .iter()
            .map(|s| Operation {
                source_account: s.map(|k| k.to_muxed_account()),
                body: set_options(),
            })
            .collect::<Vec<_>>()
            .try_into()
            .unwrap(),
        ext: TransactionExt::V0,
    }
}

/// `t` as an unsigned envelope's XDR.
pub fn xdr(t: &Transaction) -> String {
    envelope::encode(&envelope::envelope(t.clone(), vec![]))
}

/// An unsigned `alg: none` JWT carrying `claims`.
pub fn alg_none(claims: &Value) -> String {
    use base64::Engine as _;
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.",
        b.encode(r#"{"alg":"none","typ":"JWT"}"#),
        b.encode(claims.to_string())
    )
}

/// `GET /accounts/{address}` with `token`: (status, JSON body).
pub async fn get_account(
    srv: &TestServer,
    address: &impl std::fmt::Display,
    token: &str,
) -> (u16, Value) {
    call(
        srv,
        Method::GET,
        &format!("/accounts/{address}"),
        token,
        None,
    )
    .await
}

/// A fresh account registered with one `owner` identity proven by the
/// auth method (`kind`, `value`): (its keypair, the signer key).
pub async fn new_account(srv: &TestServer, kind: &str, value: &str) -> (Keypair, String) {
    let owner = Keypair::random();
    let methods = json!([{ "type": kind, "value": value }]);
    let signer = register_owner(srv, &owner, methods).await;
    (owner, signer)
}

/// Registers a fresh account whose owner identity is proven by (`kind`,
/// `value`); the status of reading it with `token`.
pub async fn read_new_account(srv: &TestServer, kind: &str, value: &str, token: &str) -> u16 {
    let (owner, _) = new_account(srv, kind, value).await;
    get_account(srv, &owner.public_key(), token).await.0
}

/// `POST path` (an `/accounts/{address}/sign/{key}` endpoint) with `token`,
/// asking for `transaction` to be signed: (status, JSON body).
pub async fn sign(srv: &TestServer, path: &str, token: &str, transaction: &str) -> (u16, Value) {
    let body = json!({ "transaction": transaction });
    call(srv, Method::POST, path, token, Some(&body)).await
}
