//! Who a SEP-12 request is about, and whether the caller may touch it
//! (SEP-12 §Authentication, §Shared, Omnibus, or Pooled Accounts).
//!
//! A customer is keyed by (account, memo, memo type). A muxed `M…` account
//! is its `G…` account with an id memo — one customer either way. A token
//! whose `sub` carries a memo (or is muxed) reaches only that memo's
//! customer; a token without one reaches every customer of its account, as
//! a sending anchor's omnibus account does.

use base64::Engine as _;
use mooring_stellar::{ClientAccount, IdMemo, PublicKey};

use crate::http::Principal;

/// The kind of a customer's memo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoKind {
    /// A 64-bit id, the only kind current SEPs use.
    Id,
    /// Up to 28 bytes of text (deprecated; SEP-12 v1.1.0 clients send it).
    Text,
    /// 32 bytes, base64 (deprecated).
    Hash,
}

impl MemoKind {
    /// The stored / wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            MemoKind::Id => "id",
            MemoKind::Text => "text",
            MemoKind::Hash => "hash",
        }
    }
}

/// A customer's memo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerMemo {
    /// Canonical text of the memo.
    pub value: String,
    /// Its kind.
    pub kind: MemoKind,
}

/// The key a customer is stored under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerKey {
    /// The `G…` account.
    pub account: PublicKey,
    /// The memo, for a customer of a shared account.
    pub memo: Option<CustomerMemo>,
}

impl CustomerKey {
    /// The memo as stored (`''` when none).
    pub fn memo_value(&self) -> &str {
        self.memo.as_ref().map_or("", |m| m.value.as_str())
    }

    /// The memo kind as stored (`''` when none).
    pub fn memo_kind(&self) -> &'static str {
        self.memo.as_ref().map_or("", |m| m.kind.as_str())
    }
}

/// Why the request's identity parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OwnerError {
    /// A parameter is malformed (400).
    #[error("{0}")]
    Invalid(String),
    /// The parameters name someone the token does not speak for (403).
    #[error("{0}")]
    Forbidden(&'static str),
}

/// The memo a token is bound to: its `sub` memo or its muxed id.
pub fn token_memo(p: &Principal) -> Option<u64> {
    p.bound_memo()
}

/// The customer a request names, from the token and the (deprecated)
/// `account`, `memo` and `memo_type` parameters.
pub fn resolve(
    p: &Principal,
    account: Option<&str>,
    memo: Option<&str>,
    memo_type: Option<&str>,
) -> Result<CustomerKey, OwnerError> {
    let g = p.account.account();
    let bound = token_memo(p);
    // "if explicitly provided in the request body it should match the sub
    // value of the decoded SEP-10 JWT."
    if let Some(a) = account.filter(|a| !a.is_empty()) {
        let named = ClientAccount::parse(a).map_err(|_| {
            OwnerError::Invalid("account: not a valid Stellar account (G… or M…)".into())
        })?;
        let same = named.account() == g && named.muxed_id().is_none_or(|id| Some(id) == bound);
        if !same {
            return Err(OwnerError::Forbidden(
                "account does not match the authenticated account",
            ));
        }
    }
    let memo = memo.filter(|m| !m.is_empty());
    let memo_type = memo_type.filter(|t| !t.is_empty());
    if let Some(bound) = bound {
        // "If a memo is present in the decoded SEP-10 JWT's sub value, it
        // must match this parameter value"; memo_type "can be ignored".
        if memo.is_some_and(|m| m != bound.to_string()) {
            return Err(OwnerError::Forbidden(
                "memo does not match the authenticated memo",
            ));
        }
        return Ok(CustomerKey {
            account: g,
            memo: Some(CustomerMemo {
                value: bound.to_string(),
                kind: MemoKind::Id,
            }),
        });
    }
    let Some(memo) = memo else {
        return Ok(CustomerKey {
            account: g,
            memo: None,
        });
    };
    let kind = match memo_type {
        Some("id") => MemoKind::Id,
        Some("text") => MemoKind::Text,
        Some("hash") => MemoKind::Hash,
        Some(_) => {
            return Err(OwnerError::Invalid(
                "memo_type must be id, text or hash".into(),
            ));
        }
        // Memos "should always be of type id"; an old client's text memo
        // without a type is still taken as text rather than refused.
        None if IdMemo::parse(memo).is_ok() => MemoKind::Id,
        None => MemoKind::Text,
    };
    let ok = match kind {
        MemoKind::Id => IdMemo::parse(memo).is_ok(),
        MemoKind::Text => memo.len() <= 28,
        MemoKind::Hash => base64::engine::general_purpose::STANDARD
            .decode(memo)
            .is_ok_and(|b| b.len() == 32),
    };
    if !ok {
        return Err(OwnerError::Invalid(format!(
            "memo is not a valid {} memo{}",
            kind.as_str(),
            match kind {
                MemoKind::Id => " (a decimal 64-bit integer)",
                MemoKind::Text => " (at most 28 bytes)",
                MemoKind::Hash => " (32 bytes, base64)",
            }
        )));
    }
    Ok(CustomerKey {
        account: g,
        memo: Some(CustomerMemo {
            value: memo.to_owned(),
            kind,
        }),
    })
}

