//! The `mooring` binary as an operator meets it: zero-config start,
//! configuration errors, secrets, migrations, shutdown, and what its logs
//! never contain.

mod common;

use std::os::unix::fs::PermissionsExt as _;

use common::{Running, admin_url, empty_horizon, postgres_database, repo_file, run, server_env};
use mooring_client::sep10::{LoginOptions, WebAuth};
use mooring_stellar::{ClientAccount, Keypair};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn zero_config_serve_creates_data_keys_and_a_wal_database() {
    let dir = tempfile::tempdir().unwrap();
    // Only the ports are moved off their defaults (8000, 9100, 8001) so
    // tests can run side by side; everything else is the embedded default.
    let env = [
        ("MOORING_HTTP__BIND", "127.0.0.1:0"),
        ("MOORING_METRICS__BIND", "127.0.0.1:0"),
        ("MOORING_ADMIN__BIND", "127.0.0.1:0"),
    ];
    let srv = Running::start(dir.path(), &env);
    let out = srv.stdout.lock().unwrap().clone();
    assert!(out.contains("listening on http://127.0.0.1:"), "{out}");
    assert!(out.contains("signing key   G"), "{out}");
    assert!(out.contains("Test SDF Network ; September 2015"), "{out}");
    let data = dir.path().join("data");
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("keys")), 0o600);
    assert!(data.join("blobs").is_dir());
    assert!(data.join("mooring.db").is_file());
    assert!(
        data.join("mooring.db-wal").exists(),
        "SQLite runs in WAL mode"
    );

    let res = reqwest::get(srv.url("/.well-known/stellar.toml"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("WEB_AUTH_ENDPOINT = \"http://localhost:"),
        "{text}"
    );
    let key_line = out
        .lines()
        .find(|l| l.contains("signing key"))
        .unwrap()
        .to_owned();
    let (status, stderr) = srv.stop();
    assert!(
        status.success(),
        "graceful exit on SIGTERM: {status:?}\n{stderr}"
    );
    assert!(stderr.contains("stopped"), "{stderr}");
    assert!(out.contains("Generated new secrets in data/keys"), "{out}");

    // A second start reuses the keys: same signing key, nothing generated.
    let again = Running::start(dir.path(), &env);
    let out2 = again.stdout.lock().unwrap().clone();
    assert!(out2.contains(&key_line), "{out2}");
    assert!(!out2.contains("Generated"), "{out2}");
    again.stop();
}

#[test]
fn unrecognised_database_url_is_an_error_not_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["serve"],
        &[("MOORING_DATABASE_URL", "mysql://root@localhost/mooring")],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid setting `database_url`"), "{err}");
    assert!(
        err.contains("sqlite://") && err.contains("postgres://"),
        "says what is accepted: {err}"
    );
    assert!(!dir.path().join("data").exists(), "nothing was created");
    let out = run(
        dir.path(),
        &["serve"],
        &[("MOORING_DATABASE_URL", "data/mooring.db")],
    );
    assert!(!out.status.success());
}

#[test]
fn invalid_settings_fail_fast_and_unknown_ones_warn() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mooring.toml");
    std::fs::write(&file, "[sep10]\njwt_expiry_secs = \"a day\"\n").unwrap();
    let out = run(dir.path(), &["config", "check"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sep10.jwt_expiry_secs") && err.contains("mooring.toml"),
        "{err}"
    );

    std::fs::write(&file, "[sep10]\njwt_expiry_sec = 60\n").unwrap();
    let out = run(
        dir.path(),
        &["config", "check"],
        &[("MOORING_COLOUR", "blue")],
    );
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown setting `sep10.jwt_expiry_sec`"),
        "{err}"
    );
    assert!(err.contains("unknown setting `colour`"), "{err}");

    let out = run(
        dir.path(),
        &["config", "check", "--config", "missing.toml"],
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("mooring config example > missing.toml"));

    let out = run(
        dir.path(),
        &["config", "check"],
        &[("MOORING_HTTP__PUBLIC_URL", "ftp://x")],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("http.public_url"));
}

