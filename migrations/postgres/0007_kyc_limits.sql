-- KYC-gated limits (Taler's /kyc-check, adapted; see docs/kyc.md).
-- One row per KYC target (account, memo) that was ever evaluated, denied,
-- given rules or attested. No personal data: addresses and decisions only.
CREATE TABLE kyc_accounts (
    account TEXT NOT NULL,                -- G…
    memo TEXT NOT NULL DEFAULT '',        -- '' when none
    memo_type TEXT NOT NULL DEFAULT '',   -- '' or 'id'
    state TEXT NOT NULL,                  -- the state last answered: none, pending, accepted, inherited, rejected
    rule_gen BIGINT NOT NULL,             -- strictly increasing per target; each change of state or rules
    kyc_required BIGINT NOT NULL DEFAULT 0, -- 1: a soft limit denied an operation since the last decision
    rules TEXT,                           -- account-specific rules (JSON), replacing the configured ones
    inherited_from TEXT,                  -- the attesting G… account (DD45), if any
    barred_attester TEXT,                 -- an attester staff revoked: it may not attest this target again
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account, memo, memo_type)
);
CREATE INDEX kyc_accounts_inherited ON kyc_accounts (inherited_from);

-- Amounts the business server recorded as moved, for rolling windows.
CREATE TABLE kyc_operations (
    id BIGSERIAL PRIMARY KEY,
    account TEXT NOT NULL,
    memo TEXT NOT NULL DEFAULT '',
    memo_type TEXT NOT NULL DEFAULT '',
    op TEXT NOT NULL,
    asset TEXT NOT NULL,
    amount BIGINT NOT NULL,               -- units of 10^-7
    at BIGINT NOT NULL
);
CREATE INDEX kyc_operations_window ON kyc_operations (account, memo, memo_type, op, asset, at);
CREATE INDEX kyc_operations_at ON kyc_operations (at);

-- The attributes a target inherited from its attester (DD45): the
-- attester's text fields, sealed under the target's own data key. Erasing
-- either customer erases the copy.
CREATE TABLE customer_inherited (
    customer_id TEXT PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    attester_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    attributes BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX customer_inherited_attester ON customer_inherited (attester_id);
