-- Accounts (issue "Accounts"): what sign-in, API keys and the per-key rate limit need beyond seed 000.

-- One provider account belongs to one user; the OAuth callback upserts by it.
CREATE UNIQUE INDEX "Account_providerId_accountId_key" ON "Account" ("providerId", "accountId");

-- "/api/me/keys" and "/api/me/reviews" list a user's rows; the public review list reads published ones.
CREATE INDEX "ApiKey_userId_idx" ON "ApiKey" ("userId");
CREATE INDEX "Review_authorId_idx" ON "Review" ("authorId");
CREATE INDEX "Review_published_idx" ON "Review" ("id" DESC) WHERE "published";

-- Expired OAuth states are purged by the login that stores a new one.
CREATE INDEX "Verification_expiresAt_idx" ON "Verification" ("expiresAt");

-- Fixed-window request counters, one row per key, scope (the route) and window. UNLOGGED: a crash may
-- reset the counters, which only forgives part of one minute, and writes skip the WAL.
CREATE UNLOGGED TABLE api_key_rate_window (
    api_key_id   TEXT        NOT NULL REFERENCES "ApiKey" ("id") ON DELETE CASCADE,
    scope        TEXT        NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    hits         INTEGER     NOT NULL,
    PRIMARY KEY (api_key_id, scope, window_start)
);
