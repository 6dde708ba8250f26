//! GitHub as an identity provider: the primary, verified address.

use crate::common::oidc::{self};
use crate::common::signin::{no_redirects, oidc_attempt, poll};
use crate::common::{Engine, TestServer};
use mooring_server::config::OidcConfig;
use serde_json::json;

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
    let access = crate::common::signin::by_oidc(&srv, "github").await;
    let claims = crate::common::claims(&access);
    assert_eq!(claims["auth_method_type"], "email");
    assert_eq!(
        claims["auth_method_value"], "octo.cat@example.com",
        "the primary, verified address"
    );

    // No verified primary address: nobody is signed in.
    github.set_emails(json!([{ "email": "x@example.com", "primary": true, "verified": false }]));
    let browser = no_redirects();
    let (id, status) = oidc_attempt(&srv, &browser, "github").await;
    assert_eq!(status, 503);
    assert_eq!(poll(&srv, &id).await.1, json!({ "status": "pending" }));
    srv.stop().await;
}

crate::on_both_engines!(github_sign_in,);