/// Whether the token may reach a stored customer ([`Principal::may_reach`]).
pub fn may_access(p: &Principal, account: &str, memo: &str, memo_type: &str) -> bool {
    p.may_reach(account, memo, memo_type)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mooring_stellar::Keypair;

    fn principal(account: ClientAccount, memo: Option<u64>) -> Principal {
        Principal {
            account,
            memo: memo.map(IdMemo::new),
            client_domain: None,
            home_domain: None,
            token_id: "t".into(),
        }
    }

    #[test]
    fn token_memo_and_muxed_id_bind_the_customer() {
        let g = Keypair::random().public_key();
        let p = principal(ClientAccount::Account(g), Some(7));
        let key = resolve(&p, None, None, None).unwrap();
        assert_eq!(key.memo_value(), "7");
        assert_eq!(resolve(&p, None, Some("7"), Some("id")).unwrap(), key);
        assert_eq!(
            resolve(&p, None, Some("8"), None).unwrap_err(),
            OwnerError::Forbidden("memo does not match the authenticated memo")
        );
        let m = principal(ClientAccount::Muxed { account: g, id: 7 }, None);
        assert_eq!(
            resolve(&m, None, None, None).unwrap(),
            key,
            "M(G,7) is G with memo 7"
        );
        assert!(may_access(&m, &g.to_string(), "7", "id"));
        assert!(!may_access(&m, &g.to_string(), "", ""));
        assert!(!may_access(&m, &g.to_string(), "8", "id"));
    }

    #[test]
    fn an_omnibus_token_names_any_memo_of_its_account() {
        let g = Keypair::random().public_key();
        let p = principal(ClientAccount::Account(g), None);
        assert_eq!(resolve(&p, None, None, None).unwrap().memo, None);
        let id = resolve(&p, Some(&g.to_string()), Some("42"), None).unwrap();
        assert_eq!((id.memo_value(), id.memo_kind()), ("42", "id"));
        let text = resolve(&p, None, Some("21bf91a4-7db1-401d-8108"), None).unwrap();
        assert_eq!(text.memo_kind(), "text");
        assert!(resolve(&p, None, Some("a".repeat(29).as_str()), Some("text")).is_err());
        assert!(resolve(&p, None, Some("abc"), Some("hash")).is_err());
        assert!(resolve(&p, None, Some("x"), Some("weird")).is_err());
        assert!(may_access(&p, &g.to_string(), "42", "id"));
        assert!(may_access(&p, &g.to_string(), "", ""));
        let other = Keypair::random().public_key();
        assert_eq!(
            resolve(&p, Some(&other.to_string()), None, None).unwrap_err(),
            OwnerError::Forbidden("account does not match the authenticated account")
        );
        assert!(!may_access(&p, &other.to_string(), "", ""));
    }
}
