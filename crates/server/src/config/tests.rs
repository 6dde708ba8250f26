use super::*;

#[test]
fn defaults_are_the_zero_config_start() {
    let loaded = Config::from_toml("").unwrap();
    let c = loaded.config;
    assert_eq!(c.http.bind.to_string(), "127.0.0.1:8000");
    assert_eq!(c.public_url().as_str(), "http://localhost:8000/");
    assert_eq!(c.sep10.home_domains, vec!["localhost:8000"]);
    assert_eq!(c.web_auth_domain(), "localhost");
    assert_eq!(c.stellar.network_passphrase, TESTNET_PASSPHRASE);
    assert_eq!(c.sep10.challenge_expiry_secs, 900);
    assert_eq!(c.sep10.jwt_expiry_secs, 86_400);
    assert!(c.database_url().starts_with("sqlite://data"));
    assert_eq!(c.endpoint("/auth"), "http://localhost:8000/auth");
    assert_eq!(
        c.horizon_url().as_str(),
        "https://horizon-testnet.stellar.org/"
    );
}

#[test]
fn horizon_follows_the_network_unless_given() {
    let public = Config::from_toml(
        "[stellar]\nnetwork_passphrase = \"Public Global Stellar Network ; September 2015\"\n",
    )
    .unwrap()
    .config;
    assert_eq!(
        public.horizon_url().as_str(),
        "https://horizon.stellar.org/"
    );
    let err = Config::from_toml("[stellar]\nnetwork_passphrase = \"My Private Net\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("stellar.horizon_url"), "{err}");
}

#[test]
fn the_example_file_is_valid_and_has_no_unknown_keys() {
    let loaded = Config::from_toml(EXAMPLE).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn unknown_keys_warn_with_their_name() {
    let loaded = Config::from_toml("colour = 1\n[sep10]\nchallenge_expiry = 5\n").unwrap();
    let all = loaded.warnings.join("\n");
    assert!(all.contains("`colour`"), "{all}");
    assert!(all.contains("`sep10.challenge_expiry`"), "{all}");
    // Free-form stellar.toml tables are not unknown.
    let ok = Config::from_toml("[stellar_toml.documentation]\nORG_NAME = \"x\"\n").unwrap();
    assert!(ok.warnings.is_empty());
}

#[test]
fn bad_values_fail_with_the_key_and_a_fix() {
    let err = Config::from_toml("[sep10]\njwt_expiry_secs = \"soon\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("sep10.jwt_expiry_secs"), "{err}");
    let err = Config::from_toml("[sep10]\njwt_expiry_secs = 0\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sep10.jwt_expiry_secs") && err.contains("between"),
        "{err}"
    );
    let err = Config::from_toml("database_url = \"mysql://x\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("database_url"), "{err}");
    let err = Config::from_toml("[sep10]\njwt_algorithm = \"RS256\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("EdDSA"), "{err}");
    let err = Config::from_toml("[sep10]\nhome_domains = [\"https://x.com\"]\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("sep10.home_domains"), "{err}");
}

#[test]
fn database_url_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db_url");
    std::fs::write(&file, "postgres://mooring:pw@db.internal/mooring\n").unwrap();
    let c = Config::from_toml(&format!("database_url_file = \"{}\"\n", file.display()))
        .unwrap()
        .config;
    assert_eq!(
        c.database_url(),
        "postgres://mooring:pw@db.internal/mooring"
    );
    let err = Config::from_toml("database_url_file = \"/nonexistent/x\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("database_url_file"), "{err}");
}

#[test]
fn errors_never_echo_a_value() {
    let err = Config::from_toml("[secrets]\nsigning_seed = 123456789012345\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("secrets.signing_seed") && !err.contains("123456789012345"),
        "{err}"
    );
    let err = Config::from_toml("[secrets]\nmaster_key = SUPERSECRETVALUE\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 2") && !err.contains("SUPERSECRETVALUE"),
        "{err}"
    );
}

#[test]
fn a_secret_given_twice_is_an_error() {
    let err = Config::from_toml("[secrets]\nsigning_seed = \"S\"\nsigning_seed_file = \"/x\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("secrets.signing_seed") && err.contains("only one"),
        "{err}"
    );
}

#[test]
fn public_url_drives_the_derived_domains() {
    let c = Config::from_toml("[http]\npublic_url = \"https://anchor.example.com\"\n")
        .unwrap()
        .config;
    assert_eq!(c.sep10.home_domains, vec!["anchor.example.com"]);
    assert_eq!(c.web_auth_domain(), "anchor.example.com");
    assert_eq!(c.endpoint("/auth"), "https://anchor.example.com/auth");
}

#[test]
fn domain_syntax() {
    for ok in [
        "localhost",
        "localhost:8000",
        "a.example.com",
        "x-y.example",
    ] {
        assert!(is_domain(ok), "{ok}");
    }
    for bad in [
        "",
        "http://x",
        "a..b",
        "-a.com",
        "a.com:",
        "a.com:99999",
        "a/b",
        "a b",
        "user@host",
    ] {
        assert!(!is_domain(bad), "{bad}");
    }
}

#[test]
fn a_derived_public_url_follows_the_bound_port() {
    let mut c = Config::from_toml("[http]\nbind = \"127.0.0.1:0\"\n")
        .unwrap()
        .config;
    c.use_bound_port(4321);
    assert_eq!(c.endpoint("/auth"), "http://localhost:4321/auth");
    assert_eq!(c.sep10.home_domains, vec!["localhost:4321"]);
    assert_eq!(c.web_auth_domain(), "localhost");
    let mut c =
        Config::from_toml("[http]\nbind = \"127.0.0.1:0\"\npublic_url = \"https://a.example\"\n")
            .unwrap()
            .config;
    c.use_bound_port(4321);
    assert_eq!(c.endpoint("/auth"), "https://a.example/auth");
}

#[test]
fn connection_limits_have_defaults_and_refuse_nonsense() {
    let c = Config::from_toml("").unwrap().config;
    assert_eq!(c.http.header_read_timeout_secs, 10);
    assert_eq!(c.http.request_timeout_secs, 60);
    assert_eq!(c.http.max_connections, 10_000);
    let c = Config::from_toml(
        "[http]\nheader_read_timeout_secs = 5\nrequest_timeout_secs = 300\nmax_connections = 50000\n",
    )
    .unwrap()
    .config;
    assert_eq!(
        (
            c.http.header_read_timeout_secs,
            c.http.request_timeout_secs,
            c.http.max_connections
        ),
        (5, 300, 50_000)
    );
    for (key, bad) in [
        ("header_read_timeout_secs", "0"),
        ("header_read_timeout_secs", "3601"),
        ("request_timeout_secs", "0"),
        ("max_connections", "0"),
        ("max_connections", "-1"),
        ("max_connections", "\"many\""),
    ] {
        let err = Config::from_toml(&format!("[http]\n{key} = {bad}\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("`http.{key}`")),
            "{key} = {bad}: {err}"
        );
    }
    let err = Config::from_toml("[http]\nheader_read_timeout_secs = 0\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("from 1 to 3600"),
        "says what is accepted: {err}"
    );
}
