-- SEP-10: challenges already exchanged for a token. A challenge is
-- single-use on every replica: the row is the proof it was used. Rows are
-- purged once the challenge has expired, when it could not be used anyway.
CREATE TABLE sep10_used_challenges (
    hash BLOB PRIMARY KEY NOT NULL,   -- transaction hash (32 bytes)
    expires_at INTEGER NOT NULL       -- the challenge's max time, Unix seconds
) WITHOUT ROWID;

CREATE INDEX sep10_used_challenges_expires_at ON sep10_used_challenges (expires_at);
