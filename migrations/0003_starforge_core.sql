-- Seed 003: StarForge hero-profile ingestion. Everything lives in its own schema so that StarForge's
-- `users` never meets seed 000's "User", and ownership is visible in every query.

CREATE SCHEMA starforge;
SET LOCAL search_path = starforge, public;

CREATE TABLE users (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    namecode        VARCHAR(64),
    discord_user_id VARCHAR(64),
    username        VARCHAR(255),
    email           VARCHAR(255),
    created_at      TIMESTAMPTZ DEFAULT now(),
    updated_at      TIMESTAMPTZ DEFAULT now()
);
CREATE UNIQUE INDEX ux_users_namecode ON users (namecode);
CREATE INDEX idx_users_discord_user_id ON users (discord_user_id);

CREATE TABLE hero_snapshots (
    id                    UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id               UUID REFERENCES users (id) ON DELETE SET NULL,
    namecode              VARCHAR(64),
    source                VARCHAR(64)  NOT NULL,
    raw                   JSONB        NOT NULL,
    size_bytes            INTEGER      NOT NULL,
    content_hash          VARCHAR(128) NOT NULL,
    server_time           BIGINT,
    processing            BOOLEAN      DEFAULT false,
    processing_started_at TIMESTAMPTZ,
    processed_at          TIMESTAMPTZ,
    error_count           INTEGER      DEFAULT 0,
    last_error            JSONB,
    created_at            TIMESTAMPTZ  DEFAULT now()
);
CREATE INDEX idx_hero_snapshots_user_created_at ON hero_snapshots (user_id, created_at DESC);
CREATE INDEX idx_hero_snapshots_namecode_expr ON hero_snapshots ((raw ->> 'NameCode'));

CREATE TABLE guilds (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    discord_guild_id VARCHAR(64),
    name             VARCHAR(255) NOT NULL,
    description      TEXT,
    settings         JSONB DEFAULT '{}'::jsonb,
    feature_flags    JSONB DEFAULT '{}'::jsonb,
    created_at       TIMESTAMPTZ DEFAULT now(),
    updated_at       TIMESTAMPTZ DEFAULT now()
);
CREATE UNIQUE INDEX ux_guilds_discord_guild_id ON guilds (discord_guild_id);
CREATE INDEX idx_guilds_name ON guilds (name);

CREATE TABLE guild_members (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    guild_id        UUID NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    discord_user_id VARCHAR(64),
    joined_at       TIMESTAMPTZ,
    is_owner        BOOLEAN DEFAULT false,
    created_at      TIMESTAMPTZ DEFAULT now(),
    updated_at      TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT ux_guild_members_guild_user UNIQUE (guild_id, user_id)
);
CREATE INDEX idx_guild_members_guild ON guild_members (guild_id);

CREATE TABLE feature_flags (
    id                 UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name               VARCHAR(128) NOT NULL,
    enabled            BOOLEAN DEFAULT false,
    rollout_percentage INT DEFAULT 0,
    data               JSONB DEFAULT '{}'::jsonb,
    created_at         TIMESTAMPTZ DEFAULT now(),
    updated_at         TIMESTAMPTZ DEFAULT now()
);
CREATE UNIQUE INDEX ux_feature_flags_name ON feature_flags (name);
CREATE INDEX idx_feature_flags_enabled ON feature_flags (enabled);

-- Catalogs (seed 3.12). kingdom_catalog follows the same shape so kingdom ids get placeholders too.
CREATE TABLE troop_catalog (
    id          INT PRIMARY KEY,
    kid         VARCHAR(64),
    name        VARCHAR(255) NOT NULL,
    description TEXT,
    rarity      INT,
    meta        JSONB DEFAULT '{}'::jsonb,
    created_at  TIMESTAMPTZ DEFAULT now(),
    updated_at  TIMESTAMPTZ DEFAULT now()
);
CREATE UNIQUE INDEX ux_troop_catalog_kid ON troop_catalog (kid);
CREATE INDEX idx_troop_catalog_name ON troop_catalog (name);

