//! Session JWTs (SEP-10 §Token): issue and verify. EdDSA by default, with the
//! public key published as a JWKS; HS256 with a shared secret as an option.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use mooring_stellar::Keypair;

use crate::secrets::JwtKey;

/// The claims of a Mooring session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: this server's WEB_AUTH_ENDPOINT.
    pub iss: String,
    /// Subject: `G…`, `G…:<memo>` or `M…` (SEP-10 §Token).
    pub sub: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expires at, Unix seconds; not accepted on or after.
    pub exp: u64,
    /// The challenge transaction's hash, hex: one token per challenge.
    pub jti: String,
    /// The verified client domain, if the challenge had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_domain: Option<String>,
    /// The home domain the client authenticated for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_domain: Option<String>,
}

/// Why a token was refused. The text is safe to return to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not a JWT, a wrong signature, algorithm or issuer, or missing claims.
    #[error("token is not valid")]
    Invalid,
    /// `exp` has passed.
    #[error("token has expired")]
    Expired,
    /// Signing failed (a key problem; logged, never shown).
    #[error("token could not be signed")]
    Signing,
}

/// Issues and verifies session tokens with one key.
pub struct Jwt {
    algorithm: Algorithm,
    header: Header,
    /// EdDSA: the key itself and the encoded header, so that issuing a token
    /// is one ed25519 signature (see [`Jwt::issue`]).
    ed25519: Option<(Keypair, String)>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    jwks: String,
    /// Tokens whose signature has been checked, with their claims: a
    /// wallet sends the same token with every request, and an ed25519
    /// verification costs more than the rest of a simple GET.
    verified: std::sync::Mutex<std::collections::HashMap<String, Claims>>,
}

/// How far replicas' clocks may disagree: a token may claim to be issued
/// this far in the future, no further.
pub const CLOCK_SKEW: u64 = 60;

/// Verified tokens remembered at most (a few MiB); the memory is cleared,
/// not grown, when full.
const VERIFIED_CAPACITY: usize = 4096;

impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Jwt({:?}, key: [REDACTED])", self.algorithm)
    }
}

impl Jwt {
    /// A signer/verifier for `key`, issuing tokens with `iss = issuer`.
    pub fn new(key: &JwtKey, issuer: &str) -> Self {
        let (algorithm, encoding, decoding, kid, jwks) = match key {
            JwtKey::Ed25519(kp) => {
                let signing = ed25519_dalek::SigningKey::from_bytes(&kp.seed_bytes());
                let der = signing
                    .to_pkcs8_der()
                    .expect("an ed25519 key encodes as PKCS#8");
                let x = URL_SAFE_NO_PAD.encode(kp.public_key().as_bytes());
                let kid = hex::encode(&Sha256::digest(kp.public_key().as_bytes())[..8]);
                let jwks = serde_json::json!({ "keys": [{
                    "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
                    "kid": kid, "x": x,
                }]});
                (
                    Algorithm::EdDSA,
                    EncodingKey::from_ed_der(der.as_bytes()),
                    DecodingKey::from_ed_components(&x).expect("a valid ed25519 public key"),
                    Some(kid),
                    jwks,
                )
            }
            JwtKey::Hmac(secret) => (
                Algorithm::HS256,
                EncodingKey::from_secret(secret.expose_secret()),
                DecodingKey::from_secret(secret.expose_secret()),
                None,
                // A shared secret is never published.
                serde_json::json!({ "keys": [] }),
            ),
        };
        let mut header = Header::new(algorithm);
        header.kid = kid;
        let ed25519 = match key {
            JwtKey::Ed25519(kp) => {
                let json = serde_json::to_vec(&header).expect("a header always serializes");
                Some((
                    Keypair::from_seed_bytes(*kp.seed_bytes()),
                    URL_SAFE_NO_PAD.encode(json),
                ))
            }
            JwtKey::Hmac(_) => None,
        };
        // Only the configured algorithm is accepted (never `none`, never a
        // switch from EdDSA to HS256); time is checked against our clock.
        let mut validation = Validation::new(algorithm);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[issuer]);
        validation.leeway = 0;
        Jwt {
            algorithm,
            header,
            ed25519,
            encoding,
            decoding,
            validation,
            jwks: jwks.to_string(),
            verified: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Signs a token.
    ///
    /// EdDSA tokens are assembled here (RFC 7515 §7.1 compact form:
    /// `b64(header).b64(claims).b64(signature)`) with the key already in
    /// memory: `jsonwebtoken::encode` re-parses the PKCS#8 key and derives its
    /// public half on every call, which doubled the cost of a login.
    /// Verification still goes through `jsonwebtoken`, and the tests verify
    /// these tokens with it.
    pub fn issue(&self, claims: &Claims) -> Result<String, JwtError> {
        self.issue_claims(claims)
    }

    /// Signs a token with any claims (for tokens other than SEP-10 sessions,
    /// which tell themselves apart by their issuer).
    pub fn issue_claims<T: Serialize>(&self, claims: &T) -> Result<String, JwtError> {
        if let Some((key, header)) = &self.ed25519 {
            let payload = serde_json::to_vec(claims).map_err(|_| JwtError::Signing)?;
            let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 100);
            token.push_str(header);
            token.push('.');
            URL_SAFE_NO_PAD.encode_string(payload, &mut token);
            let signature = key.sign(token.as_bytes());
            token.push('.');
            URL_SAFE_NO_PAD.encode_string(signature, &mut token);
            return Ok(token);
        }
        jsonwebtoken::encode(&self.header, claims, &self.encoding).map_err(|e| {
            tracing::error!(error = %e, "JWT signing failed");
            JwtError::Signing
        })
    }

