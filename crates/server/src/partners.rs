//! The sending anchors with an agreement (`[[partners]]`; docs/quotes.md
//! §Partners): which one an authenticated SEP-31 or SEP-38 caller is.
//! Shared by `quotes/` and `payments/`; imports no capability.

use crate::config::PartnerConfig;
use crate::http::Principal;

/// The configured partners.
#[derive(Debug, Default)]
pub struct Partners(Vec<PartnerConfig>);

impl Partners {
    /// From `[[partners]]` (already checked: names, accounts and domains
    /// unique).
    pub fn new(partners: Vec<PartnerConfig>) -> Partners {
        Partners(partners)
    }

    /// The partner `caller` signs in as: by its token's account (the `G…`
    /// of a muxed `M…`), or by its verified client domain.
    pub fn of(&self, caller: &Principal) -> Option<&PartnerConfig> {
        let account = caller.account.account().to_string();
        self.0.iter().find(|p| {
            p.accounts.contains(&account)
                || caller
                    .client_domain
                    .as_ref()
                    .is_some_and(|d| p.client_domains.contains(d))
        })
    }
}
