-- SEP-12 customers. Personal data is stored only sealed (see vault.rs):
-- every value is encrypted with its customer's data key, which is stored
-- only wrapped by the master key. Nothing here is readable without both.

CREATE TABLE customers (
    id TEXT PRIMARY KEY,                 -- opaque, random (UUID v4)
    account TEXT NOT NULL,               -- G… (the account under an M… address)
    memo TEXT NOT NULL DEFAULT '',       -- '' when the customer has none
    memo_type TEXT NOT NULL DEFAULT '',  -- '', 'id', 'text' or 'hash'
    data_key BYTEA NOT NULL,             -- wrapped data key
    last_type TEXT,                      -- the type of the latest PUT, for callbacks
    callback_url TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (account, memo, memo_type)
);

CREATE TABLE customer_fields (
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value BYTEA,
    file_id TEXT,
    fingerprint BYTEA NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (customer_id, name)
);

CREATE TABLE customer_decisions (
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    rejected BIGINT NOT NULL DEFAULT 0,
    message TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (customer_id, type)
);

CREATE TABLE files (
    id TEXT PRIMARY KEY,
    owner_account TEXT NOT NULL,
    owner_memo TEXT NOT NULL DEFAULT '',
    customer_id TEXT REFERENCES customers (id) ON DELETE CASCADE,
    field TEXT,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    data_key BYTEA NOT NULL,
    blob TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX files_customer ON files (customer_id);
CREATE INDEX files_owner ON files (owner_account, owner_memo);
CREATE INDEX files_expires ON files (expires_at) WHERE customer_id IS NULL;

CREATE TABLE blob_deletions (
    blob TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE verification_codes (
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    code_hash BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (customer_id, field)
);

CREATE TABLE callback_outbox (
    id BIGSERIAL PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    last_error TEXT
);
CREATE INDEX callback_outbox_due ON callback_outbox (next_attempt_at);
CREATE INDEX callback_outbox_customer ON callback_outbox (customer_id, id);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    customer_id TEXT,
    detail TEXT
);
CREATE INDEX audit_log_customer ON audit_log (customer_id);
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
