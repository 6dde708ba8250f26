-- SEP-10's used challenges keyed by (expires_at, hash) instead of by hash
-- alone. A hash is random, so every login inserted into a random page of a
-- table holding the last 15 minutes of logins (two million rows at 2,300
-- logins/s), and into a random page of the expires_at index: two pages read
-- and written to the WAL per login, and checkpoints writing pages all over
-- the file. Keyed by expiry first, logins of the same second fill the same
-- last pages, the purge takes the first ones, and the index is not needed.
-- The key is as unique as the hash: the hash covers the transaction's time
-- bounds, so one hash always comes with the same expires_at (its max time).
CREATE TABLE sep10_used_challenges_by_expiry (
    expires_at INTEGER NOT NULL,      -- the challenge's max time, Unix seconds
    hash BLOB NOT NULL,               -- transaction hash (32 bytes)
    PRIMARY KEY (expires_at, hash)
) WITHOUT ROWID;

INSERT INTO sep10_used_challenges_by_expiry (expires_at, hash)
    SELECT expires_at, hash FROM sep10_used_challenges;
DROP TABLE sep10_used_challenges;
ALTER TABLE sep10_used_challenges_by_expiry RENAME TO sep10_used_challenges;
