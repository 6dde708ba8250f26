//! Documents on an S3-compatible store, on SQLite and PostgreSQL: a real S3
//! endpoint on loopback (moto's server, from the throwaway virtualenv that
//! `scripts/test` prepares and names in `MOORING_TEST_PYTHON`) receives only
//! ciphertext, in multipart uploads for large documents, and loses every
//! object of a customer who is erased.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use common::customer::{admin_customer, admin_file, put_form};
use common::{Engine, TestServer};
use mooring_server::config::BlobStoreKind;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use url::Url;

const BUCKET: &str = "kyc-documents";
const MARKER: &str = "S3-unique-marker-5519";

/// The virtualenv's interpreter, or `None` (skipped, with a note) outside
/// scripts/test — unless `MOORING_REQUIRE_INTEROP=1`, which scripts/test
/// sets, makes that a failure.
/// moto's S3 server on a free loopback port, stopped on drop.
struct S3Server {
    child: Child,
    url: Url,
}

impl S3Server {
    fn start(python: &str) -> S3Server {
        let mut child = Command::new(python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("moto's server starts");
        // It prints " * Running on http://127.0.0.1:<port>" once listening.
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let mut lines = stderr.lines().map_while(Result::ok);
        let url = lines
            .by_ref()
            .find_map(|l| {
                l.split_once("Running on ")
                    .map(|(_, u)| u.trim().to_owned())
            })
            .expect("moto's server prints its address");
        // Keep draining its log so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        S3Server {
            child,
            url: Url::parse(&url).unwrap(),
        }
    }

    /// Every object in the bucket: (key, bytes).
    async fn objects(&self, http: &reqwest::Client) -> Vec<(String, Vec<u8>)> {
        let list = http
            .get(self.url.join(&format!("{BUCKET}?list-type=2")).unwrap())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut out = Vec::new();
        for part in list.split("<Key>").skip(1) {
            let key = part.split("</Key>").next().unwrap().to_owned();
            let bytes = http
                .get(self.url.join(&format!("{BUCKET}/{key}")).unwrap())
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .to_vec();
            out.push((key, bytes));
        }
        out
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn documents_go_to_s3_encrypted_and_erasure_removes_them(engine: Engine) {
    let Some(python) = common::interop::python() else {
        return;
    };
    let s3 = S3Server::start(&python);
    let http = reqwest::Client::new();
    let created = http.put(s3.url.join(BUCKET).unwrap()).send().await.unwrap();
    assert!(created.status().is_success(), "bucket created");

    let endpoint = s3.url.clone();
    let srv = TestServer::start_with(engine, move |c| {
        c.blobs.store = BlobStoreKind::S3;
        c.blobs.s3.bucket = BUCKET.into();
        c.blobs.s3.region = Some("us-east-1".into());
        c.blobs.s3.endpoint = Some(endpoint);
        c.blobs.s3.access_key_id = Some("testing".into());
        c.blobs.s3.secret_access_key = Some(secrecy::SecretString::from("testing"));
        c.blobs.s3.allow_http = true;
        c.sep12.max_file_bytes = 8 * 1024 * 1024;
    })
    .await;
    let (kp, token) = srv.login().await;

    // A 6 MiB document: more than one 5 MiB part, so a multipart upload.
    let mut front = vec![0xFF, 0xD8, 0xFF, 0xE0];
    front.extend_from_slice(MARKER.as_bytes());
    front.resize(6 * 1024 * 1024, 0x5A);
    front.extend_from_slice(MARKER.as_bytes());
    let mut back = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    back.extend_from_slice(MARKER.as_bytes());
    let form = Form::new()
        .text("first_name", MARKER)
        .part(
            "photo_id_front",
            Part::bytes(front.clone()).file_name("front.jpg"),
        )
        .part(
            "photo_id_back",
            Part::bytes(back.clone()).file_name("back.png"),
        );
    let (status, body) = put_form(&srv, &token, form).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();

    let objects = s3.objects(&http).await;
    assert_eq!(objects.len(), 2, "one object per document");
    for (key, bytes) in &objects {
        assert!(
            !contains(bytes, MARKER.as_bytes()),
            "plaintext in object {key}"
        );
        assert!(!key.contains(&id), "object keys do not name the customer");
    }

    // Read back intact through the admin API.
    let (_, detail) = admin_customer(&srv, &id).await;
    for (field, expected) in [("photo_id_front", &front), ("photo_id_back", &back)] {
        let file_id = detail["fields"][field]["file_id"].as_str().unwrap();
        let got = admin_file(&srv, &id, file_id).await;
        assert_eq!(got.status(), 200, "{field}");
        assert!(
            got.bytes().await.unwrap().as_ref() == expected.as_slice(),
            "{field} read back intact"
        );
    }

    // Erasure removes every object of the customer.
    let path = format!("/customer/{}", kp.public_key());
    let (status, _) = TestServer::send(srv.with_token(Method::DELETE, &path, &token)).await;
    assert_eq!(status, 200);
    let mut left = s3.objects(&http).await;
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        // Deletions run from the database's list right after the commit.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = s3.objects(&http).await;
    }
    assert!(
        left.is_empty(),
        "objects left: {:?}",
        left.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    srv.stop().await;
}

on_both_engines!(documents_go_to_s3_encrypted_and_erasure_removes_them);
