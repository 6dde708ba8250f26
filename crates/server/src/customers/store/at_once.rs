//! SQLite: a `PUT /customer` of text fields written in one round trip.
//!
//! Each statement sqlx runs on SQLite is a message to the connection's own
//! thread and an answer back: two thread wake-ups, which on a loaded
//! machine cost more than the statement. A PUT written statement by
//! statement (`BEGIN`, the customer row, the fields, `COMMIT`) made four of
//! them; here the statements go as one multi-statement query, and SQLite's
//! `changes()` stands in for the check between them: the fields are
//! written only if the customer row was.

use sqlx::{Row as _, SqliteConnection};

use super::{FIELD_COLUMNS, FIELD_UPSERT, FieldRow, field_values};
use crate::customers::owner::CustomerKey;
use crate::db::DbError;

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

/// Writes `put` on `conn` in one round trip; `Ok(false)`, with nothing
/// written, if the customer changed since it was read (or a new one's key
/// was taken). With `own_transaction` the statements are wrapped in
/// `BEGIN IMMEDIATE … COMMIT`; otherwise they run in the transaction `conn`
/// is in. After an error a transaction of its own may be left open: the
/// caller rolls it back.
pub async fn put_at_once(
    conn: &mut SqliteConnection,
    put: AtOnce<'_>,
    own_transaction: bool,
) -> Result<bool, DbError> {
    let sql = statements(put.head, put.fields.len(), own_transaction);
    let mut q = sqlx::query(&sql).bind(put.id);
    q = match put.head {
        Head::New { key, data_key } => q
            .bind(key.account.to_string())
            .bind(key.memo_value())
            .bind(key.memo_kind())
            .bind(data_key)
            .bind(put.last_type)
            .bind(put.now),
        Head::Existing { version } => q.bind(version).bind(put.last_type).bind(put.now),
    };
    for f in put.fields {
        q = q
            .bind(&f.name)
            .bind(&f.value)
            .bind(&f.file_id)
            .bind(&f.fingerprint)
            .bind(&f.status)
            .bind(&f.error);
    }
    let rows = q.fetch_all(conn).await?;
    // The customer row's statement returns its id when it wrote; nothing
    // else returns rows.
    Ok(rows.len() == 1 && rows[0].try_get::<String, _>(0).is_ok_and(|id| id == put.id))
}

/// The statements for a head and a number of fields. `$1` is the
/// customer's id; then the head's parameters (the last is the time); then
/// six per field.
fn statements(head: Head<'_>, fields: usize, own_transaction: bool) -> String {
    let mut sql = String::new();
    if own_transaction {
        sql.push_str("BEGIN IMMEDIATE; ");
    }
    let (now, first) = match head {
        Head::New { .. } => {
            sql.push_str(
                "INSERT INTO customers (id, account, memo, memo_type, data_key, last_type, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (account, memo, memo_type) DO NOTHING RETURNING id; ",
            );
            (7, 8)
        }
        Head::Existing { .. } => {
            sql.push_str(
                "UPDATE customers SET last_type = $3, updated_at = $4, version = version + 1 \
                 WHERE id = $1 AND version = $2 RETURNING id; ",
            );
            (4, 5)
        }
    };
    if fields > 0 {
        // `changes()` is the number of rows the statement before wrote: the
        // customer row's (SQLite §Core Functions). The WHERE also settles
        // the parsing ambiguity of an upsert after a SELECT (SQLite §UPSERT).
        sql.push_str(&format!(
            "INSERT INTO customer_fields {FIELD_COLUMNS} SELECT * FROM (VALUES {}) WHERE changes() = 1{FIELD_UPSERT}; ",
            field_values(fields, first, now)
        ));
    }
    if own_transaction {
        sql.push_str("COMMIT;");
    }
    sql
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
        let mut w = s.write.get().await.unwrap();
        assert!(
            put_at_once(&mut w, put("c1", new, &first), true)
                .await
                .unwrap()
        );
        // The same key again, under another id: taken, nothing written.
        assert!(
            !put_at_once(&mut w, put("c2", new, &first), true)
                .await
                .unwrap()
        );
        let at_zero = Head::Existing { version: 0 };
        let second = [field("first_name", b"x")];
        assert!(
            put_at_once(&mut w, put("c1", at_zero, &second), true)
                .await
                .unwrap()
        );
        // Worked out from version 0, which is gone: nothing written.
        let stale = [field("first_name", b"stale"), field("city", b"y")];
        assert!(
            !put_at_once(&mut w, put("c1", at_zero, &stale), true)
                .await
                .unwrap()
        );
        drop(w);
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
        let mut w = s.write.get().await.unwrap();
        assert!(
            put_at_once(&mut w, put("c1", Head::Existing { version: 1 }, &[]), true)
                .await
                .unwrap(),
            "the failed transaction was rolled back and its version bump with it"
        );
        drop(w);
        assert_eq!(stored(&db, "c1").await.0, 2);
        db.close().await;
    }
}
