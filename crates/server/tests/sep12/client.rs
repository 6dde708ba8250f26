//! Mooring's own client library (`mooring_client::sep12`) against this
//! anchor: the fields asked for by type, only those sent from a larger
//! profile, a document streamed, the status read, the customer deleted;
//! a status callback set and received.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use mooring_client::sep12::{Document, KycServer, Who};
use reqwest::Method;
use url::Url;

use crate::common::{Engine, TestServer, serve};
use crate::on_both_engines;

async fn the_client_library_sends_each_anchor_only_what_it_asks(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (kp, token) = srv.login().await;
    let home = Url::parse(&srv.url("")).unwrap();
    let kyc = KycServer::discover(reqwest::Client::new(), &home, token)
        .await
        .expect("KYC_SERVER is discovered");

    let who = Who {
        kind: Some("sep31-sender".into()),
        ..Who::default()
    };
    let asked = kyc.customer(&who).await.expect("GET /customer");
    assert_eq!(asked.status, "NEEDS_INFO");
    let profile: BTreeMap<String, String> = [
        ("first_name", "Ana"),
        ("last_name", "Silva"),
        ("email_address", "ana@example.com"),
        ("bank_account_number", "12345678"),
        ("id_number", "AB123456"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert!(asked.missing(&profile).is_empty(), "{asked:?}");
    let wanted = asked.wanted(&profile);
    assert_eq!(
        wanted.keys().collect::<Vec<_>>(),
        ["email_address", "first_name", "last_name"],
        "only what the type asks for leaves the profile"
    );
    let id = kyc.put(&who, &wanted).await.expect("PUT /customer");
    let who = Who {
        id: Some(id.clone()),
        ..who
    };
    let now = kyc.customer(&who).await.expect("read back");
    assert_eq!(now.status, "PROCESSING");
    assert_eq!(
        now.provided_fields.keys().collect::<Vec<_>>(),
        ["email_address", "first_name", "last_name"]
    );

    // A document, streamed as multipart.
    let jpeg = [&[0xFF, 0xD8, 0xFF, 0xE0][..], b"passport scan"].concat();
    let doc = Document {
        field: "photo_id_front".into(),
        file_name: "front.jpg".into(),
        content_type: "image/jpeg".into(),
        length: jpeg.len() as u64,
        body: reqwest::Body::from(jpeg),
    };
    let sep6 = Who {
        id: Some(id.clone()),
        kind: Some("sep6".into()),
        ..Who::default()
    };
    let again = kyc
        .put_documents(&sep6, &BTreeMap::new(), vec![doc])
        .await
        .expect("PUT /customer with a document");
    assert_eq!(again, id);
    let with_doc = kyc.customer(&sep6).await.expect("read back");
    assert!(
        with_doc.provided_fields.contains_key("photo_id_front"),
        "{with_doc:?}"
    );

    kyc.delete(&kp.public_key().to_string(), None)
        .await
        .expect("DELETE /customer");
    let gone = kyc.customer(&who).await.expect_err("erased");
    assert!(gone.to_string().contains("SEP-12 GET /customer"), "{gone}");
    srv.stop().await;
}

on_both_engines!(the_client_library_sends_each_anchor_only_what_it_asks);

/// A wallet waiting by callback: `set_callback`, then the anchor's decision
/// arrives as a POST of the customer's status.
async fn the_client_library_sets_a_status_callback(engine: Engine) {
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/kyc",
        axum::routing::post(move |body: String| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body);
                axum::http::StatusCode::OK
            }
        }),
    );
    let receiver = serve(app).await;
    let host = format!("127.0.0.1:{}", receiver.port().unwrap());
    let srv = TestServer::start_with(engine, move |c| {
        c.sep12.callbacks.allow_http_hosts = vec![host];
    })
    .await;
    let (_, token) = srv.login().await;
    let home = Url::parse(&srv.url("")).unwrap();
    let kyc = KycServer::discover(reqwest::Client::new(), &home, token)
        .await
        .unwrap();
    let fields: BTreeMap<String, String> = [
        ("first_name", "Ana"),
        ("last_name", "Silva"),
        ("email_address", "ana@example.com"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let who = Who {
        kind: Some("sep31-sender".into()),
        ..Who::default()
    };
    let id = kyc.put(&who, &fields).await.unwrap();
    let who = Who {
        id: Some(id.clone()),
        ..who
    };
    kyc.set_callback(&who, &receiver.join("/kyc").unwrap())
        .await
        .expect("PUT /customer/callback");

    let res = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/accept"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    for _ in 0..100 {
        let seen = got.lock().unwrap().clone();
        if let Some(last) = seen.last() {
            let body: serde_json::Value = serde_json::from_str(last).unwrap();
            if body["status"] == "ACCEPTED" {
                assert_eq!(body["id"], id.as_str());
                srv.stop().await;
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no ACCEPTED callback: {:?}", got.lock().unwrap());
}

on_both_engines!(the_client_library_sets_a_status_callback);
