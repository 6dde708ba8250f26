//! `mooring backup` and `mooring restore` on SQLite: a backup taken while
//! customers keep writing restores on a fresh data folder with every write
//! acknowledged before it began, documents included; and an erasure made
//! after a backup stays effective once the master key of that backup is
//! retired (README §Backups: erase, rotate, back up again, retire the old
//! key and the old backups).

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::customer::{admin_customer, admin_file, put_form};
use common::{Engine, TestServer, base_config};
use mooring_server::backup::{backup, restore};
use mooring_server::config::Config;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use tokio::sync::Mutex;

const OLD: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const NEW: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

/// A JPEG's magic bytes and a body that names its customer.
fn jpeg(n: u64) -> Vec<u8> {
    let mut doc = vec![0xFF, 0xD8, 0xFF, 0xE0];
    doc.extend_from_slice(format!("document of customer {n} ").as_bytes());
    doc.extend(std::iter::repeat_n(b'x', 20_000));
    doc
}

/// One acknowledged write: the customer's id and memo (what it sent
/// follows from the memo).
#[derive(Clone)]
struct Acked {
    id: String,
    memo: u64,
}

/// The configuration of `srv`'s own data folder and database.
fn config_of(srv: &TestServer) -> Config {
    base_config(srv.dir.path(), &srv.db.url, &srv.horizon.url, &srv.signing)
}

/// A server on the data folder `data` (a restored one), as a replica of
/// `srv` with `master_key` and no previous keys.
async fn on_folder(srv: &TestServer, data: &Path, master_key: &str) -> TestServer {
    let data = data.to_owned();
    let key = master_key.to_owned();
    srv.replica_with(move |c| {
        c.database_url = Some(format!("sqlite://{}", data.join("mooring.db").display()).into());
        c.data_dir = data;
        c.secrets.master_key = Some(key.into());
        c.secrets.previous_master_keys = vec![];
    })
    .await
}

/// The restore's configuration: `data` as the data folder.
fn restored_config(srv: &TestServer, data: &Path, master_key: &str) -> Config {
    let mut c = config_of(srv);
    c.database_url = Some(format!("sqlite://{}", data.join("mooring.db").display()).into());
    c.data_dir = data.to_owned();
    c.secrets.master_key = Some(master_key.to_owned().into());
    c
}

/// Each customer's fields and document, as the admin API reads them.
async fn assert_intact(srv: &TestServer, acked: &[Acked]) {
    for a in acked {
        let (status, detail) = admin_customer(srv, &a.id).await;
        assert_eq!(
            status, 200,
            "customer {} is in the restore: {detail}",
            a.memo
        );
        assert_eq!(
            detail["fields"]["first_name"]["value"],
            format!("Customer {}", a.memo)
        );
        let file_id = detail["fields"]["photo_id_front"]["file_id"]
            .as_str()
            .expect("the document is referenced");
        let got = admin_file(srv, &a.id, file_id).await;
        assert_eq!(got.status(), 200);
        assert_eq!(got.bytes().await.unwrap().as_ref(), jpeg(a.memo).as_slice());
    }
}

