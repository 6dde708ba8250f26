use super::*;

const NOW: u64 = 1_700_000_000;
const HOME: &str = "anchor.example.com";
const WEB: &str = "auth.anchor.example.com";

struct Fixture {
    server: Keypair,
    client: Keypair,
    network: Network,
    homes: Vec<String>,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            server: Keypair::random(),
            client: Keypair::random(),
            network: Network::testnet(),
            homes: vec!["other.example.com".into(), HOME.into()],
        }
    }

    fn request(&self) -> ChallengeRequest<'static> {
        ChallengeRequest {
            account: ClientAccount::Account(self.client.public_key()),
            memo: None,
            home_domain: HOME,
            web_auth_domain: WEB,
            client_domain: None,
        }
    }

    fn build(&self, req: &ChallengeRequest<'_>) -> String {
        let env = build_challenge(&self.server, &self.network, req, NOW, 900, &[7; NONCE_LEN])
            .unwrap()
            .envelope;
        envelope::encode(&env)
    }

    fn opts(&self) -> ReadOptions<'_> {
        ReadOptions {
            server: ServerKey::Own(&self.server),
            network: &self.network,
            home_domains: &self.homes,
            web_auth_domain: WEB,
            require_web_auth_domain: true,
            now: NOW + 10,
            min_time_grace: 0,
        }
    }

    fn read(&self, b64: &str) -> Result<Challenge, ChallengeError> {
        read_challenge(b64, &self.opts())
    }

    /// A challenge changed by `f`, then signed by the server again, so that
    /// only the change is wrong with it.
    fn tampered(&self, f: impl FnOnce(&mut Transaction)) -> String {
        let env = envelope::decode(&self.build(&self.request())).unwrap();
        let (mut tx, _) = envelope::transaction(&env).unwrap();
        f(&mut tx);
        let mut sigs = vec![];
        envelope::sign(&tx, &self.network, &self.server, &mut sigs);
        envelope::encode(&envelope::envelope(tx, sigs))
    }

    fn signed(&self, b64: &str, by: &[&Keypair]) -> Challenge {
        self.read(&sign_challenge(b64, &self.network, by).unwrap())
            .unwrap()
    }
}

fn data_op(source: MuxedAccount, key: &str, value: &[u8]) -> Operation {
    manage_data(source, key, "test", value).unwrap()
}

#[test]
fn built_challenge_has_the_shape_sep10_requires() {
    let f = Fixture::new();
    let b64 = f.build(&f.request());
    let env = envelope::decode(&b64).unwrap();
    let (tx, sigs) = envelope::transaction(&env).unwrap();
    assert_eq!(tx.seq_num.0, 0);
    assert_eq!(tx.source_account, f.server.public_key().to_muxed_account());
    assert_eq!(
        tx.cond,
        Preconditions::Time(TimeBounds {
            min_time: TimePoint(NOW),
            max_time: TimePoint(NOW + 900)
        })
    );
    let ops = tx.operations.as_slice();
    assert_eq!(ops.len(), 2);
    let OperationBody::ManageData(first) = &ops[0].body else {
        panic!()
    };
    assert_eq!(
        first.data_name.0.as_vec(),
        format!("{HOME} auth").as_bytes()
    );
    assert_eq!(first.data_value.as_ref().unwrap().0.len(), 64);
    assert_eq!(
        ops[0].source_account,
        Some(f.client.public_key().to_muxed_account())
    );
    let OperationBody::ManageData(web) = &ops[1].body else {
        panic!()
    };
    assert_eq!(web.data_name.0.as_vec(), b"web_auth_domain");
    assert_eq!(
        web.data_value.as_ref().unwrap().0.as_slice(),
        WEB.as_bytes()
    );
    assert_eq!(
        ops[1].source_account,
        Some(f.server.public_key().to_muxed_account())
    );
    assert_eq!(sigs.len(), 1);
    assert!(envelope::signed_by(
        &envelope::hash(&tx, &f.network),
        &sigs[0],
        &f.server.public_key()
    ));
}

