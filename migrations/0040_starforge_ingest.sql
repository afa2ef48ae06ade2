-- StarForge ingestion: remembered Idempotency-Key answers, and the game's own guild id on guilds
-- (the seed's DBML has guilds.external_id; the profile's GuildId is a 10-character Parse id).
SET LOCAL search_path = starforge, public;

CREATE TABLE ingest_idempotency_keys (
    scope         TEXT        NOT NULL DEFAULT '',   -- the caller (API key owner) the key belongs to
    key           TEXT        NOT NULL,
    request_hash  VARCHAR(64) NOT NULL,              -- sha256 of the request body
    status_code   INT,
    response      JSONB,
    snapshot_id   UUID REFERENCES hero_snapshots (id) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

ALTER TABLE guilds ADD COLUMN external_id VARCHAR(64);
CREATE UNIQUE INDEX ux_guilds_external_id ON guilds (external_id);
