//! SEP-30 request bodies (§Common Request Fields) read and validated by
//! hand, so that an error names the field and never echoes its value.

use mooring_stellar::PublicKey;
use serde_json::Value;

use crate::sep9::{is_e164, is_email};

/// Identities per account, at most.
pub const MAX_IDENTITIES: usize = 10;
/// Auth methods per identity, at most.
pub const MAX_METHODS: usize = 10;
/// Longest role, in characters.
pub const MAX_ROLE: usize = 64;
/// Longest auth method value, in bytes (RFC 5321's limit for an address).
const MAX_VALUE: usize = 254;

/// The auth method types Mooring verifies (§Common Authentication Methods).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodType {
    /// `G…`, proven with SEP-10.
    StellarAddress,
    /// E.164 with a leading `+`, proven with a one-time code.
    PhoneNumber,
    /// An email address, proven by a provider.
    Email,
}

impl MethodType {
    /// Its SEP-30 name.
    pub fn as_str(self) -> &'static str {
        match self {
            MethodType::StellarAddress => "stellar_address",
            MethodType::PhoneNumber => "phone_number",
            MethodType::Email => "email",
        }
    }

    /// Reads a SEP-30 name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "stellar_address" => Some(MethodType::StellarAddress),
            "phone_number" => Some(MethodType::PhoneNumber),
            "email" => Some(MethodType::Email),
            _ => None,
        }
    }
}

/// A verified, normalised auth method: what a token proves, or what an
/// identity may be proven with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthMethod {
    /// The type.
    pub kind: MethodType,
    /// The normalised value: a `G…` strkey, `+<digits>`, or a lower-cased
    /// email address. Never empty.
    pub value: String,
}

impl AuthMethod {
    /// Validates and normalises `value` for `kind`; `None` if it is not one.
    /// Emails are compared case-insensitively (nearly every mail system
    /// treats them so; a wallet that stores `Ann@x` must still match
    /// `ann@x`), phone numbers without spaces, as §Common Authentication
    /// Methods asks.
    pub fn new(kind: MethodType, value: &str) -> Option<Self> {
        let value = value.trim();
        if value.is_empty() || value.len() > MAX_VALUE {
            return None;
        }
        let value = match kind {
            MethodType::StellarAddress => PublicKey::parse(value).ok()?.to_string(),
            MethodType::PhoneNumber => is_e164(value).then(|| value.to_owned())?,
            MethodType::Email => is_email(value).then(|| value.to_lowercase())?,
        };
        Some(AuthMethod { kind, value })
    }
}

/// One identity of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Its role, echoed back in responses.
    pub role: String,
    /// Ways to authenticate as it.
    pub methods: Vec<AuthMethod>,
}

/// Why a body was refused: names the field, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadBody(pub String);

fn bad(msg: impl Into<String>) -> BadBody {
    BadBody(msg.into())
}

/// Reads `{"identities": [...]}` (POST and PUT /accounts/{address}).
pub fn identities(body: &[u8]) -> Result<Vec<Identity>, BadBody> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| bad("request body must be a JSON object with an `identities` array"))?;
    let Value::Object(top) = value else {
        return Err(bad(
            "request body must be a JSON object with an `identities` array",
        ));
    };
    if top.keys().any(|k| k != "identities") {
        return Err(bad(
            "unknown field (not repeated back); the body has only `identities`",
        ));
    }
    let list = match top.get("identities") {
        Some(Value::Array(list)) if !list.is_empty() => list,
        Some(Value::Array(_)) => return Err(bad("`identities` must not be empty")),
        Some(_) => return Err(bad("`identities` must be an array")),
        None => return Err(bad("`identities` is required")),
    };
    if list.len() > MAX_IDENTITIES {
        return Err(bad(format!(
            "`identities` has {} entries; at most {MAX_IDENTITIES} are allowed",
            list.len()
        )));
    }
    list.iter()
        .enumerate()
        .map(|(i, v)| identity(i, v))
        .collect()
}

