//! Fuzzing harnesses: one function per parser an outsider can reach, each
//! taking arbitrary bytes, feeding them to the real parser and checking
//! what must hold whatever the input (no panic; what parses re-encodes to
//! itself). The same functions are driven by `tests/harnesses.rs` (each
//! harness over its saved corpus, then random and mutated inputs, in
//! `scripts/test`) and, for long runs, by a coverage-guided fuzzer
//! (README §Fuzzing).

use std::future::Future as _;

use base64::Engine as _;
use mooring_server::customers::request::PutBody;
use mooring_server::http::Pairs;
use mooring_server::recovery::model;
use mooring_server::sep9;
use mooring_stellar::attest::FuzzyDate;
use mooring_stellar::horizon::AccountResource;
use mooring_stellar::sep10::{
    ChallengeRequest, ReadOptions, ServerKey, build_challenge, read_challenge, sign_challenge,
};
use mooring_stellar::stellar_toml::StellarToml;
use mooring_stellar::{Amount, ClientAccount, Keypair, Network, PublicKey, envelope};

/// A harness: arbitrary bytes in, a panic on a broken invariant.
pub type Harness = fn(&[u8]);

/// Every harness, by the name its corpus folder has.
pub const HARNESSES: &[(&str, Harness)] = &[
    ("sep10_challenge", sep10_challenge),
    ("envelope", envelope_xdr),
    ("stellar_toml", stellar_toml),
    ("account", account),
    ("amount", amount),
    ("sep12_json", sep12_json),
    ("sep12_form", sep12_form),
    ("form_pairs", form_pairs),
    ("sep9_fields", sep9_fields),
    ("sep9_files", sep9_files),
    ("sep30_identities", sep30_identities),
    ("sep30_transaction", sep30_transaction),
    ("horizon_account", horizon_account),
    ("attest_birthday", attest_birthday),
    ("jwt", jwt),
    ("attest_body", attest_body),
    ("multipart", multipart),
];

/// The harness named `name`.
pub fn harness(name: &str) -> Option<Harness> {
    HARNESSES.iter().find(|(n, _)| *n == name).map(|(_, h)| *h)
}

fn text(data: &[u8]) -> &str {
    std::str::from_utf8(data).unwrap_or("")
}

/// The server key, network, domains and time [`sep10_challenge`] reads
/// with.
const SERVER_SEED: [u8; 32] = [1; 32];
const DOMAIN: &str = "example.com";
const NOW: u64 = 1_800_000_000;

/// SEP-10 §Token: a client's signed challenge, read as the server reads it.
pub fn sep10_challenge(data: &[u8]) {
    let _ = challenge_reads(data);
}

/// Whether the server reads `data` as a valid challenge.
pub fn challenge_reads(data: &[u8]) -> bool {
    // Made once: deriving a key costs more than most inputs take to read.
    static SERVER: std::sync::OnceLock<Keypair> = std::sync::OnceLock::new();
    let server = SERVER.get_or_init(|| Keypair::from_seed_bytes(SERVER_SEED));
    let network = Network::testnet();
    let home = [DOMAIN.to_owned()];
    let opts = ReadOptions {
        server: ServerKey::Own(server),
        network: &network,
        home_domains: &home,
        web_auth_domain: DOMAIN,
        require_web_auth_domain: true,
        now: NOW,
        min_time_grace: 0,
    };
    read_challenge(text(data), &opts).is_ok()
}

/// A challenge [`sep10_challenge`] accepts, signed by a client: the seed
/// its corpus starts from (also one for [`envelope_xdr`]).
pub fn valid_challenge() -> String {
    let server = Keypair::from_seed_bytes(SERVER_SEED);
    let client = Keypair::from_seed_bytes([2; 32]);
    let network = Network::testnet();
    let request = ChallengeRequest {
        account: ClientAccount::parse(&client.public_key().to_string()).expect("an account"),
        memo: None,
        home_domain: DOMAIN,
        web_auth_domain: DOMAIN,
        client_domain: None,
    };
    let env = build_challenge(&server, &network, &request, NOW, 300, &[3; 48])
        .expect("a challenge builds")
        .envelope;
    sign_challenge(&envelope::encode(&env), &network, &[&client]).expect("a challenge signs")
}

