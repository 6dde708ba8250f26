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

-- Email-and-password sign-in: a login per email address, known only by
-- the keyed hash of the address; the password only as an Argon2id hash.
CREATE TABLE password_logins (
    lookup BLOB PRIMARY KEY NOT NULL,
    password TEXT NOT NULL,              -- Argon2id, PHC string format
    confirmed_at INTEGER,                -- NULL until the address is confirmed
    totp BLOB,                          -- sealed TOTP secret (RFC 6238), once set up
    totp_pending BLOB,                  -- sealed secret being set up
    totp_step INTEGER,                   -- last time step used: a code works once
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Links mailed to confirm an address or reset a password: single-use,
-- short-lived, stored only hashed.
CREATE TABLE email_links (
    id TEXT PRIMARY KEY NOT NULL,        -- hash of the token in the link
    kind TEXT NOT NULL,                  -- 'confirm', 'reset' or 'totp' (a setup under way)
    password TEXT,                       -- 'confirm': the password hash it confirms
    lookup BLOB NOT NULL,                -- password_logins.lookup
    expires_at INTEGER NOT NULL
);
CREATE INDEX email_links_lookup ON email_links (lookup);
