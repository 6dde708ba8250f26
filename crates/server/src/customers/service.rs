//! SEP-12 rules: find or create the customer the token may reach, store
//! its fields sealed, compute its status, erase it on request.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::owner::{self, CustomerKey, OwnerError};
use super::request::{Params, PutBody};
use super::store::{self, CustomerRow, FieldRow};
use super::upload::{self, Stored, UploadError};
use super::view::{self, CustomerView, field_status};
use super::writer::{Applied, Callback, NewCustomer, PutJob, Writer};
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

/// Sends verification codes (SEP-12 §Verification) to a phone or mailbox.
pub trait CodeSender: Send + Sync {
    /// Sends `code` for `field` of customer `customer_id` to `destination`.
    fn send<'a>(
        &'a self,
        customer_id: &'a str,
        field: &'a str,
        destination: &'a str,
        code: &'a str,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// Development sender: the code goes to the log (the destination does not).
#[derive(Debug, Default)]
pub struct LogSender;

impl CodeSender for LogSender {
    fn send<'a>(
        &'a self,
        customer_id: &'a str,
        field: &'a str,
        _destination: &'a str,
        code: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            tracing::info!(
                customer = customer_id,
                field,
                code,
                "verification code (log sender: development only)"
            );
            Ok(())
        })
    }
}

/// A verification code to store and send.
struct NewCode {
    field: &'static str,
    destination: String,
    code: String,
    hash: Vec<u8>,
    expires: i64,
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
}

/// The wrapped-key owner of a customer's data key.
fn key_owner(id: &str) -> String {
    format!("customer:{id}")
}

