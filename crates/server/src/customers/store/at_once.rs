//! SQLite: a `PUT /customer` of text fields written on the calling thread
//! ([`crate::db::Inline`]), in a transaction of its own: the customer row
//! (only if still at the version the PUT was worked out from, or, for a
//! new customer, if its key is still free), then its fields. On sqlx each
//! statement was a round trip to the connection's thread, two thread
//! wake-ups that cost more than the statements; written as one
//! multi-statement query it was still one round trip per PUT.

use rusqlite::ToSql;

use super::{FIELD_COLUMNS, FIELD_UPSERT, FieldRow, field_values};
use crate::customers::owner::CustomerKey;
use crate::db::{DbError, SqliteDb, prepare_numbered};

/// The customer row a PUT writes.
#[derive(Debug, Clone, Copy)]
pub enum Head<'a> {
    /// A new customer, inserted unless a customer with its key appeared
    /// meanwhile.
    New {
        /// Its key.
        key: &'a CustomerKey,
        /// Its wrapped data key.
        data_key: &'a [u8],
    },
    /// An existing customer, updated only if still at `version`.
    Existing {
        /// The version the PUT was worked out from.
        version: i64,
    },
}

/// What one PUT writes.
#[derive(Debug, Clone, Copy)]
pub struct AtOnce<'a> {
    /// The customer.
    pub id: &'a str,
    /// Its row.
    pub head: Head<'a>,
    /// The request's type.
    pub last_type: &'a str,
    /// The fields.
    pub fields: &'a [FieldRow],
    /// Unix seconds.
    pub now: i64,
}

/// The customer row's statement: `$1` is the customer's id, then the
/// head's parameters, the last of them the time. It returns the id when it
/// wrote. Answers the statement, the time's number and the first field
/// parameter's number.
fn head_statement(head: Head<'_>) -> (&'static str, usize, usize) {
    match head {
        Head::New { .. } => (
            "INSERT INTO customers (id, account, memo, memo_type, data_key, last_type, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (account, memo, memo_type) DO NOTHING RETURNING id",
            7,
            8,
        ),
        Head::Existing { .. } => (
            "UPDATE customers SET last_type = $3, updated_at = $4, version = version + 1 \
             WHERE id = $1 AND version = $2 RETURNING id",
            4,
            5,
        ),
    }
}

