//! Small readers and assertions the tests share.

use mooring_stellar::{ClientAccount, PublicKey};
use serde_json::{Value, json};

/// The claims of a JWT, unverified (tests inspect what the server issued).
pub fn claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The muxed (`M…`) account of `account` with `id`.
pub fn muxed_account(account: PublicKey, id: u64) -> ClientAccount {
    ClientAccount::Muxed { account, id }
}

/// The text `field` of each object in the JSON array `list`.
pub fn texts<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e[field].as_str().unwrap())
        .collect()
}

/// A response header's value, as text.
pub fn header<'a>(res: &'a reqwest::Response, name: &str) -> &'a str {
    res.headers()[name].to_str().unwrap()
}

/// A six-digit code that is not `code`.
pub fn wrong_code(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

/// Asserts a JSON error response: exact status and exact message.
#[track_caller]
pub fn assert_error(got: (u16, Value), status: u16, message: &str) {
    assert_eq!(got.0, status, "body: {}", got.1);
    assert_eq!(got.1, json!({ "error": message }));
}

/// A refusal with `status`: the body is `{"error": "<non-empty text>"}` and
/// nothing else (SEP-31, SEP-38 §Errors). Returns the text.
#[track_caller]
pub fn assert_refusal(got: &(u16, Value), status: u16, what: &str) -> String {
    assert_eq!(
        got.0, status,
        "{what}: expected {status}, got {} {}",
        got.0, got.1
    );
    let error = got.1.get("error").and_then(Value::as_str);
    assert!(
        error.is_some_and(|e| !e.is_empty()) && object_keys(&got.1) == ["error"],
        "{what}: the body must be {{\"error\": \"…\"}} alone, got {}",
        got.1
    );
    error.unwrap_or_default().to_owned()
}

/// The keys of a JSON object, sorted.
pub fn object_keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}
