-- SEP-38 firm quotes (docs/quotes.md). No personal data: the quoting
-- account, the partner's name and the terms.
CREATE TABLE quotes (
    id TEXT PRIMARY KEY,                  -- a UUID
    account TEXT NOT NULL,                -- the quoting G… account (token `sub`)
    memo TEXT NOT NULL DEFAULT '',        -- its id memo, '' when none
    partner TEXT NOT NULL,                -- [[partners]] name
    context TEXT NOT NULL,                -- sep31 or sep6
    sell_asset TEXT NOT NULL,
    sell_amount TEXT NOT NULL,            -- as answered, the asset's decimals
    sell_delivery_method TEXT,
    buy_asset TEXT NOT NULL,
    buy_amount TEXT NOT NULL,
    buy_delivery_method TEXT,
    country_code TEXT,
    price TEXT NOT NULL,
    total_price TEXT NOT NULL,
    fee TEXT NOT NULL,                    -- the `fee` object as answered (JSON)
    expires_at BIGINT NOT NULL,           -- unix seconds
    created_at BIGINT NOT NULL,
    used_by TEXT,                         -- the SEP-31 transaction that took it
    used_at BIGINT
);
CREATE INDEX quotes_expiry ON quotes (expires_at);
