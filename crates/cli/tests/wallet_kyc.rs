//! `mooring wallet kyc` end to end: one encrypted profile, entered once,
//! given to two Mooring anchors (in process) that ask for different fields
//! of the same customer type; each gets exactly what it asks for. Then the
//! statuses, forgetting one anchor, what lies on disk, a wrong passphrase
//! and edits that are refused.

#[path = "common/mod.rs"]
mod cli;
#[path = "../../server/tests/common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Engine, TestServer};
use mooring_server::config::{Config, TypeConfig};
use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::Value;

const KIND: &str = "individual";
const PASSPHRASE: &str = "correct horse battery staple";
/// A value only the profile and the anchors should ever see in the clear.
const MARKER: &str = "Quennevillemarker";
/// Fields no anchor asks for: they must never leave the profile.
const EXTRA: (&str, &str) = ("occupation", "2511");

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// An anchor whose `individual` customers need `required` (and may give
/// `optional`); `auto` accepts what is provided at once.
async fn anchor(engine: Engine, required: &[&str], optional: &[&str], auto: bool) -> TestServer {
    let (required, optional) = (names(required), names(optional));
    TestServer::start_with(engine, move |c: &mut Config| {
        c.sep12
            .types
            .insert(KIND.into(), TypeConfig { required, optional });
        c.sep12.auto_accept = auto;
    })
    .await
}

/// The wallet's side: a temporary home with a wallet.toml, the profile's
/// path and the environment every command gets.
struct Wallet {
    dir: tempfile::TempDir,
    config: PathBuf,
    profile: PathBuf,
    secret: String,
}

impl Wallet {
    fn new(srv: &TestServer, key: &Keypair) -> Wallet {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("wallet.toml");
        std::fs::write(
            &config,
            format!(
                "network = \"local\"\n[networks.local]\npassphrase = \"{}\"\nhorizon_url = \"{}\"\n",
                srv.network.passphrase(),
                srv.horizon.url
            ),
        )
        .unwrap();
        let profile = dir.path().join("profile.json");
        Wallet {
            dir,
            config,
            profile,
            secret: key.secret_seed().as_str().to_owned(),
        }
    }