fn identity(i: usize, v: &Value) -> Result<Identity, BadBody> {
    let at = format!("identities[{i}]");
    let Value::Object(obj) = v else {
        return Err(bad(format!("`{at}` must be an object")));
    };
    if obj.keys().any(|k| k != "role" && k != "auth_methods") {
        return Err(bad(format!(
            "unknown field in `{at}` (not repeated back); an identity has `role` and `auth_methods`"
        )));
    }
    let role = match obj.get("role") {
        Some(Value::String(r)) if r.trim().is_empty() => {
            return Err(bad(format!("`{at}.role` must not be empty")));
        }
        Some(Value::String(r)) if r.chars().count() > MAX_ROLE => {
            return Err(bad(format!(
                "`{at}.role` is longer than {MAX_ROLE} characters"
            )));
        }
        Some(Value::String(r)) if r.chars().any(char::is_control) => {
            return Err(bad(format!("`{at}.role` contains control characters")));
        }
        Some(Value::String(r)) => r.trim().to_owned(),
        Some(_) => return Err(bad(format!("`{at}.role` must be a string"))),
        None => return Err(bad(format!("`{at}.role` is required"))),
    };
    let list = match obj.get("auth_methods") {
        Some(Value::Array(l)) if !l.is_empty() => l,
        Some(Value::Array(_)) => {
            return Err(bad(format!("`{at}.auth_methods` must not be empty")));
        }
        Some(_) => return Err(bad(format!("`{at}.auth_methods` must be an array"))),
        None => return Err(bad(format!("`{at}.auth_methods` is required"))),
    };
    if list.len() > MAX_METHODS {
        return Err(bad(format!(
            "`{at}.auth_methods` has {} entries; at most {MAX_METHODS} are allowed",
            list.len()
        )));
    }
    let mut methods: Vec<AuthMethod> = Vec::with_capacity(list.len());
    for (j, m) in list.iter().enumerate() {
        let at = format!("{at}.auth_methods[{j}]");
        let Value::Object(m) = m else {
            return Err(bad(format!("`{at}` must be an object")));
        };
        if m.keys().any(|k| k != "type" && k != "value") {
            return Err(bad(format!(
                "unknown field in `{at}` (not repeated back); an auth method has `type` and `value`"
            )));
        }
        let kind = match m.get("type") {
            Some(Value::String(t)) => MethodType::parse(t).ok_or_else(|| {
                bad(format!(
                    "`{at}.type` is not supported; use stellar_address, phone_number or email"
                ))
            })?,
            Some(_) => return Err(bad(format!("`{at}.type` must be a string"))),
            None => return Err(bad(format!("`{at}.type` is required"))),
        };
        let value = match m.get("value") {
            Some(Value::String(v)) => v,
            Some(_) => return Err(bad(format!("`{at}.value` must be a string"))),
            None => return Err(bad(format!("`{at}.value` is required"))),
        };
        let method = AuthMethod::new(kind, value).ok_or_else(|| {
            bad(format!(
                "`{at}.value` is not a valid {}",
                match kind {
                    MethodType::StellarAddress => "Stellar address (G…)",
                    MethodType::PhoneNumber =>
                        "phone number (E.164: a + and 7 to 15 digits, no spaces)",
                    MethodType::Email => "email address",
                }
            ))
        })?;
        if !methods.contains(&method) {
            methods.push(method);
        }
    }
    Ok(Identity { role, methods })
}

/// Reads `{"transaction": "<base64 XDR>"}` (§POST /accounts/…/sign/…).
pub fn transaction(body: &[u8]) -> Result<String, BadBody> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| bad("request body must be a JSON object with a `transaction` string"))?;
    match value.get("transaction") {
        Some(Value::String(t)) if !t.trim().is_empty() => Ok(t.clone()),
        Some(Value::String(_)) => Err(bad("`transaction` must not be empty")),
        Some(_) => Err(bad("`transaction` must be a base64 XDR string")),
        None => Err(bad("`transaction` is required")),
    }
}

/// The request bodies as the OpenAPI description shows them. They are
/// read by hand above (so that a refusal names the field and never echoes
/// its value); these types only describe what that reading accepts.
#[allow(dead_code)] // described, read by [`identities`] and [`transaction`]
pub(super) mod doc {
    use serde::Deserialize;
    use utoipa::ToSchema;

