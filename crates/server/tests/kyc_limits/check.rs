//! `POST /operations/check` and the answers of `/kyc-check` without
//! waiting.

use reqwest::Method;
use serde_json::json;

use super::{USDC, check, check_admin, decide, gated, kyc_check, open_record, send};
use crate::common::{Engine, TestServer, assert_error};
use crate::on_both_engines;

async fn operations_within_limits_pass_and_over_them_get_451(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    let me = kp.public_key().to_string();
    let (status, body) = check(&srv, &token, send(&kp, "100")).await;
    assert_eq!((status, &body["allowed"]), (200, &json!(true)), "{body}");
    // Over the per-operation soft limit: 451, Taler's LegitimizationNeededResponse.
    let (status, body) = check(&srv, &token, send(&kp, "100.0000001")).await;
    assert_eq!(status, 451, "{body}");
    assert_eq!(body["code"], 1028);
    assert_eq!(body["account"], me.as_str());
    assert_eq!(body["account_pub"], me.as_str());
    assert_eq!(body["bad_kyc_auth"], false);
    assert_eq!(body["soft_limit"], true);
    assert_eq!(body["rule_name"], "unverified-send");
    assert_eq!(
        body["kyc_check"],
        srv.url(&format!("/kyc-check/{me}")).as_str()
    );
    assert!(
        body["error"].as_str().unwrap().contains("sep31-sender"),
        "{body}"
    );
    // Signed by another key: bad_kyc_auth.
    let mut other = send(&kp, "500");
    other["key"] = json!(Keypair::random().public_key().to_string());
    let (status, body) = check(&srv, &token, other).await;
    assert_eq!(
        (status, &body["bad_kyc_auth"]),
        (451, &json!(true)),
        "{body}"
    );
    // A hard limit: KYC would not lift it.
    let (status, body) = check(&srv, &token, send(&kp, "20000")).await;
    assert_eq!(
        (status, &body["soft_limit"]),
        (451, &json!(false)),
        "{body}"
    );
    assert_eq!(body["rule_name"], "hard-cap");
    // A hidden zero limit denies without naming itself.
    let mut w = send(&kp, "1");
    w["op"] = json!("withdraw");
    let (status, body) = check(&srv, &token, w).await;
    assert_eq!(status, 451, "{body}");
    assert!(body.get("rule_name").is_none(), "{body}");
    // Other assets and operations are not limited.
    let mut eur = send(&kp, "5000");
    eur["asset"] = json!("iso4217:EUR");
    assert_eq!(check(&srv, &token, eur).await.0, 200);

    // Once KYC is accepted, the soft limits are lifted; the hard one stays.
    let id = open_record(&srv, &token).await;
    decide(&srv, &id, "accept").await;
    assert_eq!(check(&srv, &token, send(&kp, "5000")).await.0, 200);
    assert_eq!(check(&srv, &token, send(&kp, "20000")).await.0, 451);
}

async fn rolling_windows_count_what_the_business_server_records(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    // A wallet cannot record.
    let mut rec = send(&kp, "100");
    rec["record"] = json!(true);
    assert_error(
        check(&srv, &token, rec.clone()).await,
        403,
        "only the business server (admin token, admin listener) records operations",
    );
    for _ in 0..3 {
        let (status, body) = check_admin(&srv, rec.clone()).await;
        assert_eq!(status, 200, "{body}");
    }
    // 300 recorded in the window: the next one is over it.
    let (status, body) = check_admin(&srv, rec.clone()).await;
    assert_eq!(
        (status, &body["rule_name"]),
        (451, &json!("unverified-month")),
        "{body}"
    );
    assert_eq!(check(&srv, &token, send(&kp, "1")).await.0, 451);
    // What /kyc-check shows: used and when the window frees up.
    let me = kp.public_key().to_string();
    let (status, body) = kyc_check(&srv, &token, &me, "").await;
    assert_eq!(status, 409, "{body}");
    let _ = open_record(&srv, &token).await;
    let (status, body) = kyc_check(&srv, &token, &me, "").await;
    assert_eq!(status, 202, "{body}");
    let month = body["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rule_name"] == "unverified-month")
        .unwrap()
        .clone();
    assert_eq!(month["used"], "300");
    let resets = month["resets_at"].as_i64().unwrap();
    let now = mooring_server::clock::Clock::now(srv.clock.as_ref());
    assert!(resets > i64::try_from(now).unwrap(), "{month}");
    // Thirty days on, the window is empty again.
    srv.clock.advance(2_592_001);
    assert_eq!(check_admin(&srv, rec).await.0, 200);
}

