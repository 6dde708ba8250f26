//! Email-and-password sign-in (../seeds/003: sign-up, a confirmation link by
//! email, sign-in; and a password reset by email). Passwords are stored
//! only as Argon2id hashes (RFC 9106; the `argon2` crate's defaults:
//! 19 MiB, 2 passes, OWASP's recommendation); addresses only as keyed
//! hashes. Unknown addresses cost the same time as known ones.

use std::net::IpAddr;
use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};

use super::{Authorize, AuthorizeError, hashed, random_token, store, well_formed};
use crate::db::DbError;
use crate::notify;
use crate::recovery::model::{AuthMethod, MethodType};
use crate::vault::Place;

/// Shortest password accepted (NIST SP 800-63B asks for at least 8).
pub const MIN_PASSWORD: usize = 10;
/// Longest password accepted, in bytes.
const MAX_PASSWORD: usize = 256;
/// Seconds a confirmation link is valid.
const CONFIRM_TTL: i64 = 24 * 3600;
/// Seconds a reset link is valid.
const RESET_TTL: i64 = 3600;
/// Failed sign-ins per address per hour.
const SIGN_INS_PER_HOUR: i64 = 10;

const CONFIRM: &str = "confirm";

/// What a correct password leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    /// Signed in.
    Done,
    /// The login's authenticator app code is needed too.
    NeedsTotp,
}
const RESET: &str = "reset";

async fn hash(password: String) -> Result<String, AuthorizeError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| AuthorizeError::Unavailable(e.to_string()))?
    .map_err(|e| AuthorizeError::Unavailable(e.to_string()))
}

/// A hash of a random password, checked when the address is unknown so
/// that a sign-in takes as long either way.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        Argon2::default()
            .hash_password(random_token().as_bytes(), &SaltString::generate(&mut OsRng))
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

async fn verify(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

fn check_password(password: &str) -> Result<(), AuthorizeError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(AuthorizeError::Invalid(
            "choose a password of at least 10 characters",
        ));
    }
    if password.len() > MAX_PASSWORD {
        return Err(AuthorizeError::Invalid(
            "choose a password of at most 256 characters",
        ));
    }
    Ok(())
}

fn email(value: &str) -> Result<AuthMethod, AuthorizeError> {
    AuthMethod::new(MethodType::Email, value)
        .ok_or(AuthorizeError::Invalid("that is not a valid email address"))
}

impl Authorize {
    pub(super) fn login_key(&self, m: &AuthMethod) -> [u8; 32] {
        self.key.fingerprint(
            Place {
                table: "password_logins",
                column: "lookup",
                row: "",
            },
            m.value.as_bytes(),
        )
    }

    pub(super) fn passwords_offered(&self) -> Result<(), AuthorizeError> {
        if self.passwords {
            Ok(())
        } else {
            Err(AuthorizeError::Invalid(
                "this way of signing in is not offered",
            ))
        }
    }

    /// Stores a new link of `kind`; the mail that carries it: (subject, body).
    async fn new_link(
        &self,
        kind: &str,
        lookup: &[u8],
        password: Option<&str>,
    ) -> Result<(&'static str, String), AuthorizeError> {
        let link = random_token();
        let (ttl, path, subject, text) = match kind {
            CONFIRM => (
                CONFIRM_TTL,
                "/authorize/confirm",
                "Confirm your email address",
                "Open this link to confirm your email address for account recovery",
            ),
            _ => (
                RESET_TTL,
                "/authorize/reset/new",
                "Choose a new password",
                "Open this link to choose a new password for account recovery",
            ),
        };
        store::insert_link(
            &self.db,
            &hashed(&link),
            kind,
            lookup,
            password,
            self.now() + ttl,
        )
        .await?;
        let body = format!(
            "{text}:\n\n{}{path}?link={link}\n\nIt works once, for {} hours. If you did not ask for it, ignore this mail.\n",
            self.public_url,
            ttl.div_euclid(3600)
        );
        Ok((subject, body))
    }

    /// Stores a new link of `kind` and mails it to `to`.
    async fn mail_link(
        &self,
        kind: &str,
        lookup: &[u8],
        password: Option<&str>,
        to: &str,
    ) -> Result<(), AuthorizeError> {
        let (subject, body) = self.new_link(kind, lookup, password).await?;
        self.mailer
            .send(to, subject, &body)
            .await
            .map_err(AuthorizeError::Unavailable)
    }

