//! What is stored at rest, read byte by byte: the data folder (SQLite) or
//! every row (PostgreSQL).

use crate::common::recovery::{body, call};
use crate::common::{Engine, TestServer};
use mooring_stellar::Keypair;
use reqwest::Method;

/// Nothing a person could be found by is stored in the clear: the data
/// folder (database, WAL) holds no email address or phone number.
async fn auth_methods_are_not_stored_in_the_clear(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let owner = Keypair::random();
    let token = srv.token_for(&owner, None).await;
    let email = "marker-7f3a9c@recovery-test.example";
    let phone = "+15550007319";
    let (status, _) = call(
        &srv,
        Method::POST,
        &format!("/accounts/{}", owner.public_key()),
        &token,
        Some(&body(&[(
            "owner",
            &[("email", email), ("phone_number", phone)],
        )])),
    )
    .await;
    assert_eq!(status, 200);
    if engine == Engine::Sqlite {
        let mut found = vec![];
        let mut sees_the_account = false;
        let address = owner.public_key().to_string();
        // The database file, its WAL and the data folder.
        for entry in walk(srv.dir.path()) {
            let bytes = std::fs::read(&entry).unwrap();
            sees_the_account |= bytes
                .windows(address.len())
                .any(|w| w == address.as_bytes());
            for marker in [email.as_bytes(), phone.as_bytes()] {
                if bytes.windows(marker.len()).any(|w| w == marker) {
                    found.push(entry.display().to_string());
                }
            }
        }
        assert!(found.is_empty(), "plaintext found in {found:?}");
        // The scan does read the database: the (public) address is there.
        assert!(sees_the_account);
    } else {
        let rows: Vec<(String,)> = sqlx_rows(&srv.db.url).await;
        for (row,) in rows {
            assert!(!row.contains("marker-7f3a9c") && !row.contains("5550007319"));
        }
    }
    srv.stop().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Every SEP-30 row of a PostgreSQL database, as text.
async fn sqlx_rows(url: &str) -> Vec<(String,)> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let mut out = vec![];
    for table in [
        "recovery_accounts",
        "recovery_identities",
        "recovery_auth_methods",
        "recovery_signers",
        "server_keys",
    ] {
        let rows: Vec<(String,)> = sqlx::query_as(&format!("SELECT t::text FROM {table} t"))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        out.extend(rows);
    }
    out
}

crate::on_both_engines!(auth_methods_are_not_stored_in_the_clear,);