#[test]
fn round_trip_for_account_memo_muxed_and_client_domain() {
    let f = Fixture::new();
    let read = f.read(&f.build(&f.request())).unwrap();
    assert_eq!(read.account, ClientAccount::Account(f.client.public_key()));
    assert_eq!(read.home_domain, HOME);
    assert_eq!(read.memo, None);

    let mut req = f.request();
    req.memo = Some(IdMemo::new(42));
    assert_eq!(f.read(&f.build(&req)).unwrap().memo, Some(IdMemo::new(42)));

    let mut req = f.request();
    req.account = ClientAccount::Muxed {
        account: f.client.public_key(),
        id: 9,
    };
    assert_eq!(f.read(&f.build(&req)).unwrap().account.muxed_id(), Some(9));

    let cd = ClientDomain {
        domain: "wallet.example.org".into(),
        key: Keypair::random().public_key(),
    };
    let mut req = f.request();
    req.client_domain = Some(&cd);
    assert_eq!(
        f.read(&f.build(&req)).unwrap().client_domain,
        Some(cd.clone())
    );

    // A client verifies with the public key and finds the same.
    let mut opts = f.opts();
    opts.server = ServerKey::Public(f.server.public_key());
    assert!(read_challenge(&f.build(&f.request()), &opts).is_ok());
}

#[test]
fn memo_with_muxed_account_is_refused_at_build() {
    let f = Fixture::new();
    let mut req = f.request();
    req.account = ClientAccount::Muxed {
        account: f.client.public_key(),
        id: 1,
    };
    req.memo = Some(IdMemo::new(1));
    let err = build_challenge(&f.server, &f.network, &req, NOW, 900, &[0; 48]).unwrap_err();
    assert_eq!(err, ChallengeError::MemoWithMuxedAccount);
}

#[test]
fn overlong_home_domain_is_refused_at_build() {
    let f = Fixture::new();
    let long = "a".repeat(60);
    let mut req = f.request();
    req.home_domain = &long;
    let err = build_challenge(&f.server, &f.network, &req, NOW, 900, &[0; 48]).unwrap_err();
    assert_eq!(err, ChallengeError::TooLong("home_domain"));
}

#[test]
fn time_bounds_are_enforced() {
    let f = Fixture::new();
    let b64 = f.build(&f.request());
    let mut opts = f.opts();
    opts.now = NOW + 901;
    assert_eq!(
        read_challenge(&b64, &opts).unwrap_err(),
        ChallengeError::Expired
    );
    opts.now = NOW - 1;
    assert_eq!(
        read_challenge(&b64, &opts).unwrap_err(),
        ChallengeError::NotYetValid
    );
    opts.min_time_grace = 300;
    assert!(read_challenge(&b64, &opts).is_ok());
    let unbounded = f.tampered(|tx| tx.cond = Preconditions::None);
    assert_eq!(
        f.read(&unbounded).unwrap_err(),
        ChallengeError::NoTimeBounds
    );
    let infinite = f.tampered(|tx| {
        tx.cond = Preconditions::Time(TimeBounds {
            min_time: TimePoint(0),
            max_time: TimePoint(0),
        })
    });
    assert_eq!(
        f.read(&infinite).unwrap_err(),
        ChallengeError::UnboundedTimeBounds
    );
}

