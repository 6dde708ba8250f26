//! An authenticator app (TOTP, RFC 6238: HMAC-SHA-1, 30-second steps, six
//! digits, one step of clock drift either way) as a second factor of an
//! email-and-password login. Its secret is stored only sealed; each time
//! step's code works once.

use std::net::IpAddr;

use rand::RngCore as _;
use totp_rs::{Algorithm, TOTP};

use super::{Authorize, AuthorizeError, hashed, random_token, store, well_formed};
use crate::db::DbError;
use crate::vault::{Place, VaultError};

/// Seconds to enter a code after the password, or to finish a setup.
pub const ENTER_WITHIN: i64 = 300;
/// The link kind of a setup under way.
pub const SETUP: &str = "totp";
/// Seconds per code.
const STEP: u64 = 30;

/// What the person needs to add the login to an authenticator app.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Carries the setup to its confirmation (single-use, short-lived).
    pub link: String,
    /// The secret, base32, for typing in.
    pub secret: String,
    /// `otpauth://totp/…`, for a QR code or a tap.
    pub url: String,
}

impl Authorize {
    fn totp_place(lookup: &[u8]) -> String {
        hex::encode(lookup)
    }

    fn totp(&self, secret: Vec<u8>, account: &str) -> Result<TOTP, AuthorizeError> {
        TOTP::new(
            Algorithm::SHA1,
            6,
            1,
            STEP,
            secret,
            Some(self.totp_issuer()),
            account.to_owned(),
        )
        .map_err(|e| AuthorizeError::Unavailable(format!("TOTP: {e:?}")))
    }

    fn totp_issuer(&self) -> String {
        let host = self
            .public_url
            .split("://")
            .nth(1)
            .unwrap_or(&self.public_url)
            .replace(':', " ");
        format!("{host} recovery")
    }

    /// The time step `code` is for, within one step either way of now, if
    /// it is right.
    fn matching_step(&self, totp: &TOTP, code: &str) -> Option<i64> {
        let now = self.clock.now();
        let step = now / STEP;
        [step.saturating_sub(1), step, step + 1]
            .into_iter()
            .find(|s| {
                let expected = totp.generate(s * STEP);
                subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), code.trim().as_bytes()).into()
            })
            .and_then(|s| i64::try_from(s).ok())
    }

    fn open_secret(
        &self,
        lookup: &[u8],
        column: &str,
        sealed: &[u8],
    ) -> Result<Vec<u8>, AuthorizeError> {
        let row = Self::totp_place(lookup);
        Ok(self
            .key
            .open(
                Place {
                    table: "password_logins",
                    column,
                    row: &row,
                },
                sealed,
            )?
            .to_vec())
    }

    /// Starts adding an authenticator app to a login (its password proves
    /// who asks): a new secret, kept aside until a code from it confirms it.
    pub async fn totp_setup(
        &self,
        address: &str,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<Setup, AuthorizeError> {
        self.passwords_offered()?;
        let (method, lookup, login) = self.check_password_login(address, password, ip).await?;
        if login.totp.is_some() {
            return Err(AuthorizeError::Invalid(
                "an authenticator app is already set up for this login",
            ));
        }
        let mut secret = vec![0u8; 20];
        rand::thread_rng().fill_bytes(&mut secret);
        let row = Self::totp_place(&lookup);
        let sealed = self.key.seal(
            Place {
                table: "password_logins",
                column: "totp_pending",
                row: &row,
            },
            &secret,
        );
        store::set_totp_pending(&self.db, &lookup, &sealed).await?;
        let link = random_token();
        store::insert_link(
            &self.db,
            &hashed(&link),
            SETUP,
            &lookup,
            None,
            self.now() + ENTER_WITHIN,
        )
        .await?;
        let totp = self.totp(secret, &method.value)?;
        Ok(Setup {
            link,
            secret: totp.get_secret_base32(),
            url: totp.get_url(),
        })
    }

    /// The login and secret of the setup under way that `link` carries.
    async fn pending_setup(&self, link: &str) -> Result<(Vec<u8>, Vec<u8>), AuthorizeError> {
        if !well_formed(link) {
            return Err(AuthorizeError::NotFound);
        }
        let (lookup, _) = store::peek_link(&self.db, &hashed(link), SETUP, self.now())
            .await?
            .ok_or(AuthorizeError::NotFound)?;
        let login = store::login(&self.db, &lookup)
            .await?
            .ok_or(AuthorizeError::NotFound)?;
        let sealed = login.totp_pending.ok_or(AuthorizeError::NotFound)?;
        let secret = self.open_secret(&lookup, "totp_pending", &sealed)?;
        Ok((lookup, secret))
    }

    /// The setup under way that `link` carries, shown again (after a wrong
    /// code): rebuilt from what is stored, never from the form.
    pub async fn totp_setup_again(&self, link: &str) -> Result<Setup, AuthorizeError> {
        let (_, secret) = self.pending_setup(link).await?;
        let totp = self.totp(secret, "")?;
        Ok(Setup {
            link: link.to_owned(),
            secret: totp.get_secret_base32(),
            url: totp.get_url(),
        })
    }

    /// Finishes a setup with a first code from the app.
    pub async fn totp_confirm(&self, link: &str, code: &str) -> Result<(), AuthorizeError> {
        let (lookup, secret) = self.pending_setup(link).await?;
        // Rate limited like any code: the link is the subject.
        self.limit("totp-setup", link, self.max_attempts).await?;
        let totp = self.totp(secret.clone(), "")?;
        let step = self
            .matching_step(&totp, code)
            .ok_or(AuthorizeError::WrongCode)?;
        if store::take_link(&self.db, &hashed(link), SETUP, self.now())
            .await?
            .is_none()
        {
            return Err(AuthorizeError::NotFound);
        }
        let row = Self::totp_place(&lookup);
        let resealed = self.key.seal(
            Place {
                table: "password_logins",
                column: "totp",
                row: &row,
            },
            &secret,
        );
        store::enable_totp(&self.db, &lookup, &resealed, step).await?;
        Ok(())
    }

    /// The second step of a sign-in: the authenticator app's code.
    pub async fn totp_sign_in(
        &self,
        token: &str,
        code: &str,
        ip: Option<IpAddr>,
    ) -> Result<(), AuthorizeError> {
        let r = self.request(token).await?;
        self.limit_ip(ip).await?;
        let Some((pending, None)) =
            store::reserve_attempt(&self.db, &r.id, self.max_attempts, self.now(), true).await?
        else {
            return Err(AuthorizeError::WrongCode);
        };
        let method = self.open_method("pending", &r.id, &pending)?;
        let lookup = self.login_key(&method);
        let login = store::login(&self.db, &lookup)
            .await?
            .ok_or(AuthorizeError::WrongCode)?;
        let sealed = login.totp.ok_or(VaultError::Unauthentic)?;
        let totp = self.totp(self.open_secret(&lookup, "totp", &sealed)?, "")?;
        let fresh = match self.matching_step(&totp, code) {
            Some(s) => match store::use_totp_step(&self.db, &lookup, s).await {
                Err(DbError::Conflict) => false,
                other => other.map(|()| true)?,
            },
            None => false,
        };
        if !fresh {
            return Err(AuthorizeError::WrongCode);
        }
        self.signed_in(&r.id, &method).await?;
        Ok(())
    }
}
