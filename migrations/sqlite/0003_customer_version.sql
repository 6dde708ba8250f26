-- Every write to a customer bumps its version: a PUT computed from a read
-- applies only if nothing changed in between (optimistic concurrency), so
-- writes can be grouped into one transaction without holding a lock while
-- the request is worked out.
ALTER TABLE customers ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
