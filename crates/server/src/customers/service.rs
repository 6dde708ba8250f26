//! SEP-12 rules: find or create the customer the token may reach, store
//! its fields sealed, compute its status, erase it on request.

use std::sync::Arc;

use super::callbacks;
use super::owner::{self, CustomerKey, OwnerError};
use super::put::{self, Current, NewCode, key_owner};
use super::request::{Params, PutBody};
use super::store::{self, CustomerRow, FieldRow};
use super::upload::{Stored, UploadError};
use super::verification::CodeSender;
use super::view::{self, CustomerView, field_status};
use super::writer::{Applied, PutJob, Writer};
use crate::blobs::{BlobError, Blobs};
use crate::clock::Clock;
use crate::config::{Sep12Config, TypeConfig};
use crate::db::{Db, DbError, Tx};
use crate::http::Principal;
use crate::sep9::Field;
use crate::vault::{DataKey, Place, Vault, VaultError};

/// Why a SEP-12 request failed.
#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    /// 404 — unknown, or not this token's (indistinguishable).
    #[error("{0}")]
    NotFound(String),
    /// 400.
    #[error("{0}")]
    Invalid(String),
    /// 403: the parameters name someone else.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 413.
    #[error("{0}")]
    TooLarge(String),
    /// 400, in the spec's words (§Customer PUT §Response).
    #[error("The provided confirmation code was invalid.")]
    InvalidCode,
    /// 500s.
    #[error(transparent)]
    Db(#[from] DbError),
    /// 500.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// 500.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl From<OwnerError> for CustomerError {
    fn from(e: OwnerError) -> Self {
        match e {
            OwnerError::Invalid(m) => CustomerError::Invalid(m),
            OwnerError::Forbidden(m) => CustomerError::Forbidden(m),
        }
    }
}

impl From<UploadError> for CustomerError {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::Format(f) => CustomerError::Invalid(f.to_string()),
            UploadError::TooLarge(..) | UploadError::Body { too_large: true } => {
                CustomerError::TooLarge(e.to_string())
            }
            UploadError::Body { too_large: false } => CustomerError::Invalid(e.to_string()),
            UploadError::Store(b) => CustomerError::Blob(b),
        }
    }
}

/// The SEP-12 service.
pub struct Customers {
    db: Db,
    vault: Arc<Vault>,
    blobs: Blobs,
    clock: Arc<dyn Clock>,
    cfg: Arc<Sep12Config>,
    sender: Arc<dyn CodeSender>,
    writer: Writer,
    /// Where status changes are reported (see `customers/kyc.rs`).
    pub(super) changes: Option<crate::kyc::Changes>,
}

impl std::fmt::Debug for Customers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Customers")
    }
}

/// What [`Customers`] is built from.
pub struct CustomersParts {
    /// The database.
    pub db: Db,
    /// Encryption at rest.
    pub vault: Arc<Vault>,
    /// The document store.
    pub blobs: Blobs,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// SEP-12 settings.
    pub cfg: Arc<Sep12Config>,
    /// Verification code sender.
    pub sender: Arc<dyn CodeSender>,
    /// Where status changes are reported to the KYC standings.
    pub changes: Option<crate::kyc::Changes>,
}

/// The owner recorded on uploaded files: the token's account and memo.
pub(super) fn owner_of_uploads(p: &Principal) -> (String, String) {
    (
        p.account.account().to_string(),
        owner::token_memo(p)
            .map(|m| m.to_string())
            .unwrap_or_default(),
    )
}

impl Customers {
    /// The service.
    pub fn new(parts: CustomersParts) -> Self {
        let writer = Writer::new(parts.db.clone());
        Customers {
            writer,
            db: parts.db,
            vault: parts.vault,
            blobs: parts.blobs,
            clock: parts.clock,
            cfg: parts.cfg,
            sender: parts.sender,
            changes: parts.changes,
        }
    }

    pub(super) fn now(&self) -> i64 {
        i64::try_from(self.clock.now()).unwrap_or(i64::MAX)
    }

    pub(super) fn db(&self) -> &Db {
        &self.db
    }

    /// SEP-12 settings.
    pub fn cfg(&self) -> &Sep12Config {
        &self.cfg
    }

    pub(super) fn blobs(&self) -> &Blobs {
        &self.blobs
    }

