-- The right to send one notification's pending deliveries, held by one push consumer at a time
-- (docs/push.md). A lease in the row rather than an advisory lock: a session lock pins the connection
-- behind RDS Proxy and can outlive its owner on a pooled connection behind PgBouncer.
ALTER TABLE push_dispatch ADD COLUMN sending_until TIMESTAMPTZ;