#[test]
fn config_example_prints_the_committed_example() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["config", "example"], &[]);
    assert!(out.status.success());
    let committed = std::fs::read_to_string(repo_file("mooring.example.toml")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), committed);
}

#[test]
fn keys_generate_prints_usable_secrets_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["keys", "generate"], &[]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let parsed: toml::Table = toml::from_str(&text).unwrap();
    for k in ["signing_seed", "jwt_seed"] {
        Keypair::from_secret_seed(parsed[k].as_str().unwrap()).unwrap();
    }
    assert_eq!(parsed["master_key"].as_str().unwrap().len(), 44);

    let path = dir.path().join("keys");
    assert!(
        run(dir.path(), &["keys", "generate", "--out", "keys"], &[])
            .status
            .success()
    );
    assert_eq!(mode(&path), 0o600);
    let before = std::fs::read(&path).unwrap();
    assert!(
        !run(dir.path(), &["keys", "generate", "--out", "keys"], &[])
            .status
            .success()
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "an existing key file is never replaced"
    );
}

#[tokio::test]
async fn secrets_can_come_from_files_named_in_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let kp = Keypair::random();
    let seed_file = dir.path().join("seed");
    std::fs::write(&seed_file, format!("{}\n", kp.secret_seed().as_str())).unwrap();
    let seed_path = seed_file.display().to_string();
    let horizon = empty_horizon().await;
    let srv = Running::start(
        dir.path(),
        &server_env(
            &horizon,
            &[("MOORING_SECRETS__SIGNING_SEED_FILE", &seed_path)],
        ),
    );
    let out = srv.stdout.lock().unwrap().clone();
    assert!(out.contains(&kp.public_key().to_string()), "{out}");
    srv.stop();
}

#[tokio::test]
async fn migrate_then_serve_on_sqlite_and_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("m.db").display());
    for url in [sqlite, postgres_database().await] {
        let out = run(dir.path(), &["migrate"], &[("MOORING_DATABASE_URL", &url)]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("migrations applied"));
        // Applying again is a no-op.
        assert!(
            run(dir.path(), &["migrate"], &[("MOORING_DATABASE_URL", &url)])
                .status
                .success()
        );
        let horizon = empty_horizon().await;
        let srv = Running::start(
            dir.path(),
            &server_env(&horizon, &[("MOORING_DATABASE_URL", &url)]),
        );
        let res = reqwest::get(srv.url("/health")).await.unwrap();
        assert_eq!(res.status(), 200);
        let out = srv.stdout.lock().unwrap().clone();
        if url.starts_with("postgres") {
            assert!(out.contains("database      postgres://"), "{out}");
        }
        srv.stop();
    }
}

#[tokio::test]
async fn database_password_is_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["migrate"],
        &[(
            "MOORING_DATABASE_URL",
            "postgres://mooring:hunter2-secret@127.0.0.1:1/none",
        )],
    );
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("hunter2-secret"), "{all}");
    assert!(all.contains("***"), "{all}");
}

