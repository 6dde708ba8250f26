-- SEP-10's used challenges keyed by (expires_at, hash) instead of by hash
-- alone (see the SQLite migration of the same name): logins of the same
-- second go to the same last index pages instead of random ones, the purge
-- takes the first ones, and the expires_at index is not needed. The key is
-- as unique as the hash: the hash covers the transaction's time bounds, so
-- one hash always comes with the same expires_at (its max time).
CREATE TABLE sep10_used_challenges_by_expiry (
    expires_at BIGINT NOT NULL,       -- the challenge's max time, Unix seconds
    hash BYTEA NOT NULL,              -- transaction hash (32 bytes)
    CONSTRAINT sep10_used_challenges_by_expiry_pkey PRIMARY KEY (expires_at, hash)
);

INSERT INTO sep10_used_challenges_by_expiry (expires_at, hash)
    SELECT expires_at, hash FROM sep10_used_challenges;
DROP TABLE sep10_used_challenges;
ALTER TABLE sep10_used_challenges_by_expiry RENAME TO sep10_used_challenges;