    /// Checks an email address and password: the confirmed login's key and
    /// row. Wrong passwords and unknown addresses read the same.
    pub(super) async fn check_password_login(
        &self,
        address: &str,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<(AuthMethod, [u8; 32], store::LoginRow), AuthorizeError> {
        let method = email(address)?;
        self.limit_ip(ip).await?;
        self.limit("password", &method.value, SIGN_INS_PER_HOUR)
            .await?;
        let lookup = self.login_key(&method);
        let login = store::login(&self.db, &lookup).await?;
        let stored = login
            .as_ref()
            .map_or_else(|| decoy().to_owned(), |l| l.password.clone());
        let ok = verify(password.to_owned(), stored).await;
        let Some(login) = login.filter(|_| ok) else {
            return Err(AuthorizeError::Invalid(
                "that email address and password do not match",
            ));
        };
        if login.confirmed_at.is_none() {
            return Err(AuthorizeError::Invalid(
                "confirm your email address first: open the link we mailed you",
            ));
        }
        Ok((method, lookup, login))
    }

    /// Signs a request in with an email address and password — or, if the
    /// login has an authenticator app, waits for its code.
    pub async fn password_sign_in(
        &self,
        token: &str,
        address: &str,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<SignIn, AuthorizeError> {
        self.passwords_offered()?;
        let r = self.request(token).await?;
        if r.method.is_some() {
            return Err(AuthorizeError::NotFound);
        }
        let (method, _, login) = self.check_password_login(address, password, ip).await?;
        if login.totp.is_some() {
            store::await_totp(
                &self.db,
                &r.id,
                &self.seal_method("pending", &r.id, &method),
                self.now() + super::totp::ENTER_WITHIN,
            )
            .await?;
            return Ok(SignIn::NeedsTotp);
        }
        self.signed_in(&r.id, &method).await?;
        Ok(SignIn::Done)
    }

    /// Creates a login and mails a confirmation link; returns where it
    /// went, masked. Says the same whether or not the address had a login.
    pub async fn sign_up(
        &self,
        token: &str,
        address: &str,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<String, AuthorizeError> {
        self.passwords_offered()?;
        self.check(token).await?;
        let method = email(address)?;
        check_password(password)?;
        self.limit_ip(ip).await?;
        self.limit("signup", &method.value, self.per_identity)
            .await?;
        let lookup = self.login_key(&method);
        let hashed_password = hash(password.to_owned()).await?;
        let confirmed = match store::sign_up(&self.db, &lookup, &hashed_password, self.now()).await
        {
            Err(DbError::Conflict) => true,
            other => other.map(|()| false)?,
        };
        if confirmed {
            // Already confirmed: tell the owner, not the person asking.
            let body = format!(
                "Someone tried to create an account with this address, which already has one. If it was you and you forgot the password, choose a new one from the sign-in page: {}/authorize\n",
                self.public_url
            );
            self.mailer
                .send(&method.value, "You already have an account", &body)
                .await
                .map_err(AuthorizeError::Unavailable)?;
        } else {
            // A new password voids the links mailed for an earlier one.
            store::delete_links(&self.db, &lookup).await?;
            self.mail_link(CONFIRM, &lookup, Some(&hashed_password), &method.value)
                .await?;
        }
        Ok(notify::mask(&method.value))
    }

    /// Whether `link` is a live link of `kind` (`confirm` or `reset`).
    pub async fn link_is_live(&self, link: &str, kind: &str) -> Result<bool, AuthorizeError> {
        Ok(well_formed(link)
            && store::peek_link(&self.db, &hashed(link), kind, self.now())
                .await?
                .is_some())
    }

    /// Confirms the address a confirmation link was mailed to. The
    /// password is asked again: a link clicked by the owner of an address
    /// someone else signed up with confirms nothing for them.
    pub async fn confirm(
        &self,
        link: &str,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<(), AuthorizeError> {
        if !well_formed(link) {
            return Err(AuthorizeError::NotFound);
        }
        let id = hashed(link);
        let Some((lookup, Some(stored))) =
            store::peek_link(&self.db, &id, CONFIRM, self.now()).await?
        else {
            return Err(AuthorizeError::NotFound);
        };
        self.limit_ip(ip).await?;
        self.limit("confirm", link, SIGN_INS_PER_HOUR).await?;
        if !verify(password.to_owned(), stored.clone()).await {
            return Err(AuthorizeError::Invalid(
                "that is not the password this address was signed up with",
            ));
        }
        if store::take_link(&self.db, &id, CONFIRM, self.now())
            .await?
            .is_none()
        {
            return Err(AuthorizeError::NotFound);
        }
        // Only the password this link was mailed for is confirmed.
        match store::confirm(&self.db, &lookup, &stored, self.now()).await {
            Err(DbError::Conflict) => return Err(AuthorizeError::NotFound),
            other => other?,
        }
        Ok(())
    }

    /// Mails a reset link if the address has a login; says the same if not.
    pub async fn start_reset(
        &self,
        address: &str,
        ip: Option<IpAddr>,
    ) -> Result<String, AuthorizeError> {
        self.passwords_offered()?;
        let method = email(address)?;
        self.limit_ip(ip).await?;
        self.limit("reset", &method.value, self.per_identity)
            .await?;
        let lookup = self.login_key(&method);
        if store::login(&self.db, &lookup).await?.is_some() {
            // Sent after answering: how long the answer takes must not tell
            // whether the address has a login.
            let link = self.new_link(RESET, &lookup, None).await?;
            let (mailer, to) = (self.mailer.clone(), method.value.clone());
            tokio::spawn(async move {
                if let Err(e) = mailer.send(&to, link.0, &link.1).await {
                    tracing::warn!(error = %e, "could not mail a password reset link");
                }
            });
        }
        Ok(notify::mask(&method.value))
    }

    /// Sets a new password with a reset link (which proves the address, so
    /// the login is confirmed too); every other link of the login is void.
    pub async fn finish_reset(&self, link: &str, password: &str) -> Result<(), AuthorizeError> {
        if !well_formed(link) {
            return Err(AuthorizeError::NotFound);
        }
        check_password(password)?;
        let (lookup, _) = store::take_link(&self.db, &hashed(link), RESET, self.now())
            .await?
            .ok_or(AuthorizeError::NotFound)?;
        let hashed_password = hash(password.to_owned()).await?;
        store::set_password(&self.db, &lookup, &hashed_password, self.now()).await?;
        store::delete_links(&self.db, &lookup).await?;
        Ok(())
    }
}