#[tokio::test]
async fn logs_never_contain_tokens_keys_challenges_or_queries() {
    let dir = tempfile::tempdir().unwrap();
    let horizon = empty_horizon().await;
    let srv = Running::start(
        dir.path(),
        &server_env(&horizon, &[("MOORING_LOG_LEVEL", "trace")]),
    );
    let http = reqwest::Client::new();
    let web_auth = WebAuth::discover(http.clone(), &url::Url::parse(&srv.base).unwrap())
        .await
        .unwrap();
    let kp = Keypair::random();
    let account = ClientAccount::Account(kp.public_key());
    let challenge = web_auth
        .challenge(&account, &LoginOptions::default())
        .await
        .unwrap();
    let token = web_auth
        .login(&account, &[&kp], &LoginOptions::default())
        .await
        .unwrap();
    // A token in a query string, on a route that does not exist.
    let _ = http
        .get(srv.url(&format!("/nope?jwt={token}")))
        .send()
        .await
        .unwrap();
    // A failing request with a body.
    let _ = http
        .post(srv.url("/auth"))
        .json(&serde_json::json!({"transaction": challenge}))
        .send()
        .await
        .unwrap();
    let keys = std::fs::read_to_string(dir.path().join("data/keys")).unwrap();
    // The admin listener: ids and addresses in paths and queries.
    let customer = http
        .put(srv.url("/customer"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"first_name": "Ann"}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_token = keys
        .lines()
        .find(|l| l.starts_with("admin_token"))
        .and_then(|l| l.split('"').nth(1))
        .unwrap()
        .to_owned();
    let admin = admin_url(&srv);
    for path in [
        format!("/admin/customers/{customer}"),
        format!("/admin/audit?customer_id={customer}"),
        format!("/admin/recovery/accounts/{}/signers", kp.public_key()),
    ] {
        let _ = http
            .get(format!("{admin}{path}"))
            .bearer_auth(&admin_token)
            // Not an id: a token a client put where one goes.
            .header("x-request-id", format!("jwt={token}"))
            .send()
            .await
            .unwrap();
    }
    let (_, stderr) = srv.stop();
    assert!(
        stderr.contains("finished processing request"),
        "requests are logged: {stderr}"
    );
    // Written to a pipe, not a terminal: no colour codes.
    assert!(
        !stderr.contains('\u{1b}'),
        "logs to a pipe carry terminal escapes:\n{stderr}"
    );
    for (what, needle) in [
        ("a customer id", customer.as_str()),
        ("an admin path", &format!("/admin/customers/{customer}")),
        ("an admin query", "customer_id="),
    ] {
        assert!(!stderr.contains(needle), "logs contain {what}:\n{stderr}");
    }
    let secrets: Vec<&str> = keys.lines().filter_map(|l| l.split('"').nth(1)).collect();
    assert_eq!(secrets.len(), 4);
    for (what, needle) in [
        ("the JWT", token.as_str()),
        ("the JWT signature", token.rsplit('.').next().unwrap()),
        ("the challenge", &challenge[..40]),
        ("the client account", &kp.public_key().to_string()),
        ("a query string", "jwt="),
    ] {
        assert!(!stderr.contains(needle), "logs contain {what}:\n{stderr}");
    }
    for s in secrets {
        assert!(
            !stderr.contains(s),
            "logs contain a secret from the keys file"
        );
    }
}

/// The admin API URL a running server printed.

#[tokio::test]
async fn admin_commands_and_a_master_key_rotation_without_losing_data() {
    let dir = tempfile::tempdir().unwrap();
    let horizon = empty_horizon().await;
    let env = server_env(&horizon, &[]);
    let srv = Running::start(dir.path(), &env);
    // A customer with a field and a document.
    let http = reqwest::Client::new();
    let web_auth = WebAuth::discover(http.clone(), &url::Url::parse(&srv.base).unwrap())
        .await
        .unwrap();
    let kp = Keypair::random();
    let token = web_auth
        .login(
            &ClientAccount::Account(kp.public_key()),
            &[&kp],
            &LoginOptions::default(),
        )
        .await
        .unwrap();
    let jpeg = [&[0xFF, 0xD8, 0xFF, 0xE0][..], b"passport scan"].concat();
    let form = reqwest::multipart::Form::new()
        .text("first_name", "Rotating Rita")
        .part(
            "photo_id_front",
            reqwest::multipart::Part::bytes(jpeg.clone()),
        );
    let res = http
        .put(srv.url("/customer"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let id = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The admin commands, through the running server's admin API.
    let admin = |args: &[&str], url: &str| {
        let mut all = vec!["admin", "--url", url, "--actor", "ops"];
        all.extend_from_slice(args);
        run(dir.path(), &all, &[])
    };
    let url = admin_url(&srv);
    let out = admin(&["customers", "list"], &url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&id));
    let out = admin(
        &[
            "customers",
            "request-info",
            &id,
            "--field",
            "first_name",
            "--reason",
            "blurry",
        ],
        &url,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("NEEDS_INFO"));
    let out = admin(&["customers", "accept", &id], &url);
    assert!(String::from_utf8_lossy(&out.stdout).contains("ACCEPTED"));
    let out = admin(
        &["customers", "reject", &id, "--reason", "sanctions hit"],
        &url,
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("REJECTED"));
    // SEP-30 key rotation from the command line.
    let account = kp.public_key().to_string();
    let res = http
        .post(srv.url(&format!("/accounts/{account}")))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "identities": [{ "role": "owner", "auth_methods": [{ "type": "stellar_address", "value": account }] }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let first = res.json::<serde_json::Value>().await.unwrap()["signers"][0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = admin(&["recovery", "add-signer", &account], &url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotated: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rotated["signers"][1]["key"], first.as_str());
    assert_ne!(rotated["signers"][0]["key"], first.as_str());
    let out = admin(&["audit", "--customer", &id], &url);
    let audit = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        audit.contains("admin:ops") && audit.contains("customer.reject"),
        "{audit}"
    );
    let out = run(
        dir.path(),
        &[
            "admin",
            "--url",
            &url,
            "--token",
            &"x".repeat(40),
            "customers",
            "list",
        ],
        &[],
    );
    assert!(!out.status.success());
    srv.stop();

    // Rotation: a new master key, servers restarted, data keys rewrapped.
    let out = run(dir.path(), &["keys", "new-master-key"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys = std::fs::read_to_string(dir.path().join("data/keys")).unwrap();
    assert!(keys.contains("previous_master_keys"));
    assert_eq!(mode(&dir.path().join("data/keys")), 0o600);
    let out = run(dir.path(), &["keys", "rotate"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(
            "rewrapped 1 customer, 1 document, 1 recovery account and 3 server data keys"
        ),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let again = run(dir.path(), &["keys", "rotate"], &[]);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains(
            "rewrapped 0 customer, 0 document, 0 recovery account and 0 server data keys (6 already current)"
        )
    );
    // The old key is gone for good; everything still decrypts.
    let mut table: toml::Table = toml::from_str(&keys).unwrap();
    table.remove("previous_master_keys");
    std::fs::write(
        dir.path().join("data/keys"),
        toml::to_string(&table).unwrap(),
    )
    .unwrap();
    let srv = Running::start(dir.path(), &env);
    let url = admin_url(&srv);
    let out = admin(&["customers", "show", &id], &url);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Rotating Rita"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let detail: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let file_id = detail["fields"]["photo_id_front"]["file_id"]
        .as_str()
        .unwrap();
    let token = toml::from_str::<toml::Table>(
        &std::fs::read_to_string(dir.path().join("data/keys")).unwrap(),
    )
    .unwrap()["admin_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let doc = http
        .get(format!("{url}/admin/customers/{id}/files/{file_id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(doc.bytes().await.unwrap().as_ref(), jpeg.as_slice());
    srv.stop();
}

/// `mooring backup` and `mooring restore` as an operator types them (the
/// library's behaviour under load is tested in the server's tests/backup.rs).
#[test]
fn backup_then_restore_into_a_fresh_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let ok = |out: &std::process::Output| {
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(&run(dir.path(), &["migrate"], &[]));
    let said = ok(&run(dir.path(), &["backup", "b"], &[]));
    assert!(
        said.contains("backed up the database and 0 documents into b"),
        "{said}"
    );
    assert!(said.contains("keys file is not in it"), "{said}");
    let again = run(dir.path(), &["backup", "b"], &[]);
    assert!(!again.status.success(), "never over another backup");
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not empty"));
    let env = [("MOORING_DATA_DIR", "restored")];
    let said = ok(&run(dir.path(), &["restore", "b"], &env));
    assert!(said.contains("restored the backup"), "{said}");
    assert!(dir.path().join("restored/mooring.db").is_file());
    let again = run(dir.path(), &["restore", "b"], &env);
    assert!(!again.status.success(), "never over a database");
}
