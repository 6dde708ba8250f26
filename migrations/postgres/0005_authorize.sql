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
