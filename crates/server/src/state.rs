//! What every capability's handlers share, and nothing of any capability:
//! the session-token verifier, the clock, the database, the proxies whose
//! `X-Forwarded-For` is believed and the admin token. The edge extractors
//! ([`crate::http`]) read it; each capability's router carries it beside
//! its own service as [`With`].

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;
use ipnet::IpNet;

use crate::clock::Clock;
use crate::db::Db;
use crate::http::AdminToken;
use crate::jwt::Jwt;

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    jwt: Arc<Jwt>,
    clock: Arc<dyn Clock>,
    db: Db,
    trusted_proxies: Vec<IpNet>,
    admin_token: AdminToken,
}

impl AppState {
    /// The shared parts.
    pub fn new(
        jwt: Arc<Jwt>,
        clock: Arc<dyn Clock>,
        db: Db,
        trusted_proxies: Vec<IpNet>,
        admin_token: AdminToken,
    ) -> Self {
        AppState(Arc::new(Inner {
            jwt,
            clock,
            db,
            trusted_proxies,
            admin_token,
        }))
    }

    /// The session token verifier.
    pub fn jwt(&self) -> &Jwt {
        &self.0.jwt
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.0.clock.as_ref()
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.0.db
    }

    /// Proxies whose `X-Forwarded-For` is believed.
    pub fn trusted_proxies(&self) -> &[IpNet] {
        &self.0.trusted_proxies
    }

    /// The admin API's token.
    pub fn admin_token(&self) -> &AdminToken {
        &self.0.admin_token
    }

    /// A capability's router state: these shared parts with its service.
    pub fn with<S>(&self, service: Arc<S>) -> With<S> {
        With {
            app: self.clone(),
            service,
        }
    }
}

/// The state of one capability's router: the shared [`AppState`] (for the
/// edge extractors) and the capability's own service, which handlers reach
/// through `Deref` (`State(customers): State<With<Customers>>`, then
/// `customers.get(…)`).
pub struct With<S> {
    /// The shared parts.
    pub app: AppState,
    /// The capability's service.
    pub service: Arc<S>,
}

impl<S> Clone for With<S> {
    fn clone(&self) -> Self {
        With {
            app: self.app.clone(),
            service: self.service.clone(),
        }
    }
}

impl<S> Deref for With<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.service
    }
}

impl<S> FromRef<With<S>> for AppState {
    fn from_ref(w: &With<S>) -> AppState {
        w.app.clone()
    }
}