    /// `POST` and `PUT /accounts/{address}` (§Common Request Fields):
    /// only `identities`; any other field is refused.
    #[derive(Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    #[schema(as = sep30::AccountRequest, example = json!({
        "identities": [{
            "role": "owner",
            "auth_methods": [
                {"type": "stellar_address", "value": "GDRXE2BQUC3AZNPVFSCEZ76NJ3WWL25FYFK6RGZGIEKWE4SOOHSUJUJ6"},
                {"type": "phone_number", "value": "+14155550100"},
                {"type": "email", "value": "person1@example.com"}
            ]
        }]
    }))]
    pub struct AccountRequest {
        /// Who may reach the account: if any one of them authenticates,
        /// the server signs for it. PUT replaces the identities, it does
        /// not merge them.
        #[schema(min_items = 1, max_items = 10)]
        pub identities: Vec<IdentityRequest>,
    }

    /// One identity of a request.
    #[derive(Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    #[schema(as = sep30::IdentityRequest)]
    pub struct IdentityRequest {
        /// Its role (e.g. `owner`, `sender`, `receiver`), stored trimmed
        /// and echoed back; not used by the server. At most 64
        /// characters, no control characters, not only spaces.
        #[schema(
            max_length = 64,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
        )]
        pub role: String,
        /// How to authenticate as this identity (duplicates are merged).
        #[schema(min_items = 1, max_items = 10)]
        pub auth_methods: Vec<AuthMethodRequest>,
    }

    /// An auth method (§Common Authentication Methods): one of the types
    /// Mooring verifies, with a value in that type's form. Values are
    /// trimmed; emails compared case-insensitively.
    #[derive(Deserialize, ToSchema)]
    #[serde(untagged)]
    #[schema(as = sep30::AuthMethod)]
    pub enum AuthMethodRequest {
        /// A Stellar account, proven by a SEP-10 token.
        StellarAddress(StellarAddressMethod),
        /// A phone number, proven by a code sent by SMS.
        PhoneNumber(PhoneNumberMethod),
        /// An email address, proven by a code, a password or an OpenID
        /// Connect provider.
        Email(EmailMethod),
    }

    /// `stellar_address`.
    #[derive(Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = sep30::StellarAddressType)]
    pub enum StellarAddressType {
        /// The only value.
        StellarAddress,
    }

    /// `phone_number`.
    #[derive(Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = sep30::PhoneNumberType)]
    pub enum PhoneNumberType {
        /// The only value.
        PhoneNumber,
    }

    /// `email`.
    #[derive(Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = sep30::EmailType)]
    pub enum EmailType {
        /// The only value.
        Email,
    }

    /// A Stellar account as an auth method.
    #[derive(Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    #[schema(as = sep30::StellarAddressMethod)]
    pub struct StellarAddressMethod {
        /// `stellar_address`.
        #[serde(rename = "type")]
        pub kind: StellarAddressType,
        /// A `G…` account address (strkey, valid checksum).
        #[schema(pattern = r"^\s*G[A-Z2-7]{55}\s*$")]
        pub value: String,
    }

    /// A phone number as an auth method.
    #[derive(Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    #[schema(as = sep30::PhoneNumberMethod)]
    pub struct PhoneNumberMethod {
        /// `phone_number`.
        #[serde(rename = "type")]
        pub kind: PhoneNumberType,
        /// E.164 in international notation: `+`, then 7 to 15 digits, the
        /// first not 0, no spaces (§Common Authentication Methods).
        #[schema(pattern = r"^\s*\+[1-9][0-9]{6,14}\s*$")]
        pub value: String,
    }

    /// An email address as an auth method.
    #[derive(Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    #[schema(as = sep30::EmailMethod)]
    pub struct EmailMethod {
        /// `email`.
        #[serde(rename = "type")]
        pub kind: EmailType,
        /// An email address: a local part of at most 64 characters
        /// (letters, digits, ``!#$%&'*+-/=?^_`{|}~`` and inner single
        /// dots), `@`, and a domain of dot-separated labels ending in a
        /// top-level name of letters; 254 bytes at most.
        #[schema(pattern = r"^\s*[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+\s*$")]
        pub value: String,
    }

    /// `POST /accounts/{address}/sign/{signer}` (§POST
    /// /accounts/<address>/sign/<signing-address>). Other fields are
    /// ignored.
    #[derive(Deserialize, ToSchema)]
    #[schema(as = sep30::SignRequest)]
    pub struct SignRequest {
        /// The transaction to sign, a base64 XDR envelope. Its source and
        /// every operation's source must be the account (or a configured
        /// sponsor account).
        #[schema(min_length = 1)]
        pub transaction: String,
    }

    /// `POST /sponsor/new`. Other fields are ignored.
    #[derive(Deserialize, ToSchema)]
    #[schema(as = sep30::SponsorRequest)]
    pub struct SponsorRequest {
        /// The account to create, `G…`; it must not exist yet.
        #[schema(pattern = r"^G[A-Z2-7]{55}$")]
        pub account: String,
    }
}

