//! Mooring's own client library (`mooring_client::sep12`) against this
//! anchor: the fields asked for by type, only those sent from a larger
//! profile, a document streamed, the status read, the customer deleted.

use std::collections::BTreeMap;

use mooring_client::sep12::{Document, KycServer, Who};
use url::Url;

use crate::common::{Engine, TestServer};
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
