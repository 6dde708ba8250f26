-- SEP-30 account recovery. Nothing here names a person: auth method values
-- (emails, phone numbers, addresses) are stored only as keyed hashes, and
-- signing keys only sealed by their account's data key, which is stored
-- only wrapped by the master key (see vault.rs).

-- Keys the server itself uses, wrapped by the master key (rewrapped by
-- `mooring keys rotate`): 'recovery-lookup' keys the auth method hashes.
CREATE TABLE server_keys (
    id TEXT PRIMARY KEY NOT NULL,
    data_key BYTEA NOT NULL
);

CREATE TABLE recovery_accounts (
    address TEXT PRIMARY KEY NOT NULL,   -- G…
    data_key BYTEA NOT NULL,              -- wrapped; seals the signing keys
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE recovery_identities (
    address TEXT NOT NULL REFERENCES recovery_accounts (address) ON DELETE CASCADE,
    position BIGINT NOT NULL,           -- order in the request
    role TEXT NOT NULL,
    PRIMARY KEY (address, position)
);

CREATE TABLE recovery_auth_methods (
    address TEXT NOT NULL REFERENCES recovery_accounts (address) ON DELETE CASCADE,
    identity BIGINT NOT NULL,           -- recovery_identities.position
    position BIGINT NOT NULL,
    lookup BYTEA NOT NULL,                -- keyed hash of type and normalised value
    PRIMARY KEY (address, identity, position)
);
CREATE INDEX recovery_auth_methods_lookup ON recovery_auth_methods (lookup);

CREATE TABLE recovery_signers (
    public_key TEXT PRIMARY KEY NOT NULL, -- G…, never shared between accounts
    address TEXT NOT NULL REFERENCES recovery_accounts (address) ON DELETE CASCADE,
    seed BYTEA NOT NULL,                  -- sealed by the account's data key
    added BIGINT NOT NULL,              -- 1, 2, …: newest is listed first
    created_at BIGINT NOT NULL,
    UNIQUE (address, added)
);
