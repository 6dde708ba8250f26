//! `mooring bench --url` drives an anchor it did not start: here one behind
//! a proxy that closes every connection after one answer (as gunicorn's
//! sync workers do), reached at 127.0.0.1 while it calls itself localhost,
//! writing `web_auth_domain` as its host or as host and port.

mod common;

use common::{BIN, Running, empty_horizon, server_env};
use mooring_cluster::Proxy;
use serde_json::Value;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server calling itself `http://localhost:<port>`, `<port>` being a
/// proxy's that closes each connection; `web_auth_domain` as given, or
/// the server's default (the host alone).
async fn closing_anchor(dir: &std::path::Path, web_auth_domain: Option<&str>) -> (Running, Proxy) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let own = free_port();
    let horizon = empty_horizon().await;
    let public = format!("http://localhost:{port}");
    let bind = format!("127.0.0.1:{own}");
    let domain = web_auth_domain.map(|d| d.replace("{port}", &port.to_string()));
    let mut extra = vec![
        ("MOORING_HTTP__PUBLIC_URL", public.as_str()),
        ("MOORING_LOG_LEVEL", "warn"),
        ("MOORING_SEP10__CHALLENGES_PER_IP_PER_MINUTE", "1000000000"),
    ];
    if let Some(d) = &domain {
        extra.push(("MOORING_SEP10__WEB_AUTH_DOMAIN", d.as_str()));
    }
    let mut env = server_env(&horizon, &extra);
    env.retain(|(k, _)| *k != "MOORING_HTTP__BIND");
    env.push(("MOORING_HTTP__BIND", &bind));
    let srv = Running::start(dir, &env);
    let proxy = Proxy::start_closing(listener, &[bind.parse().unwrap()]).unwrap();
    (srv, proxy)
}

/// Runs `mooring bench <args>` for 2 s at concurrency 4, JSON out; each
/// line's result, and the standard error.
async fn bench(args: &[&str]) -> (Vec<Value>, String) {
    let mut all: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    all.extend(
        [
            "--duration",
            "2s",
            "--warmup",
            "0s",
            "--concurrency",
            "4",
            "--json",
        ]
        .map(str::to_owned),
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .arg("bench")
            .args(&all)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "bench failed:\n{stderr}");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (lines, stderr)
}

fn assert_clean(results: &[Value], stderr: &str) {
    assert!(!results.is_empty());
    for r in results {
        assert!(r["ok"].as_u64().unwrap() > 0, "{r}\n{stderr}");
        assert_eq!(r["errors"], 0, "{r}\n{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_completes_against_a_server_closing_every_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, proxy) = closing_anchor(dir.path(), None).await;
    let url = proxy.url.to_string();
    // The proxy does close: every answer says so.
    let res = reqwest::get(proxy.url("/.well-known/stellar.toml"))
        .await
        .unwrap();
    assert_eq!(res.headers()["connection"], "close");

    let (results, stderr) = bench(&["auth", "--url", &url]).await;
    assert_clean(&results, &stderr);
    let (results, stderr) = bench(&["kyc", "--url", &url]).await;
    assert_eq!(results.len(), 2, "PUT and GET: {stderr}");
    assert_clean(&results, &stderr);
    let (windows, stderr) = bench(&["mixed", "--url", &url, "--window", "1s"]).await;
    assert_eq!(windows.len(), 2, "one line a window: {stderr}");
    for w in &windows {
        assert_eq!(w["errors"], 0, "{w}\n{stderr}");
        for kind in ["login", "put", "get"] {
            assert!(w[format!("{kind}_per_sec")].as_f64().unwrap() > 0.0, "{w}");
        }
    }
    drop(srv);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_verifies_challenges_of_a_server_calling_itself_another_name() {
    // web_auth_domain as the host alone (Mooring's default), then as host
    // and port (django-polaris's way); the URL says 127.0.0.1, the server
    // localhost.
    for web_auth_domain in [None, Some("localhost:{port}")] {
        let dir = tempfile::tempdir().unwrap();
        let (srv, proxy) = closing_anchor(dir.path(), web_auth_domain).await;
        let url = proxy.url.to_string();
        let (results, stderr) = bench(&["auth", "--url", &url, "--verify-challenge"]).await;
        assert_clean(&results, &stderr);
        let port = proxy.url.port().unwrap();
        assert!(
            stderr.contains(&format!("home domain: localhost:{port}")),
            "{stderr}"
        );
        drop(srv);
    }
}
