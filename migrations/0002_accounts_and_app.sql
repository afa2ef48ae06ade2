-- Seed 000: accounts (BetterAuth models), application state, worker heartbeat, push subscriptions.
-- Prisma keeps model and field names as written, so tables and camelCase columns are quoted.

CREATE TABLE "User" (
    "id"            TEXT        PRIMARY KEY DEFAULT uuidv7()::text,
    "name"          TEXT,
    "username"      TEXT,
    "email"         TEXT,
    "emailVerified" BOOLEAN     NOT NULL DEFAULT false,
    "image"         TEXT,
    "role"          TEXT        NOT NULL DEFAULT 'user',
    "banned"        BOOLEAN     NOT NULL DEFAULT false,
    "createdAt"     TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updatedAt"     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX "User_username_key" ON "User" ("username");
CREATE UNIQUE INDEX "User_email_key" ON "User" ("email");

CREATE TABLE "Account" (
    "id"                    TEXT        PRIMARY KEY DEFAULT uuidv7()::text,
    "userId"                TEXT        NOT NULL REFERENCES "User" ("id") ON UPDATE CASCADE ON DELETE CASCADE,
    "accountId"             TEXT        NOT NULL,
    "providerId"            TEXT        NOT NULL,
    "accessToken"           TEXT,
    "refreshToken"          TEXT,
    "accessTokenExpiresAt"  TIMESTAMPTZ,
    "refreshTokenExpiresAt" TIMESTAMPTZ,
    "idToken"               TEXT,
    "scope"                 TEXT,
    "password"              TEXT,
    "createdAt"             TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updatedAt"             TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX "Account_userId_idx" ON "Account" ("userId");

CREATE TABLE "Session" (
    "id"        TEXT        PRIMARY KEY DEFAULT uuidv7()::text,
    "token"     TEXT        NOT NULL,
    "userId"    TEXT        NOT NULL REFERENCES "User" ("id") ON UPDATE CASCADE ON DELETE CASCADE,
    "expiresAt" TIMESTAMPTZ NOT NULL,
    "ipAddress" TEXT,
    "userAgent" TEXT,
    "createdAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX "Session_token_key" ON "Session" ("token");
CREATE INDEX "Session_userId_idx" ON "Session" ("userId");

CREATE TABLE "Verification" (
    "id"         TEXT        PRIMARY KEY DEFAULT uuidv7()::text,
    "identifier" TEXT        NOT NULL,
    "value"      TEXT        NOT NULL,
    "expiresAt"  TIMESTAMPTZ NOT NULL,
    "createdAt"  TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updatedAt"  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX "Verification_identifier_value_key" ON "Verification" ("identifier", "value");

CREATE TABLE "Settings" (
    "userId"   TEXT  PRIMARY KEY REFERENCES "User" ("id") ON UPDATE CASCADE ON DELETE RESTRICT,
    "settings" JSONB NOT NULL
);
CREATE UNIQUE INDEX "Settings_userId_key" ON "Settings" ("userId");

CREATE TABLE "Review" (
    "id"        TEXT        PRIMARY KEY DEFAULT uuidv7()::text,
    "createdAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "title"     TEXT        NOT NULL,
    "content"   TEXT,
    "published" BOOLEAN     NOT NULL DEFAULT false,
    "authorId"  TEXT        NOT NULL REFERENCES "User" ("id") ON UPDATE CASCADE ON DELETE RESTRICT
);

CREATE TABLE "ApiKey" (
    "id"          TEXT        PRIMARY KEY DEFAULT uuidv7()::text,
    "hash"        TEXT        NOT NULL,
    "visible"     TEXT        NOT NULL,
    "userId"      TEXT        NOT NULL REFERENCES "User" ("id") ON UPDATE CASCADE ON DELETE CASCADE,
    "description" TEXT        NOT NULL,
    "createdAt"   TIMESTAMPTZ NOT NULL DEFAULT now(),
    "enabled"     BOOLEAN     NOT NULL DEFAULT true
);
CREATE UNIQUE INDEX "ApiKey_hash_key" ON "ApiKey" ("hash");

CREATE TABLE "App" (
    "id"            TEXT    PRIMARY KEY DEFAULT uuidv7()::text,
    "version"       TEXT    NOT NULL,
    "active_season" INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE worker_heartbeat (
    worker_type      TEXT        PRIMARY KEY,
    last_beat        TIMESTAMPTZ NOT NULL,
    poll_duration_ms INTEGER,
    last_error       TEXT,
    started_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE push_subscription (
    id          SERIAL      PRIMARY KEY,
    endpoint    TEXT        NOT NULL,
    keys_p256dh TEXT        NOT NULL,
    keys_auth   TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX push_subscription_endpoint_key ON push_subscription (endpoint);
CREATE INDEX push_subscription_endpoint_idx ON push_subscription (endpoint);
