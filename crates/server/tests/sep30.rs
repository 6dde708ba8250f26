//! SEP-30 over real HTTP, on SQLite and PostgreSQL: registration, reads,
//! updates, listing, deletion, signing and its policy, key rotation, and
//! every refusal with its exact status and error.

mod common;

use common::{Engine, TestServer, assert_error};
use mooring_server::clock::Clock as _;
use mooring_server::config::TrustedSep10Config;
use mooring_stellar::xdr::{
    FeeBumpTransaction, FeeBumpTransactionEnvelope, FeeBumpTransactionExt,
    FeeBumpTransactionInnerTx, Memo, Operation, OperationBody, Preconditions, SequenceNumber,
    SetOptionsOp, Transaction, TransactionEnvelope, TransactionExt, TransactionV1Envelope, VecM,
};
use mooring_stellar::{Keypair, PublicKey, envelope};
use reqwest::Method;
use serde_json::{Value, json};

fn body(identities: &[(&str, &[(&str, &str)])]) -> Value {
    json!({
        "identities": identities
            .iter()
            .map(|(role, methods)| json!({
                "role": role,
                "auth_methods": methods
                    .iter()
                    .map(|(t, v)| json!({ "type": t, "value": v }))
                    .collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>()
    })
}

async fn call(
    srv: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    json: Option<&Value>,
) -> (u16, Value) {
    let mut req = srv.with_token(method, path, token);
    if let Some(j) = json {
        req = req.json(j);
    }
    TestServer::send(req).await
}

/// Registers `kp`'s account with one `owner` identity proven by `friend`'s
/// address; returns the signer key.
async fn register(srv: &TestServer, kp: &Keypair, friend: &PublicKey) -> String {
    let token = srv.token_for(kp, None).await;
    let addr = kp.public_key().to_string();
    let (status, got) = call(
        srv,
        Method::POST,
        &format!("/accounts/{addr}"),
        &token,
        Some(&body(&[(
            "owner",
            &[("stellar_address", &friend.to_string())],
        )])),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    got["signers"][0]["key"].as_str().unwrap().to_owned()
}

fn set_options() -> OperationBody {
    OperationBody::SetOptions(SetOptionsOp {
        inflation_dest: None,
        clear_flags: None,
        set_flags: None,
        master_weight: Some(0),
        low_threshold: None,
        med_threshold: None,
        high_threshold: None,
        home_domain: None,
        signer: None,
    })
}

fn tx(source: &PublicKey, op_sources: &[Option<PublicKey>]) -> Transaction {
    Transaction {
        source_account: source.to_muxed_account(),
        fee: 100,
        seq_num: SequenceNumber(4_294_967_297),
        cond: Preconditions::None,
        memo: Memo::None,
        operations: op_sources
            .iter()
            .map(|s| Operation {
                source_account: s.map(|k| k.to_muxed_account()),
                body: set_options(),
            })
            .collect::<Vec<_>>()
            .try_into()
            .unwrap(),
        ext: TransactionExt::V0,
    }
}

fn xdr(t: &Transaction) -> String {
    envelope::encode(&envelope::envelope(t.clone(), vec![]))
}

async fn lifecycle(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let owner = Keypair::random();
    let friend = Keypair::random();
    let stranger = Keypair::random();
    let addr = owner.public_key().to_string();
    let owner_token = srv.token_for(&owner, None).await;
    let friend_token = srv.token_for(&friend, None).await;
    let stranger_token = srv.token_for(&stranger, None).await;
    let path = format!("/accounts/{addr}");
    let identities = body(&[
        (
            "sender",
            &[
                ("stellar_address", &owner.public_key().to_string()),
                ("email", "Owner@Example.com"),
            ],
        ),
        (
            "receiver",
            &[
                ("stellar_address", &friend.public_key().to_string()),
                ("phone_number", "+14155550100"),
            ],
        ),
    ]);

    // §POST: the account itself registers; the answer has roles, never methods.
    let (status, created) = call(&srv, Method::POST, &path, &owner_token, Some(&identities)).await;
    assert_eq!(status, 200, "{created}");
    let signer = created["signers"][0]["key"].as_str().unwrap().to_owned();
    assert!(PublicKey::parse(&signer).is_ok());
    assert_ne!(signer, addr);
    assert_eq!(
        created,
        json!({
            "address": addr,
            "identities": [{ "role": "sender", "authenticated": true }, { "role": "receiver" }],
            "signers": [{ "key": signer }],
        })
    );
    assert!(!created.to_string().contains("example.com"));

    // Once only.
    assert_error(
        call(&srv, Method::POST, &path, &owner_token, Some(&identities)).await,
        409,
        "account is already registered",
    );

    // §GET: the owner, and an identity (with its own role authenticated).
    let (status, got) = call(&srv, Method::GET, &path, &owner_token, None).await;
    assert_eq!((status, &got), (200, &created));
    let (status, got) = call(&srv, Method::GET, &path, &friend_token, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        got["identities"],
        json!([{ "role": "sender" }, { "role": "receiver", "authenticated": true }])
    );

    // Someone else gets exactly what an unknown account gets.
    let unknown = format!("/accounts/{}", Keypair::random().public_key());
    for p in [&path, &unknown] {
        assert_error(
            call(&srv, Method::GET, p, &stranger_token, None).await,
            404,
            "account not found",
        );
        assert_error(
            call(&srv, Method::PUT, p, &stranger_token, Some(&identities)).await,
            404,
            "account not found",
        );
        assert_error(
            call(&srv, Method::DELETE, p, &stranger_token, None).await,
            404,
            "account not found",
        );
    }

    // §GET /accounts: each caller sees what it may reach.
    let (status, list) = call(&srv, Method::GET, "/accounts", &friend_token, None).await;
    assert_eq!(status, 200);
    assert_eq!(list["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(list["accounts"][0]["address"], addr);
    let (_, list) = call(&srv, Method::GET, "/accounts", &stranger_token, None).await;
    assert_eq!(list, json!({ "accounts": [] }));

    // §PUT replaces identities: the friend is out, the stranger in.
    let replaced = body(&[(
        "owner",
        &[("stellar_address", &stranger.public_key().to_string())],
    )]);
    let (status, got) = call(&srv, Method::PUT, &path, &friend_token, Some(&replaced)).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        got["identities"],
        json!([{ "role": "owner" }]),
        "the friend is no longer an identity"
    );
    assert_error(
        call(&srv, Method::GET, &path, &friend_token, None).await,
        404,
        "account not found",
    );
    let (status, got) = call(&srv, Method::GET, &path, &stranger_token, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        got["identities"],
        json!([{ "role": "owner", "authenticated": true }])
    );
    // The account itself keeps access without being an identity.
    assert_eq!(
        call(&srv, Method::GET, &path, &owner_token, None).await.0,
        200
    );

    // §DELETE answers with what was deleted; then it is gone for everyone.
    let (status, got) = call(&srv, Method::DELETE, &path, &stranger_token, None).await;
    assert_eq!(status, 200);
    assert_eq!(got["address"], addr);
    assert_eq!(got["signers"], json!([{ "key": signer }]));
    for t in [&owner_token, &stranger_token] {
        assert_error(
            call(&srv, Method::GET, &path, t, None).await,
            404,
            "account not found",
        );
    }
    // And can be registered afresh, with a new key.
    let (status, again) = call(&srv, Method::POST, &path, &owner_token, Some(&identities)).await;
    assert_eq!(status, 200);
    assert_ne!(again["signers"][0]["key"], signer);
    srv.stop().await;
}

async fn who_may_call(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let owner = Keypair::random();
    let other = Keypair::random();
    let addr = owner.public_key().to_string();
    let path = format!("/accounts/{addr}");
    let ids = body(&[("owner", &[("email", "a@example.com")])]);
    let no_token = TestServer::send(srv.http.post(srv.url(&path)).json(&ids)).await;
    assert_error(
        no_token,
        401,
        "missing authentication: send Authorization: Bearer <SEP-10 or identity-provider JWT>",
    );
    // SEP-30 reads the header only, never ?jwt=.
    let token = srv.token_for(&owner, None).await;
    let query = TestServer::send(
        srv.http
            .get(srv.url(&format!("{path}?jwt={token}")))
            .json(&ids),
    )
    .await;
    assert_eq!(query.0, 401);
    assert_error(
        call(&srv, Method::GET, &path, "not.a.jwt", None).await,
        401,
        "authentication token is not valid",
    );
    // §POST: only a SEP-10 token for that very account.
    let other_token = srv.token_for(&other, None).await;
    assert_error(
        call(&srv, Method::POST, &path, &other_token, Some(&ids)).await,
        401,
        "registering an account needs a SEP-10 token for that account",
    );
    // A memo names a user of a shared account, not its controller.
    let memo_token = srv.token_for(&owner, Some(7)).await;
    assert_error(
        call(&srv, Method::POST, &path, &memo_token, Some(&ids)).await,
        401,
        "SEP-30 needs a SEP-10 token for a G… account, without a memo",
    );
    // An expired token.
    let now = srv.clock.now();
    srv.clock.set(now + 25 * 3600);
    assert_error(
        call(&srv, Method::POST, &path, &token, Some(&ids)).await,
        401,
        "authentication token has expired; authenticate again",
    );
    srv.clock.set(now);
    // A token of another server (same shape, another key and issuer).
    let elsewhere = TestServer::start(engine).await;
    let foreign = elsewhere.token_for(&owner, None).await;
    assert_error(
        call(&srv, Method::POST, &path, &foreign, Some(&ids)).await,
        401,
        "authentication token is from an issuer this server does not accept",
    );
    elsewhere.stop().await;
    // An `alg: none` token claiming this server's issuer.
    let claims = common::claims(&token);
    let none = {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            b.encode(r#"{"alg":"none","typ":"JWT"}"#),
            b.encode(claims.to_string())
        )
    };
    assert_error(
        call(&srv, Method::POST, &path, &none, Some(&ids)).await,
        401,
        "authentication token is not valid",
    );
    srv.stop().await;
}

async fn bodies_and_addresses_are_validated(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let owner = Keypair::random();
    let token = srv.token_for(&owner, None).await;
    let path = format!("/accounts/{}", owner.public_key());
    for (json, error) in [
        (json!({}), "`identities` is required"),
        (
            json!({ "identities": [] }),
            "`identities` must not be empty",
        ),
        (
            json!({ "identities": [{ "role": "", "auth_methods": [{ "type": "email", "value": "a@b.co" }] }] }),
            "`identities[0].role` must not be empty",
        ),
        (
            json!({ "identities": [{ "role": "owner", "auth_methods": [] }] }),
            "`identities[0].auth_methods` must not be empty",
        ),
        (
            json!({ "identities": [{ "role": "owner", "auth_methods": [{ "type": "email", "value": "" }] }] }),
            "`identities[0].auth_methods[0].value` is not a valid email address",
        ),
        (
            json!({ "identities": [{ "role": "owner", "auth_methods": [{ "type": "phone_number", "value": "+1 415 555 0100" }] }] }),
            "`identities[0].auth_methods[0].value` is not a valid phone number (E.164: a + and 7 to 15 digits, no spaces)",
        ),
        (
            json!({ "identities": [{ "role": "owner", "auth_methods": [{ "type": "stellar_address", "value": "GABC" }] }] }),
            "`identities[0].auth_methods[0].value` is not a valid Stellar address (G…)",
        ),
        (
            json!({ "identities": [{ "role": "owner", "auth_methods": [{ "type": "fax", "value": "1" }] }] }),
            "`identities[0].auth_methods[0].type` is not supported; use stellar_address, phone_number or email",
        ),
    ] {
        assert_error(
            call(&srv, Method::POST, &path, &token, Some(&json)).await,
            400,
            error,
        );
    }
    // Not JSON, or not said to be.
    let form = TestServer::send(
        srv.with_token(Method::POST, &path, &token)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("identities=x"),
    )
    .await;
    assert_error(form, 415, "send the body as Content-Type: application/json");
    let broken = TestServer::send(
        srv.with_token(Method::POST, &path, &token)
            .header("content-type", "application/json")
            .body("{"),
    )
    .await;
    assert_error(
        broken,
        400,
        "request body must be a JSON object with an `identities` array",
    );
    // Declared too large: 413 before a byte of the body is sent (on a
    // connection of its own: the server closes it, the body unread).
    {
        let answer = srv
            .declared_body("POST", &path, &token, "application/json", 200_000)
            .await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(
            answer.ends_with(r#"{"error":"request body is too large"}"#),
            "{answer}"
        );
    }
    assert_eq!(srv.get_json("/health").await, json!({ "status": "ok" }));
    // Addresses in the path.
    for bad in [
        "/accounts/GABC",
        "/accounts/SBGWSG6BTNCKCOB3DIFBGCVMUPQFYPA2G4O34RMTB343OYPXU5DJDVMN",
    ] {
        assert_error(
            call(&srv, Method::GET, bad, &token, None).await,
            400,
            "address must be a Stellar account address (G…)",
        );
    }
    assert_error(
        call(&srv, Method::GET, "/accounts?after=nope", &token, None).await,
        400,
        "address must be a Stellar account address (G…)",
    );
    // Nothing was stored by any of it.
    assert_error(
        call(&srv, Method::GET, &path, &token, None).await,
        404,
        "account not found",
    );
    srv.stop().await;
}

async fn signing_follows_the_policy(engine: Engine) {
    let sponsor = Keypair::random().public_key();
    let srv = TestServer::start_with(engine, |c| {
        c.sep30.sponsor_accounts = vec![sponsor.to_string()];
    })
    .await;
    let owner = Keypair::random();
    let friend = Keypair::random();
    let stranger = Keypair::random();
    let account = owner.public_key();
    let signer = register(&srv, &owner, &friend.public_key()).await;
    let signer_key = PublicKey::parse(&signer).unwrap();
    let friend_token = srv.token_for(&friend, None).await;
    let stranger_token = srv.token_for(&stranger, None).await;
    let path = format!("/accounts/{account}/sign/{signer}");

    // A recovery: the account's own transaction, signed for the identity.
    let good = tx(&account, &[None, Some(account)]);
    let (status, got) = call(
        &srv,
        Method::POST,
        &path,
        &friend_token,
        Some(&json!({ "transaction": xdr(&good) })),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["network_passphrase"], srv.network.passphrase());
    let sig = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(got["signature"].as_str().unwrap())
            .unwrap()
    };
    assert!(signer_key.verify(&envelope::hash(&good, &srv.network), &sig));
    // The hash as the published Python stellar-sdk computes it.
    if let Some(python) = common::python() {
        let out = std::process::Command::new(python)
            .args([
                "-c",
                "import sys; from stellar_sdk import TransactionEnvelope as E; print(E.from_xdr(sys.argv[1], sys.argv[2]).hash_hex())",
                &xdr(&good),
                srv.network.passphrase(),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = hex::decode(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
        assert!(
            signer_key.verify(&theirs, &sig),
            "signature over stellar-sdk's hash"
        );
    }

    // A sponsor may be a source; nobody else.
    let sponsored = tx(&sponsor, &[Some(account)]);
    let (status, _) = call(
        &srv,
        Method::POST,
        &path,
        &friend_token,
        Some(&json!({ "transaction": xdr(&sponsored) })),
    )
    .await;
    assert_eq!(status, 200);
    let other = Keypair::random().public_key();
    for (t, error) in [
        (
            xdr(&tx(&other, &[None])),
            "the transaction's source account must be the registered account (or a configured sponsor)",
        ),
        (
            xdr(&tx(&account, &[None, Some(other)])),
            "operation 1 has a source account that is neither the registered account nor a configured sponsor",
        ),
        (xdr(&tx(&account, &[])), "the transaction has no operations"),
        ("%%%".to_owned(), "transaction is not valid base64"),
        (
            "AAAA".to_owned(),
            "transaction is not a valid XDR TransactionEnvelope",
        ),
        (
            envelope::encode(&TransactionEnvelope::TxFeeBump(
                FeeBumpTransactionEnvelope {
                    tx: FeeBumpTransaction {
                        fee_source: account.to_muxed_account(),
                        fee: 200,
                        inner_tx: FeeBumpTransactionInnerTx::Tx(TransactionV1Envelope {
                            tx: good.clone(),
                            signatures: VecM::default(),
                        }),
                        ext: FeeBumpTransactionExt::V0,
                    },
                    signatures: VecM::default(),
                },
            )),
            "transaction is a fee-bump envelope; a plain transaction envelope is required",
        ),
    ] {
        assert_error(
            call(
                &srv,
                Method::POST,
                &path,
                &friend_token,
                Some(&json!({ "transaction": t })),
            )
            .await,
            400,
            error,
        );
    }
    assert_error(
        call(&srv, Method::POST, &path, &friend_token, Some(&json!({}))).await,
        400,
        "`transaction` is required",
    );

    // Access is checked before anything is read: a stranger's well-formed
    // and garbage requests, for a real or an unknown account or key, all
    // get the same 404; no token at all gets 401 whatever the body.
    let unknown = Keypair::random().public_key();
    let other_signer = register(&srv, &Keypair::random(), &stranger.public_key()).await;
    for p in [
        path.clone(),
        format!("/accounts/{account}/sign/{other_signer}"),
        format!("/accounts/{unknown}/sign/{signer}"),
        format!("/accounts/{account}/sign/GARBAGE"),
    ] {
        for b in [
            json!({ "transaction": xdr(&good) }),
            json!({ "transaction": "%%%" }),
        ] {
            assert_error(
                call(&srv, Method::POST, &p, &stranger_token, Some(&b)).await,
                404,
                "account not found",
            );
        }
        let anonymous = TestServer::send(
            srv.http
                .post(srv.url(&p))
                .json(&json!({ "transaction": "%%%" })),
        )
        .await;
        assert_eq!(anonymous.0, 401);
    }
    // The caller may reach the account, but the key is another account's.
    assert_error(
        call(
            &srv,
            Method::POST,
            &format!("/accounts/{account}/sign/{other_signer}"),
            &friend_token,
            Some(&json!({ "transaction": xdr(&good) })),
        )
        .await,
        404,
        "signing key not found for this account",
    );
    srv.stop().await;
}

async fn signing_keys_rotate_and_are_never_shared(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let friend = Keypair::random();
    let owner = Keypair::random();
    let account = owner.public_key();
    let first = register(&srv, &owner, &friend.public_key()).await;
    let second_account = register(&srv, &Keypair::random(), &friend.public_key()).await;
    assert_ne!(first, second_account, "each account has a key of its own");

    // Rotation by the operator: a new key, listed first; the old one works.
    let (status, rotated) = TestServer::send(srv.admin(
        Method::POST,
        &format!("/admin/recovery/accounts/{account}/signers"),
    ))
    .await;
    assert_eq!(status, 200, "{rotated}");
    let newest = rotated["signers"][0]["key"].as_str().unwrap().to_owned();
    assert_eq!(rotated["signers"][1]["key"], first);
    assert_ne!(newest, first);
    let friend_token = srv.token_for(&friend, None).await;
    let owner_token = srv.token_for(&owner, None).await;
    let (_, got) = call(
        &srv,
        Method::GET,
        &format!("/accounts/{account}"),
        &friend_token,
        None,
    )
    .await;
    assert_eq!(got["signers"], rotated["signers"]);
    let good = json!({ "transaction": xdr(&tx(&account, &[None])) });
    for key in [&newest, &first] {
        let (status, _) = call(
            &srv,
            Method::POST,
            &format!("/accounts/{account}/sign/{key}"),
            &friend_token,
            Some(&good),
        )
        .await;
        assert_eq!(status, 200);
    }
    // Only the account itself removes an old key, never the last one.
    let remove = format!("/accounts/{account}/signers/{first}");
    assert_error(
        call(&srv, Method::DELETE, &remove, &friend_token, None).await,
        401,
        "only the account itself (a SEP-10 token for it) may remove a signing key",
    );
    let (status, got) = call(&srv, Method::DELETE, &remove, &owner_token, None).await;
    assert_eq!(status, 200);
    assert_eq!(got["signers"], json!([{ "key": newest }]));
    assert_error(
        call(
            &srv,
            Method::POST,
            &format!("/accounts/{account}/sign/{first}"),
            &friend_token,
            Some(&good),
        )
        .await,
        404,
        "signing key not found for this account",
    );
    assert_error(
        call(
            &srv,
            Method::DELETE,
            &format!("/accounts/{account}/signers/{newest}"),
            &owner_token,
            None,
        )
        .await,
        400,
        "the last signing key of an account cannot be removed; delete the account instead",
    );
    // The rotation is in the audit log, without personal data.
    let (_, audit) = TestServer::send(srv.admin(Method::GET, "/admin/audit")).await;
    assert!(audit.to_string().contains("recovery.add_signer"), "{audit}");
    srv.stop().await;
}

async fn listing_pages_by_address(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let friend = Keypair::random();
    let mut registered = vec![];
    for _ in 0..23 {
        let kp = Keypair::random();
        register(&srv, &kp, &friend.public_key()).await;
        registered.push(kp.public_key().to_string());
    }
    registered.sort();
    let token = srv.token_for(&friend, None).await;
    let (status, page1) = call(&srv, Method::GET, "/accounts", &token, None).await;
    assert_eq!(status, 200);
    let page1: Vec<String> = page1["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(page1, registered[..20]);
    let (_, page2) = call(
        &srv,
        Method::GET,
        &format!("/accounts?after={}", page1[19]),
        &token,
        None,
    )
    .await;
    let page2: Vec<&str> = page2["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"].as_str().unwrap())
        .collect();
    assert_eq!(page2, registered[20..]);
    srv.stop().await;
}

/// Nothing a person could be found by is stored in the clear: the data
/// folder (database, WAL) holds no email address or phone number.
async fn auth_methods_are_not_stored_in_the_clear(engine: Engine) {
    let srv = TestServer::start(engine).await;
    let owner = Keypair::random();
    let token = srv.token_for(&owner, None).await;
    let email = "marker-7f3a9c@recovery-test.example";
    let phone = "+15550007319";
    let (status, _) = call(
        &srv,
        Method::POST,
        &format!("/accounts/{}", owner.public_key()),
        &token,
        Some(&body(&[(
            "owner",
            &[("email", email), ("phone_number", phone)],
        )])),
    )
    .await;
    assert_eq!(status, 200);
    if engine == Engine::Sqlite {
        let mut found = vec![];
        let mut sees_the_account = false;
        let address = owner.public_key().to_string();
        // The database file, its WAL and the data folder.
        for entry in walk(srv.dir.path()) {
            let bytes = std::fs::read(&entry).unwrap();
            sees_the_account |= bytes
                .windows(address.len())
                .any(|w| w == address.as_bytes());
            for marker in [email.as_bytes(), phone.as_bytes()] {
                if bytes.windows(marker.len()).any(|w| w == marker) {
                    found.push(entry.display().to_string());
                }
            }
        }
        assert!(found.is_empty(), "plaintext found in {found:?}");
        // The scan does read the database: the (public) address is there.
        assert!(sees_the_account);
    } else {
        let rows: Vec<(String,)> = sqlx_rows(&srv.db.url).await;
        for (row,) in rows {
            assert!(!row.contains("marker-7f3a9c") && !row.contains("5550007319"));
        }
    }
    srv.stop().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Every SEP-30 row of a PostgreSQL database, as text.
async fn sqlx_rows(url: &str) -> Vec<(String,)> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let mut out = vec![];
    for table in [
        "recovery_accounts",
        "recovery_identities",
        "recovery_auth_methods",
        "recovery_signers",
        "server_keys",
    ] {
        let rows: Vec<(String,)> = sqlx::query_as(&format!("SELECT t::text FROM {table} t"))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        out.extend(rows);
    }
    out
}

async fn sponsorship(engine: Engine) {
    let sponsor = Keypair::random();
    let seed = sponsor.secret_seed().as_str().to_owned();
    let srv = TestServer::start_with(engine, move |c| {
        c.sep30.sponsor.enabled = true;
        c.sep30.sponsor.seed = Some(seed.into());
        c.sep30.sponsor.per_identity_per_day = 1;
        c.sep30.sponsor.per_day = 2;
        c.sep30.sms.enabled = true;
    })
    .await;
    srv.horizon.set_account(
        &sponsor.public_key(),
        common::StubAccount {
            signers: vec![(sponsor.public_key(), 1)],
            thresholds: (0, 0, 0),
        },
    );
    // A SEP-10 token costs nothing to make: not enough.
    let (wallet, sep10) = srv.login().await;
    let new_account = Keypair::random();
    let wanted = json!({ "account": new_account.public_key().to_string() });
    assert_error(
        call(&srv, Method::POST, "/sponsor/new", &sep10, Some(&wanted)).await,
        401,
        "sponsorship needs a sign-in token (POST /authorize/token): an email address or phone number, not a SEP-10 token",
    );
    let token = common::signin::by_sms(&srv, "+14155550101").await;
    let (status, got) = call(
        &srv,
        Method::POST,
        "/sponsor/new",
        &token,
        Some(&json!({ "account": new_account.public_key().to_string() })),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["network_passphrase"], srv.network.passphrase());
    let env = envelope::decode(got["transaction"].as_str().unwrap()).unwrap();
    let (tx, signatures) = envelope::transaction(&env).unwrap();
    assert_eq!(tx.source_account, sponsor.public_key().to_muxed_account());
    assert_eq!(
        tx.seq_num.0, 3_298_702_387_052_546,
        "the sponsor's next sequence"
    );
    let bodies: Vec<_> = tx
        .operations
        .iter()
        .map(|o| (&o.source_account, &o.body))
        .collect();
    assert!(matches!(
        bodies[0],
        (None, OperationBody::BeginSponsoringFutureReserves(b)) if b.sponsored_id == new_account.public_key().to_account_id()
    ));
    assert!(matches!(
        bodies[1],
        (None, OperationBody::CreateAccount(c)) if c.destination == new_account.public_key().to_account_id() && c.starting_balance == 0
    ));
    assert!(matches!(
        bodies[2],
        (Some(m), OperationBody::EndSponsoringFutureReserves) if *m == new_account.public_key().to_muxed_account()
    ));
    let hash = envelope::hash(&tx, &srv.network);
    assert_eq!(signatures.len(), 1);
    assert!(envelope::signed_by(
        &hash,
        &signatures[0],
        &sponsor.public_key()
    ));

    // One a day for an identity; and the sponsor's daily total.
    let again = json!({ "account": Keypair::random().public_key().to_string() });
    assert_error(
        call(&srv, Method::POST, "/sponsor/new", &token, Some(&again)).await,
        429,
        "too many accounts sponsored; try again tomorrow",
    );
    let other = common::signin::by_sms(&srv, "+14155550102").await;
    assert_eq!(
        call(&srv, Method::POST, "/sponsor/new", &other, Some(&again))
            .await
            .0,
        200
    );
    let third = common::signin::by_sms(&srv, "+14155550103").await;
    assert_error(
        call(&srv, Method::POST, "/sponsor/new", &third, Some(&again)).await,
        429,
        "too many accounts sponsored; try again tomorrow",
    );
    // An account that exists is not created again.
    srv.horizon.set_account(
        &wallet.public_key(),
        common::StubAccount {
            signers: vec![(wallet.public_key(), 1)],
            thresholds: (0, 0, 0),
        },
    );
    let exists = json!({ "account": wallet.public_key().to_string() });
    assert_error(
        call(&srv, Method::POST, "/sponsor/new", &third, Some(&exists)).await,
        409,
        "the account already exists on the network",
    );
    assert_error(
        call(
            &srv,
            Method::POST,
            "/sponsor/new",
            &third,
            Some(&json!({ "account": "GABC" })),
        )
        .await,
        400,
        "`account` must be a Stellar account address (G…)",
    );
    let anonymous = TestServer::send(srv.http.post(srv.url("/sponsor/new")).json(&again)).await;
    assert_eq!(anonymous.0, 401);
    // The ledger unreachable: 503, nothing made.
    srv.horizon.fail_with(Some(500));
    assert_error(
        call(&srv, Method::POST, "/sponsor/new", &third, Some(&again)).await,
        503,
        "the Stellar network could not be reached; try again later",
    );
    srv.horizon.fail_with(None);
    srv.stop().await;

    // Not configured: not offered.
    let plain = TestServer::start_with(engine, |c| c.sep30.sms.enabled = true).await;
    let token = common::signin::by_sms(&plain, "+14155550104").await;
    assert_error(
        call(&plain, Method::POST, "/sponsor/new", &token, Some(&again)).await,
        404,
        "account sponsorship is not offered by this server",
    );
    plain.stop().await;
}

async fn tokens_of_trusted_sep10_servers(engine: Engine) {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let other = TestServer::start(engine).await;
    let jwks_url = other.url("/.well-known/jwks.json").parse().unwrap();
    let issuer = other.url("/auth");
    let shared = "a-secret-shared-with-hmac.example-0123456789";
    let srv = TestServer::start_with(engine, move |c| {
        c.sep30.trusted_sep10.push(TrustedSep10Config {
            issuer,
            jwks_url: Some(jwks_url),
            secret: None,
            secret_file: None,
        });
        c.sep30.trusted_sep10.push(TrustedSep10Config {
            issuer: "https://hmac.example/auth".into(),
            jwks_url: None,
            secret: Some(shared.to_owned().into()),
            secret_file: None,
        });
    })
    .await;
    let owner = Keypair::random();
    let addr = owner.public_key().to_string();
    let path = format!("/accounts/{addr}");
    let ids = body(&[("owner", &[("email", "t@example.com")])]);

    // The other server's EdDSA token, checked against its JWKS.
    let foreign = other.token_for(&owner, None).await;
    let (status, got) = call(&srv, Method::POST, &path, &foreign, Some(&ids)).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(call(&srv, Method::GET, &path, &foreign, None).await.0, 200);

    // HS256 tokens of the server sharing a secret.
    let now = srv.clock.now();
    let mint = |claims: Value, secret: &str| {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let iss = "https://hmac.example/auth";
    let good = mint(
        json!({ "iss": iss, "sub": addr, "iat": now, "exp": now + 300 }),
        shared,
    );
    assert_eq!(call(&srv, Method::GET, &path, &good, None).await.0, 200);
    let not_valid = "authentication token is not valid";
    for (claims, secret, error) in [
        (
            json!({ "iss": iss, "sub": addr, "iat": now }),
            shared,
            not_valid,
        ),
        (
            json!({ "iss": iss, "sub": addr, "exp": now + 300 }),
            shared,
            not_valid,
        ),
        (
            json!({ "iss": iss, "iat": now, "exp": now + 300 }),
            shared,
            not_valid,
        ),
        (
            json!({ "iss": iss, "sub": addr, "iat": now, "exp": now + 300 }),
            "another-secret-of-the-same-length-0123456",
            not_valid,
        ),
        (
            json!({ "iss": iss, "sub": addr, "iat": now - 600, "exp": now - 300 }),
            shared,
            "authentication token has expired; authenticate again",
        ),
        (
            json!({ "iss": iss, "sub": owner.secret_seed().as_str(), "iat": now, "exp": now + 300 }),
            shared,
            "SEP-30 needs a SEP-10 token for a G… account, without a memo",
        ),
        (
            json!({ "iss": iss, "sub": format!("{addr}:5"), "iat": now, "exp": now + 300 }),
            shared,
            "SEP-30 needs a SEP-10 token for a G… account, without a memo",
        ),
        (
            json!({ "iss": "https://untrusted.example/auth", "sub": addr, "iat": now, "exp": now + 300 }),
            shared,
            "authentication token is from an issuer this server does not accept",
        ),
    ] {
        let token = mint(claims.clone(), secret);
        assert_error(
            call(&srv, Method::GET, &path, &token, None).await,
            401,
            error,
        );
    }
    // `alg: none` in the name of a trusted issuer.
    let none = {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            b.encode(r#"{"alg":"none","typ":"JWT"}"#),
            b.encode(json!({ "iss": iss, "sub": addr, "iat": now, "exp": now + 300 }).to_string())
        )
    };
    assert_error(
        call(&srv, Method::GET, &path, &none, None).await,
        401,
        not_valid,
    );
    // A JWKS issuer's name on an HS256 token signed with its public key.
    let jwks = other.get_json("/.well-known/jwks.json").await;
    let x = jwks["keys"][0]["x"].as_str().unwrap().to_owned();
    let confused = mint(
        json!({ "iss": other.url("/auth"), "sub": addr, "iat": now, "exp": now + 300 }),
        &x,
    );
    assert_error(
        call(&srv, Method::GET, &path, &confused, None).await,
        401,
        not_valid,
    );
    srv.stop().await;
    other.stop().await;
}

/// `mooring keys rotate` rewraps the accounts' data keys and the server
/// keys: after it, a server with only the new master key still finds the
/// identities (keyed hashes) and signs (sealed signing keys).
async fn keys_survive_a_master_key_rotation(engine: Engine) {
    const OLD: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const NEW: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    let mut srv = TestServer::start(engine).await;
    let owner = Keypair::random();
    let friend = Keypair::random();
    let signer = register(&srv, &owner, &friend.public_key()).await;
    srv.shutdown().await;
    let mut cfg = common::base_config(srv.dir.path(), &srv.db.url, &srv.horizon.url, &srv.signing);
    cfg.secrets.master_key = Some(NEW.to_owned().into());
    cfg.secrets.previous_master_keys = vec![OLD.to_owned().into()];
    let rotated = mooring_server::rotate::rotate(&cfg).await.unwrap();
    assert_eq!(
        rotated.recovery, 3,
        "the account's key and the two server keys"
    );
    let after = srv
        .replica_with(|c| {
            c.secrets.master_key = Some(NEW.to_owned().into());
            c.secrets.previous_master_keys = vec![];
        })
        .await;
    let token = after.token_for(&friend, None).await;
    let account = owner.public_key();
    let (status, got) = call(
        &after,
        Method::GET,
        &format!("/accounts/{account}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{got}");
    let (status, got) = call(
        &after,
        Method::POST,
        &format!("/accounts/{account}/sign/{signer}"),
        &token,
        Some(&json!({ "transaction": xdr(&tx(&account, &[None])) })),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    drop(srv);
    after.stop().await;
}

on_both_engines!(
    keys_survive_a_master_key_rotation,
    tokens_of_trusted_sep10_servers,
    sponsorship,
    lifecycle,
    who_may_call,
    bodies_and_addresses_are_validated,
    signing_follows_the_policy,
    signing_keys_rotate_and_are_never_shared,
    listing_pages_by_address,
    auth_methods_are_not_stored_in_the_clear,
);
