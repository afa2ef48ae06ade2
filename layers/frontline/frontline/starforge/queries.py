"""The read API's SQL: each answer is one statement."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

# Without a measured history, a queued snapshot is expected this many seconds after it arrived.
DEFAULT_ETA_SECONDS = 5

# The summary if there is one; else, if a snapshot of that namecode still waits for the ETL (neither
# failed for good nor dead-lettered), an estimate of when it will be ready: the median time from
# arrival to processed of the 100 newest processed snapshots, less the pending snapshot's age, at
# least one second.
PROFILE_SUMMARY = """
SELECT
    (SELECT jsonb_build_object(
                'namecode', s.namecode, 'username', s.username, 'level', s.level, 'top_troops', s.top_troops,
                'equipped_pet', s.equipped_pet, 'pvp_tier', s.pvp_tier, 'guild_id', s.guild_id,
                'guild_name', s.extra ->> 'guild_name', 'name', s.extra ->> 'name', 'class', s.extra ->> 'class',
                'troops_owned', s.extra -> 'troops_owned', 'snapshot_id', s.extra ->> 'snapshot_id',
                'last_seen', s.last_seen, 'cached_at', s.cached_at)
     FROM starforge.user_profile_summary s WHERE s.namecode = %(namecode)s
     ORDER BY s.cached_at DESC LIMIT 1) AS summary,
    (SELECT greatest(1, ceil(COALESCE(
                (SELECT percentile_cont(0.5)
                            WITHIN GROUP (ORDER BY extract(epoch FROM done.processed_at - done.created_at))
                 FROM (SELECT processed_at, created_at FROM starforge.hero_snapshots
                       WHERE processed_at IS NOT NULL ORDER BY created_at DESC LIMIT 100) done),
                %(default_eta)s) - extract(epoch FROM now() - p.created_at)))::int
     FROM starforge.hero_snapshots p
     WHERE p.namecode = %(namecode)s AND p.processed_at IS NULL
       AND NOT COALESCE((p.last_error ->> 'permanent')::boolean OR (p.last_error ->> 'dead_lettered')::boolean,
                        false)
     ORDER BY p.created_at DESC LIMIT 1) AS estimated_ready_in_seconds
"""

# Keyset pagination in (amount DESC, level DESC, hero_id) order; the cursor is the last row's key.
TROOP_OWNERS = """
SELECT t.hero_id, h.namecode, h.name, t.amount, t.level, t.current_rarity, c.name AS troop_name
FROM starforge.hero_troops t
JOIN starforge.heroes h ON h.id = t.hero_id
LEFT JOIN starforge.troop_catalog c ON c.id = t.troop_id
WHERE t.troop_id = %(troop_id)s AND t.amount > 0
  AND (%(after_amount)s::int IS NULL
       OR (t.amount, t.level, t.hero_id) < (%(after_amount)s::int, %(after_level)s::int, %(after_hero)s::uuid))
ORDER BY t.amount DESC, t.level DESC, t.hero_id DESC
LIMIT %(limit)s
"""

SNAPSHOT_STATUS = """
SELECT jsonb_build_object(
    'snapshot_id', id, 'namecode', namecode, 'source', source, 'size_bytes', size_bytes,
    'content_hash', content_hash, 'created_at', created_at, 'processing_started_at', processing_started_at,
    'processed_at', processed_at, 'error_count', error_count, 'last_error', last_error,
    'status', CASE
        WHEN processed_at IS NOT NULL THEN 'processed'
        WHEN COALESCE((last_error ->> 'permanent')::boolean, false) THEN 'failed'
        WHEN processing AND processing_started_at >= now() - make_interval(secs => %(claim_ttl)s) THEN 'processing'
        WHEN (last_error ->> 'dead_lettered')::boolean THEN 'dead_lettered'
        WHEN last_error IS NOT NULL THEN 'retrying'
        ELSE 'queued' END)
FROM starforge.hero_snapshots WHERE id = %(id)s
"""

# Reset a snapshot for another ETL run, unless a live worker holds it; one statement tells the three
# cases apart (NULL row: unknown; reset false: being processed) and leaves an audit trail. The claim
# test is on the row the UPDATE locks, so a claim committed while the UPDATE waited for the row is seen.
REPROCESS = """
WITH target AS (
    SELECT id FROM starforge.hero_snapshots WHERE id = %(id)s
), reset AS (
    UPDATE starforge.hero_snapshots s
    SET processed_at = NULL, processing = false, processing_started_at = NULL, last_error = NULL
    WHERE s.id = %(id)s
      AND (s.processing AND s.processing_started_at >= now() - make_interval(secs => %(claim_ttl)s)) IS NOT TRUE
    RETURNING s.id
), audit AS (
    INSERT INTO starforge.audit_logs (action, metadata, ip_address, user_agent)
    SELECT 'snapshot_reprocessed', jsonb_build_object('snapshot_id', id, 'principal', %(principal)s::text),
           %(ip)s, left(%(user_agent)s, 512)
    FROM reset
)
SELECT EXISTS (SELECT 1 FROM reset) FROM target
"""


def profile_summary(conn: psycopg.Connection, namecode: str) -> tuple[dict | None, int | None]:
    return conn.execute(PROFILE_SUMMARY, {"namecode": namecode, "default_eta": DEFAULT_ETA_SECONDS}).fetchone()


def troop_owners(conn: psycopg.Connection, troop_id: int, limit: int,
                 after: tuple[int, int, UUID] | None) -> list[dict[str, Any]]:
    after_amount, after_level, after_hero = after or (None, None, None)
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(TROOP_OWNERS, {"troop_id": troop_id, "limit": limit, "after_amount": after_amount,
                                          "after_level": after_level, "after_hero": after_hero}).fetchall()


def snapshot_status(conn: psycopg.Connection, snapshot_id: UUID | str, claim_ttl: int) -> dict | None:
    row = conn.execute(SNAPSHOT_STATUS, {"id": snapshot_id, "claim_ttl": claim_ttl}).fetchone()
    return row[0] if row else None


def reset_for_reprocess(conn: psycopg.Connection, snapshot_id: UUID | str, claim_ttl: int, principal: str | None,
                        ip: str | None, user_agent: str | None) -> bool | None:
    """True: reset (queue it now); False: a worker is processing it; None: no such snapshot."""
    row = conn.execute(REPROCESS, {"id": snapshot_id, "claim_ttl": claim_ttl, "principal": principal, "ip": ip,
                                   "user_agent": user_agent or ""}).fetchone()
    return row[0] if row else None