/// A field name fit to quote back: short, printable.
#[cfg(test)]
mod tests {
    use super::*;

    const G: &str = "GDRXE2BQUC3AZNPVFSCEZ76NJ3WWL25FYFK6RGZGIEKWE4SOOHSUJUJ6";

    #[test]
    fn values_are_normalised_and_checked() {
        let m = AuthMethod::new(MethodType::Email, " Ann@Example.COM ").unwrap();
        assert_eq!(m.value, "ann@example.com");
        assert!(AuthMethod::new(MethodType::Email, "not-an-email").is_none());
        assert!(AuthMethod::new(MethodType::Email, "").is_none());
        assert!(AuthMethod::new(MethodType::PhoneNumber, "+14155550100").is_some());
        assert!(AuthMethod::new(MethodType::PhoneNumber, "+1 415 555 0100").is_none());
        assert!(AuthMethod::new(MethodType::PhoneNumber, "14155550100").is_none());
        assert!(AuthMethod::new(MethodType::StellarAddress, G).is_some());
        assert!(
            AuthMethod::new(
                MethodType::StellarAddress,
                "SBGWSG6BTNCKCOB3DIFBGCVMUPQFYPA2G4O34RMTB343OYPXU5DJDVMN"
            )
            .is_none()
        );
    }

    #[test]
    fn bodies_name_the_bad_field_without_its_value() {
        let ok = format!(
            r#"{{"identities":[{{"role":"owner","auth_methods":[{{"type":"stellar_address","value":"{G}"}},{{"type":"email","value":"a@b.co"}}]}}]}}"#
        );
        let ids = identities(ok.as_bytes()).unwrap();
        assert_eq!(ids[0].role, "owner");
        assert_eq!(ids[0].methods.len(), 2);
        for (body, expect) in [
            ("[]", "JSON object"),
            ("{}", "`identities` is required"),
            (r#"{"identities":[]}"#, "must not be empty"),
            (
                r#"{"identities":[{"auth_methods":[]}]}"#,
                "role` is required",
            ),
            (
                r#"{"identities":[{"role":" ","auth_methods":[]}]}"#,
                "role` must not be empty",
            ),
            (
                r#"{"identities":[{"role":"o","auth_methods":[]}]}"#,
                "auth_methods` must not be empty",
            ),
            (
                r#"{"identities":[{"role":"o","auth_methods":[{"type":"fax","value":"1"}]}]}"#,
                "type` is not supported",
            ),
            (
                r#"{"identities":[{"role":"o","auth_methods":[{"type":"email","value":"secret-value"}]}]}"#,
                "value` is not a valid email",
            ),
            (
                r#"{"identities":[{"role":"o","auth_methods":[{"type":"email","value":""}]}]}"#,
                "value` is not a valid email",
            ),
            (
                r#"{"identities":[],"x":1}"#,
                "unknown field (not repeated back)",
            ),
            (
                r#"{"identities":[{"role":"o","secret-value":1,"auth_methods":[]}]}"#,
                "unknown field in `identities[0]`",
            ),
        ] {
            let e = identities(body.as_bytes()).unwrap_err().0;
            assert!(e.contains(expect), "{body}: {e}");
            assert!(!e.contains("secret-value"));
        }
    }
}
