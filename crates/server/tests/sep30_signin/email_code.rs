//! Signing in with a code sent by email, and the access token at work on
//! the SEP-30 endpoints.

use crate::common::recovery::{get_account, new_account, sign};
use crate::common::signin::{code_in_mail, new_request, poll, send_code, start, verify_code};
use crate::common::smtp::SmtpServer;
use crate::common::{Engine, TestServer, assert_error, header, wrong_code};
use mooring_server::clock::Clock as _;
use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::json;

async fn email_code_sign_in(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let srv = start(engine, &smtp, None).await;
    let (id, token, url) = new_request(&srv).await;
    assert_eq!(url, srv.url(&format!("/authorize?token={token}")));
    assert_eq!(poll(&srv, &id).await, (200, json!({ "status": "pending" })));

    // The page the wallet opens: a form, locked down.
    let res = srv.http.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(header(&res, "content-security-policy").contains("default-src 'none'"));
    let page = res.text().await.unwrap();
    assert!(page.contains(r#"action="/authorize/code""#), "{page}");
    assert!(page.contains("Text me a code"));
    // The page repeats the code the wallet shows, with a warning.
    assert!(page.contains(&format!(
        "<strong>{}</strong>",
        mooring_server::recovery::authorize::user_code(&token)
    )));
    assert!(page.contains("someone may be trying to reach your accounts"));

    // A code by email, through SMTP.
    let (status, page) = send_code(&srv, &token, "email", "Person@Example.com").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("p***@example.com"), "{page}");
    let mail = smtp.mail(0).await;
    assert_eq!(mail.to, ["person@example.com"]);
    assert!(
        mail.data
            .contains("From: Recovery <recovery@anchor.example>"),
        "{}",
        mail.data
    );
    let code = code_in_mail(&mail);

    // A wrong code is refused, the right one signs in.
    let wrong = wrong_code(&code);
    let (status, page) = verify_code(&srv, &token, wrong).await;
    assert_eq!(status, 400);
    assert!(page.contains("that code is not right or has expired"));
    assert_eq!(poll(&srv, &id).await.1, json!({ "status": "pending" }));
    let (status, page) = verify_code(&srv, &token, &code).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You are signed in"));

    // The wallet gets its access token, once.
    let (status, got) = poll(&srv, &id).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["status"], "authorized");
    assert_eq!(got["auth_method_type"], "email");
    assert_eq!(got["token_type"], "Bearer");
    let access = got["access_token"].as_str().unwrap().to_owned();
    let claims = crate::common::claims(&access);
    assert_eq!(claims["auth_method_type"], "email");
    assert_eq!(claims["auth_method_value"], "person@example.com");
    assert_eq!(claims["iss"], srv.url("/authorize"));
    assert_error(
        poll(&srv, &id).await,
        404,
        "this sign-in request is unknown or has expired; start again from your wallet",
    );
    // The page and the code are used up too.
    let (status, _) = verify_code(&srv, &token, &code).await;
    assert_eq!(status, 404);
    assert_eq!(srv.http.get(&url).send().await.unwrap().status(), 404);

    // The access token reaches the accounts that name the address…
    let (owner, signer) = new_account(&srv, "email", "person@example.com").await;
    let addr = owner.public_key().to_string();

    let (status, got) = get_account(&srv, &addr, &access).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        got["identities"],
        json!([{ "role": "owner", "authenticated": true }])
    );
    let (_, list) = TestServer::send(srv.with_token(Method::GET, "/accounts", &access)).await;
    assert_eq!(list["accounts"][0]["address"], addr);
    // … and has them signed.
    let (status, got) = sign(
        &srv,
        &format!("/accounts/{addr}/sign/{signer}"),
        &access,
        &sample_tx(&owner),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    // But registers nothing: POST is for SEP-10 tokens of the account.
    let other = Keypair::random();
    assert_error(
        TestServer::send(
            srv.with_token(Method::POST, &format!("/accounts/{}", other.public_key()), &access)
                .json(&json!({ "identities": [{ "role": "owner", "auth_methods": [{ "type": "email", "value": "person@example.com" }] }] })),
        )
        .await,
        401,
        "registering an account needs a SEP-10 token for that account",
    );
    // Another account's identity is not reachable with it.
    let (unrelated, _) = new_account(&srv, "email", "other@example.com").await;
    assert_error(
        get_account(&srv, &unrelated.public_key(), &access).await,
        404,
        "account not found",
    );
    // It expires.
    let now = srv.clock.now();
    srv.clock.set(now + 3601);
    assert_error(
        get_account(&srv, &addr, &access).await,
        401,
        "authentication token has expired; authenticate again",
    );
    srv.clock.set(now);
    // Nothing about the person was logged or stored in the clear.
    srv.stop().await;
}

fn sample_tx(owner: &Keypair) -> String {
    use mooring_stellar::xdr::{
        Memo, Operation, OperationBody, Preconditions, SequenceNumber, Transaction, TransactionExt,
    };
    let tx = Transaction {
        source_account: owner.public_key().to_muxed_account(),
        fee: 100,
        seq_num: SequenceNumber(1),
        cond: Preconditions::None,
        memo: Memo::None,
        operations: vec![Operation {
            source_account: None,
            body: OperationBody::BumpSequence(mooring_stellar::xdr::BumpSequenceOp {
                bump_to: SequenceNumber(2),
            }),
        }]
        .try_into()
        .unwrap(),
        ext: TransactionExt::V0,
    };
    mooring_stellar::envelope::encode(&mooring_stellar::envelope::envelope(tx, vec![]))
}

crate::on_both_engines!(email_code_sign_in,);
