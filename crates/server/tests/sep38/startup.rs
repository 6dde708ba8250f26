//! The configurations Mooring refuses at start (docs/quotes.md
//! §Configuration, §Partners), read from TOML as `mooring serve` reads
//! them; a valid one is accepted first, so each refusal is the change's.

use mooring_server::config::Config;
use mooring_stellar::Keypair;

use super::{BRL, USDC};

/// A whole mooring.toml: the settings every server needs, then `sections`.
fn toml_with(sections: &str) -> String {
    format!(
        r#"
data_dir = "/tmp/mooring-sep38-startup"
database_url = "sqlite:///tmp/mooring-sep38-startup/test.db"
[http]
public_url = "https://anchor.example"
[stellar]
horizon_url = "https://horizon-testnet.stellar.org"
[secrets]
signing_seed = "{seed}"
jwt_seed = "{jwt}"
master_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
admin_token = "test-admin-token-0123456789abcdefghijklmnop"
{sections}
"#,
        seed = Keypair::random().secret_seed().as_str(),
        jwt = Keypair::random().secret_seed().as_str(),
    )
}

/// `[sep38]` with USDC and BRL and the pair of `pair` (a TOML body).
fn sep38(head: &str, pair: &str) -> String {
    format!(
        r#"
[sep38]
enabled = true
{head}
[[sep38.assets]]
asset = "{USDC}"
[[sep38.assets]]
asset = "{BRL}"
[[sep38.prices]]
{pair}
"#
    )
}

fn usdc_brl(extra: &str) -> String {
    format!("sell_asset = \"{USDC}\"\nbuy_asset = \"{BRL}\"\n{extra}")
}

/// A partner for `[[partners]]`.
fn partner(name: &str, accounts: &[&str], domains: &[&str]) -> String {
    let list = |v: &[&str]| {
        v.iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "[[partners]]\nname = \"{name}\"\naccounts = [{}]\nclient_domains = [{}]\n",
        list(accounts),
        list(domains)
    )
}

#[test]
fn a_valid_quotes_configuration_is_accepted() {
    let a = Keypair::random().public_key().to_string();
    let text = toml_with(&format!(
        "{}{}",
        sep38(
            "quote_ttl_secs = 300\nmax_quote_ttl_secs = 3600",
            &usdc_brl("price = \"0.18\"\nfee_fixed = \"1\"\nfee_percent = \"1.5\"")
        ),
        partner("bitso", &[&a], &["bitso.example"])
    ));
    if let Err(e) = Config::from_toml(&text) {
        panic!("a valid configuration is refused: {e}\n{text}");
    }
}

#[test]
fn quotes_configurations_docs_quotes_md_forbids_are_refused() {
    let good_pair = usdc_brl("price = \"0.18\"");
    let cases: Vec<(&str, String)> = vec![
        (
            "an asset that is not a SEP-38 asset",
            sep38("", &good_pair).replace(&format!("asset = \"{BRL}\""), "asset = \"BRL\""),
        ),
        (
            "a stellar asset without an issuer",
            sep38("", &good_pair)
                .replace(&format!("asset = \"{USDC}\""), "asset = \"stellar:USDC\""),
        ),
        (
            "a pair naming an asset not in [[sep38.assets]]",
            sep38(
                "",
                &format!("sell_asset = \"{USDC}\"\nbuy_asset = \"iso4217:EUR\"\nprice = \"1\""),
            ),
        ),
        (
            "a pair naming the same asset twice",
            sep38(
                "",
                &format!("sell_asset = \"{USDC}\"\nbuy_asset = \"{USDC}\"\nprice = \"1\""),
            ),
        ),
        ("a zero price", sep38("", &usdc_brl("price = \"0\""))),
        (
            "a negative price",
            sep38("", &usdc_brl("price = \"-0.18\"")),
        ),
        (
            "a negative fee_fixed",
            sep38("", &usdc_brl("price = \"0.18\"\nfee_fixed = \"-1\"")),
        ),
        (
            "a negative fee_percent",
            sep38("", &usdc_brl("price = \"0.18\"\nfee_percent = \"-1\"")),
        ),
        (
            "fee_percent 100",
            sep38("", &usdc_brl("price = \"0.18\"\nfee_percent = \"100\"")),
        ),
        (
            "fee_percent over 100",
            sep38("", &usdc_brl("price = \"0.18\"\nfee_percent = \"150\"")),
        ),
        ("quote_ttl_secs 0", sep38("quote_ttl_secs = 0", &good_pair)),
        (
            "quote_ttl_secs over max_quote_ttl_secs",
            sep38(
                "quote_ttl_secs = 3601\nmax_quote_ttl_secs = 3600",
                &good_pair,
            ),
        ),
    ];
    for (what, sections) in cases {
        let text = toml_with(&sections);
        assert!(
            Config::from_toml(&text).is_err(),
            "a configuration with {what} is accepted:\n{sections}"
        );
    }
}

#[test]
fn partners_must_be_unambiguous() {
    let (a, b) = (
        Keypair::random().public_key().to_string(),
        Keypair::random().public_key().to_string(),
    );
    let cases = [
        (
            "two partners of one name",
            partner("bitso", &[&a], &[]) + &partner("bitso", &[&b], &[]),
        ),
        (
            "an account of two partners",
            partner("bitso", &[&a], &[]) + &partner("other", &[&a, &b], &[]),
        ),
        (
            "a client domain of two partners",
            partner("bitso", &[], &["wallet.example"])
                + &partner("other", &[&b], &["wallet.example"]),
        ),
    ];
    for (what, sections) in cases {
        let text = toml_with(&sections);
        assert!(
            Config::from_toml(&text).is_err(),
            "a configuration with {what} is accepted:\n{sections}"
        );
    }
    // Told apart, they are accepted.
    let text =
        toml_with(&(partner("bitso", &[&a], &["bitso.example"]) + &partner("other", &[&b], &[])));
    if let Err(e) = Config::from_toml(&text) {
        panic!("two distinct partners are refused: {e}");
    }
}
