//! Checks of a loaded configuration, section by section: each refusal
//! names the setting and says how to fix it.

use super::{BlobStoreKind, Config, ConfigError, DatabaseUrl, invalid, is_domain, parse_ip_range};

impl Config {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let data = self.data_dir.to_string_lossy();
        if data.contains(['?', '#']) {
            return Err(invalid("data_dir", "must not contain '?' or '#'"));
        }
        let url = self.public_url();
        if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
            return Err(invalid(
                "http.public_url",
                "must be an http:// or https:// URL without a query, e.g. https://anchor.example.com",
            ));
        }
        if let Some(url) = &self.database_url {
            DatabaseUrl::parse(secrecy::ExposeSecret::expose_secret(url))?;
        }
        if self.database_max_connections == 0 {
            return Err(invalid("database_max_connections", "must be at least 1"));
        }
        if self.stellar.network_passphrase.trim().is_empty() {
            return Err(invalid(
                "stellar.network_passphrase",
                "must not be empty (Testnet: \"Test SDF Network ; September 2015\")",
            ));
        }
        if !matches!(self.horizon_url().scheme(), "http" | "https") {
            return Err(invalid(
                "stellar.horizon_url",
                "must be an http:// or https:// URL",
            ));
        }
        if self.stellar.horizon_timeout_secs == 0 {
            return Err(invalid(
                "stellar.horizon_timeout_secs",
                "must be at least 1",
            ));
        }
        if !(60..=86_400).contains(&self.admin.console_session_secs) {
            return Err(invalid(
                "admin.console_session_secs",
                "must be 60 to 86400 (a console sign-in is short-lived)",
            ));
        }
        self.validate_sep10()?;
        self.validate_kyc()?;
        self.validate_limits()?;
        self.sep38.validate()?;
        let types: Vec<&str> = self.sep12.types.keys().map(String::as_str).collect();
        self.sep31.validate(&types, self.sep12.enabled)?;
        for p in &self.partners {
            // Held to the rules of a callback URL a partner sends itself.
            if let Some(u) = &p.callback_url
                && !crate::net::url_allowed(u, &self.sep31.callbacks.allow_http_hosts)
            {
                return Err(invalid(
                    "partners",
                    format!(
                        "partner {}: callback_url must be https:// to a public host on the default port (or a host of sep31.callbacks.allow_http_hosts)",
                        p.name
                    ),
                ));
            }
        }
        if self.sep31.enabled && self.sep31.quotes_required && !self.sep38.enabled {
            return Err(invalid(
                "sep31.quotes_required",
                "needs [sep38] enabled: without quotes no transaction could be made",
            ));
        }
        super::quotes::validate_partners(&self.partners)?;
        self.validate_publishing()
    }

    /// `[limits]`.
    fn validate_limits(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        if l.long_poll_max_secs == 0 {
            return Err(invalid("limits.long_poll_max_secs", "must be at least 1"));
        }
        if !l.kyc_type.is_empty() && !self.sep12.types.contains_key(&l.kyc_type) {
            return Err(invalid(
                "limits.kyc_type",
                format!("`{}` is not one of sep12.types", l.kyc_type),
            ));
        }
        if l.attestation_max_lifetime_secs == 0 {
            return Err(invalid(
                "limits.attestation_max_lifetime_secs",
                "must be at least 1",
            ));
        }
        for (i, r) in l.rules.iter().enumerate() {
            r.check()
                .map_err(|m| invalid("limits.rules", format!("rule {}: {m}", i + 1)))?;
            if r.timeframe_secs
                .is_some_and(|t| t > l.operations_retention_days * 86_400)
            {
                return Err(invalid(
                    "limits.rules",
                    format!(
                        "rule {}: timeframe_secs is longer than limits.operations_retention_days",
                        i + 1
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The longest long poll: `limits.long_poll_max_secs`, kept a second
    /// under `http.request_timeout_secs` so that a poll is answered before
    /// the request times out.
    pub fn long_poll_max(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.limits
                .long_poll_max_secs
                .min(self.http.request_timeout_secs.saturating_sub(1)),
        )
    }

    /// The SEP-12 type whose status is an account's KYC state.
    pub fn kyc_type(&self) -> &str {
        if self.limits.kyc_type.is_empty() {
            &self.sep12.default_type
        } else {
            &self.limits.kyc_type
        }
    }

    /// `[sep10]`.
    fn validate_sep10(&self) -> Result<(), ConfigError> {
        for d in &self.sep10.home_domains {
            // SEP-10 §Challenge: "<home domain> auth" is at most 64 characters.
            if !is_domain(d) || d.len() > 59 {
                return Err(invalid(
                    "sep10.home_domains",
                    format!("`{d}` is not a domain (host or host:port, at most 59 characters)"),
                ));
            }
        }
        let web = self.web_auth_domain();
        if !is_domain(web) || web.len() > 64 {
            return Err(invalid(
                "sep10.web_auth_domain",
                "must be a domain (host or host:port, at most 64 characters)",
            ));
        }
        if self.sep10.challenges_per_ip_per_minute == 0 {
            return Err(invalid(
                "sep10.challenges_per_ip_per_minute",
                "must be at least 1",
            ));
        }
        if !(1..=86_400).contains(&self.sep10.challenge_expiry_secs) {
            return Err(invalid(
                "sep10.challenge_expiry_secs",
                "must be between 1 and 86400 seconds (SEP-10 recommends 900)",
            ));
        }
        if !(1..=30 * 86_400).contains(&self.sep10.jwt_expiry_secs) {
            return Err(invalid(
                "sep10.jwt_expiry_secs",
                "must be between 1 second and 30 days",
            ));
        }
        if self.sep10.client_domain.timeout_secs == 0 {
            return Err(invalid(
                "sep10.client_domain.timeout_secs",
                "must be at least 1",
            ));
        }
        let ca = &self.sep10.challenge_auth;
        if !ca.allowed_client_domains.is_empty() && !ca.required {
            return Err(invalid(
                "sep10.challenge_auth.allowed_client_domains",
                "only applies with sep10.challenge_auth.required = true",
            ));
        }
        if ca.required && !ca.allowed_client_domains.is_empty() && !self.sep10.client_domain.enabled
        {
            return Err(invalid(
                "sep10.challenge_auth.allowed_client_domains",
                "needs sep10.client_domain.enabled = true to know an application's key",
            ));
        }
        for h in &self.sep10.client_domain.allow_http_hosts {
            if !is_domain(h) {
                return Err(invalid(
                    "sep10.client_domain.allow_http_hosts",
                    format!("`{h}` is not a host or host:port"),
                ));
            }
        }
        Ok(())
    }

    /// `http.trusted_proxies` and `[stellar_toml]`.
    fn validate_publishing(&self) -> Result<(), ConfigError> {
        if self
            .http
            .trusted_proxies
            .iter()
            .any(|p| parse_ip_range(p).is_none())
        {
            return Err(invalid(
                "http.trusted_proxies",
                "every entry must be an IP address or a range like 10.0.0.0/8",
            ));
        }
        for a in &self.stellar_toml.accounts {
            if mooring_stellar::PublicKey::parse(a).is_err() {
                return Err(invalid(
                    "stellar_toml.accounts",
                    format!("`{a}` is not a G… account"),
                ));
            }
        }
        for c in &self.stellar_toml.currencies {
            if !matches!(c.get("code"), Some(toml::Value::String(s)) if !s.is_empty() && s.len() <= 12)
            {
                return Err(invalid(
                    "stellar_toml.currencies",
                    "every currency needs a `code` of 1 to 12 characters (SEP-1 §Currency Documentation)",
                ));
            }
        }
        Ok(())
    }

    fn validate_kyc(&self) -> Result<(), ConfigError> {
        let k = &self.sep12;
        if !k.types.contains_key(&k.default_type) {
            return Err(invalid(
                "sep12.default_type",
                format!(
                    "`{}` is not one of the configured [sep12.types]",
                    k.default_type
                ),
            ));
        }
        for (name, t) in &k.types {
            if name.is_empty() || name.len() > 64 {
                return Err(invalid("sep12.types", "type names are 1 to 64 characters"));
            }
            for f in t.required.iter().chain(&t.optional) {
                if crate::sep9::lookup(f).is_none() {
                    return Err(invalid(
                        "sep12.types",
                        format!("type `{name}` names `{f}`, which is not a SEP-9 field"),
                    ));
                }
            }
        }
        for f in &k.verification.fields {
            if f != "mobile_number" && f != "email_address" {
                return Err(invalid(
                    "sep12.verification.fields",
                    format!("`{f}` cannot be verified; use mobile_number and/or email_address"),
                ));
            }
        }
        if k.max_file_bytes == 0 || k.max_file_bytes > k.max_request_bytes {
            return Err(invalid(
                "sep12.max_file_bytes",
                "must be at least 1 and at most sep12.max_request_bytes",
            ));
        }
        for h in &k.callbacks.allow_http_hosts {
            if !is_domain(h) {
                return Err(invalid(
                    "sep12.callbacks.allow_http_hosts",
                    format!("`{h}` is not a host or host:port"),
                ));
            }
        }
        if self.blobs.store == BlobStoreKind::S3 && self.blobs.s3.bucket.is_empty() {
            return Err(invalid(
                "blobs.s3.bucket",
                "is required with blobs.store = \"s3\"",
            ));
        }
        if self.blobs.s3.secret_access_key.is_some()
            && self.blobs.s3.secret_access_key_file.is_some()
        {
            return Err(invalid(
                "blobs.s3.secret_access_key",
                "give only one of the value and its _file, not both",
            ));
        }
        Ok(())
    }
}
