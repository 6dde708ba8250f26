//! The signed bytes of docs/kyc.md checked by an independent
//! implementation: a Python script that rebuilds the 123 bytes field by
//! field (stellar-sdk decoding the keys, PyNaCl verifying and signing),
//! when `MOORING_TEST_PYTHON` names the virtualenv scripts/test makes.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use mooring_stellar::attest::{self, FuzzyDate};
use mooring_stellar::{Keypair, Network};
use serde_json::Value;
use sha2::Digest as _;

use crate::common::kyc::{Party, customer, customer_as, post, soon, standing};
use crate::common::{Engine, TestServer, interop};

/// Runs tests/interop/python/kyc_attest.py; its JSON output.
fn script(python: &str, args: &[&str]) -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/python/kyc_attest.py");
    let out = Command::new(python)
        .arg(path)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "kyc_attest.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from kyc_attest.py")
}

/// Rust's message and signature, verified by Python.
fn python_verifies(
    python: &str,
    network: &Network,
    attester: &Keypair,
    target: &Keypair,
    birthday: Option<&str>,
    expires: u64,
) {
    let date = birthday.map(|b| FuzzyDate::parse(b).unwrap());
    let m = attest::message(
        network,
        &attester.public_key(),
        &target.public_key(),
        date.as_ref(),
        expires,
    );
    let sig = attester.sign(&m);
    let got = script(
        python,
        &[
            "verify",
            network.passphrase(),
            &attester.public_key().to_string(),
            &target.public_key().to_string(),
            birthday.unwrap_or(""),
            &expires.to_string(),
            &hex::encode(m),
            &hex::encode(sig),
        ],
    );
    assert_eq!(got["verified"], true);
    assert_eq!(got["message"], hex::encode(m));
}

/// The vector of docs/kyc.md: attester seed [1; 32], target seed [2; 32],
/// the test network, birthday 2010-05-00, expiry 1800000000.
#[test]
fn the_documented_vector() {
    let attester = Keypair::from_seed_bytes([1; 32]);
    let target = Keypair::from_seed_bytes([2; 32]);
    let network = Network::testnet();
    let expires = 1_800_000_000;
    let birthday = FuzzyDate::parse("2010-05-00").unwrap();
    let m = attest::message(
        &network,
        &attester.public_key(),
        &target.public_key(),
        Some(&birthday),
        expires,
    );
    // Field by field, as docs/kyc.md lays them out.
    assert_eq!(m.len(), 123);
    assert_eq!(&m[0..4], &123u32.to_be_bytes());
    assert_eq!(&m[4..8], b"KYCA");
    assert_eq!(
        &m[8..40],
        sha2::Sha256::digest(b"Test SDF Network ; September 2015").as_slice()
    );
    assert_eq!(&m[40..72], attester.public_key().as_bytes());
    assert_eq!(&m[72..104], target.public_key().as_bytes());
    assert_eq!(&m[104..115], b"2010-05-00\0");
    assert_eq!(&m[115..123], &1_800_000_000u64.to_be_bytes());
    let sig = attester.sign(&m);
    assert!(attester.public_key().verify(&m, &sig));
    println!("attester   {}", attester.public_key());
    println!("target     {}", target.public_key());
    println!("message    {}", hex::encode(m));
    println!("sig hex    {}", hex::encode(sig));
    println!(
        "sig base64 {}",
        base64::engine::general_purpose::STANDARD.encode(sig)
    );
    if let Some(python) = interop::python() {
        python_verifies(
            &python,
            &network,
            &attester,
            &target,
            Some("2010-05-00"),
            expires,
        );
    }
}

/// Random keys, every kind of birthday and none, two networks.
#[test]
fn rust_signatures_verify_with_pynacl() {
    let Some(python) = interop::python() else {
        return;
    };
    for (network, birthday, expires) in [
        (Network::testnet(), None, 1_800_000_000),
        (Network::testnet(), Some("1999-12-31"), 1),
        (Network::public(), Some("2004-00-00"), u64::MAX),
        (
            Network::new("Standalone Network ; February 2017"),
            Some("2000-02-29"),
            1_234_567_890,
        ),
    ] {
        python_verifies(
            &python,
            &network,
            &Keypair::random(),
            &Keypair::random(),
            birthday,
            expires,
        );
    }
}

/// What PyNaCl signs from docs/kyc.md alone, the server accepts.
async fn an_attestation_signed_by_pynacl_is_accepted(engine: Engine) {
    let Some(python) = interop::python() else {
        return;
    };
    let srv = TestServer::start(engine).await;
    let attester_kp = Keypair::random();
    let seed = hex::encode(*attester_kp.seed_bytes());
    let attester: Party = customer_as(&srv, attester_kp, "Ann", Some("1980-03-04")).await;
    crate::common::kyc::accept(&srv, &attester.id).await;
    for (target, birthday) in [
        (customer(&srv, "Kid", None).await, "2010-05-00"),
        (customer(&srv, "Sib", None).await, ""),
    ] {
        let expires = soon(&srv);
        let signed = script(
            &python,
            &[
                "sign",
                srv.network.passphrase(),
                &seed,
                &target.address(),
                birthday,
                &expires.to_string(),
            ],
        );
        assert_eq!(signed["attester_pub"], attester.address());
        let mut body = serde_json::json!({
            "attester_pub": signed["attester_pub"],
            "attester_sig": signed["attester_sig"],
            "expires": expires,
        });
        if !birthday.is_empty() {
            body["birthday"] = birthday.into();
        }
        let (status, got) = post(&srv, &target.address(), &body).await;
        assert_eq!(status, 200, "{got}");
        assert_eq!(standing(&srv, &target).await.0, "inherited");
    }
    // And one Python signed for another network is refused.
    let target = customer(&srv, "Other", None).await;
    let expires = soon(&srv);
    let signed = script(
        &python,
        &[
            "sign",
            Network::public().passphrase(),
            &seed,
            &target.address(),
            "",
            &expires.to_string(),
        ],
    );
    let body = serde_json::json!({
        "attester_pub": signed["attester_pub"],
        "attester_sig": signed["attester_sig"],
        "expires": expires,
    });
    assert_eq!(post(&srv, &target.address(), &body).await.0, 403);
    srv.stop().await;
}

crate::on_both_engines!(an_attestation_signed_by_pynacl_is_accepted);