async fn kyc_check_answers_each_state(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    let me = kp.public_key().to_string();
    // 404: never seen; the default exposed limits come along.
    let (status, body) = kyc_check(&srv, &token, &me, "").await;
    assert_eq!((status, &body["code"]), (404, &json!(1935)), "{body}");
    let names: Vec<&str> = body["limits"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["rule_name"].as_str())
        .collect();
    assert_eq!(names, ["unverified-send", "unverified-month", "hard-cap"]);
    // A denial makes it known, but it has no SEP-12 record to bind: 409.
    assert_eq!(check(&srv, &token, send(&kp, "500")).await.0, 451);
    let (status, body) = kyc_check(&srv, &token, &me, "").await;
    assert_eq!((status, &body["code"]), (409, &json!(1937)), "{body}");
    assert_eq!(body["type"], "sep31-sender");
    assert_eq!(body["kyc_url"], srv.url("").trim_end_matches('/'));
    // A record under review: 202 with aml_review.
    let id = open_record(&srv, &token).await;
    let (status, body) = kyc_check(&srv, &token, &me, "").await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        (&body["state"], &body["aml_review"]),
        (&json!("pending"), &json!(true))
    );
    let pending_gen = body["rule_gen"].as_u64().unwrap();
    // Accepted: 200, a newer rule_gen, soft limits gone from the list.
    decide(&srv, &id, "accept").await;
    let (status, body) = kyc_check(&srv, &token, &me, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["state"], &body["aml_review"]),
        (&json!("accepted"), &json!(false))
    );
    assert!(body["rule_gen"].as_u64().unwrap() > pending_gen);
    let names: Vec<&str> = body["limits"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["rule_name"].as_str())
        .collect();
    assert_eq!(names, ["hard-cap"]);
    // Rejected (final in SEP-12): the soft limits apply again, and KYC can
    // no longer lift them — a denial is hard and asks for nothing.
    decide(&srv, &id, "reject").await;
    let (status, body) = kyc_check(&srv, &token, &me, "").await;
    assert_eq!(
        (status, &body["state"]),
        (200, &json!("rejected")),
        "{body}"
    );
    let (status, body) = check(&srv, &token, send(&kp, "500")).await;
    assert_eq!(
        (status, &body["soft_limit"]),
        (451, &json!(false)),
        "{body}"
    );
    assert_eq!(kyc_check(&srv, &token, &me, "").await.0, 200);

    // 403: a valid token for another account, naming the one to use.
    let (_, stranger) = srv.login().await;
    let (status, body) = kyc_check(&srv, &stranger, &me, "").await;
    assert_eq!((status, &body["code"]), (403, &json!(1930)), "{body}");
    assert_eq!(body["expected_account_pub"], me.as_str());
    // A token with another memo of the same account is another customer.
    let memo_token = srv.token_for(&kp, Some(7)).await;
    let (status, body) = kyc_check(&srv, &memo_token, &me, "").await;
    assert_eq!(
        (status, &body["expected_memo"]),
        (403, &json!(null)),
        "{body}"
    );
    assert_eq!(kyc_check(&srv, &memo_token, &me, "memo=7").await.0, 404);
    // 401 without a token; 400 for malformed parameters.
    assert_eq!(
        TestServer::send(srv.http.get(srv.url(&format!("/kyc-check/{me}"))))
            .await
            .0,
        401
    );
    for (account, query) in [
        ("GABC", ""),
        (me.as_str(), "memo=x"),
        (me.as_str(), "timeout_ms=-1"),
        (me.as_str(), "min_rule=soon"),
    ] {
        assert_eq!(
            kyc_check(&srv, &token, account, query).await.0,
            400,
            "{query}"
        );
    }
}

