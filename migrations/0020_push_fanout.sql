-- Web Push (docs/push.md): topic filters on subscriptions, and the consumer's exactly-once records.

-- NULL means "no filter": every faction, every kind of transition.
ALTER TABLE push_subscription
    ADD COLUMN factions   INTEGER[],
    ADD COLUMN kinds      TEXT[],
    ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD CONSTRAINT push_subscription_factions_check CHECK (factions <@ ARRAY[0, 1, 2]),
    ADD CONSTRAINT push_subscription_kinds_check CHECK (
        kinds <@ ARRAY['started', 'won', 'lost', 'season_started', 'season_ended', 'faction_defeated']
    );

-- One row per outbox notification the push consumer has taken on. Claiming it and writing its
-- deliveries happen in one statement, so a redelivered SQS message (the relay resends after a crash)
-- finds the claim and never fans out twice.
CREATE TABLE push_dispatch (
    outbox_id   BIGINT      PRIMARY KEY REFERENCES push_outbox (id) ON DELETE CASCADE,
    recipients  INTEGER     NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ
);

-- The deliveries still to make. A row goes away once its push service answered for good (accepted,
-- gone, rejected) or after max attempts; 429/5xx keep it, attempts + 1, for the SQS redelivery.
CREATE TABLE push_delivery (
    outbox_id       BIGINT      NOT NULL REFERENCES push_dispatch (outbox_id) ON DELETE CASCADE,
    subscription_id INTEGER     NOT NULL REFERENCES push_subscription (id) ON DELETE CASCADE,
    attempts        INTEGER     NOT NULL DEFAULT 0,
    last_status     INTEGER,
    PRIMARY KEY (outbox_id, subscription_id)
);
CREATE INDEX push_delivery_subscription_id_idx ON push_delivery (subscription_id);
