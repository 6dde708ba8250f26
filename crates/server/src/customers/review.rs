//! Decisions by the anchor's compliance staff (through the admin API):
//! list customers, read one (an audited read of personal data), and move a
//! customer or a single field between statuses with a reason. Every action
//! is written to the append-only audit log — who, when, which customer,
//! what — never the personal data itself nor the free-text reason.

use std::collections::BTreeMap;

use serde::Serialize;

use super::service::{CustomerError, Customers};
use super::store::{self, CustomerRow, DecisionRow};
use super::view::{self, CustomerView, field_status};
use crate::audit::{self, AuditEntry};
use crate::db::{DbError, Tx};
use crate::vault::Place;
use crate::with_pool;

/// Longest reason staff may give with a decision.
const MAX_REASON: usize = 1000;

/// Batches of rows one list call reads at most to fill a filtered page.
pub const SCAN_BATCHES: usize = 20;

/// A customer in a list: no personal data.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = admin::CustomerSummary)]
pub struct Summary {
    /// Id.
    pub id: String,
    /// The `G…` account.
    pub account: String,
    /// Memo, if any.
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(required = false)]
    pub memo: String,
    /// Memo type (`id`, `text` or `hash`), if any.
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(required = false)]
    pub memo_type: String,
    /// The type of its latest PUT (`null`: the default type's).
    #[schema(required = true)]
    pub r#type: Option<String>,
    /// Its status for that type.
    #[schema(value_type = view::CustomerStatus)]
    pub status: &'static str,
    /// Unix seconds.
    pub updated_at: i64,
}

/// One field, decrypted, for review.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = admin::CustomerField)]
pub struct FieldDetail {
    /// The value (text fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub value: Option<String>,
    /// The file (binary fields), for `GET /admin/customers/{id}/files/{file_id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub file_id: Option<String>,
    /// Review status.
    #[schema(value_type = view::FieldStatus)]
    pub status: String,
    /// Why rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<String>,
}

/// A customer in full, for review.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = admin::Customer)]
pub struct Detail {
    /// Id.
    pub id: String,
    /// The `G…` account.
    pub account: String,
    /// Memo and its type (`id`, `text` or `hash`), or `null`.
    #[schema(value_type = Option<Vec<String>>, required = true, min_items = 2, max_items = 2)]
    pub memo: Option<(String, String)>,
    /// The status for each configured type, as SEP-12 `GET /customer`
    /// answers it.
    pub statuses: BTreeMap<String, CustomerView>,
    /// Every field, decrypted.
    pub fields: BTreeMap<String, FieldDetail>,
    /// Where status changes are posted, if set.
    #[schema(required = true)]
    pub callback_url: Option<String>,
    /// What it inherited by attestation (DD45), if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub inherited: Option<Inherited>,
}

/// Attributes inherited from an attester, decrypted for review.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = admin::Inherited)]
pub struct Inherited {
    /// The attester's customer id.
    pub attester_id: String,
    /// Its text attributes as copied (birth_date possibly adjusted).
    pub fields: BTreeMap<String, String>,
}

/// A decision on a customer.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Accept every provided field (of `type`, or all) and clear a rejection.
    Accept,
    /// Reject for `type`, finally.
    Reject,
    /// Ask for `fields` again: they become REJECTED with the reason.
    RequestInfo(Vec<String>),
    /// Set one field's status.
    Field(String, String),
}

impl Decision {
    fn action(&self) -> &'static str {
        match self {
            Decision::Accept => "customer.accept",
            Decision::Reject => "customer.reject",
            Decision::RequestInfo(_) => "customer.request_info",
            Decision::Field(..) => "customer.field_status",
        }
    }
}

impl Customers {
    async fn row_or_404(
        &self,
        tx: Option<&mut Tx>,
        id: &str,
    ) -> Result<CustomerRow, CustomerError> {
        let row = match tx {
            Some(tx) => store::customer_by_id(tx, id).await?,
            None => store::customer_by_id(self.db(), id).await?,
        };
        row.ok_or_else(|| CustomerError::NotFound("customer not found".into()))
    }

    /// Customers by id after the cursor `after`, `limit` at most, of
    /// `status` and `kind` when given; and the cursor of the next page,
    /// `None` at the end. Status is computed, not stored, so rows are read
    /// in batches until the page is full (at most [`SCAN_BATCHES`] batches
    /// a call: a page may come back short with a cursor to go on from).
    pub async fn list(
        &self,
        actor: &str,
        status: Option<&str>,
        kind: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<(Vec<Summary>, Option<String>), CustomerError> {
        let limit = limit.clamp(1, 500);
        let mut out = Vec::new();
        let mut cursor = after.unwrap_or("").to_owned();
        let mut next = None;
        'scan: for _ in 0..SCAN_BATCHES {
            let rows: Vec<CustomerRow> = with_pool!(self.db(), pool => sqlx::query_as(
                "SELECT id, account, memo, memo_type, data_key, last_type, callback_url, updated_at, version FROM customers \
                 WHERE ($1 = '' OR id > $1) ORDER BY id LIMIT $2",
            )
            .bind(&cursor)
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(crate::db::DbError::from)?);
            let full = rows.len() as i64 == limit;
            for r in rows {
                cursor = r.id.clone();
                if let Some(s) = self.summary(r, status, kind).await? {
                    out.push(s);
                }
                if out.len() as i64 == limit {
                    next = Some(cursor.clone());
                    break 'scan;
                }
            }
            if !full {
                next = None;
                break;
            }
            next = Some(cursor.clone());
        }
        audit::record(
            self.db(),
            actor,
            "customer.list",
            None,
            Some(&format!("{} listed", out.len())),
            self.now(),
        )
        .await?;
        Ok((out, next))
    }

