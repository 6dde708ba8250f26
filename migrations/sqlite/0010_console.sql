-- Sign-ins to the compliance console (crates/server/src/console): one row
-- per session, found by the SHA-256 of its cookie (the cookie itself is
-- never stored); the CSRF token its forms carry; who signed in.
CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY,
    actor TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
