-- Every write to a customer bumps its version: a PUT computed from a read
-- applies only if nothing changed in between (optimistic concurrency).
ALTER TABLE customers ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
