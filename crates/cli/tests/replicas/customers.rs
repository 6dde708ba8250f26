//! SEP-12 across replicas: records in the database and documents in the
//! shared store, so a customer written through one replica reads the same
//! through every other, and an erasure through one is final for all.

use mooring_stellar::Keypair;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use super::{Options, Setup, send};

const MARKER: &str = "replica-marker-7731";

/// A JPEG-looking document carrying `MARKER`, of `len` bytes.
fn document(len: usize) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend_from_slice(MARKER.as_bytes());
    bytes.resize(len, 0x5A);
    bytes
}

/// `PUT /customer` on replica 0 with two fields and a document: the new
/// customer's id.
async fn put_with_document(s: &Setup, token: &str, front: &[u8]) -> String {
    let form = Form::new()
        .text("type", "sep6")
        .text("first_name", MARKER)
        .text("last_name", "Replica")
        .part(
            "photo_id_front",
            Part::bytes(front.to_vec()).file_name("front.jpg"),
        );
    let req = s
        .http
        .put(s.at(0).url("/customer"))
        .bearer_auth(token)
        .multipart(form);
    let (status, got) = send(req).await;
    assert_eq!(status, 202, "PUT /customer on replica 0: {got}");
    got["id"].as_str().unwrap().to_owned()
}

/// The admin API's view of customer `id` on replica `i`.
async fn detail(s: &Setup, i: usize, id: &str) -> (u16, Value) {
    s.admin(i, Method::GET, &format!("/admin/customers/{id}"), None)
        .await
}

/// Written on replica 0, read on 1 (SEP-12 `GET /customer`) and on 2
/// (the admin API, document bytes included); the store holds only
/// ciphertext.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_on_one_replica_is_read_on_another_documents_included() {
    let Some(s) = Setup::start(3, Options::default()).await else {
        return;
    };
    let kp = Keypair::random();
    let token = s.login(&kp).await;
    let front = document(300 * 1024);
    let id = put_with_document(&s, &token, &front).await;

    let url = s.at(1).url(&format!("/customer?id={id}&type=sep6"));
    let (status, got) = s.call(Method::GET, &url, Some(&token), None).await;
    assert_eq!(status, 200, "GET /customer on replica 1: {got}");
    assert_eq!(got["id"], id.as_str());
    for field in ["first_name", "last_name", "photo_id_front"] {
        assert!(
            got["provided_fields"][field].is_object(),
            "{field} is provided on replica 1: {got}"
        );
    }

    let (status, got) = detail(&s, 2, &id).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["fields"]["first_name"]["value"], MARKER);
    let file_id = got["fields"]["photo_id_front"]["file_id"].as_str().unwrap();
    let path = format!("/admin/customers/{id}/files/{file_id}");
    let res = s
        .http
        .get(s.at(2).admin_url(&path))
        .bearer_auth(&s.cluster.keys.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.bytes().await.unwrap() == front,
        "read back intact on replica 2"
    );

    let keys = s.s3.keys().await.unwrap();
    assert_eq!(keys.len(), 1, "one object for one document: {keys:?}");
    let stored = s
        .http
        .get(
            s.s3.endpoint
                .join(&format!("{}/{}", super::BUCKET, keys[0]))
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        !stored.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
        "the store holds ciphertext only"
    );
    s.finish().await;
}

/// SEP-12 `DELETE /customer/{account}` on replica 1 erases everywhere:
/// replicas 0 and 2 no longer know the customer, their admin APIs answer
/// 404 for it and its document, and the store lost the object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_on_one_replica_is_seen_by_all() {
    let Some(s) = Setup::start(3, Options::default()).await else {
        return;
    };
    let kp = Keypair::random();
    let token = s.login(&kp).await;
    let id = put_with_document(&s, &token, &document(64 * 1024)).await;
    let (_, got) = detail(&s, 0, &id).await;
    let file_id = got["fields"]["photo_id_front"]["file_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Every replica has read the customer (and so cached what it caches).
    for i in 0..3 {
        assert_eq!(detail(&s, i, &id).await.0, 200, "replica {i} knows it");
    }

    let url = s.at(1).url(&format!("/customer/{}", kp.public_key()));
    let (status, got) = s.call(Method::DELETE, &url, Some(&token), None).await;
    assert_eq!(status, 200, "DELETE on replica 1: {got}");

    for i in [0, 2] {
        let url = s.at(i).url(&format!("/customer?id={id}"));
        let (status, got) = s.call(Method::GET, &url, Some(&token), None).await;
        assert_eq!(status, 404, "SEP-12 GET on replica {i}: {got}");
        assert_eq!(detail(&s, i, &id).await.0, 404, "admin view on replica {i}");
        let path = format!("/admin/customers/{id}/files/{file_id}");
        let (status, _) = s.admin(i, Method::GET, &path, None).await;
        assert_eq!(status, 404, "the document on replica {i}");
    }
    let mut left = s.s3.keys().await.unwrap();
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        // Objects are deleted from the database's list after the commit.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = s.s3.keys().await.unwrap();
    }
    assert!(left.is_empty(), "objects left in the store: {left:?}");
    s.finish().await;
}