#[tokio::test]
async fn a_backup_under_write_load_restores_every_acknowledged_write() {
    let srv = Arc::new(TestServer::start(Engine::Sqlite).await);
    let (wallet, token) = srv.login().await;
    let acked = Arc::new(Mutex::new(Vec::<Acked>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    // Two writers, each PUTting customers (fields and a document) under
    // memos of their own until told to stop.
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let (srv, token, acked, stop) =
                (srv.clone(), token.clone(), acked.clone(), stop.clone());
            tokio::spawn(async move {
                let mut memo = w * 1_000_000;
                while !stop.load(Ordering::Relaxed) {
                    memo += 1;
                    let form = Form::new()
                        .text("memo", memo.to_string())
                        .text("memo_type", "id")
                        .text("first_name", format!("Customer {memo}"))
                        .part(
                            "photo_id_front",
                            Part::bytes(jpeg(memo)).file_name("id.jpg"),
                        );
                    let (status, body) = put_form(&srv, &token, form).await;
                    assert_eq!(status, 202, "{body}");
                    let id = body["id"].as_str().unwrap().to_owned();
                    acked.lock().await.push(Acked { id, memo });
                }
            })
        })
        .collect();
    while acked.lock().await.len() < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let folder = tempfile::tempdir().unwrap();
    let first = folder.path().join("first");
    // Whatever was acknowledged before the backup began must be in it.
    let before = acked.lock().await.clone();
    let manifest = backup(&config_of(&srv), &first).await.unwrap();
    let during = acked.lock().await.len();
    assert!(
        manifest.documents >= before.len() as u64,
        "{manifest:?} for {} customers",
        before.len()
    );
    assert_eq!(manifest.missing, 0);
    // Writes went on while it ran; now stop them.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    assert!(
        acked.lock().await.len() > during,
        "writers kept writing after the backup"
    );
    assert!(
        backup(&config_of(&srv), &first).await.is_err(),
        "a backup never writes over another"
    );

    // One customer from before the backup is erased after it.
    let erased = before[0].clone();
    let path = format!("/customer/{}", wallet.public_key());
    let del = srv
        .with_token(Method::DELETE, &path, &token)
        .json(&serde_json::json!({"memo": erased.memo.to_string(), "memo_type": "id"}));
    assert_eq!(TestServer::send(del).await.0, 200);

    // Restored on a fresh folder: every write acknowledged before it began.
    let fresh = folder.path().join("fresh/data");
    let restored = restore(&restored_config(&srv, &fresh, OLD), &first)
        .await
        .unwrap();
    assert_eq!(restored.unreadable, 0);
    assert_eq!(restored.manifest, manifest);
    assert!(
        restore(&restored_config(&srv, &fresh, OLD), &first)
            .await
            .is_err(),
        "a restore never writes over a database"
    );
    let back = on_folder(&srv, &fresh, OLD).await;
    assert_intact(&back, &before).await;
    back.stop().await;

    // The procedure after an erasure: rotate the master key, back up
    // again, retire the old key (and the backups it reads).
    let mut rotate = config_of(&srv);
    rotate.secrets.master_key = Some(NEW.to_owned().into());
    rotate.secrets.previous_master_keys = vec![OLD.to_owned().into()];
    mooring_server::rotate::rotate(&rotate).await.unwrap();
    let second = folder.path().join("second");
    backup(&config_of(&srv), &second).await.unwrap();

    // The old backup, restored once the old key is retired: nothing in it
    // can be read, the erased customer included.
    let old = folder.path().join("old/data");
    let restored = restore(&restored_config(&srv, &old, NEW), &first)
        .await
        .unwrap();
    assert_eq!(restored.readable, 0, "{restored:?}");
    assert!(restored.unreadable > before.len() as u64);

    // The new backup: readable with the new key alone, without the erased
    // customer.
    let new = folder.path().join("new/data");
    let restored = restore(&restored_config(&srv, &new, NEW), &second)
        .await
        .unwrap();
    assert_eq!(restored.unreadable, 0, "{restored:?}");
    let back = on_folder(&srv, &new, NEW).await;
    let (status, _) = admin_customer(&back, &erased.id).await;
    assert_eq!(status, 404, "erased before this backup");
    assert_intact(&back, &before[1..]).await;
    back.stop().await;
    Arc::into_inner(srv).unwrap().stop().await;
}

/// PostgreSQL has its own tools; the error says how to use them.
#[tokio::test]
async fn postgres_is_backed_up_with_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = base_config(
        dir.path(),
        "postgres://postgres@127.0.0.1:1/none",
        &url::Url::parse("http://127.0.0.1:1").unwrap(),
        &mooring_stellar::Keypair::random(),
    );
    c.database_url = Some("postgres://postgres@127.0.0.1:1/none".to_owned().into());
    let err = backup(&c, &dir.path().join("b")).await.unwrap_err();
    assert!(err.to_string().contains("pg_dump"), "{err}");
    assert!(!dir.path().join("b").exists(), "nothing written");
}
