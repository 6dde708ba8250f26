-- The last sequence number handed out for each sponsor account, so that
-- concurrent sponsorships get distinct, usable sequence numbers (each
-- transaction carries minSeqNum = the account's sequence when it was made).
CREATE TABLE sponsor_sequences (
    sponsor TEXT PRIMARY KEY,
    last BIGINT NOT NULL
);
