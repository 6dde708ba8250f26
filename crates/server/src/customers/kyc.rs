//! The customers as KYC records for the gating capabilities
//! ([`crate::kyc::Records`]): a target's own state, its birth date, and
//! the attributes an attested target inherits (DD45) — kept in
//! `customer_inherited`, sealed under the target's own data key, and
//! erased with either customer. Every change that may move a status is
//! reported through [`crate::kyc::Changes`] after its commit.

use std::collections::BTreeMap;

use futures::FutureExt as _;
use futures::future::BoxFuture;

use super::owner::{CustomerKey, CustomerMemo, MemoKind};
use super::put::{key_owner, place};
use super::review::Decision;
use super::service::CustomerError;
use super::service::Customers;
use super::store::{self, CustomerRow};
use super::view;
use crate::db::{Conn, Tx};
use crate::kyc::{CustomerStanding, KycError, OwnState, Records, Target};
use crate::vault::Place;
use crate::{with_conn, with_tx};

/// The SEP-12 key of a KYC target.
pub(super) fn key_of(t: &Target) -> CustomerKey {
    CustomerKey {
        account: t.account,
        memo: t.memo.map(|m| CustomerMemo {
            value: m.to_string(),
            kind: MemoKind::Id,
        }),
    }
}

/// The KYC target of a customer key, when it is one (text and hash memos
/// are not).
pub(super) fn target_of(key: &CustomerKey) -> Option<Target> {
    let memo = match &key.memo {
        None => None,
        Some(m) if m.kind == MemoKind::Id => Some(m.value.parse().ok()?),
        Some(_) => return None,
    };
    Some(Target {
        account: key.account,
        memo,
    })
}

fn inherited_place(id: &str) -> Place<'_> {
    Place {
        table: "customer_inherited",
        column: "attributes",
        row: id,
    }
}

impl Customers {
    /// Reports that the customer under `key` may have changed status.
    pub(super) fn kyc_changed(&self, key: &CustomerKey) {
        if let (Some(changes), Some(t)) = (&self.changes, target_of(key)) {
            changes.changed(t);
        }
    }

    /// Reports a change of the customer in `row`.
    pub(super) fn kyc_changed_row(&self, row: &CustomerRow) {
        if let Some(changes) = &self.changes {
            let memo = (row.memo_type == "id").then_some(row.memo.as_str());
            if let Some(t) = Target::parse(&row.account, memo) {
                changes.changed(t);
            }
        }
    }

    async fn row_of(&self, c: Conn<'_>, t: &Target) -> Result<Option<CustomerRow>, KycError> {
        Ok(store::customer_by_key(c, &key_of(t)).await?)
    }

    async fn text_fields(
        &self,
        c: Conn<'_>,
        row: &CustomerRow,
    ) -> Result<BTreeMap<String, String>, KycError> {
        let dek = self.vault().unwrap(&row.data_key, &key_owner(&row.id))?;
        let mut out = BTreeMap::new();
        for f in store::fields(c, &row.id).await? {
            if let Some(sealed) = &f.value {
                let plain = dek.open(place(&row.id, &f.name), sealed)?;
                out.insert(f.name, String::from_utf8_lossy(&plain).into_owned());
            }
        }
        Ok(out)
    }
}

