-- What seed 000 drops but a lossless rebroadcast needs, and what the poller needs to run safely.
-- Every column here is documented in docs/database.md ("h1 deviations").

-- The latest get_campaign_status poll that named this season as current, and the latest get_snapshots
-- fetch of it: upstream `time` values and which events filled the poll's slots. final_backfill_after
-- is set on a season when the campaign moves past it: its closing snapshot lands minutes after the
-- switch, so the poller backfills it once more after that upstream time.
ALTER TABLE h1_season
    ADD COLUMN polled_at             INTEGER,
    ADD COLUMN snapshots_fetched_at  INTEGER,
    ADD COLUMN poll_defend_event_id  INTEGER,
    ADD COLUMN poll_attack_event_ids INTEGER[],
    ADD COLUMN final_backfill_after  INTEGER;

-- max_event_id comes with attack events in polls only; poll_players_at_start records whether the
-- latest poll that carried the event reported players_at_start (the live defend event does not).
ALTER TABLE h1_event
    ADD COLUMN max_event_id          INTEGER,
    ADD COLUMN poll_players_at_start BOOLEAN;

-- Official get_snapshots rows live beside live-poll rows instead of competing for one row per bucket:
-- a snapshot never overwrites a poll value, the source is always knowable, and both stay exact.
ALTER TABLE h1_status
    ADD COLUMN source TEXT NOT NULL DEFAULT 'poll' CONSTRAINT h1_status_source_check CHECK (source IN ('poll', 'snapshot'));
DROP INDEX h1_status_season_enemy_bucket_key;
CREATE UNIQUE INDEX h1_status_season_enemy_bucket_source_key ON h1_status (season, enemy, bucket, source);

-- The four season-wide event counters the statistics report with every poll.
ALTER TABLE h1_statistic
    ADD COLUMN defend_events            INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN successful_defend_events INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN attack_events            INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN successful_attack_events INTEGER NOT NULL DEFAULT 0;

-- "App" is a single-row table: enforce it, and create the row the poller keeps current.
CREATE UNIQUE INDEX "App_single_row" ON "App" ((true));
INSERT INTO "App" (version, active_season) VALUES ('0.1.0', 0);