fn place<'a>(id: &'a str, field: &'a str) -> Place<'a> {
    Place {
        table: "customer_fields",
        column: field,
        row: id,
    }
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
                .ok_or_else(|| {
                    CustomerError::NotFound(format!("customer not found for id: {id}"))
                })?;
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
                .ok_or_else(|| {
                    CustomerError::NotFound(format!("customer not found for id: {id}"))
                })?;
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
        let (key, existing) = self
            .find_snapshot((&mut tx).into(), p, &body.params, kind, store::Detail::Full)
            .await?;
        let (row, before_rows, decision, dek) = match existing {
            Some(snap) => {
                let dek = self
                    .vault
                    .unwrap(&snap.customer.data_key, &key_owner(&snap.customer.id))?;
                (snap.customer, snap.fields, snap.decision, dek)
            }
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                let dek = self.vault.new_data_key();
                let wrapped = self.vault.wrap(&dek, &key_owner(&id));
                store::insert_customer(&mut tx, &id, &key, &wrapped, now).await?;
                let row = CustomerRow {
                    id,
                    account: key.account.to_string(),
                    memo: key.memo_value().to_owned(),
                    memo_type: key.memo_kind().to_owned(),
                    data_key: wrapped,
                    last_type: None,
                    callback_url: None,
                    updated_at: now,
                    version: 0,
                };
                (row, Vec::new(), None, dek)
            }
        };
        let id = row.id.clone();
        let before = view::compute(Some(&id), &before_rows, decision.as_ref(), req);

        // Codes first: a wrong one refuses the whole request (but counts).
        for (field, code) in &body.verifications {
            if !self
                .check_code(&mut tx, &id, &dek, field.name, code, now)
                .await?
            {
                tx.commit().await?;
                return Err(CustomerError::InvalidCode);
            }
        }
        let (mut writes, codes_to_send) =
            self.field_writes(&id, &dek, &before_rows, &body.fields, now);
        for c in &codes_to_send {
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
            let previous = before_rows
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
                    .fingerprint(place(&id, field.name), file_id.as_bytes())
                    .to_vec(),
                file_id: Some(file_id),
                status: self.initial_status(field.name).to_owned(),
                error: None,
            });
        }
        store::put_fields(&mut tx, &id, &writes, now).await?;
        // The fields after this request, without reading them back (unless
        // codes changed statuses above).
        let mut after_rows = if body.verifications.is_empty() {
            before_rows
        } else {
            store::fields(&mut tx, &id).await?
        };
        for w in writes {
            match after_rows.iter_mut().find(|r| r.name == w.name) {
                Some(r) => *r = w,
                None => after_rows.push(w),
            }
        }
        store::touch_customer(&mut tx, &id, kind, now).await?;
        let after = view::compute(
            Some(&id),
            &store::fields(&mut tx, &id).await?,
            decision.as_ref(),
            req,
        );
        self.on_status_change(&mut tx, &row, &before, &after, now)
            .await?;
        tx.commit().await?;
        self.send_codes(&id, codes_to_send).await;
        Ok(id)
    }

    fn initial_status(&self, field: &str) -> &'static str {
        if self.cfg.verification.fields.iter().any(|f| f == field) {
            field_status::VERIFICATION_REQUIRED
        } else if self.cfg.auto_accept {
            field_status::ACCEPTED
        } else {
            field_status::PROCESSING
        }
    }

    /// Enqueues a callback if the status changed and a URL is set
    /// (SEP-12 §Customer callback PUT), in the caller's transaction, so a
    /// change is never recorded without its callback.
    pub(super) async fn on_status_change(
        &self,
        tx: &mut Tx,
        row: &CustomerRow,
        before: &CustomerView,
        after: &CustomerView,
        now: i64,
    ) -> Result<(), CustomerError> {
        if before.status == after.status {
            return Ok(());
        }
        let Some(url) = &row.callback_url else {
            return Ok(());
        };
        let body = serde_json::to_string(after).expect("a view always serialises");
        super::callbacks::enqueue(tx, &row.id, url, &body, now).await?;
        // "Anchors will submit POST requests until the user's status changes
        // to ACCEPTED or REJECTED."
        if matches!(after.status, "ACCEPTED" | "REJECTED") {
            store::set_callback(tx, &row.id, None).await?;
        }
        Ok(())
    }

    /// A fresh verification code for `field`, and its keyed hash.
    fn make_code(
        &self,
        id: &str,
        dek: &DataKey,
        field: &'static str,
        destination: &str,
        now: i64,
    ) -> NewCode {
        use rand::Rng as _;
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32));
        let hash = dek
            .fingerprint(
                Place {
                    table: "verification_codes",
                    column: field,
                    row: id,
                },
                code.as_bytes(),
            )
            .to_vec();
        NewCode {
            field,
            destination: destination.to_owned(),
            code,
            hash,
            expires: now + i64::try_from(self.cfg.verification.code_ttl_secs).unwrap_or(600),
        }
    }

    /// The rows a PUT's text fields write — fields sent again unchanged are
    /// left as they are, status included — and the codes to send.
    fn field_writes(
        &self,
        id: &str,
        dek: &DataKey,
        before: &[FieldRow],
        fields: &[(Field, String)],
        now: i64,
    ) -> (Vec<FieldRow>, Vec<NewCode>) {
        let mut writes = Vec::new();
        let mut codes = Vec::new();
        for (field, value) in fields {
            let at = place(id, field.name);
            let fingerprint = dek.fingerprint(at, value.as_bytes()).to_vec();
            if before
                .iter()
                .any(|r| r.name == field.name && r.fingerprint == fingerprint)
            {
                continue;
            }
            let status = self.initial_status(field.name);
            if status == field_status::VERIFICATION_REQUIRED {
                codes.push(self.make_code(id, dek, field.name, value, now));
            }
            writes.push(FieldRow {
                name: field.name.to_owned(),
                value: Some(dek.seal(at, value.as_bytes())),
                file_id: None,
                fingerprint,
                status: status.to_owned(),
                error: None,
            });
        }
        (writes, codes)
    }

    async fn send_codes(&self, id: &str, codes: Vec<NewCode>) {
        for c in codes {
            if let Err(e) = self.sender.send(id, c.field, &c.destination, &c.code).await {
                tracing::warn!(error = %e, customer = %id, field = c.field, "could not send a verification code");
            }
        }
    }

    /// The fast path of a PUT of text fields: worked out from a read on
    /// the readers, applied by the group-commit writer if the customer did
    /// not change meanwhile. `None` after repeated conflicts.
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
            let (id, new, version, before_rows, decision, callback_url, dek) = match snap {
                Some(s) => {
                    let dek = self
                        .vault
                        .unwrap(&s.customer.data_key, &key_owner(&s.customer.id))?;
                    (
                        s.customer.id,
                        None,
                        s.customer.version,
                        s.fields,
                        s.decision,
                        s.customer.callback_url,
                        dek,
                    )
                }
                None => {
                    let id = uuid::Uuid::new_v4().to_string();
                    let dek = self.vault.new_data_key();
                    let data_key = self.vault.wrap(&dek, &key_owner(&id));
                    (
                        id,
                        Some(NewCustomer {
                            key: key.clone(),
                            data_key,
                        }),
                        0,
                        Vec::new(),
                        None,
                        None,
                        dek,
                    )
                }
            };
            let before = view::compute(Some(&id), &before_rows, decision.as_ref(), req);
            let (writes, codes) = self.field_writes(&id, &dek, &before_rows, &body.fields, now);
            let mut after_rows = before_rows;
            for w in &writes {
                match after_rows.iter_mut().find(|r| r.name == w.name) {
                    Some(r) => *r = w.clone(),
                    None => after_rows.push(w.clone()),
                }
            }
            let after = view::compute(Some(&id), &after_rows, decision.as_ref(), req);
            let callback = match (&callback_url, before.status != after.status) {
                (Some(url), true) => Some(Callback {
                    url: url.clone(),
                    body: serde_json::to_string(&after).expect("a view always serialises"),
                    last: matches!(after.status, "ACCEPTED" | "REJECTED"),
                }),
                _ => None,
            };
            let job = PutJob {
                customer_id: id.clone(),
                new,
                version,
                last_type: kind.to_owned(),
                fields: writes,
                codes: codes
                    .iter()
                    .map(|c| (c.field.to_owned(), c.hash.clone(), c.expires))
                    .collect(),
                callback,
                now,
            };
            if self.writer.submit(job).await? == Applied::Yes {
                self.send_codes(&id, codes).await;
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
            store::set_field_status(tx, id, field, field_status::ACCEPTED, None, now).await?;
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
        Ok(after)
    }

    /// SEP-12 §Customer DELETE: erases the customer the token names under
    /// `account` — rows, documents and data key, in one transaction.
    pub async fn delete(
        &self,
        p: &Principal,
        account: &str,
        params: &Params,
    ) -> Result<(), CustomerError> {
        let not_found = || CustomerError::NotFound("customer not found".into());
        // Another account's customers are "not found", not "forbidden".
        let named = mooring_stellar::ClientAccount::parse(account).map_err(|_| not_found())?;
        if named.account() != p.account.account() {
            return Err(not_found());
        }
        let key = owner::resolve(
            p,
            Some(account),
            params.memo.as_deref(),
            params.memo_type.as_deref(),
        )
        .map_err(|e| match e {
            OwnerError::Forbidden(_) => not_found(),
            other => other.into(),
        })?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let row = store::customer_by_key(&mut tx, &key)
            .await?
            .ok_or_else(not_found)?;
        let files = store::delete_customer(&mut tx, &row.id, now).await?;
        let (acct, memo) = owner_of_uploads(p);
        if key.memo.is_none() || memo == key.memo_value() {
            store::delete_unattached_files(&mut tx, &acct, &memo, now).await?;
        }
        crate::audit::record(
            &mut tx,
            "customer",
            "customer.erase",
            Some(&row.id),
            Some(&format!("{files} files")),
            now,
        )
        .await?;
        tx.commit().await?;
        self.remove_deleted_blobs().await;
        self.db.flush_deleted().await;
        Ok(())
    }

    /// Removes documents scheduled for deletion from the store.
    pub async fn remove_deleted_blobs(&self) {
        loop {
            let batch = match store::blob_deletions(self.db.reader(), 100).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "could not list documents to delete");
                    return;
                }
            };
            if batch.is_empty() {
                return;
            }
            for blob in &batch {
                if let Err(e) = self.blobs.delete(blob).await {
                    tracing::warn!(error = %e, "could not delete a document; will retry");
                    return;
                }
                if let Err(e) = store::blob_deleted(&self.db, blob).await {
                    tracing::warn!(error = %e, "could not record a document deletion");
                    return;
                }
            }
        }
    }

    /// Deletes uploads no customer referenced before their expiry.
    pub async fn expire_files(&self) -> Result<u64, CustomerError> {
        let mut tx = self.db.begin().await?;
        let n = store::expire_files(&mut tx, self.now()).await?;
        tx.commit().await?;
        if n > 0 {
            self.remove_deleted_blobs().await;
        }
        Ok(n)
    }

    /// SEP-12 §Customer callback PUT.
    pub async fn set_callback(&self, p: &Principal, params: &Params) -> Result<(), CustomerError> {
        let url = params
            .url
            .as_deref()
            .ok_or_else(|| CustomerError::Invalid("url is required".into()))?;
        let url = super::callbacks::check_url(url, &self.cfg.callbacks.allow_http_hosts)
            .map_err(CustomerError::Invalid)?;
        let mut tx = self.db.begin().await?;
        let (_, row) = self.find(Some(&mut tx), p, params).await?;
        let row = row.ok_or_else(|| CustomerError::NotFound("customer not found".into()))?;
        store::set_callback(&mut tx, &row.id, Some(url.as_str())).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes the documents of a request that failed before they were recorded.
    pub async fn discard(&self, uploads: Vec<(Field, Stored)>) {
        for (_, s) in uploads {
            if let Err(e) = self.blobs.delete(&s.blob).await {
                tracing::warn!(error = %e, "could not remove the document of a refused upload");
            }
        }
    }

    /// Stores an upload for `POST /customer/files` (or a multipart PUT).
    pub async fn upload<S, E>(&self, field: &Field, body: S) -> Result<Stored, CustomerError>
    where
        S: futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        E: Into<upload::BodyError>,
    {
        let crate::sep9::Kind::Binary(accept) = field.kind else {
            return Err(CustomerError::Invalid(format!(
                "'{}' is not a binary field",
                field.name
            )));
        };
        Ok(upload::store(
            &self.blobs,
            &self.vault,
            field.name,
            accept,
            self.cfg.max_file_bytes,
            body,
        )
        .await?)
    }
}
