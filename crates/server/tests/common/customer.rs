//! Calling the SEP-12 customer endpoints as a wallet does, and the admin
//! API's customer reads as an operator does.

use reqwest::Method;
use reqwest::multipart::Form;
use serde_json::Value;

use super::TestServer;

/// `PUT /customer` with a JSON body: (status, JSON body).
pub async fn put_json(srv: &TestServer, token: &str, body: Value) -> (u16, Value) {
    TestServer::send(srv.with_token(Method::PUT, "/customer", token).json(&body)).await
}

/// `PUT /customer` with a multipart form: (status, JSON body).
pub async fn put_form(srv: &TestServer, token: &str, form: Form) -> (u16, Value) {
    TestServer::send(
        srv.with_token(Method::PUT, "/customer", token)
            .multipart(form),
    )
    .await
}

/// `POST /customer/files` with a multipart form: (status, JSON body).
pub async fn upload_file(srv: &TestServer, token: &str, form: Form) -> (u16, Value) {
    TestServer::send(
        srv.with_token(Method::POST, "/customer/files", token)
            .multipart(form),
    )
    .await
}

/// `PUT /customer` on a connection of its own, for a request the server
/// may refuse: it closes a connection whose body it did not read, and a
/// pooled one would be reused.
pub fn put_once(srv: &TestServer, token: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .put(srv.url("/customer"))
        .bearer_auth(token)
}

/// The admin API's view of customer `id`: (status, JSON body).
pub async fn admin_customer(srv: &TestServer, id: &str) -> (u16, Value) {
    TestServer::send(srv.admin(Method::GET, &format!("/admin/customers/{id}"))).await
}

/// A customer's document through the admin API.
pub async fn admin_file(srv: &TestServer, id: &str, file_id: &str) -> reqwest::Response {
    srv.admin(
        Method::GET,
        &format!("/admin/customers/{id}/files/{file_id}"),
    )
    .send()
    .await
    .unwrap()
}