/// Writes `puts` in one transaction, in order; for each, `false`, with
/// nothing of it written, if its customer changed since it was read (or a
/// new one's key was taken).
pub async fn put_at_once(s: &SqliteDb, puts: &[AtOnce<'_>]) -> Result<Vec<bool>, DbError> {
    s.write_here(|tx| puts.iter().map(|put| write(tx, put)).collect())
        .await
}

/// One PUT's statements, in the transaction `tx`.
fn write(tx: &rusqlite::Transaction<'_>, put: &AtOnce<'_>) -> rusqlite::Result<bool> {
    let (head_sql, now, first) = head_statement(put.head);
    // In the statements' numbering: the id, the head's, six per field.
    let (account, memo, memo_type);
    let mut values: Vec<&dyn ToSql> = Vec::with_capacity(first + 6 * put.fields.len());
    values.push(&put.id);
    match &put.head {
        Head::New { key, data_key } => {
            (account, memo, memo_type) =
                (key.account.to_string(), key.memo_value(), key.memo_kind());
            values.extend::<[&dyn ToSql; 4]>([&account, &memo, &memo_type, data_key]);
        }
        Head::Existing { version } => values.push(version),
    }
    values.extend::<[&dyn ToSql; 2]>([&put.last_type, &put.now]);
    for f in put.fields {
        values.extend::<[&dyn ToSql; 6]>([
            &f.name,
            &f.value,
            &f.file_id,
            &f.fingerprint,
            &f.status,
            &f.error,
        ]);
    }
    let written = prepare_numbered(tx, head_sql, &values)?
        .raw_query()
        .next()?
        .is_some();
    if written && !put.fields.is_empty() {
        let sql = format!(
            "INSERT INTO customer_fields {FIELD_COLUMNS} VALUES {}{FIELD_UPSERT}",
            field_values(put.fields.len(), first, now)
        );
        prepare_numbered(tx, &sql, &values)?.raw_execute()?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use mooring_stellar::Keypair;

    use super::*;
    use crate::db::Db;

    fn field(name: &str, value: &[u8]) -> FieldRow {
        FieldRow {
            name: name.into(),
            value: Some(value.to_vec()),
            file_id: None,
            fingerprint: value.to_vec(),
            status: "PROCESSING".into(),
            error: None,
        }
    }

    async fn stored(db: &Db, id: &str) -> (i64, Vec<(String, Vec<u8>)>) {
        let Db::Sqlite(s) = db else { unreachable!() };
        let mut r = s.read.get().await.unwrap();
        let (version,): (i64,) = sqlx::query_as("SELECT version FROM customers WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *r)
            .await
            .unwrap();
        let fields = sqlx::query_as(
            "SELECT name, value FROM customer_fields WHERE customer_id = $1 ORDER BY name",
        )
        .bind(id)
        .fetch_all(&mut *r)
        .await
        .unwrap();
        (version, fields)
    }

    #[tokio::test]
    async fn writes_only_what_was_worked_out_from_the_current_version() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let db = Db::connect(&url, 2).await.unwrap();
        db.migrate().await.unwrap();
        let Db::Sqlite(s) = &db else { unreachable!() };
        let key = CustomerKey {
            account: Keypair::random().public_key(),
            memo: None,
        };
        let put = |id, head, fields| AtOnce {
            id,
            head,
            last_type: "sep31-sender",
            fields,
            now: 1,
        };
        let new = Head::New {
            key: &key,
            data_key: b"k",
        };
        let first = [field("first_name", b"a"), field("last_name", b"b")];
        assert!(put_at_once(s, &[put("c1", new, &first)]).await.unwrap()[0]);
        // The same key again, under another id: taken, nothing written.
        assert!(!put_at_once(s, &[put("c2", new, &first)]).await.unwrap()[0]);
        let at_zero = Head::Existing { version: 0 };
        let second = [field("first_name", b"x")];
        assert!(
            put_at_once(s, &[put("c1", at_zero, &second)])
                .await
                .unwrap()[0]
        );
        // Worked out from version 0, which is gone: nothing written.
        let stale = [field("first_name", b"stale"), field("city", b"y")];
        assert!(!put_at_once(s, &[put("c1", at_zero, &stale)]).await.unwrap()[0]);
        let (version, fields) = stored(&db, "c1").await;
        assert_eq!(version, 1);
        assert_eq!(
            fields,
            [
                ("first_name".into(), b"x".to_vec()),
                ("last_name".into(), b"b".to_vec())
            ]
        );
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM customers")
            .fetch_one(&mut *s.read.get().await.unwrap())
            .await
            .unwrap();
        assert_eq!(n, 1);

        // A statement that fails part-way (a field row breaking NOT NULL)
        // leaves the transaction open; the connection is rolled back
        // before it is lent again, and nothing of it is kept.
        let mut w = s.write.get().await.unwrap();
        w.set_in_transaction(true);
        let err = sqlx::query(
            "BEGIN IMMEDIATE; UPDATE customers SET version = version + 1 WHERE id = 'c1'; \
             INSERT INTO customer_fields (customer_id, name, fingerprint, status, updated_at) VALUES ('c1', 'city', NULL, 'x', 1); COMMIT;",
        )
        .execute(&mut *w)
        .await;
        assert!(err.is_err(), "NOT NULL holds");
        drop(w);
        assert!(
            put_at_once(s, &[put("c1", Head::Existing { version: 1 }, &[])])
                .await
                .unwrap()[0],
            "the failed transaction was rolled back and its version bump with it"
        );
        assert_eq!(stored(&db, "c1").await.0, 2);

        // In one transaction, in order: the second PUT worked out from the
        // same version as the first finds it gone.
        let at_two = Head::Existing { version: 2 };
        let (a, b) = ([field("city", b"a")], [field("city", b"b")]);
        let both = put_at_once(s, &[put("c1", at_two, &a), put("c1", at_two, &b)]).await;
        assert_eq!(both.unwrap(), [true, false]);
        let (version, fields) = stored(&db, "c1").await;
        assert_eq!(version, 3);
        assert!(fields.contains(&("city".into(), b"a".to_vec())));
        db.close().await;
    }
}