#[test]
fn structural_checks_each_have_their_error() {
    let f = Fixture::new();
    let server = f.server.public_key().to_muxed_account();
    let stranger = Keypair::random().public_key().to_muxed_account();
    let cases: Vec<(String, ChallengeError)> = vec![
        (
            f.tampered(|tx| tx.seq_num = SequenceNumber(1)),
            ChallengeError::SequenceNotZero,
        ),
        (
            f.tampered(|tx| tx.source_account = stranger.clone()),
            ChallengeError::SourceNotServer,
        ),
        (
            f.tampered(|tx| tx.operations = VecM::default()),
            ChallengeError::NoOperations,
        ),
        (
            f.tampered(|tx| tx.memo = Memo::Text("hi".try_into().unwrap())),
            ChallengeError::MemoNotId,
        ),
        (
            f.tampered(|tx| {
                let mut ops = tx.operations.to_vec();
                ops[0] = data_op(
                    ops[0].source_account.clone().unwrap(),
                    "evil.example auth",
                    &[b'A'; 64],
                );
                tx.operations = ops.try_into().unwrap();
            }),
            ChallengeError::WrongHomeDomain,
        ),
        (
            f.tampered(|tx| {
                let mut ops = tx.operations.to_vec();
                ops[0] = data_op(
                    ops[0].source_account.clone().unwrap(),
                    &format!("{HOME} auth"),
                    &[b'A'; 63],
                );
                tx.operations = ops.try_into().unwrap();
            }),
            ChallengeError::InvalidNonce,
        ),
        (
            f.tampered(|tx| {
                let mut ops = tx.operations.to_vec();
                ops[1] = data_op(server.clone(), WEB_AUTH_DOMAIN_KEY, b"evil.example");
                tx.operations = ops.try_into().unwrap();
            }),
            ChallengeError::WrongWebAuthDomain,
        ),
        (
            f.tampered(|tx| {
                let mut ops = tx.operations.to_vec();
                ops.push(data_op(stranger.clone(), "extra", b"x"));
                tx.operations = ops.try_into().unwrap();
            }),
            ChallengeError::ForeignOperationSource(2),
        ),
        (
            f.tampered(|tx| {
                let mut ops = tx.operations.to_vec();
                ops.truncate(1);
                tx.operations = ops.try_into().unwrap();
            }),
            ChallengeError::MissingWebAuthDomain,
        ),
        (
            f.tampered(|tx| {
                let mut ops = tx.operations.to_vec();
                ops.push(ops[1].clone());
                tx.operations = ops.try_into().unwrap();
            }),
            ChallengeError::DuplicateOperation(WEB_AUTH_DOMAIN_KEY),
        ),
        (
            f.tampered(|tx| {
                let mut ops = tx.operations.to_vec();
                ops[0].source_account = None;
                tx.operations = ops.try_into().unwrap();
            }),
            ChallengeError::NoSourceAccount(0),
        ),
    ];
    for (b64, want) in cases {
        assert_eq!(f.read(&b64).unwrap_err(), want);
    }
}

#[test]
fn memo_on_muxed_challenge_is_refused_at_read() {
    let f = Fixture::new();
    let muxed = ClientAccount::Muxed {
        account: f.client.public_key(),
        id: 5,
    };
    let b64 = f.tampered(|tx| {
        let mut ops = tx.operations.to_vec();
        ops[0].source_account = Some(muxed.to_xdr());
        tx.operations = ops.try_into().unwrap();
        tx.memo = Memo::Id(5);
    });
    assert_eq!(
        f.read(&b64).unwrap_err(),
        ChallengeError::MemoWithMuxedAccount
    );
}

#[test]
fn server_signature_is_required_and_network_bound() {
    let f = Fixture::new();
    let b64 = f.build(&f.request());
    // Another network: the same bytes, but the signature no longer matches.
    let other = Network::public();
    let mut opts = f.opts();
    opts.network = &other;
    assert_eq!(
        read_challenge(&b64, &opts).unwrap_err(),
        ChallengeError::NotSignedByServer
    );
    // Signed by a stranger instead of the server.
    let env = envelope::decode(&b64).unwrap();
    let (tx, _) = envelope::transaction(&env).unwrap();
    let mut sigs = vec![];
    envelope::sign(&tx, &f.network, &Keypair::random(), &mut sigs);
    let forged = envelope::encode(&envelope::envelope(tx, sigs));
    assert_eq!(
        f.read(&forged).unwrap_err(),
        ChallengeError::NotSignedByServer
    );
}