/// Transaction envelopes (SEP-10, SEP-30 signing, sponsorships): what
/// decodes re-encodes to the same envelope.
pub fn envelope_xdr(data: &[u8]) {
    if let Ok(env) = envelope::decode(text(data)) {
        let again = envelope::decode(&envelope::encode(&env)).expect("an encoding decodes");
        assert_eq!(again, env);
    }
}

/// A client domain's stellar.toml (SEP-10 §Verifying the Client Domain).
pub fn stellar_toml(data: &[u8]) {
    if let Ok(toml) = StellarToml::parse(text(data)) {
        let _ = toml.signing_key();
    }
}

/// `G…` and `M…` accounts and keys, in paths, queries and bodies.
pub fn account(data: &[u8]) {
    let s = text(data);
    if let Ok(a) = ClientAccount::parse(s) {
        assert_eq!(ClientAccount::parse(&a.to_string()).ok(), Some(a));
    }
    if let Ok(k) = PublicKey::parse(s) {
        assert_eq!(PublicKey::parse(&k.to_string()).ok(), Some(k));
    }
}

/// Amounts (SEP-31, SEP-38, limits): what parses prints back to itself.
pub fn amount(data: &[u8]) {
    if let Ok(a) = Amount::parse(text(data)) {
        assert_eq!(Amount::parse(&a.to_string()).ok(), Some(a));
    }
}

/// `PUT /customer` as JSON.
pub fn sep12_json(data: &[u8]) {
    let _ = PutBody::from_json(data);
}

/// `PUT /customer` as a form.
pub fn sep12_form(data: &[u8]) {
    let _ = PutBody::from_form(data);
}

/// Form bodies and query strings.
pub fn form_pairs(data: &[u8]) {
    let _ = Pairs::from_form(data);
    let _ = Pairs::parse(data);
}

/// SEP-9 values: the first byte picks a field, the rest is its value.
pub fn sep9_fields(data: &[u8]) {
    const FIELDS: &[&str] = &[
        "first_name",
        "email_address",
        "mobile_number",
        "birth_date",
        "address_country_code",
        "id_type",
        "language_code",
        "sex",
        "bank_account_number",
        "organization.number_of_shareholders",
    ];
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let field = sep9::lookup(FIELDS[usize::from(pick) % FIELDS.len()]).expect("a SEP-9 field");
    let _ = sep9::validate(&field, text(rest), pick & 0x80 != 0);
}

/// Uploaded documents: their first bytes decide what they are.
pub fn sep9_files(data: &[u8]) {
    let _ = sep9::sniff(data);
}

/// SEP-30 `POST`/`PUT /accounts` bodies.
pub fn sep30_identities(data: &[u8]) {
    let _ = model::identities(data);
}

/// SEP-30 `POST …/sign` bodies.
pub fn sep30_transaction(data: &[u8]) {
    let _ = model::transaction(data);
}

/// Horizon's account resource, as the server reads signers and thresholds.
pub fn horizon_account(data: &[u8]) {
    let _ = serde_json::from_slice::<AccountResource>(data);
}

/// An attestation's `birthday` (DD45).
pub fn attest_birthday(data: &[u8]) {
    if let Some(d) = FuzzyDate::parse(text(data)) {
        assert_eq!(FuzzyDate::parse(&d.text()), Some(d));
    }
}

/// The issuer of the tokens [`jwt`] verifies.
const ISSUER: &str = "https://example.com/auth";

