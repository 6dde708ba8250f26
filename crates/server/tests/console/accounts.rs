//! An account's KYC limits in the console: its state and `rule_gen`, the
//! rules that apply, and its own rules saved (or cleared) through the form
//! as the admin API would.

use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Engine, TestServer};
use crate::on_both_engines;
use crate::{Staff, assert_secure, audited, location, sign_in};

/// USDC of a made-up issuer, as SEP-38 names it.
const USDC: &str = "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";

/// The admin API's view of `account`'s limits.
async fn limits(srv: &TestServer, account: &str) -> Value {
    let (status, body) =
        TestServer::send(srv.admin(Method::GET, &format!("/admin/limits/{account}"))).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The text of the cell after `<th>{key}</th>`.
fn cell<'a>(html: &'a str, key: &str) -> &'a str {
    let th = format!("<th>{key}</th>");
    let at = html
        .find(&th)
        .unwrap_or_else(|| panic!("no {key} in {html}"))
        + th.len();
    let rest = &html[at..];
    let open = rest.find('>').unwrap() + 1;
    &rest[open..rest.find("</td>").unwrap()]
}

/// The rules textarea's text, unescaped.
fn textarea(html: &str) -> String {
    let open = html.find("<textarea").unwrap();
    let start = html[open..].find('>').unwrap() + open + 1;
    let end = html[start..].find("</textarea>").unwrap() + start;
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Saves `rules` for `account` through the form: the answer.
async fn save(ana: &Staff, account: &str, rules: &str) -> reqwest::Response {
    ana.submit(
        "/admin/console/accounts/rules",
        &[("account", account), ("memo", ""), ("rules", rules)],
    )
    .await
}

async fn rules_are_saved_through_the_form(engine: Engine) {
    let srv = TestServer::start_with(engine, |c| {
        c.limits.rules = serde_json::from_value(json!([
            {"name": "unverified-send", "op": "send", "asset": USDC, "threshold": "100"},
            {"name": "unverified-month", "op": "send", "asset": USDC, "threshold": "300",
             "timeframe_secs": 2_592_000},
        ]))
        .unwrap();
    })
    .await;
    let account = Keypair::random().public_key().to_string();
    let ana = sign_in(&srv, "ana").await;

    // The form alone, then the account's standing as the admin API has it.
    let html = ana.html("/admin/console/accounts").await;
    assert!(html.contains("name=\"account\""), "{html}");
    let before = limits(&srv, &account).await;
    let gen0 = before["rule_gen"].as_u64().unwrap();
    let page = format!("/admin/console/accounts?account={account}");
    let html = ana.html(&page).await;
    assert_eq!(cell(&html, "rule_gen"), gen0.to_string(), "{html}");
    let state = before["state"].as_str().unwrap();
    assert!(cell(&html, "state").contains(state), "{html}");
    assert_eq!(cell(&html, "own_rules"), "false");
    assert!(
        html.contains("unverified-send") && html.contains("unverified-month"),
        "the configured rules: {html}"
    );

    // Own rules: saved, rule_gen moves on.
    let vip = json!([{"name": "vip", "op": "send", "asset": USDC, "threshold": "50000"}]);
    let res = save(&ana, &account, &vip.to_string()).await;
    assert_eq!(res.status(), 303);
    assert_secure(res.headers(), "saving rules");
    let to = location(&res);
    assert!(
        to.starts_with(&format!(
            "/admin/console/accounts?account={account}&memo=&done="
        )),
        "{to}"
    );
    let after = limits(&srv, &account).await;
    let gen1 = after["rule_gen"].as_u64().unwrap();
    assert!(gen1 > gen0, "rule_gen moves on: {gen0} → {gen1}");
    assert_eq!(after["own_rules"], true, "{after}");
    assert_eq!(after["rules"][0]["rule"]["name"], "vip", "{after}");
    let html = ana.html(&to).await;
    assert!(
        html.contains(&format!("Rules saved; rule_gen is now {gen1}.")),
        "{html}"
    );
    assert_eq!(cell(&html, "rule_gen"), gen1.to_string());
    assert_eq!(cell(&html, "own_rules"), "true");
    assert!(!html.contains("unverified-send"), "replaced: {html}");
    assert_eq!(audited(&srv, "admin:ana", "limits.rules", None).await, 1);

    // What the form shows is what it takes back.
    let shown = textarea(&html);
    let parsed: Value = serde_json::from_str(&shown).unwrap_or_else(|e| panic!("{e}: {shown}"));
    assert_eq!(parsed[0]["name"], "vip", "{shown}");
    let res = save(&ana, &account, &shown).await;
    assert_eq!(res.status(), 303, "the shown rules saved again");
    let gen2 = limits(&srv, &account).await["rule_gen"].as_u64().unwrap();
    assert!(gen2 > gen1);

    // Not JSON, or a rule the service refuses: 400 pages, nothing changed.
    for (bad, what) in [
        ("[{not json", "not JSON"),
        ("{\"op\": \"send\"}", "not a list"),
        (
            "[{\"op\": \"send\", \"asset\": \"gold\", \"threshold\": \"1\"}]",
            "a bad asset",
        ),
        (
            "[{\"op\": \"fly\", \"asset\": \"iso4217:USD\", \"threshold\": \"1\"}]",
            "an unknown op",
        ),
    ] {
        let res = save(&ana, &account, bad).await;
        assert_eq!(res.status(), 400, "{what}");
        assert_secure(res.headers(), what);
        let text = res.text().await.unwrap();
        assert!(text.contains("role=\"alert\""), "{what}: {text}");
        assert!(!text.contains("\"gold\""), "{what}: not repeated: {text}");
    }
    let res = ana
        .post(
            "/admin/console/accounts/rules",
            &[
                ("csrf", "forged"),
                ("account", &account),
                ("rules", &vip.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
    let now = limits(&srv, &account).await;
    assert_eq!(now["rule_gen"].as_u64().unwrap(), gen2, "{now}");
    assert_eq!(audited(&srv, "admin:ana", "limits.rules", None).await, 2);

    // Empty: back to the configured rules.
    let res = save(&ana, &account, "").await;
    assert_eq!(res.status(), 303);
    let back = limits(&srv, &account).await;
    assert!(back["rule_gen"].as_u64().unwrap() > gen2, "{back}");
    assert_eq!(back["own_rules"], false, "{back}");
    let html = ana.html(&page).await;
    assert!(html.contains("unverified-send"), "{html}");

    // An account that is not one: a 400 page.
    let res = save(&ana, "GNOTANACCOUNT", &vip.to_string()).await;
    assert_eq!(res.status(), 400);
    srv.stop().await;
}

async fn saving_the_page_unchanged_keeps_the_configured_rules(engine: Engine) {
    let srv = TestServer::start_with(engine, |c| {
        c.limits.rules = serde_json::from_value(json!([
            {"name": "unverified-send", "op": "send", "asset": USDC, "threshold": "100"},
        ]))
        .unwrap();
    })
    .await;
    let account = Keypair::random().public_key().to_string();
    let ana = sign_in(&srv, "ana").await;
    let html = ana
        .html(&format!("/admin/console/accounts?account={account}"))
        .await;
    assert_eq!(cell(&html, "own_rules"), "false");
    // "This account's own rules … empty to go back to them": an account
    // with none of its own shows none, so that saving the form as shown
    // does not pin the configured rules as its own.
    let shown = textarea(&html);
    let res = save(&ana, &account, &shown).await;
    assert_eq!(res.status(), 303);
    let after = limits(&srv, &account).await;
    assert_eq!(
        (after["own_rules"].clone(), shown.trim()),
        (json!(false), ""),
        "the own-rules form of an account without own rules: {after}"
    );
    srv.stop().await;
}

on_both_engines!(
    rules_are_saved_through_the_form,
    saving_the_page_unchanged_keeps_the_configured_rules,
);
