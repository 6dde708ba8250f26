//! Nothing personal stored in the clear, and erasure that leaves nothing,
//! checked byte by byte in the database files and the document store.

use common::customer::{admin_customer, admin_file, put_form};
use common::{Engine, TestServer};
use reqwest::Method;
use reqwest::multipart::{Form, Part};

use crate::common;
use crate::on_both_engines;

/// Every file under `dir`, with its bytes.
fn all_files(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn nothing_personal_is_stored_in_the_clear_and_erasure_leaves_nothing(engine: Engine) {
    const MARKER: &str = "ZQXJ-unique-marker-7731";
    let srv = TestServer::start(engine).await;
    let (kp, token) = srv.login().await;
    let data = srv.dir.path().join("data");
    let mut before = Vec::new();
    all_files(&data.join("blobs"), &mut before);
    let mut doc = vec![0xFF, 0xD8, 0xFF, 0xE0];
    doc.extend_from_slice(MARKER.as_bytes());
    doc.extend(std::iter::repeat_n(b'x', 200_000));
    let form = Form::new()
        .text("first_name", format!("Ann {MARKER}"))
        .text("address", format!("1 {MARKER} Street\nSpringfield"))
        .text("email_address", "zqxj.marker.7731@example.com")
        .part(
            "photo_id_front",
            Part::bytes(doc.clone()).file_name("id.jpg"),
        );
    let (status, body) = put_form(&srv, &token, form).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    // The admin API reads the document back intact: it was stored.
    let (_, detail) = admin_customer(&srv, &id).await;
    let file_id = detail["fields"]["photo_id_front"]["file_id"]
        .as_str()
        .unwrap();
    let got = admin_file(&srv, &id, file_id).await;
    assert_eq!(got.headers()["content-type"], "image/jpeg");
    assert_eq!(got.bytes().await.unwrap().as_ref(), doc.as_slice());

    // Every byte under the server's folder: database, WAL, documents.
    let mut files = Vec::new();
    all_files(srv.dir.path(), &mut files);
    if engine == Engine::Sqlite {
        assert!(
            files
                .iter()
                .any(|(p, _)| p.ends_with("test.db-wal") || p.ends_with("test.db"))
        );
    }
    for needle in [MARKER.as_bytes(), b"zqxj.marker.7731@example.com"] {
        for (path, bytes) in &files {
            assert!(!contains(bytes, needle), "plaintext in {}", path.display());
        }
    }
    if engine == Engine::Postgres {
        // PostgreSQL's files are not in the data folder: read every row as text.
        let dump = db_dump(&srv.db.url).await;
        assert!(
            !dump.contains(MARKER) && !dump.contains("zqxj.marker"),
            "plaintext in PostgreSQL"
        );
    }

    // Erasure: rows, documents and the data key are gone.
    let path = format!("/customer/{}", kp.public_key());
    assert_eq!(
        TestServer::send(srv.with_token(Method::DELETE, &path, &token))
            .await
            .0,
        200
    );
    let mut after = Vec::new();
    all_files(&data.join("blobs"), &mut after);
    assert_eq!(
        after.len(),
        before.len(),
        "document count back where it was"
    );
    let counts = row_counts(&srv.db.url, &id).await;
    assert_eq!(
        counts,
        [0, 0, 0, 0],
        "customers, fields, files, codes of {id}"
    );
    let mut files = Vec::new();
    all_files(srv.dir.path(), &mut files);
    for (path, bytes) in &files {
        assert!(
            !contains(bytes, MARKER.as_bytes()),
            "plaintext in {} after erasure",
            path.display()
        );
    }
    srv.stop().await;
}

async fn row_counts(url: &str, id: &str) -> [i64; 4] {
    let db = mooring_server::db::Db::connect(url, 1).await.unwrap();
    let mut out = [0; 4];
    for (i, sql) in [
        "SELECT COUNT(*) FROM customers WHERE id = $1",
        "SELECT COUNT(*) FROM customer_fields WHERE customer_id = $1",
        "SELECT COUNT(*) FROM files WHERE customer_id = $1",
        "SELECT COUNT(*) FROM verification_codes WHERE customer_id = $1",
    ]
    .iter()
    .enumerate()
    {
        out[i] = match &db {
            mooring_server::db::Db::Sqlite(s) => {
                let mut reader = s.read.get().await.unwrap();
                sqlx::query_scalar(sql)
                    .bind(id)
                    .fetch_one(&mut *reader)
                    .await
                    .unwrap()
            }
            mooring_server::db::Db::Postgres(p) => {
                sqlx::query_scalar(sql).bind(id).fetch_one(p).await.unwrap()
            }
        };
    }
    db.close().await;
    out
}

async fn db_dump(url: &str) -> String {
    let db = mooring_server::db::Db::connect(url, 1).await.unwrap();
    let mut out = String::new();
    if let mooring_server::db::Db::Postgres(p) = &db {
        for table in [
            "customers",
            "customer_fields",
            "files",
            "audit_log",
            "callback_outbox",
        ] {
            let rows: Vec<String> =
                sqlx::query_scalar(&format!("SELECT row_to_json(t)::text FROM {table} t"))
                    .fetch_all(p)
                    .await
                    .unwrap();
            out.push_str(&rows.join("\n"));
        }
    }
    db.close().await;
    out
}

on_both_engines!(nothing_personal_is_stored_in_the_clear_and_erasure_leaves_nothing);
