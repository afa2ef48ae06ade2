-- frontline: no-transaction
-- The GIN index over raw snapshots is large on a live table: build it without blocking writes.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_hero_snapshots_raw_gin
    ON starforge.hero_snapshots USING GIN (raw jsonb_path_ops);