    /// `mooring wallet kyc <args> --profile … --wallet-config …` with
    /// `passphrase`.
    fn kyc_with(&self, passphrase: &str, args: &[&str]) -> Output {
        let home = self.dir.path().to_str().unwrap();
        let (profile, config) = (
            self.profile.to_str().unwrap(),
            self.config.to_str().unwrap(),
        );
        let mut all = vec!["wallet", "kyc"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--profile", profile, "--wallet-config", config]);
        let env = [
            ("HOME", home),
            ("MOORING_WALLET_PASSPHRASE", passphrase),
            ("MOORING_WALLET_SECRET", self.secret.as_str()),
        ];
        // The anchors answer on this runtime's workers meanwhile.
        tokio::task::block_in_place(|| cli::run(self.dir.path(), &all, &env))
    }

    fn kyc(&self, args: &[&str]) -> Output {
        self.kyc_with(PASSPHRASE, args)
    }

    /// Runs a command that must succeed; its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.kyc(args);
        assert!(
            out.status.success(),
            "mooring wallet kyc {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail; its standard error.
    fn fails(&self, passphrase: &str, args: &[&str]) -> String {
        let out = self.kyc_with(passphrase, args);
        assert!(
            !out.status.success(),
            "mooring wallet kyc {args:?} succeeded:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// Every file of the profile: the envelope and its sealed documents.
    fn files_at_rest(&self) -> Vec<PathBuf> {
        let mut files = vec![self.profile.clone()];
        let docs = self.profile.with_extension("documents");
        for e in std::fs::read_dir(&docs).expect("a documents folder") {
            files.push(e.unwrap().path());
        }
        files
    }
}

/// The anchor's name as pushed: its URL without the trailing slash.
fn name(srv: &TestServer) -> String {
    srv.base.as_str().trim_end_matches('/').to_owned()
}

/// A small PNG: the signature, an IHDR chunk and a recognisable body.
fn png() -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    bytes.extend_from_slice(&[0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1]);
    bytes.extend_from_slice(&[8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xDE]);
    bytes.extend_from_slice(b"passport-scan-of-ana-");
    bytes.extend((0..3000u32).map(|i| (i * 7 % 251) as u8));
    bytes
}

/// The line of `out` starting with `prefix`.
fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{out}"))
}

/// The customer id in `<anchor>: status S (customer <id>)`.
fn customer_id(out: &str, anchor: &str) -> String {
    let l = line(out, &format!("{anchor}: status "));
    l.rsplit_once("(customer ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no customer id in {l:?}"))
        .to_owned()
}

/// The admin API's view of a customer: (status, body).
async fn admin_customer(srv: &TestServer, id: &str) -> (u16, Value) {
    TestServer::send(srv.admin(Method::GET, &format!("/admin/customers/{id}"))).await
}

/// The names of the fields an anchor holds for a customer.
fn held(detail: &Value) -> BTreeSet<String> {
    detail["fields"]
        .as_object()
        .unwrap_or_else(|| panic!("no fields in {detail}"))
        .keys()
        .cloned()
        .collect()
}

fn set(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn one_profile_two_anchors_each_given_only_what_it_asks(engine: Engine) {
    // 1. Two anchors, one customer type, different needs; A accepts at once,
    // B leaves it to staff.
    let a = anchor(
        engine,
        &["first_name", "last_name", "email_address"],
        &["address_country_code"],
        true,
    )
    .await;
    let b = anchor(
        engine,
        &["first_name", "last_name", "photo_id_front", "birth_date"],
        &[],
        false,
    )
    .await;
    let (an, bn) = (name(&a), name(&b));
    let key = Keypair::random();
    let w = Wallet::new(&a, &key);

    // 2. The profile: the union of what they ask, a field neither asks
    // for, and a document.
    let scan = png();
    let scan_path = w.dir.path().join("passport.png");
    std::fs::write(&scan_path, &scan).unwrap();
    let document = format!("photo_id_front={}", scan_path.display());
    let extra = format!("{}={}", EXTRA.0, EXTRA.1);
    let out = w.ok(&[
        "edit",
        "--set",
        "first_name=Ana",
        "--set",
        &format!("last_name={MARKER}"),
        "--set",
        "email_address=ana@example.com",
        "--set",
        "birth_date=1990-04-12",
        "--set",
        &extra,
        "--set",
        "mobile_number=+14155550100",
        "--document",
        &document,
    ]);
    assert!(out.contains("6 fields, 1 documents"), "{out}");
    // --unset takes a field out again.
    let out = w.ok(&["edit", "--unset", "mobile_number"]);
    assert!(out.contains("5 fields, 1 documents"), "{out}");
    let shown = w.ok(&["show"]);
    assert!(
        shown.contains(&format!("  last_name = {MARKER}")),
        "{shown}"
    );
    assert!(shown.contains("  occupation = 2511"), "{shown}");
    assert!(!shown.contains("mobile_number"), "{shown}");
    assert!(
        shown.contains(&format!(
            "  photo_id_front = passport.png (image/png, {} bytes)",
            scan.len()
        )),
        "{shown}"
    );

    // 3. Push to both: each says what it sent, what it still needs, and
    // the status.
    let out_a = w.ok(&["push", &an, "--type", KIND]);
    assert_eq!(
        line(&out_a, &format!("{an}: sent ")),
        format!("{an}: sent email_address, first_name, last_name"),
        "{out_a}"
    );
    assert_eq!(
        line(&out_a, &format!("{an}: still needed: ")),
        format!("{an}: still needed: address_country_code (optional)"),
        "{out_a}"
    );
    assert!(
        line(&out_a, &format!("{an}: status ")).starts_with(&format!("{an}: status ACCEPTED ")),
        "{out_a}"
    );
    let id_a = customer_id(&out_a, &an);

    let out_b = w.ok(&["push", &bn, "--type", KIND]);
    assert_eq!(
        line(&out_b, &format!("{bn}: sent ")),
        format!("{bn}: sent birth_date, first_name, last_name, photo_id_front"),
        "{out_b}"
    );
    assert_eq!(
        line(&out_b, &format!("{bn}: still needed: ")),
        format!("{bn}: still needed: nothing"),
        "{out_b}"
    );
    assert!(
        line(&out_b, &format!("{bn}: status ")).starts_with(&format!("{bn}: status PROCESSING ")),
        "{out_b}"
    );
    let id_b = customer_id(&out_b, &bn);

    // What each anchor holds: exactly what it asked for.
    let (status, detail) = admin_customer(&a, &id_a).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["account"], key.public_key().to_string());
    assert_eq!(
        held(&detail),
        set(&["first_name", "last_name", "email_address"]),
        "{detail}"
    );
    assert_eq!(detail["fields"]["last_name"]["value"], MARKER);
    assert_eq!(
        detail["fields"]["email_address"]["value"],
        "ana@example.com"
    );

    let (status, detail) = admin_customer(&b, &id_b).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["account"], key.public_key().to_string());
    assert_eq!(
        held(&detail),
        set(&["first_name", "last_name", "birth_date", "photo_id_front"]),
        "{detail}"
    );
    assert_eq!(detail["fields"]["birth_date"]["value"], "1990-04-12");
    let file_id = detail["fields"]["photo_id_front"]["file_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no file_id in {detail}"))
        .to_owned();
    let res = b
        .admin(
            Method::GET,
            &format!("/admin/customers/{id_b}/files/{file_id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().as_ref(), scan.as_slice());

    // The same through SEP-12, as the customer sees it.
    let token = b.token_for(&key, None).await;
    let (status, body) =
        TestServer::send(b.with_token(Method::GET, &format!("/customer?type={KIND}"), &token))
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], id_b.as_str());
    assert_eq!(body["status"], "PROCESSING");
    let provided: BTreeSet<String> = body["provided_fields"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        provided,
        set(&["first_name", "last_name", "birth_date", "photo_id_front"])
    );

    // The profile remembers both, and what each was sent.
    let shown = w.ok(&["show"]);
    let given = shown.split_once("given to:\n").unwrap().1;
    assert!(
        given.contains(&format!(
            "  {an}: customer {id_a} ({KIND}), email_address, first_name, last_name"
        )),
        "{shown}"
    );
    assert!(
        given.contains(&format!(
            "  {bn}: customer {id_b} ({KIND}), birth_date, first_name, last_name, photo_id_front"
        )),
        "{shown}"
    );

    // 4. Status: one line per anchor, each with its own status.
    let status_out = w.ok(&["status"]);
    let lines: Vec<&str> = status_out.lines().collect();
    assert_eq!(lines.len(), 2, "{status_out}");
    assert!(
        lines.contains(
            &format!(
                "{an}\tACCEPTED\tcustomer {id_a}\tstill needed: address_country_code (optional)"
            )
            .as_str()
        ),
        "{status_out}"
    );
    assert!(
        lines.contains(
            &format!("{bn}\tPROCESSING\tcustomer {id_b}\tstill needed: nothing").as_str()
        ),
        "{status_out}"
    );

    // Pushing again sends nothing B did not ask for, to the same customer.
    let again = w.ok(&["push", &bn, "--type", KIND]);
    assert!(
        again.contains(&format!(
            "{bn}: sent nothing (the profile has nothing it asks for)"
        )),
        "{again}"
    );
    assert_eq!(customer_id(&again, &bn), id_b);

    // 5. Forget A: A erases the customer, B keeps it.
    let out = w.ok(&["forget", &an]);
    assert_eq!(out.trim(), format!("{an}: erased (customer {id_a})"));
    let (status, body) = admin_customer(&a, &id_a).await;
    assert_eq!(status, 404, "{body}");
    let token = a.token_for(&key, None).await;
    let (status, body) =
        TestServer::send(a.with_token(Method::GET, &format!("/customer?type={KIND}"), &token))
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "NEEDS_INFO", "{body}");
    assert!(body.get("id").is_none(), "{body}");
    let (status, body) = admin_customer(&b, &id_b).await;
    assert_eq!(status, 200, "{body}");
    let status_out = w.ok(&["status"]);
    assert_eq!(
        status_out.trim_end(),
        format!("{bn}\tPROCESSING\tcustomer {id_b}\tstill needed: nothing")
    );
    let shown = w.ok(&["show"]);
    let given = shown.split_once("given to:\n").unwrap().1;
    assert_eq!(given.lines().count(), 1, "{shown}");
    assert!(
        given.starts_with(&format!("  {bn}: customer {id_b}")),
        "{shown}"
    );
    assert!(!shown.contains(&format!("  {an}:")), "{shown}");
    // Forgetting it again: the profile no longer knows it.
    let err = w.fails(PASSPHRASE, &["forget", &an]);
    assert!(err.contains("was not given to"), "{err}");

    // 6. At rest: neither the marker nor the document's bytes, nor the
    // anchors' addresses, are readable.
    let files = w.files_at_rest();
    assert_eq!(
        files.len(),
        2,
        "the profile and one sealed document: {files:?}"
    );
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        assert!(
            !contains(&bytes, MARKER.as_bytes()),
            "{f:?} holds the marker"
        );
        assert!(
            !contains(&bytes, b"ana@example.com"),
            "{f:?} holds the email"
        );
        assert!(!contains(&bytes, b"passport-scan"), "{f:?} holds the scan");
        assert!(!contains(&bytes, &scan[100..132]), "{f:?} holds the scan");
        assert!(!contains(&bytes, bn.as_bytes()), "{f:?} names an anchor");
    }

    // 7. A wrong passphrase opens nothing, and says so.
    let err = w.fails("wrong horse battery staple", &["show"]);
    assert!(err.contains("wrong passphrase"), "{err}");
    assert!(!err.contains(MARKER), "{err}");

    // 8. Refused edits leave the profile as it was, byte for byte.
    let before = std::fs::read(&w.profile).unwrap();
    let shown_before = w.ok(&["show"]);
    let err = w.fails(PASSPHRASE, &["edit", "--set", "nickname=Ana"]);
    assert!(err.contains("\"nickname\" is not a SEP-9 field"), "{err}");
    let err = w.fails(
        PASSPHRASE,
        &[
            "edit",
            "--set",
            "first_name=Bob",
            "--set",
            "email_address=not-an-email",
        ],
    );
    assert!(
        err.contains("'email_address' must be an email address"),
        "{err}"
    );
    assert!(
        !err.contains("not-an-email"),
        "the value is not echoed: {err}"
    );
    let err = w.fails(PASSPHRASE, &["edit", "--set", "photo_id_front=x"]);
    assert!(err.contains("is a document"), "{err}");
    assert_eq!(std::fs::read(&w.profile).unwrap(), before);
    assert_eq!(w.ok(&["show"]), shown_before);
    assert_eq!(files_count(&w.profile), 1);

    a.stop().await;
    b.stop().await;
}

/// The sealed documents kept beside the profile.
fn files_count(profile: &Path) -> usize {
    std::fs::read_dir(profile.with_extension("documents"))
        .unwrap()
        .count()
}

on_both_engines!(one_profile_two_anchors_each_given_only_what_it_asks);
