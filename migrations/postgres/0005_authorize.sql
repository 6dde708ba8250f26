-- The SEP-30 sign-in (`/authorize`): a wallet's request waits here for the
-- person to sign in with an identity provider. Ids, tokens and codes are
-- stored only hashed; what a person signed in as only sealed.
CREATE TABLE authorize_requests (
    id TEXT PRIMARY KEY NOT NULL,        -- hash of the polling id
    token TEXT NOT NULL UNIQUE,          -- hash of the browser token
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    method BYTEA,                         -- sealed auth method, once signed in
    pending BYTEA,                        -- sealed auth method a code was sent to
    code BYTEA,                           -- keyed hash of that code
    code_expires_at BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    oidc_state TEXT UNIQUE,              -- hash of the OIDC state
    oidc_provider TEXT,
    oidc_nonce TEXT,
    oidc_verifier BYTEA                   -- sealed PKCE verifier
);
CREATE INDEX authorize_requests_expires ON authorize_requests (expires_at);

-- Fixed-window counters shared by every replica (keys are keyed hashes of
-- what is limited: an IP address, an email address, a phone number).
CREATE TABLE rate_limits (
    key BYTEA PRIMARY KEY NOT NULL,
    period BIGINT NOT NULL,             -- start of the window, Unix seconds
    count BIGINT NOT NULL
);

-- Email-and-password sign-in: a login per email address, known only by
-- the keyed hash of the address; the password only as an Argon2id hash.
CREATE TABLE password_logins (
    lookup BYTEA PRIMARY KEY NOT NULL,
    password TEXT NOT NULL,              -- Argon2id, PHC string format
    confirmed_at BIGINT,                -- NULL until the address is confirmed
    totp BYTEA,                          -- sealed TOTP secret (RFC 6238), once set up
    totp_pending BYTEA,                  -- sealed secret being set up
    totp_step BIGINT,                   -- last time step used: a code works once
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Links mailed to confirm an address or reset a password: single-use,
-- short-lived, stored only hashed.
CREATE TABLE email_links (
    id TEXT PRIMARY KEY NOT NULL,        -- hash of the token in the link
    kind TEXT NOT NULL,                  -- 'confirm', 'reset' or 'totp' (a setup under way)
    password TEXT,                       -- 'confirm': the password hash it confirms
    lookup BYTEA NOT NULL,                -- password_logins.lookup
    expires_at BIGINT NOT NULL
);
CREATE INDEX email_links_lookup ON email_links (lookup);
