-- Two official snapshots of a season can fall into one 900 s bucket (a season ending minutes after its
-- midnight snapshot): one row per bucket would drop one of them, and a batch holding both would fail.
-- Live-poll rows keep seed 000's key, one per (season, enemy, bucket); snapshot rows are keyed by their
-- own time, so every official snapshot is kept exactly.
DROP INDEX h1_status_season_enemy_bucket_source_key;
CREATE UNIQUE INDEX h1_status_season_enemy_bucket_key ON h1_status (season, enemy, bucket) WHERE source = 'poll';
CREATE UNIQUE INDEX h1_status_snapshot_season_enemy_time_key ON h1_status (season, enemy, time) WHERE source = 'snapshot';