#[test]
fn fee_bump_and_garbage_are_refused() {
    let f = Fixture::new();
    let env = envelope::decode(&f.build(&f.request())).unwrap();
    let TransactionEnvelope::Tx(inner) = env else {
        panic!()
    };
    let bump = TransactionEnvelope::TxFeeBump(stellar_xdr::FeeBumpTransactionEnvelope {
        tx: stellar_xdr::FeeBumpTransaction {
            fee_source: f.client.public_key().to_muxed_account(),
            fee: 1000,
            inner_tx: stellar_xdr::FeeBumpTransactionInnerTx::Tx(inner),
            ext: stellar_xdr::FeeBumpTransactionExt::V0,
        },
        signatures: VecM::default(),
    });
    assert_eq!(
        f.read(&envelope::encode(&bump)).unwrap_err(),
        ChallengeError::Envelope(EnvelopeError::FeeBump)
    );
    assert_eq!(
        f.read("not base64!").unwrap_err(),
        ChallengeError::Envelope(EnvelopeError::Base64)
    );
    assert_eq!(
        f.read("AAAAAA==").unwrap_err(),
        ChallengeError::Envelope(EnvelopeError::Xdr)
    );
}

#[test]
fn nonexistent_account_needs_exactly_the_master_key() {
    let f = Fixture::new();
    let b64 = f.build(&f.request());
    let ok = f.signed(&b64, &[&f.client]);
    assert_eq!(
        ok.verify_signers(None, Threshold::Medium).unwrap(),
        vec![f.client.public_key()]
    );

    let unsigned = f.read(&b64).unwrap();
    assert_eq!(
        unsigned
            .verify_signers(None, Threshold::Medium)
            .unwrap_err(),
        ChallengeError::NotSignedByMasterKey
    );

    let extra = f.signed(&b64, &[&f.client, &Keypair::random()]);
    assert_eq!(
        extra.verify_signers(None, Threshold::Medium).unwrap_err(),
        ChallengeError::ExtraSignatures {
            found: 3,
            expected: 2
        }
    );
    let twice = f.signed(&b64, &[&f.client, &f.client]);
    assert_eq!(
        twice.verify_signers(None, Threshold::Medium).unwrap_err(),
        ChallengeError::DuplicateSignature
    );
}

#[test]
fn existing_account_needs_the_threshold_from_its_signers() {
    let f = Fixture::new();
    let cosigner = Keypair::random();
    let account = AccountSigners {
        signers: vec![
            Signer {
                key: f.client.public_key(),
                weight: 1,
            },
            Signer {
                key: cosigner.public_key(),
                weight: 1,
            },
            // The server being a signer must not help the client (§Verification).
            Signer {
                key: f.server.public_key(),
                weight: 10,
            },
        ],
        low: 1,
        medium: 2,
        high: 3,
    };
    let b64 = f.build(&f.request());
    let one = f.signed(&b64, &[&f.client]);
    assert_eq!(
        one.verify_signers(Some(&account), Threshold::Medium)
            .unwrap_err(),
        ChallengeError::BelowThreshold {
            weight: 1,
            threshold: Threshold::Medium,
            required: 2
        }
    );
    assert!(one.verify_signers(Some(&account), Threshold::Low).is_ok());
    let both = f.signed(&b64, &[&f.client, &cosigner]);
    assert_eq!(
        both.verify_signers(Some(&account), Threshold::Medium)
            .unwrap()
            .len(),
        2
    );
    let none = f.read(&b64).unwrap();
    assert_eq!(
        none.verify_signers(Some(&account), Threshold::Medium)
            .unwrap_err(),
        ChallengeError::NotSignedByClient
    );
    let stranger = f.signed(&b64, &[&f.client, &cosigner, &Keypair::random()]);
    assert_eq!(
        stranger
            .verify_signers(Some(&account), Threshold::Medium)
            .unwrap_err(),
        ChallengeError::UnrecognizedSignatures
    );
    // A copied signature is refused: it would otherwise count twice.
    let dup = f.signed(&b64, &[&f.client, &f.client]);
    assert_eq!(
        dup.verify_signers(Some(&account), Threshold::Medium)
            .unwrap_err(),
        ChallengeError::DuplicateSignature
    );
}