    pub(super) fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The requirements of `kind` (or the default type).
    pub(super) fn requirements(
        &self,
        kind: Option<&str>,
    ) -> Result<(&str, &TypeConfig), CustomerError> {
        let name = kind.unwrap_or(&self.cfg.default_type);
        self.cfg
            .types
            .get_key_value(name)
            .map(|(k, v)| (k.as_str(), v))
            .ok_or_else(|| {
                CustomerError::Invalid(format!(
                    "unrecognized 'type' value; this server knows: {}",
                    self.cfg
                        .types
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }

    /// The customer the request names, if it exists and the token may reach
    /// it. An `id` the token may not reach is "not found".
    pub(super) async fn find(
        &self,
        tx: Option<&mut Tx>,
        p: &Principal,
        params: &Params,
    ) -> Result<(CustomerKey, Option<CustomerRow>), CustomerError> {
        if let Some(id) = &params.id {
            let row = match tx {
                Some(tx) => store::customer_by_id(tx, id).await?,
                None => store::customer_by_id(self.db.reader(), id).await?,
            };
            let row = row
                .filter(|r| owner::may_access(p, &r.account, &r.memo, &r.memo_type))
                .ok_or_else(|| CustomerError::NotFound("customer not found".into()))?;
            let key = owner::resolve(
                p,
                params.account.as_deref(),
                Some(&row.memo)
                    .filter(|m| !m.is_empty())
                    .map(|s| s.as_str()),
                Some(row.memo_type.as_str()),
            )?;
            return Ok((key, Some(row)));
        }
        let key = owner::resolve(
            p,
            params.account.as_deref(),
            params.memo.as_deref(),
            params.memo_type.as_deref(),
        )?;
        let row = match tx {
            Some(tx) => store::customer_by_key(tx, &key).await?,
            None => store::customer_by_key(self.db.reader(), &key).await?,
        };
        Ok((key, row))
    }

    /// Like [`Customers::find`], with the customer's fields and its decision
    /// for `kind`, in one read.
    pub(super) async fn find_snapshot(
        &self,
        conn: crate::db::Conn<'_>,
        p: &Principal,
        params: &Params,
        kind: &str,
        detail: store::Detail,
    ) -> Result<(CustomerKey, Option<store::Snapshot>), CustomerError> {
        if let Some(id) = &params.id {
            let snap = store::snapshot(conn, store::Lookup::Id(id), kind, detail)
                .await?
                .filter(|s| {
                    owner::may_access(
                        p,
                        &s.customer.account,
                        &s.customer.memo,
                        &s.customer.memo_type,
                    )
                })
                .ok_or_else(|| CustomerError::NotFound("customer not found".into()))?;
            let c = &snap.customer;
            let key = owner::resolve(
                p,
                params.account.as_deref(),
                Some(c.memo.as_str()).filter(|m| !m.is_empty()),
                Some(c.memo_type.as_str()),
            )?;
            return Ok((key, Some(snap)));
        }
        let key = owner::resolve(
            p,
            params.account.as_deref(),
            params.memo.as_deref(),
            params.memo_type.as_deref(),
        )?;
        let snap = store::snapshot(conn, store::Lookup::Key(&key), kind, detail).await?;
        Ok((key, snap))
    }

    fn check_lang(params: &Params) -> Result<(), CustomerError> {
        match params.lang.as_deref() {
            // Descriptions exist in English only; any valid language code is
            // accepted and answered in English.
            Some(l) if !crate::sep9::iso::is_language(l) => Err(CustomerError::Invalid(
                "lang must be an ISO 639-1 language code, e.g. en".into(),
            )),
            _ => Ok(()),
        }
    }

    /// SEP-12 §Customer GET.
    pub async fn get(&self, p: &Principal, params: &Params) -> Result<CustomerView, CustomerError> {
        Self::check_lang(params)?;
        let (kind, req) = self.requirements(params.kind.as_deref())?;
        let (_, snap) = self
            .find_snapshot(self.db.reader(), p, params, kind, store::Detail::Statuses)
            .await?;
        Ok(match snap {
            Some(s) => view::compute(Some(&s.customer.id), &s.fields, s.decision.as_ref(), req),
            None => view::compute(None, &[], None, req),
        })
    }

    /// SEP-12 §Customer PUT: stores the fields (and files already uploaded
    /// by the caller) and answers the customer's id.
    pub async fn put(
        &self,
        p: &Principal,
        body: PutBody,
        uploads: Vec<(Field, Stored)>,
    ) -> Result<String, CustomerError> {
        if uploads.is_empty()
            && body.verifications.is_empty()
            && body.file_ids.is_empty()
            && let Some(id) = self.put_text(p, &body).await?
        {
            return Ok(id);
        }
        let result = self.put_inner(p, &body, &uploads).await;
        if result.is_err() {
            // The documents of a refused request must not linger.
            self.discard(uploads).await;
        }
        result
    }

    /// A PUT with documents or codes, in one transaction: the text fields
    /// as [`put::plan`] works them out, then the codes, then the documents.
    async fn put_inner(
        &self,
        p: &Principal,
        body: &PutBody,
        uploads: &[(Field, Stored)],
    ) -> Result<String, CustomerError> {
        let (kind, req) = self.requirements(body.params.kind.as_deref())?;
        let now = self.now();
        let (owner_account, owner_memo) = owner_of_uploads(p);
        let mut tx = self.db.begin().await?;
        let (key, snap) = self
            .find_snapshot((&mut tx).into(), p, &body.params, kind, store::Detail::Full)
            .await?;
        let current = Current::of(&self.vault, &key, snap)?;
        if let Some(new) = &current.new {
            store::insert_customer(&mut tx, &current.id, &key, &new.data_key, now).await?;
        }
        let id = current.id.clone();
        let dek = &current.dek;
        let before = current.view(&current.rows, req);

        // Codes first: a wrong one refuses the whole request (but counts).
        for (field, code) in &body.verifications {
            if !self
                .check_code(&mut tx, &id, dek, field.name, code, now)
                .await?
            {
                tx.commit().await?;
                return Err(CustomerError::InvalidCode);
            }
        }
        let plan = put::plan(&self.cfg, &current, &body.fields, now);
        let mut writes = plan.writes;
        for c in &plan.codes {
            super::verification::put_code(&mut tx, &id, c.field, &c.hash, c.expires).await?;
        }
        let mut files: Vec<(Field, String)> = Vec::new();
        for (field, stored) in uploads {
            store::insert_file(
                &mut tx,
                &store::FileRow {
                    id: stored.id.clone(),
                    owner_account: owner_account.clone(),
                    owner_memo: owner_memo.clone(),
                    customer_id: None,
                    field: None,
                    content_type: stored.format.content_type().to_owned(),
                    size: i64::try_from(stored.size).unwrap_or(i64::MAX),
                    data_key: stored.data_key.clone(),
                    blob: stored.blob.clone(),
                    created_at: now,
                    expires_at: None,
                },
            )
            .await?;
            files.push((*field, stored.id.clone()));
        }
        for (field, file_id) in &body.file_ids {
            let file = store::file(&mut tx, file_id).await?;
            let file = file.filter(|f| {
                f.owner_account == owner_account
                    && f.owner_memo == owner_memo
                    && f.customer_id.as_ref().is_none_or(|c| *c == id)
            });
            let Some(file) = file else {
                return Err(CustomerError::Invalid(format!(
                    "'{}_file_id' does not name a file uploaded with POST /customer/files by this account",
                    field.name
                )));
            };
            if let crate::sep9::Kind::Binary(accept) = field.kind {
                crate::sep9::check_content_type(field.name, accept, &file.content_type)
                    .map_err(|e| CustomerError::Invalid(e.to_string()))?;
            }
            files.push((*field, file_id.clone()));
        }
        for (field, file_id) in files {
            let previous = current
                .rows
                .iter()
                .find(|r| r.name == field.name)
                .and_then(|r| r.file_id.clone());
            if previous.as_deref() == Some(file_id.as_str()) {
                continue;
            }
            if let Some(old) = previous {
                store::delete_file(&mut tx, &old, now).await?;
            }
            store::attach_file(&mut tx, &file_id, &id, field.name).await?;
            writes.push(FieldRow {
                name: field.name.to_owned(),
                value: None,
                fingerprint: dek
                    .fingerprint(put::place(&id, field.name), file_id.as_bytes())
                    .to_vec(),
                file_id: Some(file_id),
                status: put::initial_status(&self.cfg, field.name).to_owned(),
                error: None,
            });
        }
        store::put_fields(&mut tx, &id, &writes, now).await?;
        store::touch_customer(&mut tx, &id, kind, now).await?;
        // Read back: codes above may have changed statuses too.
        let after = current.view(&store::fields(&mut tx, &id).await?, req);
        if let Some(cb) = callbacks::for_change(current.callback_url.as_deref(), &before, &after) {
            callbacks::record(&mut tx, &id, &cb, now).await?;
        }
        tx.commit().await?;
        self.kyc_changed(&key);
        self.send_codes(&id, plan.codes).await;
        Ok(id)
    }

    /// Enqueues a callback if the status changed and a URL is set, in the
    /// caller's transaction (see [`callbacks::for_change`]).
    pub(super) async fn on_status_change(
        &self,
        tx: &mut Tx,
        row: &CustomerRow,
        before: &CustomerView,
        after: &CustomerView,
        now: i64,
    ) -> Result<(), CustomerError> {
        if let Some(cb) = callbacks::for_change(row.callback_url.as_deref(), before, after) {
            callbacks::record(tx, &row.id, &cb, now).await?;
        }
        Ok(())
    }

    async fn send_codes(&self, id: &str, codes: Vec<NewCode>) {
        for c in codes {
            if let Err(e) = self.sender.send(id, c.field, &c.destination, &c.code).await {
                tracing::warn!(error = %e, field = c.field, "could not send a verification code");
            }
        }
    }

    /// The fast path of a PUT of text fields: [`put::plan`] worked out
    /// from a read on the readers, applied by the group-commit writer if
    /// the customer did not change meanwhile. `None` after repeated
    /// conflicts.
    async fn put_text(
        &self,
        p: &Principal,
        body: &PutBody,
    ) -> Result<Option<String>, CustomerError> {
        let (kind, req) = self.requirements(body.params.kind.as_deref())?;
        for _ in 0..3 {
            let now = self.now();
            let (key, snap) = self
                .find_snapshot(self.db.reader(), p, &body.params, kind, store::Detail::Full)
                .await?;
            let current = Current::of(&self.vault, &key, snap)?;
            let plan = put::plan(&self.cfg, &current, &body.fields, now);
            let before = current.view(&current.rows, req);
            let after = current.view(&put::merged(current.rows.clone(), &plan.writes), req);
            let callback = callbacks::for_change(current.callback_url.as_deref(), &before, &after);
            let id = current.id;
            let job = PutJob {
                customer_id: id.clone(),
                new: current.new,
                version: current.version,
                last_type: kind.to_owned(),
                fields: plan.writes,
                codes: plan
                    .codes
                    .iter()
                    .map(|c| (c.field.to_owned(), c.hash.clone(), c.expires))
                    .collect(),
                callback,
                now,
            };
            if self.writer.submit(job).await? == Applied::Yes {
                self.kyc_changed(&key);
                self.send_codes(&id, plan.codes).await;
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// Checks a code; a right one accepts the field. A wrong one counts
    /// against the attempts left.
    async fn check_code(
        &self,
        tx: &mut Tx,
        id: &str,
        dek: &DataKey,
        field: &str,
        code: &str,
        now: i64,
    ) -> Result<bool, CustomerError> {
        let hash = dek.fingerprint(
            Place {
                table: "verification_codes",
                column: field,
                row: id,
            },
            code.as_bytes(),
        );
        let ok = super::verification::check_code(
            tx,
            id,
            field,
            &hash,
            now,
            self.cfg.verification.max_attempts,
        )
        .await?;
        if ok {
            // The code proves the value: the field is accepted at once.
            match store::set_field_status(tx, id, field, field_status::ACCEPTED, None, now).await {
                Err(DbError::NotFound) => {}
                other => other?,
            }
        }
        Ok(ok)
    }

    /// SEP-12 §Customer PUT Verification (deprecated): codes only, answers
    /// the customer's status.
    pub async fn verify(
        &self,
        p: &Principal,
        body: PutBody,
    ) -> Result<CustomerView, CustomerError> {
        if body.verifications.is_empty() {
            return Err(CustomerError::Invalid(
                "no <field>_verification value given".into(),
            ));
        }
        if body.params.id.is_none() {
            return Err(CustomerError::Invalid("id is required".into()));
        }
        let (kind, req) = self.requirements(body.params.kind.as_deref())?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let (_, row) = self.find(Some(&mut tx), p, &body.params).await?;
        let row = row.expect("find by id returns a row or NotFound");
        let dek = self.vault.unwrap(&row.data_key, &key_owner(&row.id))?;
        let decision = store::decision(&mut tx, &row.id, kind).await?;
        let before = view::compute(
            Some(&row.id),
            &store::fields(&mut tx, &row.id).await?,
            decision.as_ref(),
            req,
        );
        for (field, code) in &body.verifications {
            if !self
                .check_code(&mut tx, &row.id, &dek, field.name, code, now)
                .await?
            {
                tx.commit().await?;
                return Err(CustomerError::InvalidCode);
            }
        }
        let after = view::compute(
            Some(&row.id),
            &store::fields(&mut tx, &row.id).await?,
            decision.as_ref(),
            req,
        );
        self.on_status_change(&mut tx, &row, &before, &after, now)
            .await?;
        store::bump_version(&mut tx, &row.id).await?;
        tx.commit().await?;
        self.kyc_changed_row(&row);
        Ok(after)
    }

    /// SEP-12 §Customer callback PUT.
    pub async fn set_callback(&self, p: &Principal, params: &Params) -> Result<(), CustomerError> {
        let url = params
            .url
            .as_deref()
            .ok_or_else(|| CustomerError::Invalid("url is required".into()))?;
        let url = crate::outbox::check_callback_url(url, &self.cfg.callbacks.allow_http_hosts)
            .await
            .map_err(CustomerError::Invalid)?;
        let mut tx = self.db.begin().await?;
        let (_, row) = self.find(Some(&mut tx), p, params).await?;
        let row = row.ok_or_else(|| CustomerError::NotFound("customer not found".into()))?;
        store::set_callback(&mut tx, &row.id, Some(url.as_str())).await?;
        tx.commit().await?;
        Ok(())
    }
}
