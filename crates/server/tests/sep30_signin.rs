//! The SEP-30 sign-in (`/authorize`) end to end, on SQLite and PostgreSQL:
//! email one-time codes through a real SMTP server on loopback, SMS codes,
//! and OpenID Connect against a provider process on loopback that signs
//! real ID tokens; then the access tokens at work on the SEP-30 endpoints.

mod common;

use common::oidc::{self, OidcProvider, Person};
use common::signin::{code_in_mail, form, new_request, poll};
use common::smtp::{SmtpServer, code_in};
use common::{Engine, TestServer, assert_error};
use mooring_server::clock::Clock as _;
use mooring_server::config::OidcConfig;
use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::{Value, json};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn start(engine: Engine, smtp: &SmtpServer, provider: Option<&OidcProvider>) -> TestServer {
    let smtp_url = smtp.url.clone();
    let issuer = provider.map(|p| p.issuer.clone());
    TestServer::start_with(engine, move |c| {
        c.sep30.email.sender = "smtp".into();
        c.sep30.email.smtp_url = Some(smtp_url.into());
        c.sep30.email.from = "Recovery <recovery@anchor.example>".into();
        c.sep30.sms.enabled = true;
        c.sep30.codes_per_identity_per_hour = 3;
        if let Some(issuer) = issuer {
            c.sep30.oidc.push(OidcConfig {
                label: Some("Test ID".into()),
                ..oidc::config("test", &issuer)
            });
        }
    })
    .await
}

