//! Signing in with a code sent by SMS.

use crate::common::Engine;
use crate::common::recovery::read_new_account;
use crate::common::signin::{new_request, poll, send_code, start, verify_code};
use crate::common::smtp::{SmtpServer, code_in};

async fn sms_code_sign_in(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let srv = start(engine, &smtp, None).await;
    let (id, token, _) = new_request(&srv).await;
    let (status, page) = send_code(&srv, &token, "phone_number", "+14155550100").await;
    assert_eq!(status, 200, "{page}");
    let (to, text) = srv.texts.lock().unwrap()[0].clone();
    assert_eq!(to, "+14155550100");
    let (status, _) = verify_code(&srv, &token, &code_in(&text)).await;
    assert_eq!(status, 200);
    let (_, got) = poll(&srv, &id).await;
    assert_eq!(got["auth_method_type"], "phone_number");
    let access = got["access_token"].as_str().unwrap().to_owned();
    let status = read_new_account(&srv, "phone_number", "+14155550100", &access).await;
    assert_eq!(status, 200);
    srv.stop().await;
}

crate::on_both_engines!(sms_code_sign_in,);
