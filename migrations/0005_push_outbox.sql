-- The transactional outbox for Web Push notifications (issue: exactly-once fan-out). The h1 ingest
-- writes one row per campaign transition inside its poll transaction; the relay sends unrelayed rows to
-- SQS after the commit and stamps relayed_at. dedupe_key makes a transition impossible to record twice.
CREATE TABLE push_outbox (
    id         BIGSERIAL   PRIMARY KEY,
    dedupe_key TEXT        NOT NULL,
    kind       TEXT        NOT NULL,   -- started | won | lost | season_started | season_ended | faction_defeated
    season     INTEGER     NOT NULL,
    enemy      INTEGER,                -- the faction concerned; null for season-wide transitions
    payload    JSONB       NOT NULL,   -- facts for the message (event type/id, region, points, ...)
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    relayed_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX push_outbox_dedupe_key_key ON push_outbox (dedupe_key);
CREATE INDEX push_outbox_unrelayed_idx ON push_outbox (id) WHERE relayed_at IS NULL;