/// Registers `owner`'s account with one identity proven by `methods`.
async fn register(srv: &TestServer, owner: &Keypair, methods: Value) -> String {
    let token = srv.token_for(owner, None).await;
    let (status, got) = TestServer::send(
        srv.with_token(
            Method::POST,
            &format!("/accounts/{}", owner.public_key()),
            &token,
        )
        .json(&json!({ "identities": [{ "role": "owner", "auth_methods": methods }] })),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    got["signers"][0]["key"].as_str().unwrap().to_owned()
}

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
    assert!(
        res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
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
    let (status, page) = form(
        &srv,
        "/authorize/code",
        &[
            ("token", &token),
            ("type", "email"),
            ("value", "Person@Example.com"),
        ],
    )
    .await;
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
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, page) = form(
        &srv,
        "/authorize/code/verify",
        &[("token", &token), ("code", wrong)],
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("that code is not right or has expired"));
    assert_eq!(poll(&srv, &id).await.1, json!({ "status": "pending" }));
    let (status, page) = form(
        &srv,
        "/authorize/code/verify",
        &[("token", &token), ("code", &code)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You are signed in"));

    // The wallet gets its access token, once.
    let (status, got) = poll(&srv, &id).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["status"], "authorized");
    assert_eq!(got["auth_method_type"], "email");
    assert_eq!(got["token_type"], "Bearer");
    let access = got["access_token"].as_str().unwrap().to_owned();
    let claims = common::claims(&access);
    assert_eq!(claims["auth_method_type"], "email");
    assert_eq!(claims["auth_method_value"], "person@example.com");
    assert_eq!(claims["iss"], srv.url("/authorize"));
    assert_error(
        poll(&srv, &id).await,
        404,
        "this sign-in request is unknown or has expired; start again from your wallet",
    );
    // The page and the code are used up too.
    let (status, _) = form(
        &srv,
        "/authorize/code/verify",
        &[("token", &token), ("code", &code)],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(srv.http.get(&url).send().await.unwrap().status(), 404);

    // The access token reaches the accounts that name the address…
    let owner = Keypair::random();
    let addr = owner.public_key().to_string();
    let signer = register(
        &srv,
        &owner,
        json!([{ "type": "email", "value": "person@example.com" }]),
    )
    .await;
    let (status, got) =
        TestServer::send(srv.with_token(Method::GET, &format!("/accounts/{addr}"), &access)).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        got["identities"],
        json!([{ "role": "owner", "authenticated": true }])
    );
    let (_, list) = TestServer::send(srv.with_token(Method::GET, "/accounts", &access)).await;
    assert_eq!(list["accounts"][0]["address"], addr);
    // … and has them signed.
    let (status, got) = TestServer::send(
        srv.with_token(
            Method::POST,
            &format!("/accounts/{addr}/sign/{signer}"),
            &access,
        )
        .json(&json!({ "transaction": sample_tx(&owner) })),
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
    let unrelated = Keypair::random();
    register(
        &srv,
        &unrelated,
        json!([{ "type": "email", "value": "other@example.com" }]),
    )
    .await;
    assert_error(
        TestServer::send(srv.with_token(
            Method::GET,
            &format!("/accounts/{}", unrelated.public_key()),
            &access,
        ))
        .await,
        404,
        "account not found",
    );
    // It expires.
    let now = srv.clock.now();
    srv.clock.set(now + 3601);
    assert_error(
        TestServer::send(srv.with_token(Method::GET, &format!("/accounts/{addr}"), &access)).await,
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

async fn codes_are_limited(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let srv = start(engine, &smtp, None).await;

    // Five wrong codes void the code: the right one no longer works.
    let (id, token, _) = new_request(&srv).await;
    form(
        &srv,
        "/authorize/code",
        &[
            ("token", &token),
            ("type", "email"),
            ("value", "a@example.com"),
        ],
    )
    .await;
    let code = code_in_mail(&smtp.mail(0).await);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let (status, _) = form(
            &srv,
            "/authorize/code/verify",
            &[("token", &token), ("code", wrong)],
        )
        .await;
        assert_eq!(status, 400);
    }
    let (status, _) = form(
        &srv,
        "/authorize/code/verify",
        &[("token", &token), ("code", &code)],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(poll(&srv, &id).await.1, json!({ "status": "pending" }));

    // An expired code is refused.
    form(
        &srv,
        "/authorize/code",
        &[
            ("token", &token),
            ("type", "email"),
            ("value", "a@example.com"),
        ],
    )
    .await;
    let code = code_in_mail(&smtp.mail(1).await);
    let now = srv.clock.now();
    srv.clock.set(now + 601);
    let (status, _) = form(
        &srv,
        "/authorize/code/verify",
        &[("token", &token), ("code", &code)],
    )
    .await;
    assert_eq!(status, 400);
    srv.clock.set(now);

    // Per identity: the third code an hour is the last (configured: 3).
    form(
        &srv,
        "/authorize/code",
        &[
            ("token", &token),
            ("type", "email"),
            ("value", "A@example.com"),
        ],
    )
    .await;
    let (status, page) = form(
        &srv,
        "/authorize/code",
        &[
            ("token", &token),
            ("type", "email"),
            ("value", "a@example.com"),
        ],
    )
    .await;
    assert_eq!(status, 429, "{page}");
    assert!(page.contains("too many attempts; wait a while and try again"));
    assert_eq!(smtp.count(), 3, "nothing sent once limited");

    // Bad input is a page that says what to fix, without sending anything.
    let (status, page) = form(
        &srv,
        "/authorize/code",
        &[
            ("token", &token),
            ("type", "email"),
            ("value", "not-an-email"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("that is not a valid email address"));
    let (status, page) = form(
        &srv,
        "/authorize/code",
        &[("token", &token), ("type", "fax"), ("value", "1")],
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("this way of signing in is not offered"));
    let (status, _) = form(
        &srv,
        "/authorize/code",
        &[
            ("token", "nope"),
            ("type", "email"),
            ("value", "b@example.com"),
        ],
    )
    .await;
    assert_eq!(status, 404);
    let (status, page) = form(
        &srv,
        "/authorize/code",
        &[
            ("token", &token),
            ("type", "email"),
            ("value", "<script>@x.com"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(!page.contains("<script>"));
    assert_eq!(smtp.count(), 3);

    // Unknown and malformed polling ids are 404.
    assert_eq!(poll(&srv, "x").await.0, 404);
    assert_eq!(poll(&srv, &"A".repeat(43)).await.0, 404);

    // Per IP: requests from one address are limited too.
    let limited = TestServer::start_with(engine, |c| c.sep30.requests_per_ip_per_hour = 2).await;
    for expect in [201, 201, 429] {
        let (status, got) =
            TestServer::send(limited.http.post(limited.url("/authorize/token"))).await;
        assert_eq!(status, expect, "{got}");
    }
    // A client cannot step around it by claiming to be forwarded…
    let spoofed = limited
        .http
        .post(limited.url("/authorize/token"))
        .header("x-forwarded-for", "198.51.100.1");
    assert_eq!(TestServer::send(spoofed).await.0, 429);
    limited.stop().await;
    // … but behind a trusted proxy, each forwarded client counts alone.
    let proxied = TestServer::start_with(engine, |c| {
        c.sep30.requests_per_ip_per_hour = 2;
        c.http.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    let from = |client: &'static str| {
        proxied
            .http
            .post(proxied.url("/authorize/token"))
            .header("x-forwarded-for", format!("203.0.113.50, {client}"))
    };
    for (client, expect) in [
        ("198.51.100.1", 201),
        ("198.51.100.1", 201),
        ("198.51.100.1", 429),
        ("198.51.100.2", 201),
    ] {
        assert_eq!(TestServer::send(from(client)).await.0, expect, "{client}");
    }
    proxied.stop().await;
    srv.stop().await;
}

async fn sms_code_sign_in(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let srv = start(engine, &smtp, None).await;
    let (id, token, _) = new_request(&srv).await;
    let (status, page) = form(
        &srv,
        "/authorize/code",
        &[
            ("token", &token),
            ("type", "phone_number"),
            ("value", "+14155550100"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let (to, text) = srv.texts.lock().unwrap()[0].clone();
    assert_eq!(to, "+14155550100");
    let (status, _) = form(
        &srv,
        "/authorize/code/verify",
        &[("token", &token), ("code", &code_in(&text))],
    )
    .await;
    assert_eq!(status, 200);
    let (_, got) = poll(&srv, &id).await;
    assert_eq!(got["auth_method_type"], "phone_number");
    let access = got["access_token"].as_str().unwrap().to_owned();
    let owner = Keypair::random();
    register(
        &srv,
        &owner,
        json!([{ "type": "phone_number", "value": "+14155550100" }]),
    )
    .await;
    let (status, _) = TestServer::send(srv.with_token(
        Method::GET,
        &format!("/accounts/{}", owner.public_key()),
        &access,
    ))
    .await;
    assert_eq!(status, 200);
    srv.stop().await;
}

async fn openid_connect_sign_in(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let provider = OidcProvider::start().await;
    let srv = start(engine, &smtp, Some(&provider)).await;
    let browser = no_redirects();
    provider.sign_in_as(Person {
        email: "Oidc.User@Example.com".into(),
        email_verified: true,
        wrong_nonce: false,
    });
    let (id, token, url) = new_request(&srv).await;
    let page = srv
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link = format!("/authorize/oidc/test?token={token}");
    assert!(
        page.contains(&link) && page.contains("Sign in with Test ID"),
        "{page}"
    );

    // Mooring → provider → back to Mooring, as a browser would go.
    let res = browser.get(srv.url(&link)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let to_provider = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(to_provider.starts_with(&format!("{}/authorize?", provider.issuer)));
    let res = browser.get(&to_provider).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let back = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with(&srv.url("/authorize/oidc/callback?")));
    let res = browser.get(&back).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("You are signed in"));
    let (status, got) = poll(&srv, &id).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["auth_method_type"], "email");
    let access = got["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        common::claims(&access)["auth_method_value"],
        "oidc.user@example.com"
    );
    let owner = Keypair::random();
    register(
        &srv,
        &owner,
        json!([{ "type": "email", "value": "oidc.user@example.com" }]),
    )
    .await;
    let (status, _) = TestServer::send(srv.with_token(
        Method::GET,
        &format!("/accounts/{}", owner.public_key()),
        &access,
    ))
    .await;
    assert_eq!(status, 200);

    // The callback works once.
    let res = browser.get(&back).send().await.unwrap();
    assert_eq!(res.status(), 404);

    // An unverified email, or a token for another nonce, signs nobody in.
    for person in [
        Person {
            email: "x@example.com".into(),
            email_verified: false,
            wrong_nonce: false,
        },
        Person {
            email: "x@example.com".into(),
            email_verified: true,
            wrong_nonce: true,
        },
    ] {
        provider.sign_in_as(person);
        let (id, token, _) = new_request(&srv).await;
        let res = browser
            .get(srv.url(&format!("/authorize/oidc/test?token={token}")))
            .send()
            .await
            .unwrap();
        let to_provider = res.headers()["location"].to_str().unwrap().to_owned();
        let res = browser.get(&to_provider).send().await.unwrap();
        let back = res.headers()["location"].to_str().unwrap().to_owned();
        let res = browser.get(&back).send().await.unwrap();
        assert_eq!(res.status(), 503);
        assert_eq!(poll(&srv, &id).await.1, json!({ "status": "pending" }));
    }
    // A forged state, a provider's refusal, an unknown provider.
    let res = browser
        .get(srv.url(&format!(
            "/authorize/oidc/callback?code=x&state={}",
            "B".repeat(43)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = browser
        .get(srv.url("/authorize/oidc/callback?error=access_denied&state=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let (_, token, _) = new_request(&srv).await;
    let res = browser
        .get(srv.url(&format!("/authorize/oidc/nope?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    srv.stop().await;

    // A provider limited to its own domain vouches for nobody else.
    let issuer = provider.issuer.clone();
    let corp = TestServer::start_with(engine, move |c| {
        c.sep30.oidc.push(OidcConfig {
            allowed_email_domains: vec!["Corp.Example".into()],
            ..oidc::config("corp", &issuer)
        });
    })
    .await;
    provider.sign_in_as(Person {
        email: "someone@elsewhere.example".into(),
        email_verified: true,
        wrong_nonce: false,
    });
    let (id, token, _) = new_request(&corp).await;
    let mut url = corp.url(&format!("/authorize/oidc/corp?token={token}"));
    for _ in 0..2 {
        let res = browser.get(&url).send().await.unwrap();
        url = res.headers()["location"].to_str().unwrap().to_owned();
    }
    assert_eq!(browser.get(&url).send().await.unwrap().status(), 503);
    assert_eq!(poll(&corp, &id).await.1, json!({ "status": "pending" }));
    provider.sign_in_as(Person {
        email: "staff@corp.example".into(),
        email_verified: true,
        wrong_nonce: false,
    });
    let access = common::signin::by_oidc(&corp, "corp").await;
    assert_eq!(
        common::claims(&access)["auth_method_value"],
        "staff@corp.example"
    );
    corp.stop().await;
}

/// The link in a mail that goes to `path`.
fn link_in(mail: &str, path: &str) -> String {
    let start = mail
        .find(path)
        .unwrap_or_else(|| panic!("no {path} link in {mail}"));
    let rest = &mail[start..];
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let query = &rest[..end];
    query.split_once("link=").unwrap().1.to_owned()
}

async fn email_and_password(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let srv = start(engine, &smtp, None).await;
    let (_, token, url) = new_request(&srv).await;
    let page = srv
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"action="/authorize/password""#), "{page}");
    assert!(page.contains(&format!("/authorize/signup?token={token}")));
    let res = srv
        .http
        .get(srv.url(&format!("/authorize/signup?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Sign-up: a weak password is refused; a good one mails a link.
    let email = "Pat@Example.com";
    let password = "correct horse battery";
    let (status, page) = form(
        &srv,
        "/authorize/signup",
        &[("token", &token), ("email", email), ("password", "short")],
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("choose a password of at least 10 characters"));
    let (status, page) = form(
        &srv,
        "/authorize/signup",
        &[("token", &token), ("email", email), ("password", password)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Check your email") && page.contains("p***@example.com"));
    let sign_in = |token: String, password: &'static str| {
        let srv = &srv;
        async move {
            form(
                srv,
                "/authorize/password",
                &[
                    ("token", &token),
                    ("email", "pat@example.com"),
                    ("password", password),
                ],
            )
            .await
        }
    };
    // Not before the address is confirmed.
    let (status, page) = sign_in(token.clone(), password).await;
    assert_eq!(status, 400);
    assert!(page.contains("confirm your email address first"), "{page}");

    // The link shows a button; the button confirms; once.
    let mail = smtp.mail(0).await;
    assert_eq!(mail.to, ["pat@example.com"]);
    let link = link_in(&mail.body(), "/authorize/confirm?");
    let res = srv
        .http
        .get(srv.url(&format!("/authorize/confirm?link={link}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains(r#"action="/authorize/confirm""#)
    );
    let (status, page) = form(
        &srv,
        "/authorize/confirm",
        &[("link", &link), ("password", "not the password")],
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("that is not the password this address was signed up with"));
    let (status, page) = form(
        &srv,
        "/authorize/confirm",
        &[("link", &link), ("password", password)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Email address confirmed"));
    assert_eq!(
        form(
            &srv,
            "/authorize/confirm",
            &[("link", &link), ("password", password)]
        )
        .await
        .0,
        404
    );

    // A wrong password and an unknown address read the same.
    for (address, pw) in [
        ("pat@example.com", "not the password"),
        ("nobody@example.com", password),
    ] {
        let (status, page) = form(
            &srv,
            "/authorize/password",
            &[("token", &token), ("email", address), ("password", pw)],
        )
        .await;
        assert_eq!(status, 400);
        assert!(
            page.contains("that email address and password do not match"),
            "{page}"
        );
    }
    let (id, token, _) = new_request(&srv).await;
    let (status, page) = sign_in(token.clone(), password).await;
    assert_eq!(status, 200, "{page}");
    let (_, got) = poll(&srv, &id).await;
    assert_eq!(got["auth_method_type"], "email");
    assert_eq!(
        common::claims(got["access_token"].as_str().unwrap())["auth_method_value"],
        "pat@example.com"
    );

    // Signing up again changes nothing; the owner is told.
    let (_, token, _) = new_request(&srv).await;
    let (status, _) = form(
        &srv,
        "/authorize/signup",
        &[
            ("token", &token),
            ("email", email),
            ("password", "an attacker's password"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(smtp.mail(1).await.body().contains("already has one"));
    assert_eq!(sign_in(token.clone(), password).await.0, 200);

    // A reset: a link by mail, a new password, the old one gone.
    let (_, token, _) = new_request(&srv).await;
    let (status, page) = form(
        &srv,
        "/authorize/reset",
        &[("token", &token), ("email", email)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let link = link_in(&smtp.mail(2).await.body(), "/authorize/reset/new?");
    let res = srv
        .http
        .get(srv.url(&format!("/authorize/reset/new?link={link}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (status, page) = form(
        &srv,
        "/authorize/reset/new",
        &[("link", &link), ("password", "short")],
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("at least 10 characters"));
    let (status, page) = form(
        &srv,
        "/authorize/reset/new",
        &[("link", &link), ("password", "a brand new passphrase")],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        form(
            &srv,
            "/authorize/reset/new",
            &[("link", &link), ("password", "yet another passphrase")]
        )
        .await
        .0,
        404
    );
    assert_eq!(sign_in(token.clone(), password).await.0, 400);
    assert_eq!(
        sign_in(token.clone(), "a brand new passphrase").await.0,
        200
    );
    // No mail for an address without a login, but the same answer.
    let (_, token, _) = new_request(&srv).await;
    let (status, page) = form(
        &srv,
        "/authorize/reset",
        &[("token", &token), ("email", "stranger@example.com")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("Check your email"));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(smtp.count(), 3);
    srv.stop().await;
}

async fn github_sign_in(engine: Engine) {
    let github = oidc::GitHub::start().await;
    let (web, api) = (github.url.clone(), github.url.clone());
    let srv = TestServer::start_with(engine, move |c| {
        c.sep30.oidc.push(OidcConfig {
            label: Some("GitHub".into()),
            kind: mooring_server::config::ProviderKind::Github,
            api_url: Some(api.parse().unwrap()),
            // As at load: GitHub needs only `user:email`.
            scopes: vec!["user:email".into()],
            ..oidc::config("github", &web)
        });
    })
    .await;
    github.set_emails(json!([
        { "email": "old@example.com", "primary": false, "verified": true, "visibility": null },
        { "email": "Octo.Cat@Example.com", "primary": true, "verified": true, "visibility": "public" },
    ]));
    let access = common::signin::by_oidc(&srv, "github").await;
    let claims = common::claims(&access);
    assert_eq!(claims["auth_method_type"], "email");
    assert_eq!(
        claims["auth_method_value"], "octo.cat@example.com",
        "the primary, verified address"
    );

    // No verified primary address: nobody is signed in.
    github.set_emails(json!([{ "email": "x@example.com", "primary": true, "verified": false }]));
    let browser = no_redirects();
    let (id, token, _) = new_request(&srv).await;
    let mut url = srv.url(&format!("/authorize/oidc/github?token={token}"));
    for _ in 0..2 {
        let res = browser.get(&url).send().await.unwrap();
        url = res.headers()["location"].to_str().unwrap().to_owned();
    }
    assert_eq!(browser.get(&url).send().await.unwrap().status(), 503);
    assert_eq!(poll(&srv, &id).await.1, json!({ "status": "pending" }));
    srv.stop().await;
}

/// Signs up `email` and confirms it through the mailed link.
async fn signed_up(srv: &TestServer, smtp: &SmtpServer, email: &str, password: &str) {
    let (_, token, _) = new_request(srv).await;
    let before = smtp.count();
    let (status, page) = form(
        srv,
        "/authorize/signup",
        &[("token", &token), ("email", email), ("password", password)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let link = link_in(&smtp.mail(before).await.body(), "/authorize/confirm?");
    assert_eq!(
        form(
            srv,
            "/authorize/confirm",
            &[("link", &link), ("password", password)]
        )
        .await
        .0,
        200
    );
}

/// Someone who signs up an address that is not theirs gains nothing when
/// its owner clicks a confirmation link: the links ask for the password
/// they were mailed for, and a new sign-up voids the earlier links.
async fn confirmation_links_cannot_be_hijacked(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let srv = start(engine, &smtp, None).await;
    let (owner_password, attacker_password) = ("the owner's password", "the attacker's password");
    let (_, token, _) = new_request(&srv).await;
    let sign_up = |password: &'static str| {
        let (srv, token) = (&srv, token.clone());
        async move {
            form(
                srv,
                "/authorize/signup",
                &[
                    ("token", &token),
                    ("email", "lee@example.com"),
                    ("password", password),
                ],
            )
            .await
        }
    };
    sign_up(owner_password).await;
    let owners_link = link_in(&smtp.mail(0).await.body(), "/authorize/confirm?");
    sign_up(attacker_password).await;
    let attackers_link = link_in(&smtp.mail(1).await.body(), "/authorize/confirm?");
    // The owner's own link is void; the one the attacker caused needs the
    // attacker's password, which the owner (clicking it) does not type.
    assert_eq!(
        form(
            &srv,
            "/authorize/confirm",
            &[("link", &owners_link), ("password", owner_password)]
        )
        .await
        .0,
        404
    );
    assert_eq!(
        form(
            &srv,
            "/authorize/confirm",
            &[("link", &attackers_link), ("password", owner_password)]
        )
        .await
        .0,
        400
    );
    let (_, token2, _) = new_request(&srv).await;
    let (status, page) = form(
        &srv,
        "/authorize/password",
        &[
            ("token", &token2),
            ("email", "lee@example.com"),
            ("password", attacker_password),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("confirm your email address first"), "{page}");
    // The owner signs up again and confirms with their own password.
    sign_up(owner_password).await;
    let link = link_in(&smtp.mail(2).await.body(), "/authorize/confirm?");
    assert_eq!(
        form(
            &srv,
            "/authorize/confirm",
            &[("link", &link), ("password", owner_password)]
        )
        .await
        .0,
        200
    );
    let (status, _) = form(
        &srv,
        "/authorize/password",
        &[
            ("token", &token2),
            ("email", "lee@example.com"),
            ("password", owner_password),
        ],
    )
    .await;
    assert_eq!(status, 200);
    srv.stop().await;
}

fn between<'a>(page: &'a str, before: &str, after: &str) -> &'a str {
    let start = page
        .find(before)
        .unwrap_or_else(|| panic!("{before} in {page}"))
        + before.len();
    let len = page[start..].find(after).unwrap();
    &page[start..start + len]
}

async fn authenticator_app(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let srv = start(engine, &smtp, None).await;
    let (email, password) = ("kim@example.com", "a long enough password");
    signed_up(&srv, &smtp, email, password).await;

    // Setup: the password, then the secret, then a first code.
    let (_, token, _) = new_request(&srv).await;
    let res = srv
        .http
        .get(srv.url(&format!("/authorize/totp/setup?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (status, page) = form(
        &srv,
        "/authorize/totp/setup",
        &[
            ("token", &token),
            ("email", email),
            ("password", "wrong password!"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("that email address and password do not match"));
    let (status, page) = form(
        &srv,
        "/authorize/totp/setup",
        &[("token", &token), ("email", email), ("password", password)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let secret = between(&page, "<code>", "</code>").to_owned();
    let link = between(&page, r#"name="link" value=""#, "\"").to_owned();
    let url = between(&page, r#"<a href=""#, "\"").replace("&amp;", "&");
    // The app's view: the otpauth URL carries the same secret.
    let app = totp_rs::TOTP::from_url(&url).unwrap();
    assert_eq!(app.get_secret_base32(), secret);
    let code_at = |t: u64| app.generate(t);
    let now = srv.clock.now();
    // A wrong code shows the page again, from what is stored: values
    // slipped into the form are not echoed.
    let (status, again) = form(
        &srv,
        "/authorize/totp/confirm",
        &[
            ("link", &link),
            ("code", "000000"),
            ("secret", "FORGEDSECRET"),
            ("url", "https://evil.example/"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        again.contains(&secret) && !again.contains("FORGED") && !again.contains("evil.example")
    );
    let (status, page) = form(
        &srv,
        "/authorize/totp/confirm",
        &[("link", &link), ("code", &code_at(now))],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Authenticator app added"));
    // Set up once.
    let (status, page) = form(
        &srv,
        "/authorize/totp/setup",
        &[("token", &token), ("email", email), ("password", password)],
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("already set up"));

    // Sign-in: the password, then the app's code — a fresh one.
    srv.clock.set(now + 30);
    let (id, token, _) = new_request(&srv).await;
    let (status, page) = form(
        &srv,
        "/authorize/password",
        &[("token", &token), ("email", email), ("password", password)],
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"action="/authorize/totp""#), "{page}");
    assert_eq!(poll(&srv, &id).await.1, json!({ "status": "pending" }));
    // The code from setup's time step is used up; a wrong one is wrong.
    for stale in [code_at(now), "12345x".to_owned()] {
        let (status, page) = form(
            &srv,
            "/authorize/totp",
            &[("token", &token), ("code", &stale)],
        )
        .await;
        assert_eq!(status, 400, "{page}");
    }
    let (status, page) = form(
        &srv,
        "/authorize/totp",
        &[("token", &token), ("code", &code_at(now + 30))],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let (_, got) = poll(&srv, &id).await;
    assert_eq!(
        common::claims(got["access_token"].as_str().unwrap())["auth_method_value"],
        email
    );

    // Another sign-in in the same time step cannot reuse the code.
    let (_, token, _) = new_request(&srv).await;
    form(
        &srv,
        "/authorize/password",
        &[("token", &token), ("email", email), ("password", password)],
    )
    .await;
    let (status, _) = form(
        &srv,
        "/authorize/totp",
        &[("token", &token), ("code", &code_at(now + 30))],
    )
    .await;
    assert_eq!(status, 400);
    // Five wrong codes void the step: even the right one fails after.
    srv.clock.set(now + 90);
    for _ in 0..4 {
        form(
            &srv,
            "/authorize/totp",
            &[("token", &token), ("code", "000001")],
        )
        .await;
    }
    let (status, _) = form(
        &srv,
        "/authorize/totp",
        &[("token", &token), ("code", &code_at(now + 90))],
    )
    .await;
    assert_eq!(status, 400);

    // An emailed code for the same address asks for the app's code too.
    srv.clock.set(now + 120);
    let (id, token, _) = new_request(&srv).await;
    let before = smtp.count();
    form(
        &srv,
        "/authorize/code",
        &[("token", &token), ("type", "email"), ("value", email)],
    )
    .await;
    let code = code_in_mail(&smtp.mail(before).await);
    let (status, page) = form(
        &srv,
        "/authorize/code/verify",
        &[("token", &token), ("code", &code)],
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"action="/authorize/totp""#), "{page}");
    assert_eq!(poll(&srv, &id).await.1, json!({ "status": "pending" }));
    let (status, _) = form(
        &srv,
        "/authorize/totp",
        &[("token", &token), ("code", &code_at(now + 120))],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(poll(&srv, &id).await.1["status"], "authorized");
    srv.stop().await;
}

/// A published OpenID Connect provider (`oidc-provider-mock` from PyPI, in
/// the throwaway virtualenv), run as a process of its own: RS256 ID tokens,
/// its own consent form, nonce required.
struct PublishedProvider {
    child: std::process::Child,
    issuer: String,
}

impl Drop for PublishedProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn published_provider(python: &str) -> PublishedProvider {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(python)
        .args([
            "-m",
            "oidc_provider_mock",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .args(["--require-nonce", "--user-claims"])
        .arg(r#"{"sub": "alice", "email": "Alice.Mock@Example.com", "email_verified": true}"#)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("oidc-provider-mock starts");
    let provider = PublishedProvider {
        child,
        issuer: format!("http://127.0.0.1:{port}"),
    };
    let discovery = format!("{}/.well-known/openid-configuration", provider.issuer);
    for _ in 0..200 {
        if reqwest::get(&discovery)
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return provider;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("oidc-provider-mock did not start on port {port}");
}

async fn published_openid_connect_provider(engine: Engine) {
    let Some(python) = common::python() else {
        return;
    };
    let provider = published_provider(&python).await;
    let issuer = provider.issuer.clone();
    let srv = TestServer::start_with(engine, move |c| {
        c.sep30.oidc.push(OidcConfig {
            label: Some("Mock ID".into()),
            client_id: "mooring-test".into(),
            client_secret: Some("a client secret".to_owned().into()),
            ..oidc::config("mock", &issuer)
        });
    })
    .await;
    let browser = no_redirects();
    let (id, token, _) = new_request(&srv).await;
    let res = browser
        .get(srv.url(&format!("/authorize/oidc/mock?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to_provider = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        to_provider.starts_with(&format!("{}/oauth2/authorize?", provider.issuer)),
        "{to_provider}"
    );
    // The provider's consent page, then its form, as the person clicks it.
    let page = browser.get(&to_provider).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(r#"name="sub""#));
    let res = browser
        .post(&to_provider)
        .form(&[("sub", "alice")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    let back = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        back.starts_with(&srv.url("/authorize/oidc/callback?")),
        "{back}"
    );
    let res = browser.get(&back).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let (status, got) = poll(&srv, &id).await;
    assert_eq!(status, 200, "{got}");
    let claims = common::claims(got["access_token"].as_str().unwrap());
    assert_eq!(claims["auth_method_type"], "email");
    assert_eq!(claims["auth_method_value"], "alice.mock@example.com");
    // The code it issued works once.
    assert_eq!(browser.get(&back).send().await.unwrap().status(), 404);
    srv.stop().await;
}

on_both_engines!(
    published_openid_connect_provider,
    confirmation_links_cannot_be_hijacked,
    authenticator_app,
    github_sign_in,
    email_and_password,
    email_code_sign_in,
    codes_are_limited,
    sms_code_sign_in,
    openid_connect_sign_in,
);
