-- SEP-12 customers. Personal data is stored only sealed (see vault.rs):
-- every value is encrypted with its customer's data key, which is stored
-- only wrapped by the master key. Nothing here is readable without both.

CREATE TABLE customers (
    id TEXT PRIMARY KEY NOT NULL,        -- opaque, random (UUID v4)
    account TEXT NOT NULL,               -- G… (the account under an M… address)
    memo TEXT NOT NULL DEFAULT '',       -- '' when the customer has none
    memo_type TEXT NOT NULL DEFAULT '',  -- '', 'id', 'text' or 'hash'
    data_key BLOB NOT NULL,              -- wrapped data key
    last_type TEXT,                      -- the type of the latest PUT, for callbacks
    callback_url TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (account, memo, memo_type)
);

CREATE TABLE customer_fields (
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name TEXT NOT NULL,                  -- SEP-9 field name
    value BLOB,                          -- sealed value (text fields)
    file_id TEXT,                        -- the file (binary fields)
    fingerprint BLOB NOT NULL,           -- keyed hash, to recognise a value sent again
    status TEXT NOT NULL,                -- ACCEPTED, PROCESSING, REJECTED, VERIFICATION_REQUIRED
    error TEXT,                          -- why REJECTED, written by staff
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (customer_id, name)
);

-- The anchor's decision per customer and type (REJECTED is final).
CREATE TABLE customer_decisions (
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    rejected INTEGER NOT NULL DEFAULT 0,
    message TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (customer_id, type)
);

CREATE TABLE files (
    id TEXT PRIMARY KEY NOT NULL,        -- file_<uuid>
    owner_account TEXT NOT NULL,         -- who uploaded it: the token's account …
    owner_memo TEXT NOT NULL DEFAULT '', -- … and memo
    customer_id TEXT REFERENCES customers (id) ON DELETE CASCADE,
    field TEXT,                          -- the field it is the value of, once referenced
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    data_key BLOB NOT NULL,              -- wrapped per-file data key
    blob TEXT NOT NULL,                  -- path in the document store
    created_at INTEGER NOT NULL,
    expires_at INTEGER                   -- discarded then unless referenced
);
CREATE INDEX files_customer ON files (customer_id);
CREATE INDEX files_owner ON files (owner_account, owner_memo);
CREATE INDEX files_expires ON files (expires_at) WHERE customer_id IS NULL;

-- Documents to remove from the document store: written in the same
-- transaction that deletes their rows, removed by a background task.
CREATE TABLE blob_deletions (
    blob TEXT PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE verification_codes (
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    code_hash BLOB NOT NULL,             -- keyed hash of the code
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (customer_id, field)
);

-- Status-change callbacks, delivered in order per customer, with retries.
CREATE TABLE callback_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    body TEXT NOT NULL,                  -- the GET /customer answer: statuses, no values
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    locked_until INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX callback_outbox_due ON callback_outbox (next_attempt_at);
CREATE INDEX callback_outbox_customer ON callback_outbox (customer_id, id);

-- Who did what to which customer, and when. Never any personal data.
-- Append-only: updates and deletes are refused by the triggers below.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    customer_id TEXT,
    detail TEXT
);
CREATE INDEX audit_log_customer ON audit_log (customer_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