async fn kyc_check_is_204_when_gating_is_off(engine: Engine) {
    let srv = TestServer::start_with(engine, |c| c.limits.enabled = false).await;
    let (kp, token) = srv.login().await;
    let res = srv
        .with_token(
            Method::GET,
            &format!("/kyc-check/{}", kp.public_key()),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(res.text().await.unwrap(), "");
    let (status, body) = check(&srv, &token, send(&kp, "1000000")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(srv.get_json("/limits").await["enabled"], false);
    // Without SEP-12 there is nothing to gate on: 204 too.
    let srv = TestServer::start_with(engine, |c| c.sep12.enabled = false).await;
    let (kp, token) = srv.login().await;
    let res = srv
        .with_token(
            Method::GET,
            &format!("/kyc-check/{}", kp.public_key()),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

async fn malformed_checks_are_refused_without_echo(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    let me = kp.public_key().to_string();
    for (body, message) in [
        (
            json!({"account": me, "op": "launder", "amount": "1", "asset": USDC}),
            "op must be one of deposit, withdraw, send, receive, quote",
        ),
        (
            json!({"account": me, "op": "send", "amount": "1.00000001", "asset": USDC}),
            "amount must be a positive decimal with at most 7 decimal places",
        ),
        (
            json!({"account": me, "op": "send", "amount": "0", "asset": USDC}),
            "amount must be positive",
        ),
        (
            json!({"account": me, "op": "send", "amount": "1", "asset": "USDC"}),
            "asset must be a SEP-38 asset: stellar:CODE:ISSUER or iso4217:XXX",
        ),
        (
            json!({"account": "someone@example.org", "op": "send", "amount": "1", "asset": USDC}),
            "account must be a G… or M… address, memo an unsigned 64-bit id",
        ),
        (
            json!({"account": me, "op": "send", "amount": "1", "asset": USDC, "secret": "x"}),
            "body must be JSON: {\"account\", \"memo\"?, \"op\", \"amount\", \"asset\", \"key\"?, \"record\"?}",
        ),
    ] {
        assert_error(check(&srv, &token, body).await, 400, message);
    }
    // Another account's operations are not the wallet's to check.
    let other = Keypair::random();
    assert_eq!(check(&srv, &token, send(&other, "1")).await.0, 403);
    // No token: 401, before the body is read.
    let (status, _) = TestServer::send(
        srv.http
            .post(srv.url("/operations/check"))
            .body("{not json"),
    )
    .await;
    assert_eq!(status, 401);
}

async fn account_rules_replace_the_configured_ones(engine: Engine) {
    let srv = gated(engine).await;
    let (kp, token) = srv.login().await;
    let me = kp.public_key().to_string();
    let _ = open_record(&srv, &token).await;
    let (_, before) = kyc_check(&srv, &token, &me, "").await;
    let path = format!("/admin/limits/{me}/rules");
    let (status, body) = TestServer::send(srv.admin(Method::PUT, &path).json(&json!({"rules": [
        {"name": "vip", "op": "send", "asset": USDC, "threshold": "50000"}
    ]})))
    .await;
    assert_eq!(status, 200, "{body}");
    let gen1 = body["rule_gen"].as_u64().unwrap();
    assert!(gen1 > before["rule_gen"].as_u64().unwrap());
    assert_eq!(check(&srv, &token, send(&kp, "40000")).await.0, 200);
    let (_, shown) = TestServer::send(srv.admin(Method::GET, &format!("/admin/limits/{me}"))).await;
    assert_eq!(shown["own_rules"], true, "{shown}");
    // Back to the configured rules: rule_gen moves on again.
    let (status, body) = TestServer::send(srv.admin(Method::DELETE, &path)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["rule_gen"].as_u64().unwrap() > gen1);
    assert_eq!(check(&srv, &token, send(&kp, "40000")).await.0, 451);
    // Bad rules are refused, naming what is wrong.
    let (status, body) = TestServer::send(
        srv.admin(Method::PUT, &path)
            .json(&json!({"rules": [{"op": "send", "asset": "gold", "threshold": "1"}]})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // Audited.
    let (_, audit) = TestServer::send(srv.admin(Method::GET, "/admin/audit")).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"limits.rules"), "{actions:?}");
}

use mooring_stellar::Keypair;

on_both_engines!(
    operations_within_limits_pass_and_over_them_get_451,
    rolling_windows_count_what_the_business_server_records,
    kyc_check_answers_each_state,
    kyc_check_is_204_when_gating_is_off,
    malformed_checks_are_refused_without_echo,
    account_rules_replace_the_configured_ones,
);