#[test]
fn client_domain_key_must_sign() {
    let f = Fixture::new();
    let wallet = Keypair::random();
    let cd = ClientDomain {
        domain: "wallet.example.org".into(),
        key: wallet.public_key(),
    };
    let mut req = f.request();
    req.client_domain = Some(&cd);
    let b64 = f.build(&req);
    let missing = f.signed(&b64, &[&f.client]);
    assert_eq!(
        missing.verify_signers(None, Threshold::Medium).unwrap_err(),
        ChallengeError::NotSignedByClientDomain
    );
    let ok = f.signed(&b64, &[&f.client, &wallet]);
    assert!(ok.verify_signers(None, Threshold::Medium).is_ok());
}

#[test]
fn a_key_with_two_roles_signs_for_one() {
    let f = Fixture::new();
    // The wallet's client-domain key is also a signer of the client account:
    // its one signature (plus a copy) must not authenticate the account.
    let wallet = Keypair::random();
    let account = AccountSigners {
        signers: vec![
            Signer {
                key: wallet.public_key(),
                weight: 5,
            },
            Signer {
                key: f.client.public_key(),
                weight: 1,
            },
        ],
        low: 1,
        medium: 2,
        high: 2,
    };
    let cd = ClientDomain {
        domain: "wallet.example.org".into(),
        key: wallet.public_key(),
    };
    let mut req = f.request();
    req.client_domain = Some(&cd);
    let b64 = f.build(&req);
    let copied = f.signed(&b64, &[&wallet, &wallet]);
    assert_eq!(
        copied
            .verify_signers(Some(&account), Threshold::Medium)
            .unwrap_err(),
        ChallengeError::DuplicateSignature
    );
    let once = f.signed(&b64, &[&wallet]);
    assert_eq!(
        once.verify_signers(Some(&account), Threshold::Medium)
            .unwrap_err(),
        ChallengeError::NotSignedByClient
    );
    let with_client = f.signed(&b64, &[&wallet, &f.client]);
    assert_eq!(
        with_client
            .verify_signers(Some(&account), Threshold::Medium)
            .unwrap_err(),
        ChallengeError::BelowThreshold {
            weight: 1,
            threshold: Threshold::Medium,
            required: 2
        }
    );
}

#[test]
fn the_server_key_never_authenticates_as_the_client() {
    let f = Fixture::new();
    // A challenge for the server's own (unfunded) account: the server's
    // signature must not double as the master key's.
    let mut req = f.request();
    req.account = ClientAccount::Account(f.server.public_key());
    let b64 = f.build(&req);
    let env = envelope::decode(&b64).unwrap();
    let (tx, sigs) = envelope::transaction(&env).unwrap();
    let mut two = sigs.to_vec();
    two.push(sigs[0].clone());
    let copied = f
        .read(&envelope::encode(&envelope::envelope(tx, two)))
        .unwrap();
    assert_eq!(
        copied.verify_signers(None, Threshold::Medium).unwrap_err(),
        ChallengeError::DuplicateSignature
    );
    let alone = f.read(&b64).unwrap();
    assert_eq!(
        alone.verify_signers(None, Threshold::Medium).unwrap_err(),
        ChallengeError::NotSignedByMasterKey
    );
    // Nor as a client domain.
    let cd = ClientDomain {
        domain: "wallet.example.org".into(),
        key: f.server.public_key(),
    };
    let mut req = f.request();
    req.client_domain = Some(&cd);
    let signed = f.signed(&f.build(&req), &[&f.client]);
    assert_eq!(
        signed.verify_signers(None, Threshold::Medium).unwrap_err(),
        ChallengeError::NotSignedByClientDomain
    );
}
