-- Housekeeping deletes expired rows in batches (db::Purge); each batch
-- finds its rows through an index instead of scanning the table.
CREATE INDEX email_links_expires ON email_links (expires_at);
CREATE INDEX rate_limits_period ON rate_limits (period);
