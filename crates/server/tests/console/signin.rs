//! Signing in with the admin token and a name, the session cookie and its
//! attributes, signing out, and sessions that expire.

use crate::common::{ADMIN_TOKEN, Engine, TestServer};
use crate::on_both_engines;
use crate::{
    COOKIE, admin_url, assert_same_origin, assert_secure, audited, browser, cookie_value, location,
    set_cookies, sign_in, try_sign_in,
};

/// `GET path` on the admin listener with `cookie` as the console's cookie
/// (none: no cookie at all).
async fn visit(srv: &TestServer, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut req = browser().get(admin_url(srv, path));
    if let Some(c) = cookie {
        req = req.header("cookie", format!("{COOKIE}={c}"));
    }
    req.send().await.unwrap()
}

/// Asserts `res` sends the browser to the sign-in page.
#[track_caller]
fn assert_sign_in_first(res: &reqwest::Response, what: &str) {
    assert_eq!(res.status(), 303, "{what}");
    assert_eq!(location(res), "/admin/", "{what}");
    assert_secure(res.headers(), what);
}

async fn the_admin_token_and_a_name_open_a_session(engine: Engine) {
    let srv = TestServer::start(engine).await;

    // The wrong token: 401, no cookie, and the attempt is in the log.
    let res = try_sign_in(&srv, "ana", "not-the-admin-token").await;
    assert_eq!(res.status(), 401);
    assert_secure(res.headers(), "a refused sign-in");
    assert!(
        set_cookies(res.headers()).is_empty(),
        "no cookie when refused"
    );
    let text = res.text().await.unwrap();
    assert!(text.contains("That is not the admin token."), "{text}");
    assert!(
        !text.contains("not-the-admin-token"),
        "the guess is not shown"
    );
    assert_eq!(
        audited(&srv, "console", "console.sign_in_refused", None).await,
        1,
        "a refused sign-in is audited under the console (the name given proves nothing)"
    );
    assert_eq!(
        audited(&srv, "admin:ana", "console.sign_in_refused", None).await,
        0,
        "nothing is recorded under the name a stranger typed"
    );
    let log = crate::audit(&srv).await;
    assert!(
        !serde_json::to_string(&log)
            .unwrap()
            .contains("not-the-admin-token"),
        "the guessed token is not recorded: {log:?}"
    );

    // A form posted from another site is refused before it is read.
    let res = srv
        .http
        .post(format!(
            "{}/admin/login",
            srv.admin.as_str().trim_end_matches('/')
        ))
        .header("origin", "https://evil.example")
        .form(&[("name", "ana"), ("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a sign-in from another origin");
    assert!(set_cookies(res.headers()).is_empty());
    let res = srv
        .http
        .post(format!(
            "{}/admin/login",
            srv.admin.as_str().trim_end_matches('/')
        ))
        .header("sec-fetch-site", "cross-site")
        .form(&[("name", "ana"), ("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a sign-in from another site");

    // Names: 1 to 64 letters, digits or @._- (before the token is looked at).
    for bad in ["", "   ", "ana lee", "ana<b>", "ana:x", &"a".repeat(65)] {
        let res = try_sign_in(&srv, bad, ADMIN_TOKEN).await;
        assert_eq!(res.status(), 400, "name {bad:?}");
        assert_secure(res.headers(), "a bad name");
        assert!(set_cookies(res.headers()).is_empty(), "name {bad:?}");
        let text = res.text().await.unwrap();
        assert!(text.contains("1 to 64 letters, digits or @._-"), "{text}");
    }
    let signed_in = crate::audit(&srv)
        .await
        .iter()
        .filter(|e| e["action"] == "console.sign_in")
        .count();
    assert_eq!(signed_in, 0, "no session for a bad name");

    // The right token: 303 to the customers, and the cookie.
    let res = try_sign_in(&srv, "ana.lee@ops", ADMIN_TOKEN).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/admin/console/customers");
    assert_secure(res.headers(), "a sign-in");
    let cookies = set_cookies(res.headers());
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let value = cookie_value(&cookies[0]);
    assert_eq!(
        cookies[0],
        format!("{COOKIE}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=1800"),
        "the cookie's attributes"
    );
    assert!(
        value.len() >= 43
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)),
        "a random URL-safe value of 32 bytes or more: {value}"
    );
    assert_eq!(
        audited(&srv, "admin:ana.lee@ops", "console.sign_in", None).await,
        1
    );
    // A second sign-in has a cookie of its own.
    let other = sign_in(&srv, "ana.lee@ops").await;
    assert_ne!(other.cookie, value);

    // `/admin/`: signed in, to the customers; otherwise the sign-in page.
    let res = visit(&srv, "/admin/", Some(&value)).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/admin/console/customers");
    assert_secure(res.headers(), "/admin/ signed in");
    for cookie in [None, Some("garbage"), Some(""), Some(&value[1..])] {
        let res = visit(&srv, "/admin/", cookie).await;
        assert_eq!(res.status(), 200, "/admin/ with {cookie:?}");
        assert_secure(res.headers(), "the sign-in page");
        let html = res.text().await.unwrap();
        assert!(
            html.contains("action=\"/admin/login\"")
                && html.contains("name=\"name\"")
                && html.contains("name=\"token\""),
            "{html}"
        );
        assert!(!html.contains("Signed in as"), "{html}");
        assert_same_origin(&html, "the sign-in page");
    }

    // Pages need a live session's cookie.
    for cookie in [None, Some("garbage"), Some(&value[1..])] {
        for path in [
            "/admin/console/customers",
            "/admin/console/transactions",
            "/admin/console/accounts",
            "/admin/console/recovery",
            "/admin/console/audit",
        ] {
            let res = visit(&srv, path, cookie).await;
            assert_sign_in_first(&res, &format!("{path} with {cookie:?}"));
        }
    }
    let res = visit(&srv, "/admin/console/customers", Some(&value)).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Signed in as <strong>admin:ana.lee@ops</strong>"),
        "{html}"
    );
    // The cookie among others, as a browser sends it.
    let res = browser()
        .get(admin_url(&srv, "/admin/console/customers"))
        .header("cookie", format!("theme=dark; {COOKIE}={value}; lang=en"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the cookie among others");
    // The public listener serves no console.
    for path in ["/admin/", "/admin/console/customers", "/admin/console.css"] {
        let res = srv.get(path).await;
        assert_eq!(res.status(), 404, "{path} on the public listener");
    }
    let res = browser()
        .post(srv.url("/admin/login"))
        .form(&[("name", "ana"), ("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "no sign-in on the public listener");
    assert!(set_cookies(res.headers()).is_empty());
    // The admin token as a bearer is not a session.
    let res = browser()
        .get(admin_url(&srv, "/admin/console/customers"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_sign_in_first(&res, "the bearer token instead of a cookie");
    srv.stop().await;
}

async fn signing_out_ends_the_session(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let ana = sign_in(&srv, "ana").await;
    let bo = sign_in(&srv, "bo").await;
    let csrf = ana.csrf().await;

    // Without the CSRF token (or another session's): refused, still signed in.
    let bo_csrf = bo.csrf().await;
    assert_ne!(csrf, bo_csrf, "each session has its own CSRF token");
    for wrong in [
        vec![],
        vec![("csrf", "nope")],
        vec![("csrf", bo_csrf.as_str())],
    ] {
        let res = ana.post("/admin/logout", &wrong).await;
        assert_eq!(res.status(), 403, "signing out with {wrong:?}");
        assert_secure(res.headers(), "a refused sign-out");
        assert!(set_cookies(res.headers()).is_empty());
    }
    assert_eq!(ana.page("/admin/console/customers").await.0, 200);

    let res = ana.post("/admin/logout", &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/admin/");
    assert_secure(res.headers(), "a sign-out");
    assert_eq!(
        set_cookies(res.headers()),
        [format!(
            "{COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0"
        )],
        "the cookie is removed"
    );
    assert_eq!(
        audited(&srv, "admin:ana", "console.sign_out", None).await,
        1
    );

    // The old cookie opens nothing any more, even sent by hand.
    let res = ana.get("/admin/console/customers").await;
    assert_sign_in_first(&res, "a page after signing out");
    let res = ana.get("/admin/").await;
    assert_eq!(res.status(), 200, "the sign-in page");
    let res = ana.post("/admin/logout", &[("csrf", &csrf)]).await;
    assert_sign_in_first(&res, "signing out twice");
    assert_eq!(
        audited(&srv, "admin:ana", "console.sign_out", None).await,
        1
    );

    // Another person's session is not touched.
    assert_eq!(bo.page("/admin/console/customers").await.0, 200);
    srv.stop().await;
}

async fn sessions_expire_after_half_an_hour(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let (_, token) = srv.login().await;
    let (status, body) = crate::common::customer::put_json(
        &srv,
        &token,
        serde_json::json!({"first_name": "Ann", "last_name": "Lee", "email_address": "a@example.com"}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let ana = sign_in(&srv, "ana").await;
    let csrf = ana.csrf().await;

    srv.clock.advance(1799);
    assert_eq!(
        ana.page("/admin/console/customers").await.0,
        200,
        "still signed in after 1799 s"
    );
    srv.clock.advance(2);
    let res = ana.get("/admin/console/customers").await;
    assert_sign_in_first(&res, "a page after 1801 s");
    let res = ana.get("/admin/").await;
    assert_eq!(res.status(), 200, "the sign-in page after 1801 s");
    // A form of the expired session changes nothing.
    let path = format!("/admin/console/customers/{id}/decide");
    let res = ana
        .post(&path, &[("csrf", &csrf), ("decision", "accept")])
        .await;
    assert_sign_in_first(&res, "a decision after 1801 s");
    assert_eq!(audited(&srv, "admin:ana", "customer.accept", None).await, 0);
    let (_, got) = crate::common::customer::admin_customer(&srv, &id).await;
    assert_eq!(
        got["statuses"]["sep31-sender"]["status"], "PROCESSING",
        "{got}"
    );
    // Signing in again works, with a new cookie.
    let again = sign_in(&srv, "ana").await;
    assert_ne!(again.cookie, ana.cookie);
    assert_eq!(again.page("/admin/console/customers").await.0, 200);
    srv.stop().await;
}

on_both_engines!(
    the_admin_token_and_a_name_open_a_session,
    signing_out_ends_the_session,
    sessions_expire_after_half_an_hour,
);
