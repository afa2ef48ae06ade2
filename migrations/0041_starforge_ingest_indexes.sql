-- frontline: no-transaction
-- hero_snapshots.raw holds the payload exactly as received: the game's envelope
-- {"result": {"ProfileData": {...}}} or a bare ProfileData. The seed's index on raw->>'NameCode' only
-- matched the bare shape; this one matches both.
DROP INDEX CONCURRENTLY IF EXISTS starforge.idx_hero_snapshots_namecode_expr;
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_hero_snapshots_namecode_expr
    ON starforge.hero_snapshots ((COALESCE(raw #>> '{result,ProfileData,NameCode}', raw ->> 'NameCode')));
-- The dedupe window looks up recent snapshots by content hash.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_hero_snapshots_content_hash_created_at
    ON starforge.hero_snapshots (content_hash, created_at DESC);
-- The profile summary looks for a pending snapshot by namecode.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_hero_snapshots_namecode_created_at
    ON starforge.hero_snapshots (namecode, created_at DESC);
-- Troop owners, paginated by (amount, level, hero) in keyset order.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_hero_troops_troop_amount_owners
    ON starforge.hero_troops (troop_id, amount DESC, level DESC, hero_id DESC) WHERE amount > 0;