/// The key [`jwt`] verifies with, made once.
fn jwt_key() -> &'static mooring_server::jwt::Jwt {
    static KEY: std::sync::OnceLock<mooring_server::jwt::Jwt> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let key =
            mooring_server::secrets::JwtKey::Ed25519(Box::new(Keypair::from_seed_bytes([4; 32])));
        mooring_server::jwt::Jwt::new(&key, ISSUER)
    })
}

/// A session token [`jwt`] accepts: the seed of its corpus.
pub fn valid_jwt() -> String {
    let claims = mooring_server::jwt::Claims {
        iss: ISSUER.into(),
        sub: Keypair::from_seed_bytes([2; 32]).public_key().to_string(),
        iat: NOW,
        exp: NOW + 3600,
        jti: "00".repeat(32),
        client_domain: None,
        home_domain: None,
    };
    jwt_key().issue(&claims).expect("a token signs")
}

/// Whether the server accepts `data` as a session token of [`jwt`]'s key.
pub fn jwt_verifies(data: &[u8]) -> bool {
    jwt_key().verify(text(data), NOW).is_ok()
}

/// Bearer tokens (SEP-10 sessions, the SEP-30 sign-in's, every
/// `Authorization: Bearer`): read and checked as the server does; one that
/// verifies carries the claims of a token this key issued.
pub fn jwt(data: &[u8]) {
    let token = text(data);
    if let Ok(claims) = jwt_key().verify(token, NOW) {
        assert_eq!(claims.iss, ISSUER);
        assert!(claims.exp > NOW);
    }
    let _ = jwt_key().verify_claims::<serde_json::Value>(token, ISSUER);
}

/// The attester and the target of [`attest_body`]'s seed.
fn attest_keys() -> (Keypair, Keypair) {
    (
        Keypair::from_seed_bytes([5; 32]),
        Keypair::from_seed_bytes([6; 32]),
    )
}

/// `POST /kyc-attest/{target}`'s body (DD45): what reads has the target
/// of the path, and the signed message can be built from it.
pub fn attest_body(data: &[u8]) {
    // Made once: deriving a key costs more than most inputs take to read.
    static TARGET: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let target = TARGET.get_or_init(|| attest_keys().1.public_key().to_string());
    let Ok(a) = mooring_server::attest::request::read(target, data) else {
        return;
    };
    assert_eq!(&a.target.to_string(), target);
    let m = mooring_stellar::attest::message(
        &Network::testnet(),
        &a.attester,
        &a.target,
        a.birthday.as_ref(),
        a.expires,
    );
    assert_eq!(m[115..123], a.expires.to_be_bytes());
}

/// An attestation [`attest_body`] reads, signed by its attester: the seed
/// of its corpus.
pub fn valid_attestation() -> String {
    let (attester, target) = attest_keys();
    let birthday = FuzzyDate::parse("1990-07-00").expect("a date");
    let m = mooring_stellar::attest::message(
        &Network::testnet(),
        &attester.public_key(),
        &target.public_key(),
        Some(&birthday),
        NOW,
    );
    serde_json::json!({
        "attester_pub": attester.public_key().to_string(),
        "attester_sig": base64::engine::general_purpose::STANDARD.encode(attester.sign(&m)),
        "expires": NOW,
        "birthday": birthday.text(),
    })
    .to_string()
}

/// The boundary [`multipart`] bodies are read with.
pub const BOUNDARY: &str = "mooring-fuzz";

/// A multipart body of parameters (SEP-12 `PUT /customer/verification`,
/// `/callback`, `DELETE /customer`), read as the server reads it: parts,
/// their headers and text, within the limits on parts and bytes.
pub fn multipart(data: &[u8]) {
    let req = axum::http::Request::builder()
        .method("PUT")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(axum::body::Body::from(data.to_vec()))
        .expect("a request");
    let read = std::pin::pin!(mooring_server::customers::bodies::text_put_body(req));
    // The whole body is in memory: reading it never waits, so a read
    // that is still pending after one poll hangs.
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(
        read.poll(&mut cx).is_ready(),
        "a multipart body in memory did not read at once"
    );
}