    /// A customer's summary, if it is of `status` and `kind` (when given)
    /// and its type is configured.
    async fn summary(
        &self,
        r: CustomerRow,
        status: Option<&str>,
        kind: Option<&str>,
    ) -> Result<Option<Summary>, CustomerError> {
        let of = r
            .last_type
            .clone()
            .unwrap_or_else(|| self.cfg().default_type.clone());
        if kind.is_some_and(|k| k != of) {
            return Ok(None);
        }
        let Some(req) = self.cfg().types.get(&of) else {
            return Ok(None);
        };
        let fields = store::fields(self.db(), &r.id).await?;
        let decision = store::decision(self.db(), &r.id, &of).await?;
        let v = view::compute(Some(&r.id), &fields, decision.as_ref(), req);
        if status.is_some_and(|s| s != v.status) {
            return Ok(None);
        }
        Ok(Some(Summary {
            id: r.id,
            account: r.account,
            memo: r.memo,
            memo_type: r.memo_type,
            r#type: r.last_type,
            status: v.status,
            updated_at: r.updated_at,
        }))
    }

    /// One customer, decrypted. An audited read of personal data.
    pub async fn detail(&self, actor: &str, id: &str) -> Result<Detail, CustomerError> {
        let row = self.row_or_404(None, id).await?;
        let dek = self
            .vault()
            .unwrap(&row.data_key, &format!("customer:{id}"))?;
        let rows = store::fields(self.db(), id).await?;
        let mut fields = BTreeMap::new();
        for f in &rows {
            let value = match &f.value {
                Some(sealed) => {
                    let plain = dek.open(
                        Place {
                            table: "customer_fields",
                            column: &f.name,
                            row: id,
                        },
                        sealed,
                    )?;
                    Some(String::from_utf8_lossy(&plain).into_owned())
                }
                None => None,
            };
            fields.insert(
                f.name.clone(),
                FieldDetail {
                    value,
                    file_id: f.file_id.clone(),
                    status: f.status.clone(),
                    error: f.error.clone(),
                },
            );
        }
        let mut statuses = BTreeMap::new();
        for (kind, req) in &self.cfg().types {
            let decision = store::decision(self.db(), id, kind).await?;
            statuses.insert(
                kind.clone(),
                view::compute(Some(id), &rows, decision.as_ref(), req),
            );
        }
        audit::record(
            self.db(),
            actor,
            "customer.read",
            Some(id),
            None,
            self.now(),
        )
        .await?;
        let inherited = self.inherited(id).await.map_err(|e| match e {
            crate::kyc::KycError::Db(d) => CustomerError::Db(d),
            crate::kyc::KycError::Vault(v) => CustomerError::Vault(v),
            crate::kyc::KycError::Refused(m) => CustomerError::Invalid(m),
            crate::kyc::KycError::Internal(m) => {
                CustomerError::Db(DbError::Sqlx(sqlx::Error::Protocol(m)))
            }
        })?;
        if let Some((attester, _)) = &inherited {
            // The copy is the attester's personal data: its read is theirs too.
            let detail = format!("inherited copy, on customer {id}");
            audit::record(
                self.db(),
                actor,
                "customer.read",
                Some(attester),
                Some(&detail),
                self.now(),
            )
            .await?;
        }
        let inherited = inherited.map(|(attester_id, fields)| Inherited {
            attester_id,
            fields,
        });
        Ok(Detail {
            id: row.id,
            account: row.account,
            memo: (!row.memo.is_empty()).then_some((row.memo, row.memo_type)),
            statuses,
            fields,
            callback_url: row.callback_url,
            inherited,
        })
    }

