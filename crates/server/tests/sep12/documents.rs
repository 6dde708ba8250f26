//! SEP-12 documents and erasure: uploads refused or kept, files listed
//! and referenced, bodies bounded, and DELETE that leaves nothing.

use common::customer::{put_form, put_json, put_once, upload_file};
use common::{Engine, TestServer, assert_error};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::json;

use super::{files_in, get, png};
use crate::common;
use crate::on_both_engines;

async fn a_bad_document_is_refused_with_a_clear_message(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (_, token) = srv.login().await;
    let blobs = srv.dir.path().join("data/blobs");
    let before = files_in(&blobs);
    let form = Form::new().text("first_name", "Ann").part(
        "photo_id_front",
        Part::bytes(b"GIF89a-not-an-id".to_vec()).file_name("id.gif"),
    );
    // Refused requests go on their own connections.
    let (status, body) = TestServer::send(put_once(&srv, &token).multipart(form)).await;
    assert_error(
        (status, body),
        400,
        "'photo_id_front' cannot be decoded. Must be jpg or png.",
    );
    assert_eq!(files_in(&blobs), before, "nothing left behind");
    // A PDF is fine where documents are accepted, not where an image is.
    let form = Form::new().part(
        "photo_proof_residence",
        Part::bytes(b"%PDF-1.7 ...".to_vec()),
    );
    assert_eq!(put_form(&srv, &token, form).await.0, 202);
    let upload = Form::new().part(
        "file",
        Part::bytes(b"%PDF-1.7 ...".to_vec()).file_name("doc.pdf"),
    );
    let (_, file) = upload_file(&srv, &token, upload).await;
    assert_error(
        put_json(
            &srv,
            &token,
            json!({"photo_id_front_file_id": file["file_id"]}),
        )
        .await,
        400,
        "'photo_id_front' cannot be decoded. Must be jpg or png.",
    );
    srv.stop().await;
}

