//! Email and password: sign-up, confirmation links, sign-in and reset.

use crate::common::Engine;
use crate::common::signin::{
    confirm, link_in, mailed_link, new_request, password_sign_in, poll, reset, reset_new, sign_up,
    start,
};
use crate::common::smtp::SmtpServer;

async fn email_and_password(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let srv = start(engine, &smtp, None).await;
    let (_, token, url) = new_request(&srv).await;
    let page = srv.page(&url).await;
    assert!(page.contains(r#"action="/authorize/password""#), "{page}");
    assert!(page.contains(&format!("/authorize/signup?token={token}")));
    let res = srv.get(&format!("/authorize/signup?token={token}")).await;
    assert_eq!(res.status(), 200);

    // Sign-up: a weak password is refused; a good one mails a link.
    let email = "Pat@Example.com";
    let password = "correct horse battery";
    let (status, page) = sign_up(&srv, &token, email, "short").await;
    assert_eq!(status, 400);
    assert!(page.contains("choose a password of at least 10 characters"));
    let (status, page) = sign_up(&srv, &token, email, password).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Check your email") && page.contains("p***@example.com"));
    let sign_in = |token: String, password: &'static str| {
        let srv = &srv;
        async move { password_sign_in(srv, &token, "pat@example.com", password).await }
    };
    // Not before the address is confirmed.
    let (status, page) = sign_in(token.clone(), password).await;
    assert_eq!(status, 400);
    assert!(page.contains("confirm your email address first"), "{page}");

    // The link shows a button; the button confirms; once.
    let mail = smtp.mail(0).await;
    assert_eq!(mail.to, ["pat@example.com"]);
    let link = link_in(&mail.body(), "/authorize/confirm?");
    let res = srv.get(&format!("/authorize/confirm?link={link}")).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains(r#"action="/authorize/confirm""#)
    );
    let (status, page) = confirm(&srv, &link, "not the password").await;
    assert_eq!(status, 400);
    assert!(page.contains("that is not the password this address was signed up with"));
    let (status, page) = confirm(&srv, &link, password).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Email address confirmed"));
    assert_eq!(confirm(&srv, &link, password).await.0, 404);

    // A wrong password and an unknown address read the same.
    for (address, pw) in [
        ("pat@example.com", "not the password"),
        ("nobody@example.com", password),
    ] {
        let (status, page) = password_sign_in(&srv, &token, address, pw).await;
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
        crate::common::claims(got["access_token"].as_str().unwrap())["auth_method_value"],
        "pat@example.com"
    );

    // Signing up again changes nothing; the owner is told.
    let (_, token, _) = new_request(&srv).await;
    let (status, _) = sign_up(&srv, &token, email, "an attacker's password").await;
    assert_eq!(status, 200);
    assert!(smtp.mail(1).await.body().contains("already has one"));
    assert_eq!(sign_in(token.clone(), password).await.0, 200);

    // A reset: a link by mail, a new password, the old one gone.
    let (_, token, _) = new_request(&srv).await;
    let (status, page) = reset(&srv, &token, email).await;
    assert_eq!(status, 200, "{page}");
    let link = mailed_link(&smtp, 2, "/authorize/reset/new?").await;
    let res = srv.get(&format!("/authorize/reset/new?link={link}")).await;
    assert_eq!(res.status(), 200);
    let (status, page) = reset_new(&srv, &link, "short").await;
    assert_eq!(status, 400);
    assert!(page.contains("at least 10 characters"));
    let (status, page) = reset_new(&srv, &link, "a brand new passphrase").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        reset_new(&srv, &link, "yet another passphrase").await.0,
        404
    );
    assert_eq!(sign_in(token.clone(), password).await.0, 400);
    assert_eq!(
        sign_in(token.clone(), "a brand new passphrase").await.0,
        200
    );
    // No mail for an address without a login, but the same answer.
    let (_, token, _) = new_request(&srv).await;
    let (status, page) = reset(&srv, &token, "stranger@example.com").await;
    assert_eq!(status, 200);
    assert!(page.contains("Check your email"));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(smtp.count(), 3);
    srv.stop().await;
}

/// Someone who signs up an address that is not theirs gains nothing when
/// its owner clicks a confirmation link: the links ask for the password
/// they were mailed for, and a new sign-up voids the earlier links.
async fn confirmation_links_cannot_be_hijacked(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let srv = start(engine, &smtp, None).await;
    let (owner_password, attacker_password) = ("the owner's password", "the attacker's password");
    let (_, token, _) = new_request(&srv).await;
    sign_up(&srv, &token, "lee@example.com", owner_password).await;
    let owners_link = mailed_link(&smtp, 0, "/authorize/confirm?").await;
    sign_up(&srv, &token, "lee@example.com", attacker_password).await;
    let attackers_link = mailed_link(&smtp, 1, "/authorize/confirm?").await;
    // The owner's own link is void; the one the attacker caused needs the
    // attacker's password, which the owner (clicking it) does not type.
    assert_eq!(confirm(&srv, &owners_link, owner_password).await.0, 404);
    assert_eq!(confirm(&srv, &attackers_link, owner_password).await.0, 400);
    let (_, token2, _) = new_request(&srv).await;
    let (status, page) =
        password_sign_in(&srv, &token2, "lee@example.com", attacker_password).await;
    assert_eq!(status, 400);
    assert!(page.contains("confirm your email address first"), "{page}");
    // The owner signs up again and confirms with their own password.
    sign_up(&srv, &token, "lee@example.com", owner_password).await;
    let link = mailed_link(&smtp, 2, "/authorize/confirm?").await;
    assert_eq!(confirm(&srv, &link, owner_password).await.0, 200);
    let (status, _) = password_sign_in(&srv, &token2, "lee@example.com", owner_password).await;
    assert_eq!(status, 200);
    srv.stop().await;
}

crate::on_both_engines!(confirmation_links_cannot_be_hijacked, email_and_password,);
