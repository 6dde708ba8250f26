//! Configuration of SEP-30 account recovery.

use serde::Deserialize;

/// SEP-30 account recovery.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sep30Config {
    /// Serve SEP-30 (`/accounts…`).
    pub enabled: bool,
    /// Accounts (`G…`) that may be the source of a transaction, or of its
    /// operations, that the server signs for a registered account — a
    /// sponsor (CAP-33), as SEP-30 §POST …/sign allows. The server must
    /// never hold a signing key of these accounts.
    pub sponsor_accounts: Vec<String>,
}

impl Default for Sep30Config {
    fn default() -> Self {
        Sep30Config {
            enabled: true,
            sponsor_accounts: vec![],
        }
    }
}