    /// A document of a customer, decrypted. An audited read.
    pub async fn document(
        &self,
        actor: &str,
        id: &str,
        file_id: &str,
    ) -> Result<(String, Vec<u8>), CustomerError> {
        self.row_or_404(None, id).await?;
        let file = store::file(self.db(), file_id)
            .await?
            .filter(|f| f.customer_id.as_deref() == Some(id))
            .ok_or_else(|| CustomerError::NotFound("file not found".into()))?;
        let bytes = super::upload::read_all(
            self.blobs(),
            self.vault(),
            &file.id,
            &file.data_key,
            &file.blob,
        )
        .await
        .map_err(|e| match e {
            super::upload::ReadError::Store(b) => CustomerError::Blob(b),
            super::upload::ReadError::Vault(v) => CustomerError::Vault(v),
        })?;
        audit::record(
            self.db(),
            actor,
            "customer.file_read",
            Some(id),
            Some(file_id),
            self.now(),
        )
        .await?;
        Ok((file.content_type, bytes))
    }

    /// Applies a decision; the customer's callback fires if its status changes.
    pub async fn decide(
        &self,
        actor: &str,
        id: &str,
        kind: Option<&str>,
        decision: Decision,
        reason: Option<&str>,
    ) -> Result<CustomerView, CustomerError> {
        if reason.is_some_and(|r| r.len() > MAX_REASON) {
            return Err(CustomerError::Invalid(format!(
                "reason is longer than {MAX_REASON} characters"
            )));
        }
        // Shown to the customer as SEP-12's `message`; PostgreSQL text
        // cannot hold a NUL (the statement would fail as a 500).
        if reason.is_some_and(|r| r.contains('\0')) {
            return Err(CustomerError::Invalid(
                "reason must not contain NUL characters".into(),
            ));
        }
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let row = self.row_or_404(Some(&mut tx), id).await?;
        let kind = kind.or(row.last_type.as_deref()).map(str::to_owned);
        let (kind, req) = self.requirements(kind.as_deref())?;
        let (kind, req) = (kind.to_owned(), req.clone());
        let current = store::decision(&mut tx, id, &kind).await?;
        let before = view::compute(
            Some(id),
            &store::fields(&mut tx, id).await?,
            current.as_ref(),
            &req,
        );
        let mut detail = format!("type {kind}");
        match &decision {
            Decision::Accept => {
                for f in store::fields(&mut tx, id).await? {
                    if req.required.contains(&f.name) || req.optional.contains(&f.name) {
                        store::set_field_status(
                            &mut tx,
                            id,
                            &f.name,
                            field_status::ACCEPTED,
                            None,
                            now,
                        )
                        .await?;
                    }
                }
                store::set_decision(&mut tx, id, &kind, false, reason, now).await?;
            }
            Decision::Reject => {
                let reason = reason.ok_or_else(|| {
                    CustomerError::Invalid(
                        "a reason is required to reject (SEP-12: REJECTED requires a message)"
                            .into(),
                    )
                })?;
                store::set_decision(&mut tx, id, &kind, true, Some(reason), now).await?;
            }
            Decision::RequestInfo(names) => {
                if names.is_empty() {
                    return Err(CustomerError::Invalid(
                        "name at least one field to ask for again".into(),
                    ));
                }
                for name in names {
                    if crate::sep9::lookup(name).is_none() {
                        return Err(CustomerError::Invalid(
                            "unknown field: not a SEP-9 field (its name is not repeated back)"
                                .into(),
                        ));
                    }
                    match store::set_field_status(
                        &mut tx,
                        id,
                        name,
                        field_status::REJECTED,
                        reason,
                        now,
                    )
                    .await
                    {
                        Err(DbError::NotFound) => {
                            return Err(CustomerError::Invalid(format!(
                                "the customer has not provided '{name}'"
                            )));
                        }
                        other => other?,
                    }
                }
                detail = format!("type {kind}, fields {}", names.join(","));
            }
            Decision::Field(name, status) => {
                if !field_status::is_valid(status) {
                    return Err(CustomerError::Invalid(
                        "status must be ACCEPTED, PROCESSING, REJECTED or VERIFICATION_REQUIRED"
                            .into(),
                    ));
                }
                let error = (status == field_status::REJECTED)
                    .then_some(reason)
                    .flatten();
                match store::set_field_status(&mut tx, id, name, status, error, now).await {
                    Err(DbError::NotFound) => {
                        return Err(CustomerError::NotFound(format!(
                            "the customer has no field '{name}'"
                        )));
                    }
                    other => other?,
                }
                detail = format!("field {name} {status}");
            }
        }
        let after_decision: Option<DecisionRow> = store::decision(&mut tx, id, &kind).await?;
        let after = view::compute(
            Some(id),
            &store::fields(&mut tx, id).await?,
            after_decision.as_ref(),
            &req,
        );
        self.on_status_change(&mut tx, &row, &before, &after, now)
            .await?;
        store::bump_version(&mut tx, id).await?;
        audit::record(
            &mut tx,
            actor,
            decision.action(),
            Some(id),
            Some(&detail),
            now,
        )
        .await?;
        tx.commit().await?;
        self.kyc_changed_row(&row);
        Ok(after)
    }

    /// The audit log, newest first (for one customer, or all).
    pub async fn audit_log(
        &self,
        customer_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, CustomerError> {
        Ok(audit::list(self.db(), customer_id, limit).await?)
    }
}
