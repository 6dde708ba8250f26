//! OpenID Connect: a provider on loopback that signs real ID tokens, and a
//! published one run as a process of its own.

use crate::common::oidc::{self, OidcProvider, Person};
use crate::common::recovery::read_new_account;
use crate::common::signin::{
    location, new_request, no_redirects, oidc_attempt, oidc_url, poll, start, visit,
};
use crate::common::smtp::SmtpServer;
use crate::common::{Engine, TestServer};
use mooring_server::config::OidcConfig;
use serde_json::json;

async fn openid_connect_sign_in(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let provider = OidcProvider::start().await;
    let srv = start(engine, &smtp, Some(&provider)).await;
    let browser = no_redirects();
    provider.sign_in_as(Person::verified("Oidc.User@Example.com"));
    let (id, token, url) = new_request(&srv).await;
    let page = srv.page(&url).await;
    let link = format!("/authorize/oidc/test?token={token}");
    assert!(
        page.contains(&link) && page.contains("Sign in with Test ID"),
        "{page}"
    );

    // Mooring → provider → back to Mooring, as a browser would go.
    let res = visit(&browser, &srv.url(&link)).await;
    assert_eq!(res.status(), 303);
    let to_provider = location(&res);
    assert!(to_provider.starts_with(&format!("{}/authorize?", provider.issuer)));
    let res = visit(&browser, &to_provider).await;
    assert_eq!(res.status(), 302);
    let back = location(&res);
    assert!(back.starts_with(&srv.url("/authorize/oidc/callback?")));
    let res = visit(&browser, &back).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("You are signed in"));
    let (status, got) = poll(&srv, &id).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["auth_method_type"], "email");
    let access = got["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        crate::common::claims(&access)["auth_method_value"],
        "oidc.user@example.com"
    );
    let status = read_new_account(&srv, "email", "oidc.user@example.com", &access).await;
    assert_eq!(status, 200);

    // The callback works once.
    let res = visit(&browser, &back).await;
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
        let (id, status) = oidc_attempt(&srv, &browser, "test").await;
        assert_eq!(status, 503);
        assert_eq!(poll(&srv, &id).await.1, json!({ "status": "pending" }));
    }
    // A forged state, a provider's refusal, an unknown provider.
    let res = visit(
        &browser,
        &srv.url(&format!(
            "/authorize/oidc/callback?code=x&state={}",
            "B".repeat(43)
        )),
    )
    .await;
    assert_eq!(res.status(), 404);
    let res = visit(
        &browser,
        &srv.url("/authorize/oidc/callback?error=access_denied&state=x"),
    )
    .await;
    assert_eq!(res.status(), 400);
    let (_, token, _) = new_request(&srv).await;
    let res = visit(&browser, &oidc_url(&srv, "nope", &token)).await;
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
    provider.sign_in_as(Person::verified("someone@elsewhere.example"));
    let (id, status) = oidc_attempt(&corp, &browser, "corp").await;
    assert_eq!(status, 503);
    assert_eq!(poll(&corp, &id).await.1, json!({ "status": "pending" }));
    provider.sign_in_as(Person::verified("staff@corp.example"));
    let access = crate::common::signin::by_oidc(&corp, "corp").await;
    assert_eq!(
        crate::common::claims(&access)["auth_method_value"],
        "staff@corp.example"
    );
    corp.stop().await;
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
    let Some(python) = crate::common::interop::python() else {
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
    let res = visit(&browser, &oidc_url(&srv, "mock", &token)).await;
    assert_eq!(res.status(), 303);
    let to_provider = location(&res);
    assert!(
        to_provider.starts_with(&format!("{}/oauth2/authorize?", provider.issuer)),
        "{to_provider}"
    );
    // The provider's consent page, then its form, as the person clicks it.
    let page = visit(&browser, &to_provider).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(r#"name="sub""#));
    let res = browser
        .post(&to_provider)
        .form(&[("sub", "alice")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    let back = location(&res);
    assert!(
        back.starts_with(&srv.url("/authorize/oidc/callback?")),
        "{back}"
    );
    let res = visit(&browser, &back).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let (status, got) = poll(&srv, &id).await;
    assert_eq!(status, 200, "{got}");
    let claims = crate::common::claims(got["access_token"].as_str().unwrap());
    assert_eq!(claims["auth_method_type"], "email");
    assert_eq!(claims["auth_method_value"], "alice.mock@example.com");
    // The code it issued works once.
    assert_eq!(visit(&browser, &back).await.status(), 404);
    srv.stop().await;
}

crate::on_both_engines!(published_openid_connect_provider, openid_connect_sign_in,);
