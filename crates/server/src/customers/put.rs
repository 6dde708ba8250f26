//! Working out a `PUT /customer`, one way for both of its paths: from the
//! customer as read (or a new one), the field rows the request writes, the
//! verification codes it sends, and the view before and after. The
//! group-commit writer applies a plan of text fields; the transaction path
//! (files, codes) applies the same plan and then its documents.

use super::owner::CustomerKey;
use super::store::{DecisionRow, FieldRow, Snapshot};
use super::view::{self, CustomerView, field_status};
use super::writer::NewCustomer;
use crate::config::{Sep12Config, TypeConfig};
use crate::sep9::Field;
use crate::vault::{DataKey, Place, Vault, VaultError};

/// The wrapped-key owner of a customer's data key.
pub(super) fn key_owner(id: &str) -> String {
    format!("customer:{id}")
}

/// Where a field's value is sealed (the AEAD's associated data).
pub(super) fn place<'a>(id: &'a str, field: &'a str) -> Place<'a> {
    Place {
        table: "customer_fields",
        column: field,
        row: id,
    }
}

/// A verification code to store and send.
pub(super) struct NewCode {
    pub field: &'static str,
    pub destination: String,
    pub code: String,
    pub hash: Vec<u8>,
    pub expires: i64,
}

/// The customer a PUT starts from: as read, or new (not stored yet).
pub(super) struct Current {
    pub id: String,
    /// Set when the customer is new: what to insert.
    pub new: Option<NewCustomer>,
    pub version: i64,
    pub rows: Vec<FieldRow>,
    pub decision: Option<DecisionRow>,
    pub callback_url: Option<String>,
    pub dek: DataKey,
}

impl Current {
    /// The customer of `snap`, its data key unwrapped; or a new customer
    /// for `key` with a fresh data key.
    pub fn of(
        vault: &Vault,
        key: &CustomerKey,
        snap: Option<Snapshot>,
    ) -> Result<Current, VaultError> {
        Ok(match snap {
            Some(s) => Current {
                dek: vault.unwrap(&s.customer.data_key, &key_owner(&s.customer.id))?,
                id: s.customer.id,
                new: None,
                version: s.customer.version,
                rows: s.fields,
                decision: s.decision,
                callback_url: s.customer.callback_url,
            },
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                let dek = vault.new_data_key();
                let data_key = vault.wrap(&dek, &key_owner(&id));
                Current {
                    id,
                    new: Some(NewCustomer {
                        key: key.clone(),
                        data_key,
                    }),
                    version: 0,
                    rows: Vec::new(),
                    decision: None,
                    callback_url: None,
                    dek,
                }
            }
        })
    }

    /// The SEP-12 view of these rows.
    pub fn view(&self, rows: &[FieldRow], req: &TypeConfig) -> CustomerView {
        view::compute(Some(&self.id), rows, self.decision.as_ref(), req)
    }
}

/// What a PUT's text fields write, and the codes to send.
pub(super) struct Plan {
    pub writes: Vec<FieldRow>,
    pub codes: Vec<NewCode>,
}

/// The status a newly provided field starts in.
pub(super) fn initial_status(cfg: &Sep12Config, field: &str) -> &'static str {
    if cfg.verification.fields.iter().any(|f| f == field) {
        field_status::VERIFICATION_REQUIRED
    } else if cfg.auto_accept {
        field_status::ACCEPTED
    } else {
        field_status::PROCESSING
    }
}

/// The rows `fields` write — fields sent again unchanged are left as they
/// are, status included — and the codes to send.
pub(super) fn plan(cfg: &Sep12Config, c: &Current, fields: &[(Field, String)], now: i64) -> Plan {
    let mut writes = Vec::new();
    let mut codes = Vec::new();
    for (field, value) in fields {
        let at = place(&c.id, field.name);
        let fingerprint = c.dek.fingerprint(at, value.as_bytes()).to_vec();
        if c.rows
            .iter()
            .any(|r| r.name == field.name && r.fingerprint == fingerprint)
        {
            continue;
        }
        let status = initial_status(cfg, field.name);
        if status == field_status::VERIFICATION_REQUIRED {
            codes.push(make_code(cfg, &c.id, &c.dek, field.name, value, now));
        }
        writes.push(FieldRow {
            name: field.name.to_owned(),
            value: Some(c.dek.seal(at, value.as_bytes())),
            file_id: None,
            fingerprint,
            status: status.to_owned(),
            error: None,
        });
    }
    Plan { writes, codes }
}

/// `rows` with `writes` applied.
pub(super) fn merged(mut rows: Vec<FieldRow>, writes: &[FieldRow]) -> Vec<FieldRow> {
    for w in writes {
        match rows.iter_mut().find(|r| r.name == w.name) {
            Some(r) => *r = w.clone(),
            None => rows.push(w.clone()),
        }
    }
    rows
}

/// A fresh verification code for `field`, and its keyed hash.
fn make_code(
    cfg: &Sep12Config,
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
        expires: now + i64::try_from(cfg.verification.code_ttl_secs).unwrap_or(600),
    }
}
