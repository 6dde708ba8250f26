-- SEP-31 payments received (docs/payments.md). No personal data: the
-- customers are referred to by their SEP-12 ids.
CREATE TABLE sep31_transactions (
    id TEXT PRIMARY KEY,                  -- a UUID
    account TEXT NOT NULL,                -- the creating partner's G… (token sub)
    memo TEXT NOT NULL DEFAULT '',        -- its id memo, '' when none
    partner TEXT NOT NULL,                -- [[partners]] name
    status TEXT NOT NULL,
    status_message TEXT,
    amount_in TEXT NOT NULL,
    amount_in_asset TEXT NOT NULL,        -- stellar:CODE:ISSUER
    amount_out TEXT,
    amount_out_asset TEXT,
    amount_fee TEXT NOT NULL,
    amount_fee_asset TEXT NOT NULL,
    fee_details TEXT NOT NULL,            -- the fee_details object (JSON)
    amount_received TEXT,                 -- paid so far, when paid in part or more
    quote_id TEXT,
    destination_asset TEXT,
    funding_method TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    sender_type TEXT NOT NULL,            -- the SEP-12 type it was accepted as
    receiver_id TEXT NOT NULL,
    receiver_type TEXT NOT NULL,
    stellar_account_id TEXT NOT NULL,     -- where to pay
    stellar_memo TEXT NOT NULL,           -- an id memo, unique
    refund_memo TEXT,
    refund_memo_type TEXT,
    refunds TEXT,                         -- the refunds object (JSON)
    stellar_transaction_id TEXT,
    external_transaction_id TEXT,
    required_info_message TEXT,
    callback_url TEXT,
    expires_at BIGINT NOT NULL,             -- unix seconds; unpaid past it: expired
    started_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    completed_at BIGINT,
    version BIGINT NOT NULL DEFAULT 0       -- bumped by every change; guards read-then-write
);
CREATE UNIQUE INDEX sep31_transactions_memo ON sep31_transactions (stellar_account_id, stellar_memo);
CREATE INDEX sep31_transactions_status ON sep31_transactions (status, expires_at);
CREATE INDEX sep31_transactions_started ON sep31_transactions (started_at, id);

-- Webhooks to the business server and SEP-31 callbacks to partners, written
-- in the transaction of the change they report; delivered in order per
-- stream (one transaction's webhooks, or its callbacks).
CREATE TABLE payment_outbox (
    id BIGSERIAL PRIMARY KEY,
    stream TEXT NOT NULL,                 -- <transaction id>:webhook or :callback
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    last_error TEXT
);
CREATE INDEX payment_outbox_due ON payment_outbox (next_attempt_at);
CREATE INDEX payment_outbox_stream ON payment_outbox (stream, id);

-- The payment observer: one lease row (who observes, until when), a cursor
-- per watched account, and every payment seen, matched or not.
CREATE TABLE observer_lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL              -- unix milliseconds
);
CREATE TABLE observer_cursors (
    account TEXT PRIMARY KEY,
    cursor TEXT NOT NULL                  -- Horizon paging_token of the last payment handled
);
CREATE TABLE observed_payments (
    id TEXT PRIMARY KEY,                  -- Horizon's operation id
    account TEXT NOT NULL,                -- the distribution account paid
    from_account TEXT NOT NULL,
    asset TEXT NOT NULL,                  -- stellar:CODE:ISSUER or native
    amount TEXT NOT NULL,
    memo TEXT,
    memo_type TEXT,
    stellar_transaction_id TEXT NOT NULL,
    transaction_id TEXT,                  -- the SEP-31 transaction it paid, if matched
    outcome TEXT NOT NULL,                -- matched, underpaid, overpaid, late, unmatched, wrong_asset
    created_at BIGINT NOT NULL
);
CREATE INDEX observed_payments_outcome ON observed_payments (outcome, created_at);