CREATE TABLE pet_catalog (LIKE troop_catalog INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE pet_catalog ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX ux_pet_catalog_kid ON pet_catalog (kid);
CREATE INDEX idx_pet_catalog_name ON pet_catalog (name);

CREATE TABLE artifact_catalog (LIKE troop_catalog INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE artifact_catalog ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX ux_artifact_catalog_kid ON artifact_catalog (kid);
CREATE INDEX idx_artifact_catalog_name ON artifact_catalog (name);

CREATE TABLE kingdom_catalog (LIKE troop_catalog INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE kingdom_catalog ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX ux_kingdom_catalog_kid ON kingdom_catalog (kid);
CREATE INDEX idx_kingdom_catalog_name ON kingdom_catalog (name);

CREATE TABLE heroes (
    id                 UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    external_id        VARCHAR(255),
    name               VARCHAR(255),
    namecode           VARCHAR(64),
    name_lower         VARCHAR(255),
    username           VARCHAR(255),
    level              INT DEFAULT 0,
    race               INT,
    gender             INT,
    class              VARCHAR(128),
    portrait_id        INT,
    title_id           INT,
    flair_id           INT,
    honor_rank         INT,
    equipped_weapon_id INT,
    equipped_pet_id    INT,
    guild_id           UUID REFERENCES guilds (id),
    guild_external_id  VARCHAR(64),
    guild_name         VARCHAR(255),
    guild_rank         INT,
    server_time        TIMESTAMPTZ,
    last_login         TIMESTAMPTZ,
    last_played        TIMESTAMPTZ,
    summary            JSONB,
    extras             JSONB DEFAULT '{}'::jsonb,
    created_at         TIMESTAMPTZ DEFAULT now(),
    updated_at         TIMESTAMPTZ DEFAULT now()
);
CREATE UNIQUE INDEX ux_heroes_external_id ON heroes (external_id);
CREATE UNIQUE INDEX ux_heroes_namecode ON heroes (namecode);
CREATE INDEX idx_heroes_namecode ON heroes (namecode);
CREATE INDEX idx_heroes_guild_id ON heroes (guild_id);

CREATE TABLE hero_troops (
    id                   UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    hero_id              UUID NOT NULL REFERENCES heroes (id) ON DELETE CASCADE,
    troop_id             INT  NOT NULL,
    amount               INT DEFAULT 0,
    level                INT DEFAULT 1,
    current_rarity       INT DEFAULT 0,
    fusion_cards         INT DEFAULT 0,
    orb_fusion_cards     INT DEFAULT 0,
    traits_owned         INT DEFAULT 0,
    invasions            INT DEFAULT 0,
    shiny_level_progress INT DEFAULT 0,
    orbs_used            JSONB DEFAULT '[]'::jsonb,
    extra                JSONB DEFAULT '{}'::jsonb,
    created_at           TIMESTAMPTZ DEFAULT now(),
    updated_at           TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT ux_hero_troops_hero_troop UNIQUE (hero_id, troop_id)
);
CREATE INDEX idx_hero_troops_troop ON hero_troops (troop_id);
CREATE INDEX idx_hero_troops_hero ON hero_troops (hero_id);

CREATE TABLE hero_pets (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    hero_id          UUID NOT NULL REFERENCES heroes (id) ON DELETE CASCADE,
    pet_id           INT  NOT NULL,
    amount           INT DEFAULT 0,
    level            INT DEFAULT 1,
    xp               BIGINT DEFAULT 0,
    orb_fusion_cards INT DEFAULT 0,
    orbs_used        JSONB DEFAULT '[]'::jsonb,
    ascension_level  INT DEFAULT 0,
    extra            JSONB DEFAULT '{}'::jsonb,
    created_at       TIMESTAMPTZ DEFAULT now(),
    updated_at       TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT ux_hero_pets_hero_pet UNIQUE (hero_id, pet_id)
);
CREATE INDEX idx_hero_pets_pet ON hero_pets (pet_id);

CREATE TABLE hero_artifacts (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    hero_id     UUID NOT NULL REFERENCES heroes (id) ON DELETE CASCADE,
    artifact_id INT  NOT NULL,
    xp          BIGINT DEFAULT 0,
    level       INT DEFAULT 0,
    extra       JSONB DEFAULT '{}'::jsonb,
    created_at  TIMESTAMPTZ DEFAULT now(),
    updated_at  TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT ux_hero_artifacts_hero_artifact UNIQUE (hero_id, artifact_id)
);

CREATE TABLE teams (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    hero_id       UUID NOT NULL REFERENCES heroes (id) ON DELETE CASCADE,
    name          VARCHAR(255),
    banner        INT,
    team_level    INT DEFAULT 0,
    class         VARCHAR(128),
    override_data JSONB DEFAULT '{}'::jsonb,
    created_at    TIMESTAMPTZ DEFAULT now(),
    updated_at    TIMESTAMPTZ DEFAULT now()
);
CREATE INDEX idx_teams_hero ON teams (hero_id);

CREATE TABLE team_troops (
    id       UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id  UUID NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    position INT  NOT NULL,
    troop_id INT  NOT NULL
);
CREATE INDEX idx_team_troops_team ON team_troops (team_id, position);

CREATE TABLE hero_kingdom_progress (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    hero_id        UUID NOT NULL REFERENCES heroes (id) ON DELETE CASCADE,
    kingdom_id     INT  NOT NULL,
    status         INT DEFAULT 0,
    income         INT DEFAULT 0,
    challenge_tier INT DEFAULT 0,
    invasions      INT DEFAULT 0,
    power_rank     INT DEFAULT 0,
    tasks          JSONB DEFAULT '[]'::jsonb,
    explore        JSONB DEFAULT '{}'::jsonb,
    trials_team    JSONB DEFAULT '{}'::jsonb,
    extra          JSONB DEFAULT '{}'::jsonb,
    created_at     TIMESTAMPTZ DEFAULT now(),
    updated_at     TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT ux_hero_kingdom_progress_hero_kingdom UNIQUE (hero_id, kingdom_id)
);
CREATE INDEX idx_hero_kingdom_progress_hero ON hero_kingdom_progress (hero_id);

CREATE TABLE hero_pvp_regions (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    hero_id         UUID NOT NULL REFERENCES heroes (id) ON DELETE CASCADE,
    region_id       INT  NOT NULL,
    team            JSONB DEFAULT '{}'::jsonb,
    stats           JSONB DEFAULT '{}'::jsonb,
    most_used_troop JSONB DEFAULT '{}'::jsonb,
    extras          JSONB DEFAULT '{}'::jsonb,
    created_at      TIMESTAMPTZ DEFAULT now(),
    updated_at      TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT ux_hero_pvp_regions_hero_region UNIQUE (hero_id, region_id)
);
CREATE INDEX idx_hero_pvp_regions_hero ON hero_pvp_regions (hero_id);

CREATE TABLE hero_pvp_stats (
    id                   UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    hero_id              UUID NOT NULL UNIQUE REFERENCES heroes (id) ON DELETE CASCADE,
    invades_won          INT DEFAULT 0,
    invades_lost         INT DEFAULT 0,
    defends_won          INT DEFAULT 0,
    defends_lost         INT DEFAULT 0,
    most_invaded_kingdom JSONB,
    most_used_troop      JSONB,
    raw                  JSONB,
    created_at           TIMESTAMPTZ DEFAULT now(),
    updated_at           TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE hero_class_data (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    hero_id    UUID NOT NULL REFERENCES heroes (id),
    class_name VARCHAR(128) NOT NULL,
    data       JSONB NOT NULL,
    created_at TIMESTAMPTZ DEFAULT now(),
    updated_at TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT ux_hero_class_data_hero_class UNIQUE (hero_id, class_name)
);

CREATE TABLE hero_meta_json (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    hero_id    UUID NOT NULL REFERENCES heroes (id),
    key        VARCHAR(255) NOT NULL,
    value      JSONB,
    created_at TIMESTAMPTZ DEFAULT now(),
    updated_at TIMESTAMPTZ DEFAULT now()
);
CREATE INDEX idx_hero_meta_hero_key ON hero_meta_json (hero_id, key);

CREATE TABLE user_profile_summary (
    user_id      UUID PRIMARY KEY REFERENCES users (id),
    namecode     VARCHAR(64),
    username     VARCHAR(255),
    level        INTEGER,
    top_troops   JSONB DEFAULT '[]'::jsonb,
    equipped_pet JSONB,
    pvp_tier     INTEGER,
    guild_id     UUID,
    last_seen    TIMESTAMPTZ,
    cached_at    TIMESTAMPTZ DEFAULT now(),
    extra        JSONB DEFAULT '{}'::jsonb,
    created_at   TIMESTAMPTZ DEFAULT now(),
    updated_at   TIMESTAMPTZ DEFAULT now()
);
CREATE INDEX idx_profile_summary_namecode ON user_profile_summary (namecode);

CREATE TABLE etl_errors (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    snapshot_id UUID REFERENCES hero_snapshots (id) ON DELETE SET NULL,
    error_type  VARCHAR(128) NOT NULL,
    message     TEXT NOT NULL,
    details     JSONB,
    created_at  TIMESTAMPTZ DEFAULT now()
);
CREATE INDEX idx_etl_errors_snapshot_id_created_at ON etl_errors (snapshot_id, created_at DESC);

CREATE TABLE queue_jobs (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    type         VARCHAR(128) NOT NULL,
    payload      JSONB NOT NULL,
    priority     INT DEFAULT 0,
    attempts     INT DEFAULT 0,
    max_attempts INT DEFAULT 5,
    status       VARCHAR(32) DEFAULT 'pending',
    run_after    TIMESTAMPTZ DEFAULT now(),
    last_error   TEXT,
    created_at   TIMESTAMPTZ DEFAULT now(),
    updated_at   TIMESTAMPTZ DEFAULT now()
);
CREATE INDEX idx_queue_jobs_status_run_after ON queue_jobs (status, run_after);

CREATE TABLE audit_logs (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    action     VARCHAR(255) NOT NULL,
    user_id    UUID,
    guild_id   UUID,
    metadata   JSONB DEFAULT '{}'::jsonb,
    ip_address VARCHAR(45),
    user_agent VARCHAR(512),
    created_at TIMESTAMPTZ DEFAULT now()
);
CREATE INDEX idx_audit_logs_action_created_at ON audit_logs (action, created_at DESC);
