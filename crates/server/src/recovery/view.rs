//! What SEP-30 answers show of an account (§Common Response Fields) and
//! of a signature, with their OpenAPI schemas.

use serde::Serialize;
use utoipa::ToSchema;

/// A registered account as SEP-30 shows it (§Common Response Fields).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
#[schema(as = sep30::Account)]
pub struct AccountView {
    /// The account, `G…`.
    #[schema(pattern = r"^G[A-Z2-7]{55}$")]
    pub address: String,
    /// Its identities' roles, in the order registered, with
    /// `authenticated` on those the caller proved; never their auth
    /// methods (§GET /accounts/<address>).
    pub identities: Vec<IdentityView>,
    /// The keys the server signs with for this account, most recently
    /// added first (§Common Response Fields; more than one after a key
    /// rotation, §Signing Key Rotation).
    #[schema(min_items = 1)]
    pub signers: Vec<SignerView>,
}

/// One identity as shown: never its auth methods.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
#[schema(as = sep30::Identity)]
pub struct IdentityView {
    /// Its role, as registered (trimmed).
    pub role: String,
    /// Present, and then `true`, if the caller proved this identity;
    /// absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub authenticated: bool,
}

/// One signing key.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
#[schema(as = sep30::Signer)]
pub struct SignerView {
    /// The signing key's public key, `G…`: the `<signing-address>` of
    /// `POST /accounts/{address}/sign/{signer}`.
    #[schema(pattern = r"^G[A-Z2-7]{55}$")]
    pub key: String,
}

/// What `sign` returns (§POST …/sign/<signing-address>).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = sep30::Signature)]
pub struct Signature {
    /// The base64 ed25519 signature of the transaction's hash, by the
    /// signing key named in the path.
    pub signature: String,
    /// The network passphrase the signature was made for.
    pub network_passphrase: String,
}
