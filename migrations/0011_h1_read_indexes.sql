-- frontline: no-transaction
-- Reads of the h1 API (docs/h1-api.md). get_snapshots rebuilds a season from its snapshot rows only:
-- without this index it walks every poll bucket of the season (96 a day) to find them.
CREATE INDEX CONCURRENTLY IF NOT EXISTS h1_status_snapshot_season_time_idx ON h1_status (season, time, enemy) WHERE source = 'snapshot';