    /// Verifies signature, algorithm and issuer, then expiry against `now`.
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, JwtError> {
        let known = self
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .cloned();
        let claims = match known {
            Some(c) => c,
            None => {
                let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
                    .map_err(|_| JwtError::Invalid)?;
                let mut cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
                if cache.len() >= VERIFIED_CAPACITY {
                    cache.clear();
                }
                cache.insert(token.to_owned(), data.claims.clone());
                data.claims
            }
        };
        if now >= claims.exp {
            return Err(JwtError::Expired);
        }
        // A token from the future was not issued by this server's clock
        // (give or take the replicas' skew): someone holding the key made it.
        if claims.iat > now + CLOCK_SKEW {
            return Err(JwtError::Invalid);
        }
        Ok(claims)
    }

    /// Verifies a token of this key issued by `issuer` with any claims;
    /// `exp`, `iat` and `sub` must be present. Expiry is the caller's to
    /// check (against its clock). Nothing is cached.
    pub fn verify_claims<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        issuer: &str,
    ) -> Result<T, JwtError> {
        let mut validation = self.validation.clone();
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss"]);
        jsonwebtoken::decode::<T>(token, &self.decoding, &validation)
            .map(|d| d.claims)
            .map_err(|_| JwtError::Invalid)
    }

    /// The JWKS document for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> &str {
        &self.jwks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretBox;

    fn claims(exp: u64) -> Claims {
        Claims {
            iss: "http://localhost:8000/auth".into(),
            sub: "GABC".into(),
            iat: 100,
            exp,
            jti: "00".into(),
            client_domain: None,
            home_domain: Some("localhost:8000".into()),
        }
    }

    #[test]
    fn eddsa_tokens_verify_until_they_expire() {
        let jwt = Jwt::new(
            &JwtKey::Ed25519(Box::new(Keypair::random())),
            "http://localhost:8000/auth",
        );
        let t = jwt.issue(&claims(200)).unwrap();
        assert_eq!(jwt.verify(&t, 199).unwrap(), claims(200));
        // Byte-for-byte what jsonwebtoken itself produces (ed25519 is deterministic).
        assert_eq!(
            t,
            jsonwebtoken::encode(&jwt.header, &claims(200), &jwt.encoding).unwrap()
        );
        assert_eq!(jwt.verify(&t, 200), Err(JwtError::Expired));
        assert!(jwt.jwks().contains("\"crv\":\"Ed25519\""));
    }

    #[test]
    fn tokens_from_another_key_issuer_or_algorithm_are_refused() {
        let jwt = Jwt::new(
            &JwtKey::Ed25519(Box::new(Keypair::random())),
            "http://localhost:8000/auth",
        );
        let other = Jwt::new(
            &JwtKey::Ed25519(Box::new(Keypair::random())),
            "http://localhost:8000/auth",
        );
        assert_eq!(
            jwt.verify(&other.issue(&claims(200)).unwrap(), 150),
            Err(JwtError::Invalid)
        );
        let elsewhere = Jwt::new(
            &JwtKey::Ed25519(Box::new(Keypair::random())),
            "http://evil/auth",
        );
        assert_eq!(
            elsewhere.verify(&elsewhere.issue(&claims(200)).unwrap(), 150),
            Err(JwtError::Invalid)
        );
        let hs = Jwt::new(
            &JwtKey::Hmac(SecretBox::new(Box::new(vec![7; 32]))),
            "http://localhost:8000/auth",
        );
        let hs_token = hs.issue(&claims(200)).unwrap();
        assert!(hs.verify(&hs_token, 150).is_ok());
        assert_eq!(jwt.verify(&hs_token, 150), Err(JwtError::Invalid));
        // alg "none"
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(serde_json::to_string(&claims(200)).unwrap())
        );
        assert_eq!(jwt.verify(&none, 150), Err(JwtError::Invalid));
        assert_eq!(jwt.verify("garbage", 150), Err(JwtError::Invalid));
    }
}