impl Records for Customers {
    fn own_state<'a>(
        &'a self,
        t: &'a Target,
        kind: &'a str,
    ) -> BoxFuture<'a, Result<Option<OwnState>, KycError>> {
        async move {
            let Some(row) = self.row_of(self.db().reader(), t).await? else {
                return Ok(None);
            };
            Ok(Some(match self.status_of(&row, kind).await? {
                "ACCEPTED" => OwnState::Accepted,
                "PROCESSING" => OwnState::Processing,
                "REJECTED" => OwnState::Rejected,
                _ => OwnState::NeedsInfo,
            }))
        }
        .boxed()
    }

    fn birth_date<'a>(&'a self, t: &'a Target) -> BoxFuture<'a, Result<Option<String>, KycError>> {
        async move {
            let Some(row) = self.row_of(self.db().reader(), t).await? else {
                return Ok(None);
            };
            let fields = store::fields(self.db().reader(), &row.id).await?;
            let Some(sealed) = fields
                .iter()
                .find(|f| f.name == "birth_date")
                .and_then(|f| f.value.as_ref())
            else {
                return Ok(None);
            };
            let dek = self.vault().unwrap(&row.data_key, &key_owner(&row.id))?;
            let plain = dek.open(place(&row.id, "birth_date"), sealed)?;
            Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
        }
        .boxed()
    }

    fn inherit<'a>(
        &'a self,
        tx: &'a mut Tx,
        t: &'a Target,
        attester: &'a Target,
        birthday: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, KycError>> {
        async move {
            let target = self
                .row_of(tx.into(), t)
                .await?
                .ok_or(crate::db::DbError::NotFound)?;
            let from = self
                .row_of(tx.into(), attester)
                .await?
                .ok_or(crate::db::DbError::NotFound)?;
            let mut attributes = self.text_fields(tx.into(), &from).await?;
            if let Some(b) = birthday {
                attributes.insert("birth_date".into(), b.to_owned());
            }
            let json = zeroize::Zeroizing::new(serde_json::to_vec(&attributes).unwrap_or_default());
            let dek = self
                .vault()
                .unwrap(&target.data_key, &key_owner(&target.id))?;
            let existing: Option<(String, Vec<u8>)> = with_conn!(Conn::Tx(tx), c => sqlx::query_as(
                "SELECT attester_id, attributes FROM customer_inherited WHERE customer_id = $1",
            )
            .bind(&target.id)
            .fetch_optional(c)
            .await?);
            if let Some((by, sealed)) = existing
                && by == from.id
                && dek.open(inherited_place(&target.id), &sealed)?.as_slice() == json.as_slice()
            {
                return Ok(false);
            }
            let sealed = dek.seal(inherited_place(&target.id), &json);
            let now = self.now();
            with_tx!(tx, c => sqlx::query(
                "INSERT INTO customer_inherited (customer_id, attester_id, attributes, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (customer_id) DO UPDATE SET \
                 attester_id = excluded.attester_id, attributes = excluded.attributes, created_at = excluded.created_at",
            )
            .bind(&target.id)
            .bind(&from.id)
            .bind(sealed)
            .bind(now)
            .execute(c)
            .await.map(|_| ())?);
            Ok(true)
        }
        .boxed()
    }

    fn disinherit<'a>(
        &'a self,
        tx: &'a mut Tx,
        t: &'a Target,
    ) -> BoxFuture<'a, Result<(), KycError>> {
        async move {
            if let Some(row) = self.row_of(tx.into(), t).await? {
                with_conn!(Conn::Tx(tx), c => sqlx::query("DELETE FROM customer_inherited WHERE customer_id = $1")
                    .bind(&row.id)
                    .execute(c)
                    .await.map(|_| ())?);
            }
            Ok(())
        }
        .boxed()
    }

    fn customer<'a>(
        &'a self,
        id: &'a str,
        kinds: &'a [String],
    ) -> BoxFuture<'a, Result<Option<CustomerStanding>, KycError>> {
        async move {
            let Some(row) = store::customer_by_id(self.db().reader(), id).await? else {
                return Ok(None);
            };
            let mut accepted = None;
            for kind in kinds {
                if self.status_of(&row, kind).await? == "ACCEPTED" {
                    accepted = Some(kind.clone());
                    break;
                }
            }
            Ok(Some(CustomerStanding {
                account: row.account,
                memo: row.memo,
                memo_type: row.memo_type,
                accepted,
            }))
        }
        .boxed()
    }

    fn request_info<'a>(
        &'a self,
        actor: &'a str,
        id: &'a str,
        kind: &'a str,
        fields: &'a [String],
        reason: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), KycError>> {
        async move {
            self.decide(
                actor,
                id,
                Some(kind),
                Decision::RequestInfo(fields.to_vec()),
                reason,
            )
            .await
            .map(|_| ())
            .map_err(refused)
        }
        .boxed()
    }
}

impl Customers {
    /// The SEP-12 status of customer `row` for `kind`.
    async fn status_of(&self, row: &CustomerRow, kind: &str) -> Result<&'static str, KycError> {
        let Some(req) = self.cfg().types.get(kind) else {
            return Ok("NEEDS_INFO");
        };
        let fields = store::fields(self.db().reader(), &row.id).await?;
        let decision = store::decision(self.db().reader(), &row.id, kind).await?;
        Ok(view::compute(Some(&row.id), &fields, decision.as_ref(), req).status)
    }
}

/// A customer's decision error as the KYC records give it.
fn refused(e: CustomerError) -> KycError {
    match e {
        CustomerError::Db(d) => KycError::Db(d),
        CustomerError::Vault(v) => KycError::Vault(v),
        CustomerError::NotFound(_) => KycError::Refused("no such customer".into()),
        CustomerError::Invalid(m) => KycError::Refused(m),
        other => KycError::Internal(other.to_string()),
    }
}

impl Customers {
    /// The attributes a customer inherited (for review), decrypted, with
    /// the attester's id.
    pub async fn inherited(
        &self,
        id: &str,
    ) -> Result<Option<(String, BTreeMap<String, String>)>, KycError> {
        let Some(row) = store::customer_by_id(self.db(), id).await? else {
            return Ok(None);
        };
        let found: Option<(String, Vec<u8>)> = with_conn!(self.db().reader(), c => sqlx::query_as(
            "SELECT attester_id, attributes FROM customer_inherited WHERE customer_id = $1",
        )
        .bind(id)
        .fetch_optional(c)
        .await?);
        let Some((attester, sealed)) = found else {
            return Ok(None);
        };
        let dek = self.vault().unwrap(&row.data_key, &key_owner(&row.id))?;
        let plain = dek.open(inherited_place(&row.id), &sealed)?;
        let map = serde_json::from_slice(&plain).unwrap_or_default();
        Ok(Some((attester, map)))
    }
}
