-- The SEP-30 sign-in (`/authorize`): a wallet's request waits here for the
-- person to sign in with an identity provider. Ids, tokens and codes are
-- stored only hashed; what a person signed in as only sealed.
CREATE TABLE authorize_requests (
    id TEXT PRIMARY KEY NOT NULL,        -- hash of the polling id
    token TEXT NOT NULL UNIQUE,          -- hash of the browser token
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    method BLOB,                         -- sealed auth method, once signed in
    pending BLOB,                        -- sealed auth method a code was sent to
    code BLOB,                           -- keyed hash of that code
    code_expires_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    oidc_state TEXT UNIQUE,              -- hash of the OIDC state
    oidc_provider TEXT,
    oidc_nonce TEXT,
    oidc_verifier BLOB                   -- sealed PKCE verifier
);
CREATE INDEX authorize_requests_expires ON authorize_requests (expires_at);

-- Fixed-window counters shared by every replica (keys are keyed hashes of
-- what is limited: an IP address, an email address, a phone number).
CREATE TABLE rate_limits (
    key BLOB PRIMARY KEY NOT NULL,
    period INTEGER NOT NULL,             -- start of the window, Unix seconds
    count INTEGER NOT NULL
);