async fn a_too_large_body_is_refused_and_the_server_stays_healthy(engine: Engine) {
    let srv = TestServer::start_with(engine, |c| {
        c.sep12.max_file_bytes = 64 * 1024;
        c.sep12.max_request_bytes = 128 * 1024;
    })
    .await;
    let (_, token) = srv.login().await;
    // Declared too large: answered 413 before a byte of the body is sent.
    {
        let answer = srv
            .declared_body(
                "PUT",
                "/customer",
                &token,
                "multipart/form-data; boundary=X",
                500_000_000,
            )
            .await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(
            answer.contains("request body is too large: the limit is 131072 bytes"),
            "{answer}"
        );
    }
    // A file over the per-file limit inside a body under the request limit.
    let form = Form::new().part("photo_id_front", Part::bytes(png(&vec![0; 100 * 1024])));
    // Refused requests go on their own connections.
    let (status, body) = TestServer::send(put_once(&srv, &token).multipart(form)).await;
    assert_error(
        (status, body),
        413,
        "'photo_id_front' is larger than the 65536-byte limit",
    );
    // Streamed without a length: cut off at the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..64).map(|_| Ok(vec![b'a'; 8192])).collect();
    let stream = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let res = put_once(&srv, &token)
        .header("content-type", "multipart/form-data; boundary=X")
        .body(stream)
        .send()
        .await;
    // The server answers (or closes) as soon as the limit is crossed; a
    // client still writing may see the connection close before the answer.
    match res {
        Ok(r) => assert!(matches!(r.status().as_u16(), 413 | 400), "{}", r.status()),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    assert_eq!(srv.get_json("/health").await, json!({"status": "ok"}));
    assert_eq!(
        put_json(&srv, &token, json!({"first_name": "Still fine"}))
            .await
            .0,
        202
    );
    srv.stop().await;
}

async fn files_are_uploaded_referenced_and_listed(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (_, token) = srv.login().await;
    let upload = Form::new().part(
        "file",
        Part::bytes(png(b"front"))
            .file_name("front.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let (status, file) = upload_file(&srv, &token, upload).await;
    assert_eq!(status, 200, "{file}");
    let file_id = file["file_id"].as_str().unwrap().to_owned();
    assert!(file_id.starts_with("file_"));
    assert_eq!(
        (file["content_type"].as_str(), file["size"].as_i64()),
        (Some("image/png"), Some(17))
    );
    assert!(file["customer_id"].is_null());
    assert!(file["expires_at"].as_str().unwrap().ends_with('Z'));
    // Another account cannot use it.
    let (_, other) = srv.login().await;
    assert_error(
        put_json(&srv, &other, json!({"photo_id_front_file_id": file_id})).await,
        400,
        "'photo_id_front_file_id' does not name a file uploaded with POST /customer/files by this account",
    );
    let list = srv.with_token(
        Method::GET,
        &format!("/customer/files?file_id={file_id}"),
        &other,
    );
    assert_eq!(TestServer::send(list).await, (200, json!({"files": []})));
    // Its owner references it.
    let (status, body) = put_json(
        &srv,
        &token,
        json!({"first_name": "Ann", "photo_id_front_file_id": file_id}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap();
    let (_, customer) = get(&srv, &token, "?type=sep6").await;
    assert_eq!(
        customer["provided_fields"]["photo_id_front"]["type"],
        "binary"
    );
    let list = srv.with_token(
        Method::GET,
        &format!("/customer/files?customer_id={id}"),
        &token,
    );
    let (status, files) = TestServer::send(list).await;
    assert_eq!(status, 200);
    assert_eq!(files["files"][0]["file_id"], file_id);
    assert_eq!(files["files"][0]["customer_id"], id);
    assert_error(
        TestServer::send(srv.with_token(Method::GET, "/customer/files", &token)).await,
        400,
        "one of file_id or customer_id is required",
    );
    srv.stop().await;
}

async fn delete_erases_the_customer_and_its_documents(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (kp, token) = srv.login().await;
    let blobs = srv.dir.path().join("data/blobs");
    let before = files_in(&blobs);
    let form = Form::new().text("first_name", "Eve").part(
        "photo_id_front",
        Part::bytes(png(b"eve")).file_name("eve.png"),
    );
    // Refused requests go on their own connections.
    let (status, body) = TestServer::send(put_once(&srv, &token).multipart(form)).await;
    assert_eq!(status, 202, "{body}");
    let upload = Form::new().part("file", Part::bytes(png(b"spare")).file_name("spare.png"));
    upload_file(&srv, &token, upload).await;
    assert_eq!(files_in(&blobs), before + 2);
    let path = format!("/customer/{}", kp.public_key());
    let (status, _) = TestServer::send(srv.with_token(Method::DELETE, &path, &token)).await;
    assert_eq!(status, 200);
    assert_eq!(files_in(&blobs), before, "documents gone");
    let (_, after) = get(&srv, &token, "").await;
    assert!(after.get("id").is_none(), "{after}");
    assert_error(
        TestServer::send(srv.with_token(Method::DELETE, &path, &token)).await,
        404,
        "customer not found",
    );
    srv.stop().await;
}

async fn delete_with_a_memo_erases_only_that_customer(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (kp, omnibus) = srv.login().await;
    put_json(&srv, &omnibus, json!({"first_name": "Owner"})).await;
    put_json(&srv, &omnibus, json!({"memo": "9", "first_name": "Nine"})).await;
    let path = format!("/customer/{}", kp.public_key());
    let del = srv
        .with_token(Method::DELETE, &path, &omnibus)
        .json(&json!({"memo": "9", "memo_type": "id"}));
    assert_eq!(TestServer::send(del).await.0, 200);
    assert!(get(&srv, &omnibus, "?memo=9").await.1.get("id").is_none());
    assert!(
        get(&srv, &omnibus, "").await.1.get("id").is_some(),
        "the owner's own record stays"
    );
    srv.stop().await;
}

async fn multipart_bodies_are_bounded_in_parts_and_fields(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (_, token) = srv.login().await;
    // More parts than any customer has fields.
    let mut many = Form::new();
    for i in 0..250 {
        many = many.text(format!("x{i}"), "y");
    }
    assert_error(
        TestServer::send(put_once(&srv, &token).multipart(many)).await,
        400,
        "a multipart body has at most 200 parts",
    );
    // One document per field per request.
    let twice = Form::new()
        .part(
            "photo_id_front",
            Part::bytes(png(b"one")).file_name("a.png"),
        )
        .part(
            "photo_id_front",
            Part::bytes(png(b"two")).file_name("b.png"),
        );
    assert_error(
        TestServer::send(put_once(&srv, &token).multipart(twice)).await,
        400,
        "'photo_id_front' is sent more than once",
    );
    // Text parts are bounded in all, not only one by one.
    let mut text = Form::new();
    for name in ["first_name", "last_name", "address", "city", "occupation"]
        .into_iter()
        .cycle()
        .take(20)
    {
        text = text.text(name, "a".repeat(60 * 1024));
    }
    assert_error(
        TestServer::send(put_once(&srv, &token).multipart(text)).await,
        413,
        "the text parts of a multipart body are limited to 1048576 bytes in all",
    );
    // Nothing was stored: no customer, no document.
    assert!(get(&srv, &token, "").await.1.get("id").is_none());
    assert_eq!(files_in(&srv.dir.path().join("data/blobs")), 0);
    srv.stop().await;
}

/// Twenty hostile multipart bodies of 31 MB, made of 64 KB text parts, at
/// once: each is refused once its text passes the limit, so the server's
/// memory stays bounded (the peak of this whole process, server included,
/// read from /proc).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_hostile_bodies_keep_memory_bounded() {
    let srv = TestServer::start_with(Engine::Sqlite, |c| {
        c.sep12.max_request_bytes = 64 << 20;
    })
    .await;
    let (_, token) = srv.login().await;
    let part = bytes::Bytes::from(format!(
        "--X\r\nContent-Disposition: form-data; name=\"first_name\"\r\n\r\n{}\r\n",
        "a".repeat(64 * 1024 - 80)
    ));
    let requests = (0..20).map(|_| {
        let chunks = std::iter::repeat_n(part.clone(), 31 * 16)
            .chain(std::iter::once(bytes::Bytes::from_static(b"--X--\r\n")))
            .map(Ok::<_, std::io::Error>);
        let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
        put_once(&srv, &token)
            .header("content-type", "multipart/form-data; boundary=X")
            .body(body)
            .send()
    });
    // Refused: answered 413, or cut off while still sending.
    for res in futures::future::join_all(requests)
        .await
        .into_iter()
        .flatten()
    {
        assert_eq!(res.status(), 413);
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(peak_kib < 128 * 1024, "peak RSS {peak_kib} KiB");
    assert_eq!(srv.get_json("/health").await, json!({"status": "ok"}));
    srv.stop().await;
}

on_both_engines!(
    multipart_bodies_are_bounded_in_parts_and_fields,
    a_bad_document_is_refused_with_a_clear_message,
    a_too_large_body_is_refused_and_the_server_stays_healthy,
    files_are_uploaded_referenced_and_listed,
    delete_erases_the_customer_and_its_documents,
    delete_with_a_memo_erases_only_that_customer,
);
