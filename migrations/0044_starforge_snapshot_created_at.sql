-- frontline: no-transaction
-- The profile summary's "ready in" estimate reads the newest snapshots in arrival order; created_at
-- never changes, so this index does not stop the ETL's updates from being HOT.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_hero_snapshots_created_at
    ON starforge.hero_snapshots (created_at DESC);
