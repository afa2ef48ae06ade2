"""The ETL: claim a batch of snapshots, parse each payload, write every hero table set-based, finish.

The batch is claimed in one statement. One snapshot is one transaction, and one statement per table
(one array per column: ``unnest``, or ``jsonb_array_elements`` for JSON), sent with its COMMIT in a
pipeline, so the whole write costs about one round trip after the hero row; while PostgreSQL executes
it, the worker parses the next snapshot and builds its statements. Every upsert changes a row only
when a value differs, so processing the same snapshot again leaves the tables exactly as they were
(``updated_at`` included).

Sections: a section absent from the payload leaves its table untouched; a section present replaces
the hero's state. Troops and pets the profile no longer lists are zeroed (``amount = 0``), not
deleted: the row keeps level and history, and every "owners" query filters ``amount > 0``. The
newest profile of a hero wins: one older than what the tables hold (a retry delivered it late) is
marked processed and changes nothing stored (``Outcome.SUPERSEDED``).

Errors: connection loss, deadlocks, serialization failures, lock and statement timeouts, a server
gone read-only (a failover), and a prepared statement gone stale (the connection is then dropped) are
transient: the claim is released and the snapshot's outcome is a ``TransientEtlError``, for the
worker to leave its message to SQS. Anything else is permanent: an ``etl_errors`` row,
``error_count + 1``, ``last_error``, and the outcome ``FAILED`` (the message is acknowledged, never
retried). Each snapshot of a batch fails alone.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Iterable, NamedTuple
from uuid import UUID

import psycopg
from psycopg import errors, sql
from psycopg.types.json import Jsonb
from pydantic import ValidationError

from frontline import db
from frontline.starforge.models import KingdomProgress, ProfileData
from frontline.starforge.settings import settings

log = logging.getLogger(__name__)


class ErrorType(str, Enum):
    PARSE_ERROR = "PARSE_ERROR"
    DB_ERROR = "DB_ERROR"
    FK_VIOLATION = "FK_VIOLATION"
    PROCESSING_ERROR = "PROCESSING_ERROR"


class Outcome(str, Enum):
    PROCESSED = "processed"
    SUPERSEDED = "superseded"  # older than what the hero's tables hold: marked processed, nothing written
    FAILED = "failed"  # a permanent error, recorded
    ALREADY_DONE = "already_done"  # processed or permanently failed before: a duplicate delivery
    NOT_FOUND = "not_found"


class TransientEtlError(Exception):
    """Processing should be retried later (the SQS message is left to reappear), and not before
    ``retry_after_seconds``: how long a claim (another worker's, or this one's that could not be
    released) still holds the snapshot."""

    def __init__(self, message: str, retry_after_seconds: int = 0) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


def stale_prepared_statement(exc: BaseException) -> bool:
    """A statement prepared on this connection no longer fits the schema (a migration changed a column
    it returns), or the server no longer knows it (a pooler that dropped it). Only a new connection
    clears psycopg's cache of prepared statements for sure."""
    return isinstance(exc, errors.InvalidSqlStatementName) or (
        isinstance(exc, errors.FeatureNotSupported) and "cached plan must not change result type" in str(exc))


def classify(exc: BaseException) -> ErrorType | None:
    """The permanent error type of ``exc``, or None when a retry may succeed."""
    if (isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError, errors.ReadOnlySqlTransaction))
            or stale_prepared_statement(exc)):
        return None  # connection, deadlock, serialization, lock/statement timeout, shutdown, failover, stale plan
    if isinstance(exc, ValidationError):
        return ErrorType.PARSE_ERROR
    if isinstance(exc, errors.ForeignKeyViolation):
        return ErrorType.FK_VIOLATION
    if isinstance(exc, psycopg.Error):
        return ErrorType.DB_ERROR
    return ErrorType.PROCESSING_ERROR


# --- claim --------------------------------------------------------------------------------------

# The claim hands over each ProfileData object as JSON text, which pydantic validates straight from the
# text: no Python dict of the whole payload is built first. ``#>`` is NULL unless raw is an object whose
# "result" is an object with a "ProfileData" key, so the COALESCE is the SQL twin of ``profile_data_of``;
# it reads the stored payload once, where a CASE testing "result" first read it three times (2.2 against
# 1.5 ms of PostgreSQL per 160 KB payload). The outer SELECT sees the rows as they were before the
# UPDATE: why a snapshot was not claimed.
_CLAIM = """
WITH claimed AS (
    UPDATE starforge.hero_snapshots
    SET processing = true, processing_started_at = now()
    WHERE id = ANY(%(ids)s::uuid[])
      AND processed_at IS NULL
      AND NOT COALESCE((last_error ->> 'permanent')::boolean, false)
      AND (processing IS NOT TRUE OR processing_started_at < now() - make_interval(secs => %(ttl)s))
    RETURNING id, COALESCE(raw #> '{result,ProfileData}', raw)::text AS profile_json, created_at
)
SELECT s.id::text, claimed.profile_json, claimed.created_at, claimed.id IS NOT NULL AS won,
       s.processed_at IS NOT NULL OR COALESCE((s.last_error ->> 'permanent')::boolean, false) AS done,
       GREATEST(ceil(extract(epoch FROM s.processing_started_at - now()) + %(ttl)s), 0)::int AS held_for_seconds
FROM starforge.hero_snapshots s LEFT JOIN claimed ON claimed.id = s.id
WHERE s.id = ANY(%(ids)s::uuid[])
"""


@dataclass(frozen=True)
class Claim:
    profile_json: str
    created_at: datetime


def snapshot_key(snapshot_id: UUID | str) -> str:
    """The id as the claim and the results spell it (a UUID's canonical text)."""
    return str(snapshot_id if isinstance(snapshot_id, UUID) else UUID(snapshot_id))


def claim_batch(conn: psycopg.Connection, snapshot_ids: Iterable[UUID | str]
                ) -> dict[str, Claim | Outcome | TransientEtlError]:
    """Atomically take the snapshots for processing, in one statement. A claim older than the TTL
    belongs to a crashed worker and can be taken over. For each id (in the order given): its claim, or
    why there is nothing to do, or a ``TransientEtlError`` while another live worker holds it."""
    keys = list(dict.fromkeys(map(snapshot_key, snapshot_ids)))
    rows = conn.execute(_CLAIM, {"ids": keys, "ttl": settings().claim_ttl_seconds}).fetchall()
    found = {key: (Claim(profile_json, created_at) if won else Outcome.ALREADY_DONE if done else
                   TransientEtlError(f"snapshot {key} is being processed by another worker", held_for))
             for key, profile_json, created_at, won, done, held_for in rows}
    return {key: found.get(key, Outcome.NOT_FOUND) for key in keys}


def claim(conn: psycopg.Connection, snapshot_id: UUID | str) -> Claim | Outcome:
    """``claim_batch`` of one snapshot; raises ``TransientEtlError`` while another live worker holds it."""
    taken = claim_batch(conn, [snapshot_id])[snapshot_key(snapshot_id)]
    if isinstance(taken, TransientEtlError):
        raise taken
    return taken


# --- errors -------------------------------------------------------------------------------------

_RECORD_ERROR = """
WITH logged AS (
    INSERT INTO starforge.etl_errors (snapshot_id, error_type, message, details)
    SELECT %(id)s, %(error_type)s, %(message)s, %(details)s
    WHERE %(permanent)s
)
UPDATE starforge.hero_snapshots
SET processing = false,
    error_count = COALESCE(error_count, 0) + 1,
    last_error = jsonb_build_object('type', %(error_type)s::text, 'message', %(message)s::text,
                                    'permanent', %(permanent)s, 'at', now())
WHERE id = %(id)s
"""


def _details(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, ValidationError):
        return {"errors": exc.errors(include_input=False, include_url=False)[:20]}
    if isinstance(exc, psycopg.Error) and exc.diag:
        return {"sqlstate": exc.sqlstate, "table": exc.diag.table_name, "constraint": exc.diag.constraint_name}
    return {"exception": type(exc).__name__}


# A processed snapshot (another worker got through meanwhile) is left alone. A redrive from the
# dead-letter queue claims the snapshot again: only a permanent error stops a claim.
_MARK_DEAD_LETTERED = """
UPDATE starforge.hero_snapshots
SET last_error = COALESCE(last_error, '{}'::jsonb) || '{"dead_lettered": true}'::jsonb
WHERE id = ANY(%s::uuid[]) AND processed_at IS NULL
"""


def mark_dead_lettered(conn: psycopg.Connection, snapshot_ids: list[str]) -> None:
    """Their jobs failed on the queue's last receive and go to the dead-letter queue: no retry comes."""
    conn.execute(_MARK_DEAD_LETTERED, (snapshot_ids,))


def record_error(conn: psycopg.Connection, snapshot_id: UUID | str, exc: BaseException,
                 error_type: ErrorType | None) -> None:
    """Release the claim and say what went wrong; a permanent error also gets an ``etl_errors`` row."""
    conn.execute(_RECORD_ERROR, {
        "id": snapshot_id, "error_type": error_type.value if error_type else "TRANSIENT",
        "message": f"{type(exc).__name__}: {exc}"[:1000], "details": Jsonb(_details(exc)),
        "permanent": error_type is not None,
    })


# --- the write ----------------------------------------------------------------------------------

# Every write of one hero waits here for the one before to commit, first in its transaction, so that
# each statement after it sees what that one wrote (under READ COMMITTED a statement reads the rows
# committed when it starts; one that waited for a row lock inside would not see the rest).
_LOCK_HERO = "SELECT pg_advisory_xact_lock(hashtextextended('starforge.hero:' || %(namecode)s, 0))"

# The newest profile of a hero wins, whatever order the queue delivers them in (retries reorder it):
# a profile is as of its ServerTime (at most its snapshot's arrival), or without one its arrival,
# kept in heroes.summary.
# An older profile changes neither the hero, its user and guild names, nor any of its tables.
_NEWER_PROFILE_STORED = """EXISTS (
    SELECT 1 FROM starforge.heroes h
    WHERE h.namecode = %(namecode)s AND (h.summary ->> 'as_of')::timestamptz > %(as_of)s)"""

_UPSERT_GUILD = """
INSERT INTO starforge.guilds AS g (external_id, name) VALUES (%(external_id)s, %(name)s)
ON CONFLICT (external_id) DO UPDATE SET name = EXCLUDED.name, updated_at = now()
WHERE g.name IS DISTINCT FROM EXCLUDED.name AND NOT """ + _NEWER_PROFILE_STORED

_UPSERT_USER = """
INSERT INTO starforge.users AS u (namecode, username) VALUES (%(namecode)s, %(username)s)
ON CONFLICT (namecode) DO UPDATE SET username = EXCLUDED.username, updated_at = now()
WHERE u.username IS DISTINCT FROM EXCLUDED.username AND NOT """ + _NEWER_PROFILE_STORED

_UPSERT_HERO = """
WITH upserted AS (
    INSERT INTO starforge.heroes AS h (
        namecode, external_id, name, name_lower, username, level, race, gender, class, portrait_id, title_id,
        flair_id, honor_rank, equipped_weapon_id, equipped_pet_id, guild_id, guild_external_id, guild_name,
        guild_rank, server_time, last_login, last_played, summary, extras)
    VALUES (
        %(namecode)s, %(external_id)s, %(name)s, %(name_lower)s, %(username)s, %(level)s, %(race)s, %(gender)s,
        %(class)s, %(portrait_id)s, %(title_id)s, %(flair_id)s, %(honor_rank)s, %(equipped_weapon_id)s,
        %(equipped_pet_id)s, (SELECT id FROM starforge.guilds WHERE external_id = %(guild_external_id)s),
        %(guild_external_id)s, %(guild_name)s, %(guild_rank)s, %(server_time)s, %(last_login)s, %(last_played)s,
        %(summary)s, %(extras)s)
    ON CONFLICT (namecode) DO UPDATE SET
        (external_id, name, name_lower, username, level, race, gender, class, portrait_id, title_id, flair_id,
         honor_rank, equipped_weapon_id, equipped_pet_id, guild_id, guild_external_id, guild_name, guild_rank,
         server_time, last_login, last_played, summary, extras, updated_at)
      = (EXCLUDED.external_id, EXCLUDED.name, EXCLUDED.name_lower, EXCLUDED.username, EXCLUDED.level,
         EXCLUDED.race, EXCLUDED.gender, EXCLUDED.class, EXCLUDED.portrait_id, EXCLUDED.title_id,
         EXCLUDED.flair_id, EXCLUDED.honor_rank, EXCLUDED.equipped_weapon_id, EXCLUDED.equipped_pet_id,
         EXCLUDED.guild_id, EXCLUDED.guild_external_id, EXCLUDED.guild_name, EXCLUDED.guild_rank,
         EXCLUDED.server_time, EXCLUDED.last_login, EXCLUDED.last_played, EXCLUDED.summary, EXCLUDED.extras, now())
    WHERE (h.external_id, h.name, h.username, h.level, h.race, h.gender, h.class, h.portrait_id, h.title_id,
           h.flair_id, h.honor_rank, h.equipped_weapon_id, h.equipped_pet_id, h.guild_id, h.guild_external_id,
           h.guild_name, h.guild_rank, h.server_time, h.last_login, h.last_played, h.summary, h.extras)
          IS DISTINCT FROM
          (EXCLUDED.external_id, EXCLUDED.name, EXCLUDED.username, EXCLUDED.level, EXCLUDED.race, EXCLUDED.gender,
           EXCLUDED.class, EXCLUDED.portrait_id, EXCLUDED.title_id, EXCLUDED.flair_id, EXCLUDED.honor_rank,
           EXCLUDED.equipped_weapon_id, EXCLUDED.equipped_pet_id, EXCLUDED.guild_id, EXCLUDED.guild_external_id,
           EXCLUDED.guild_name, EXCLUDED.guild_rank, EXCLUDED.server_time, EXCLUDED.last_login,
           EXCLUDED.last_played, EXCLUDED.summary, EXCLUDED.extras)
      AND NOT COALESCE((h.summary ->> 'as_of')::timestamptz > %(as_of)s, false)
    RETURNING id, old.id IS NULL AS created, false AS superseded  -- no old row: the statement inserted the hero
)
SELECT id, created, superseded FROM upserted
UNION ALL
SELECT id, false, COALESCE((summary ->> 'as_of')::timestamptz > %(as_of)s, false)
FROM starforge.heroes WHERE namecode = %(namecode)s
LIMIT 1
"""

# A hero's rows keyed by (hero, catalog id or name) get the id md5(hero_id:kind:key), unique as that key
# is, rather than the column default gen_random_uuid(): a server whose pg_strong_random opens, reads and
# closes /dev/urandom per call (the embedded one, built without OpenSSL) spent 3.5 us per row on the
# default against 0.5 for md5, 15% of its time for a new hero's 900 rows. With OpenSSL the default is
# cheap too; the ids of rows stored before keep their random values. Two transactions inserting the
# same new (hero, key) would now clash on the primary key, which ON CONFLICT (hero_id, key) does not
# catch: _LOCK_HERO, first in each snapshot's transaction, serializes every write of one hero. Keep
# these statements after it, in the same transaction.
#
# The hero's stored rows are compared first, so only new, changed or no-longer-listed troops reach the
# upsert: an ON CONFLICT that finds nothing to change still locks (writes) each row it checked. One
# full join finds all three (a troop no longer listed keeps its row, with amount 0), and one upsert
# writes them: 2.1 ms of PostgreSQL for an unchanged 700-troop profile, against 3.1 ms for a left join
# followed by a separate UPDATE that zeroes.
_TROOPS_INCOMING = """
incoming AS (
    SELECT * FROM ROWS FROM (
            unnest(%(troop_id)b::int[]), unnest(%(amount)b::int[]), unnest(%(level)b::int[]),
            unnest(%(current_rarity)b::int[]), unnest(%(fusion_cards)b::int[]), unnest(%(orb_fusion_cards)b::int[]),
            unnest(%(traits_owned)b::int[]), unnest(%(invasions)b::int[]), unnest(%(shiny_level_progress)b::int[]),
            jsonb_array_elements(%(orbs_used)s::jsonb), jsonb_array_elements(%(extra)s::jsonb))
        AS t (troop_id, amount, level, current_rarity, fusion_cards, orb_fusion_cards, traits_owned, invasions,
              shiny_level_progress, orbs_used, extra)
)"""
_INSERT_TROOPS_FROM = """
INSERT INTO starforge.hero_troops AS ht (
    id, hero_id, troop_id, amount, level, current_rarity, fusion_cards, orb_fusion_cards, traits_owned, invasions,
    shiny_level_progress, orbs_used, extra)
SELECT md5(%(hero_id)s::text || ':troop:' || troop_id)::uuid, %(hero_id)s, * FROM """
_UPSERT_TROOPS = "WITH" + _TROOPS_INCOMING + """, stored AS (
    SELECT * FROM starforge.hero_troops WHERE hero_id = %(hero_id)s
), changed (troop_id, amount, level, current_rarity, fusion_cards, orb_fusion_cards, traits_owned, invasions,
            shiny_level_progress, orbs_used, extra) AS (
    SELECT COALESCE(i.troop_id, s.troop_id), CASE WHEN listed THEN i.amount ELSE 0 END,
           CASE WHEN listed THEN i.level ELSE s.level END,
           CASE WHEN listed THEN i.current_rarity ELSE s.current_rarity END,
           CASE WHEN listed THEN i.fusion_cards ELSE s.fusion_cards END,
           CASE WHEN listed THEN i.orb_fusion_cards ELSE s.orb_fusion_cards END,
           CASE WHEN listed THEN i.traits_owned ELSE s.traits_owned END,
           CASE WHEN listed THEN i.invasions ELSE s.invasions END,
           CASE WHEN listed THEN i.shiny_level_progress ELSE s.shiny_level_progress END,
           CASE WHEN listed THEN i.orbs_used ELSE s.orbs_used END, CASE WHEN listed THEN i.extra ELSE s.extra END
    FROM incoming i FULL JOIN stored s ON s.troop_id = i.troop_id, LATERAL (SELECT i.troop_id IS NOT NULL) AS l (listed)
    WHERE CASE WHEN NOT listed THEN s.amount <> 0
               WHEN s.troop_id IS NULL THEN true
               ELSE (s.amount, s.level, s.current_rarity, s.fusion_cards, s.orb_fusion_cards, s.traits_owned,
                     s.invasions, s.shiny_level_progress, s.orbs_used, s.extra)
                    IS DISTINCT FROM
                    (i.amount, i.level, i.current_rarity, i.fusion_cards, i.orb_fusion_cards, i.traits_owned,
                     i.invasions, i.shiny_level_progress, i.orbs_used, i.extra) END
)""" + _INSERT_TROOPS_FROM + """changed
ON CONFLICT (hero_id, troop_id) DO UPDATE SET
    (amount, level, current_rarity, fusion_cards, orb_fusion_cards, traits_owned, invasions,
     shiny_level_progress, orbs_used, extra, updated_at)
  = (EXCLUDED.amount, EXCLUDED.level, EXCLUDED.current_rarity, EXCLUDED.fusion_cards, EXCLUDED.orb_fusion_cards,
     EXCLUDED.traits_owned, EXCLUDED.invasions, EXCLUDED.shiny_level_progress, EXCLUDED.orbs_used,
     EXCLUDED.extra, now())
"""

_PETS_INCOMING = """
incoming AS (
    SELECT * FROM ROWS FROM (
            unnest(%(pet_id)b::int[]), unnest(%(amount)b::int[]), unnest(%(level)b::int[]), unnest(%(xp)b::bigint[]),
            unnest(%(orb_fusion_cards)b::int[]), jsonb_array_elements(%(orbs_used)s::jsonb),
            unnest(%(ascension_level)b::int[]), jsonb_array_elements(%(extra)s::jsonb))
        AS t (pet_id, amount, level, xp, orb_fusion_cards, orbs_used, ascension_level, extra)
)"""
_INSERT_PETS_FROM = """
INSERT INTO starforge.hero_pets AS hp (
    id, hero_id, pet_id, amount, level, xp, orb_fusion_cards, orbs_used, ascension_level, extra)
SELECT md5(%(hero_id)s::text || ':pet:' || pet_id)::uuid, %(hero_id)s, * FROM """
_UPSERT_PETS = "WITH" + _PETS_INCOMING + """, stored AS (
    SELECT * FROM starforge.hero_pets WHERE hero_id = %(hero_id)s
), changed (pet_id, amount, level, xp, orb_fusion_cards, orbs_used, ascension_level, extra) AS (
    SELECT COALESCE(i.pet_id, s.pet_id), CASE WHEN listed THEN i.amount ELSE 0 END,
           CASE WHEN listed THEN i.level ELSE s.level END, CASE WHEN listed THEN i.xp ELSE s.xp END,
           CASE WHEN listed THEN i.orb_fusion_cards ELSE s.orb_fusion_cards END,
           CASE WHEN listed THEN i.orbs_used ELSE s.orbs_used END,
           CASE WHEN listed THEN i.ascension_level ELSE s.ascension_level END,
           CASE WHEN listed THEN i.extra ELSE s.extra END
    FROM incoming i FULL JOIN stored s ON s.pet_id = i.pet_id, LATERAL (SELECT i.pet_id IS NOT NULL) AS l (listed)
    WHERE CASE WHEN NOT listed THEN s.amount <> 0
               WHEN s.pet_id IS NULL THEN true
               ELSE (s.amount, s.level, s.xp, s.orb_fusion_cards, s.orbs_used, s.ascension_level, s.extra)
                    IS DISTINCT FROM
                    (i.amount, i.level, i.xp, i.orb_fusion_cards, i.orbs_used, i.ascension_level, i.extra) END
)""" + _INSERT_PETS_FROM + """changed
ON CONFLICT (hero_id, pet_id) DO UPDATE SET
    (amount, level, xp, orb_fusion_cards, orbs_used, ascension_level, extra, updated_at)
  = (EXCLUDED.amount, EXCLUDED.level, EXCLUDED.xp, EXCLUDED.orb_fusion_cards, EXCLUDED.orbs_used,
     EXCLUDED.ascension_level, EXCLUDED.extra, now())
"""

# A hero the hero upsert has just created has no stored rows to compare with or conflict with (no other
# transaction sees the hero before this one commits), so its troops and pets go in with a plain INSERT:
# no full join, no arbiter-index probe, no speculative insertion per row.
_FOR_A_NEW_HERO = {
    _UPSERT_TROOPS: "WITH" + _TROOPS_INCOMING + _INSERT_TROOPS_FROM + "incoming",
    _UPSERT_PETS: "WITH" + _PETS_INCOMING + _INSERT_PETS_FROM + "incoming",
}

_UPSERT_ARTIFACTS = """
INSERT INTO starforge.hero_artifacts AS ha (id, hero_id, artifact_id, level, xp, extra)
SELECT md5(%(hero_id)s::text || ':artifact:' || artifact_id)::uuid, %(hero_id)s, *
FROM ROWS FROM (unnest(%(artifact_id)b::int[]), unnest(%(level)b::int[]), unnest(%(xp)b::bigint[]),
                jsonb_array_elements(%(extra)s::jsonb)) AS i (artifact_id, level, xp, extra)
ON CONFLICT (hero_id, artifact_id) DO UPDATE SET
    (level, xp, extra, updated_at) = (EXCLUDED.level, EXCLUDED.xp, EXCLUDED.extra, now())
WHERE (ha.level, ha.xp, ha.extra) IS DISTINCT FROM (EXCLUDED.level, EXCLUDED.xp, EXCLUDED.extra)
"""

_UPSERT_KINGDOM_PROGRESS = """
INSERT INTO starforge.hero_kingdom_progress AS kp (
    id, hero_id, kingdom_id, status, income, challenge_tier, invasions, power_rank, tasks, explore, trials_team, extra)
SELECT md5(%(hero_id)s::text || ':kingdom:' || kingdom_id)::uuid, %(hero_id)s, * FROM ROWS FROM (
    unnest(%(kingdom_id)b::int[]), unnest(%(status)b::int[]), unnest(%(income)b::int[]),
    unnest(%(challenge_tier)b::int[]), unnest(%(invasions)b::int[]), unnest(%(power_rank)b::int[]),
    jsonb_array_elements(%(tasks)s::jsonb), jsonb_array_elements(%(explore)s::jsonb),
    jsonb_array_elements(%(trials_team)s::jsonb), jsonb_array_elements(%(extra)s::jsonb))
    AS i (kingdom_id, status, income, challenge_tier, invasions, power_rank, tasks, explore, trials_team, extra)
ON CONFLICT (hero_id, kingdom_id) DO UPDATE SET
    (status, income, challenge_tier, invasions, power_rank, tasks, explore, trials_team, extra, updated_at)
  = (EXCLUDED.status, EXCLUDED.income, EXCLUDED.challenge_tier, EXCLUDED.invasions, EXCLUDED.power_rank,
     EXCLUDED.tasks, EXCLUDED.explore, EXCLUDED.trials_team, EXCLUDED.extra, now())
WHERE (kp.status, kp.income, kp.challenge_tier, kp.invasions, kp.power_rank, kp.tasks, kp.explore, kp.trials_team,
       kp.extra)
      IS DISTINCT FROM
      (EXCLUDED.status, EXCLUDED.income, EXCLUDED.challenge_tier, EXCLUDED.invasions, EXCLUDED.power_rank,
       EXCLUDED.tasks, EXCLUDED.explore, EXCLUDED.trials_team, EXCLUDED.extra)
"""

# Teams have no natural key: the n-th team of a hero has the id md5(hero_id:team:n), and its troop in
# slot p the id md5(team_id:p), so a reprocess updates the same rows instead of minting new ones.
_REPLACE_TEAMS = """
WITH incoming AS (
    SELECT md5(%(hero_id)s::text || ':team:' || n)::uuid AS id, name, banner, team_level, class, override_data
    FROM ROWS FROM (unnest(%(name)b::text[]), unnest(%(banner)b::int[]), unnest(%(team_level)b::int[]),
                    unnest(%(class)b::text[]), jsonb_array_elements(%(override_data)s::jsonb))
         WITH ORDINALITY AS t (name, banner, team_level, class, override_data, n)
), upserted AS (
    INSERT INTO starforge.teams AS tm (id, hero_id, name, banner, team_level, class, override_data)
    SELECT id, %(hero_id)s, name, banner, team_level, class, override_data FROM incoming
    ON CONFLICT (id) DO UPDATE SET
        (name, banner, team_level, class, override_data, updated_at)
      = (EXCLUDED.name, EXCLUDED.banner, EXCLUDED.team_level, EXCLUDED.class, EXCLUDED.override_data, now())
    WHERE (tm.name, tm.banner, tm.team_level, tm.class, tm.override_data)
          IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.banner, EXCLUDED.team_level, EXCLUDED.class, EXCLUDED.override_data)
)
DELETE FROM starforge.teams WHERE hero_id = %(hero_id)s AND id NOT IN (SELECT id FROM incoming)
"""

_REPLACE_TEAM_TROOPS = """
WITH incoming AS (
    SELECT md5(team_id::text || ':' || position)::uuid AS id, team_id, position, troop_id
    FROM (SELECT md5(%(hero_id)s::text || ':team:' || team_n)::uuid AS team_id, position, troop_id
          FROM unnest(%(team_n)b::int[], %(position)b::int[], %(troop_id)b::int[]) AS t (team_n, position, troop_id))
         AS keyed
), upserted AS (
    INSERT INTO starforge.team_troops AS tt (id, team_id, position, troop_id)
    SELECT id, team_id, position, troop_id FROM incoming
    ON CONFLICT (id) DO UPDATE SET troop_id = EXCLUDED.troop_id WHERE tt.troop_id <> EXCLUDED.troop_id
)
DELETE FROM starforge.team_troops tt USING starforge.teams t
WHERE tt.team_id = t.id AND t.hero_id = %(hero_id)s AND tt.id NOT IN (SELECT id FROM incoming)
"""

_UPSERT_PVP_REGIONS = """
INSERT INTO starforge.hero_pvp_regions AS r (id, hero_id, region_id, team, stats, most_used_troop, extras)
SELECT md5(%(hero_id)s::text || ':pvp_region:' || region_id)::uuid, %(hero_id)s, *
FROM ROWS FROM (unnest(%(region_id)b::int[]), jsonb_array_elements(%(team)s::jsonb),
                jsonb_array_elements(%(stats)s::jsonb), jsonb_array_elements(%(most_used_troop)s::jsonb),
                jsonb_array_elements(%(extras)s::jsonb)) AS i (region_id, team, stats, most_used_troop, extras)
ON CONFLICT (hero_id, region_id) DO UPDATE SET
    (team, stats, most_used_troop, extras, updated_at)
  = (EXCLUDED.team, EXCLUDED.stats, EXCLUDED.most_used_troop, EXCLUDED.extras, now())
WHERE (r.team, r.stats, r.most_used_troop, r.extras)
      IS DISTINCT FROM (EXCLUDED.team, EXCLUDED.stats, EXCLUDED.most_used_troop, EXCLUDED.extras)
"""

_UPSERT_PVP_STATS = """
INSERT INTO starforge.hero_pvp_stats AS s (
    hero_id, invades_won, invades_lost, defends_won, defends_lost, most_invaded_kingdom, most_used_troop, raw)
VALUES (%(hero_id)s, %(invades_won)s, %(invades_lost)s, %(defends_won)s, %(defends_lost)s,
        %(most_invaded_kingdom)s, %(most_used_troop)s, %(raw)s)
ON CONFLICT (hero_id) DO UPDATE SET
    (invades_won, invades_lost, defends_won, defends_lost, most_invaded_kingdom, most_used_troop, raw, updated_at)
  = (EXCLUDED.invades_won, EXCLUDED.invades_lost, EXCLUDED.defends_won, EXCLUDED.defends_lost,
     EXCLUDED.most_invaded_kingdom, EXCLUDED.most_used_troop, EXCLUDED.raw, now())
WHERE (s.invades_won, s.invades_lost, s.defends_won, s.defends_lost, s.most_invaded_kingdom, s.most_used_troop,
       s.raw)
      IS DISTINCT FROM
      (EXCLUDED.invades_won, EXCLUDED.invades_lost, EXCLUDED.defends_won, EXCLUDED.defends_lost,
       EXCLUDED.most_invaded_kingdom, EXCLUDED.most_used_troop, EXCLUDED.raw)
"""

_UPSERT_CLASS_DATA = """
INSERT INTO starforge.hero_class_data AS c (id, hero_id, class_name, data)
SELECT md5(%(hero_id)s::text || ':class:' || class_name)::uuid, %(hero_id)s, *
FROM ROWS FROM (unnest(%(class_name)b::text[]), jsonb_array_elements(%(data)s::jsonb)) AS i (class_name, data)
ON CONFLICT (hero_id, class_name) DO UPDATE SET data = EXCLUDED.data, updated_at = now()
WHERE c.data IS DISTINCT FROM EXCLUDED.data
"""

# An id the catalog does not know gets a placeholder row, for analysts to review and for the
# catalog seed to complete later. One statement covers the four catalogs.
_CATALOG_PLACEHOLDERS = (("troop_catalog", "Unknown troop"), ("pet_catalog", "Unknown pet"),
                         ("artifact_catalog", "Unknown artifact"), ("kingdom_catalog", "Unknown kingdom"))
_PLACEHOLDER_INSERT = """
{table} AS (
    INSERT INTO starforge.{table} (id, name, meta)
    SELECT incoming.id, {label} || incoming.id, '{{"placeholder": true}}'::jsonb
    FROM unnest({ids}::int[]) AS incoming (id)
    WHERE NOT EXISTS (SELECT 1 FROM starforge.{table} c WHERE c.id = incoming.id)
    ON CONFLICT (id) DO NOTHING
)"""
# Data-modifying CTEs run whether or not the statement reads them.
_PLACEHOLDERS = sql.SQL("WITH {inserts}\nSELECT 1").format(inserts=sql.SQL(",").join(
    sql.SQL(_PLACEHOLDER_INSERT).format(table=sql.Identifier(table), label=sql.Literal(label + " "),
                                        ids=sql.Placeholder(table, "b"))
    for table, label in _CATALOG_PLACEHOLDERS)).as_string()

_UPSERT_SUMMARY = """
INSERT INTO starforge.user_profile_summary AS ps (
    user_id, namecode, username, level, top_troops, equipped_pet, pvp_tier, guild_id, last_seen, extra)
SELECT u.id, h.namecode, h.username, h.level,
       COALESCE((SELECT jsonb_agg(jsonb_build_object('troop_id', t.troop_id, 'name', tc.name, 'amount', t.amount,
                                                     'level', t.level) ORDER BY t.amount DESC, t.level DESC, t.troop_id)
                 FROM (SELECT troop_id, amount, level FROM starforge.hero_troops
                       WHERE hero_id = h.id AND amount > 0
                       ORDER BY amount DESC, level DESC, troop_id LIMIT 5) t
                 LEFT JOIN starforge.troop_catalog tc ON tc.id = t.troop_id), '[]'::jsonb),
       (SELECT jsonb_build_object('pet_id', p.pet_id, 'name', pc.name, 'level', p.level,
                                  'ascension_level', p.ascension_level)
        FROM starforge.hero_pets p LEFT JOIN starforge.pet_catalog pc ON pc.id = p.pet_id
        WHERE p.hero_id = h.id AND p.pet_id = h.equipped_pet_id),
       %(pvp_tier)s::int, h.guild_id, %(last_seen)s::timestamptz,
       jsonb_build_object('name', h.name, 'class', h.class, 'guild_name', h.guild_name,
                          'troops_owned', (SELECT count(*) FROM starforge.hero_troops
                                           WHERE hero_id = h.id AND amount > 0),
                          'snapshot_id', %(snapshot_id)s::text)
FROM starforge.heroes h JOIN starforge.users u ON u.namecode = h.namecode
WHERE h.id = %(hero_id)s
ON CONFLICT (user_id) DO UPDATE SET
    (namecode, username, level, top_troops, equipped_pet, pvp_tier, guild_id, last_seen, extra, cached_at,
     updated_at)
  = (EXCLUDED.namecode, EXCLUDED.username, EXCLUDED.level, EXCLUDED.top_troops, EXCLUDED.equipped_pet,
     EXCLUDED.pvp_tier, EXCLUDED.guild_id, EXCLUDED.last_seen, EXCLUDED.extra, now(), now())
WHERE (ps.namecode, ps.username, ps.level, ps.top_troops, ps.equipped_pet, ps.pvp_tier, ps.guild_id, ps.last_seen,
       ps.extra)
      IS DISTINCT FROM
      (EXCLUDED.namecode, EXCLUDED.username, EXCLUDED.level, EXCLUDED.top_troops, EXCLUDED.equipped_pet,
       EXCLUDED.pvp_tier, EXCLUDED.guild_id, EXCLUDED.last_seen, EXCLUDED.extra)
"""

# Indexed columns (namecode, user_id) are only filled when still empty: an update that changes none
# of them can be HOT, which spares re-indexing the whole raw payload in the GIN index.
_FINISH = """
UPDATE starforge.hero_snapshots
SET processing = false, processed_at = now(), last_error = NULL, server_time = %(server_time)s,
    namecode = COALESCE(namecode, %(namecode)s::varchar),
    user_id = COALESCE(user_id, (SELECT id FROM starforge.users WHERE namecode = %(namecode)s::varchar))
WHERE id = %(snapshot_id)s
"""


def _json(value: Any) -> str:
    if not value:
        return "[]" if isinstance(value, list) else "{}"
    return db.jsonb_text(value)


def _columns(rows: Iterable[tuple], names: tuple[str, ...], documents: tuple[str, ...] = ()) -> dict[str, Any]:
    """Rows to one parameter per column: a list, sent as a binary array for ``unnest``, or for a JSON
    column in ``documents`` one JSON array text for ``jsonb_array_elements`` (one JSON text per column
    instead of one per value). ``ROWS FROM`` zips the functions' rows by position."""
    columns = list(zip(*rows)) or [()] * len(names)
    return {name: _json(list(values)) if name in documents else db.int4_array(list(values))
            for name, values in zip(names, columns)}


def _timestamp(epoch_ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc) if epoch_ms is not None else None


@dataclass(frozen=True)
class ProfileWrite:
    """A parsed profile as the statements that write it, parameters built: ``hero`` takes the hero's
    lock and upserts the guild, the user and the hero (the last returns a ``HeroRow``); each of
    ``tables`` takes ``%(hero_id)s``; ``finish`` marks the snapshot processed."""

    hero: list[tuple[str, dict[str, Any]]]
    tables: list[tuple[str, dict[str, Any]]]
    finish: tuple[str, dict[str, Any]]


class HeroRow(NamedTuple):
    id: UUID
    created: bool  # the upsert inserted it: no stored rows to compare with
    superseded: bool  # a newer profile of the hero is stored: this one changes nothing


def prepare_write(snapshot_id: UUID | str, snapshot_created_at: datetime, profile: ProfileData) -> ProfileWrite:
    """Every statement the profile needs, built without a connection (so that it can be done while
    PostgreSQL is busy with another snapshot)."""
    namecode = profile.name_code
    # A profile cannot be newer than its arrival: a ServerTime ahead of it (a wrong clock, or a made-up
    # payload) would otherwise supersede every later profile of the hero.
    as_of = min(_timestamp(profile.server_time) or snapshot_created_at, snapshot_created_at)
    newest = {"namecode": namecode, "as_of": as_of}
    hero: list[tuple[str, dict[str, Any]]] = [(_LOCK_HERO, {"namecode": namecode})]
    if profile.guild_id:
        hero.append((_UPSERT_GUILD, newest | {"external_id": profile.guild_id,
                                              "name": profile.guild_name or profile.guild_id}))
    hero.append((_UPSERT_USER, newest | {"username": profile.username}))
    hero.append((_UPSERT_HERO, newest | {
        "external_id": profile.external_id, "name": profile.name,
        "name_lower": profile.name.lower() if profile.name else None,
        "username": profile.username, "level": profile.level, "race": profile.race, "gender": profile.gender,
        "class": profile.class_name, "portrait_id": profile.portrait_id, "title_id": profile.title_id,
        "flair_id": profile.flair_id, "honor_rank": profile.honor_rank,
        "equipped_weapon_id": profile.equipped_weapon_id, "equipped_pet_id": profile.equipped_pet_id,
        "guild_external_id": profile.guild_id, "guild_name": profile.guild_name, "guild_rank": profile.guild_rank,
        "server_time": _timestamp(profile.server_time), "last_login": _timestamp(profile.last_login),
        "last_played": _timestamp(profile.last_played),
        "summary": _json({"snapshot_id": str(snapshot_id), "as_of": as_of.isoformat(),
                          "troops": len(profile.troops or {}), "pets": len(profile.pets or {})}),
        "extras": _json(profile.extras),
    }))
    tables: list[tuple[str, dict[str, Any]]] = []

    if profile.troops is not None:
        tables.append((_UPSERT_TROOPS, _columns(
            ((tid, t.amount, t.level, t.current_rarity, t.fusion_cards, t.orb_fusion_cards, t.traits_owned,
              t.invasions, t.shiny_level_progress, t.orbs_used, t.extras)
             for tid, t in profile.troops.items()),
            ("troop_id", "amount", "level", "current_rarity", "fusion_cards", "orb_fusion_cards", "traits_owned",
             "invasions", "shiny_level_progress", "orbs_used", "extra"), ("orbs_used", "extra"))))

    if profile.pets is not None:
        tables.append((_UPSERT_PETS, _columns(
            ((pid, p.amount, p.level, p.xp, p.orb_fusion_cards, p.orbs_used, p.ascension_level, p.extras)
             for pid, p in profile.pets.items()),
            ("pet_id", "amount", "level", "xp", "orb_fusion_cards", "orbs_used", "ascension_level", "extra"),
            ("orbs_used", "extra"))))

    if profile.artifacts is not None:
        tables.append((_UPSERT_ARTIFACTS, _columns(
            ((aid, a.level, a.xp, a.extras) for aid, a in profile.artifacts.items()),
            ("artifact_id", "level", "xp", "extra"), ("extra",))))

    if profile.kingdom_levels is not None or profile.progress is not None:
        levels, progress = profile.kingdom_levels or {}, profile.progress or {}
        kingdom_ids = _kingdom_ids(profile)
        tables.append((_UPSERT_KINGDOM_PROGRESS, _columns(
            ((kid, p.status, p.income, p.challenge_tier, p.invasions, p.power_rank, p.tasks, p.explore,
              p.trials_team, p.extras | ({"KingdomLevel": levels[kid]} if kid in levels else {}))
             for kid in kingdom_ids for p in [progress.get(kid) or KingdomProgress()]),
            ("kingdom_id", "status", "income", "challenge_tier", "invasions", "power_rank", "tasks", "explore",
             "trials_team", "extra"), ("tasks", "explore", "trials_team", "extra"))))

    if profile.teams is not None:
        tables.append((_REPLACE_TEAMS, _columns(
            ((t.name, t.banner, t.team_level, t.class_name, t.override_data | t.extras) for t in profile.teams),
            ("name", "banner", "team_level", "class", "override_data"), ("override_data",))))
        tables.append((_REPLACE_TEAM_TROOPS, _columns(
            ((n, position, troop) for n, t in enumerate(profile.teams, 1)
             for position, troop in enumerate(t.troops)),
            ("team_n", "position", "troop_id"))))

    if profile.pvp_regions is not None:
        tables.append((_UPSERT_PVP_REGIONS, _columns(
            ((rid, r.team, r.stats, r.most_used_troop, r.extras) for rid, r in profile.pvp_regions.items()),
            ("region_id", "team", "stats", "most_used_troop", "extras"),
            ("team", "stats", "most_used_troop", "extras"))))

    if profile.pvp_stats is not None:
        stats = profile.pvp_stats
        tables.append((_UPSERT_PVP_STATS, {
            "invades_won": stats.invades_won, "invades_lost": stats.invades_lost,
            "defends_won": stats.defends_won, "defends_lost": stats.defends_lost,
            "most_invaded_kingdom": _json_or_none(stats.most_invaded_kingdom),
            "most_used_troop": _json_or_none(stats.most_used_troop),
            "raw": _json(stats.model_dump(by_alias=True)),
        }))

    if profile.class_data is not None:
        tables.append((_UPSERT_CLASS_DATA, _columns(
            ((name, data) for name, data in profile.class_data.items()), ("class_name", "data"), ("data",))))

    tables.append((_PLACEHOLDERS, _catalog_ids(profile)))
    tables.append((_UPSERT_SUMMARY, {
        "pvp_tier": profile.pvp_tier, "snapshot_id": str(snapshot_id),
        "last_seen": _timestamp(profile.server_time) or snapshot_created_at,
    }))
    finish = (_FINISH, {"snapshot_id": snapshot_id, "namecode": namecode, "server_time": profile.server_time})
    return ProfileWrite(hero, tables, finish)


def write_hero(conn: psycopg.Connection, write: ProfileWrite) -> HeroRow:
    """Take the hero's lock, then upsert the guild, the user and the hero."""
    *head, (hero_sql, hero_params) = write.hero
    for statement, params in head:
        conn.execute(statement, params)
    return HeroRow(*conn.execute(hero_sql, hero_params).fetchone())


def execute_write(conn: psycopg.Connection, write: ProfileWrite) -> Outcome:
    """Send the write in the caller's pipeline and transaction: one round trip up to the hero row,
    then every table's statement without waiting (their results come with the pipeline's sync)."""
    hero = write_hero(conn, write)
    if not hero.superseded:
        for statement, params in write.tables:
            if hero.created:
                statement = _FOR_A_NEW_HERO.get(statement, statement)
            conn.execute(statement, params | {"hero_id": hero.id})
    conn.execute(*write.finish)
    return Outcome.SUPERSEDED if hero.superseded else Outcome.PROCESSED


def _catalog_ids(profile: ProfileData) -> dict[str, Any]:
    """Every catalog id the profile names, per catalog, sorted so that concurrent workers inserting the
    same placeholders take their locks in the same order."""
    troops = {*(profile.troops or ()), *(troop for team in profile.teams or () for troop in team.troops)}
    pets = {*(profile.pets or ()), *([profile.equipped_pet_id] if profile.equipped_pet_id else ())}
    return {"troop_catalog": db.int4_array(sorted(troops)), "pet_catalog": db.int4_array(sorted(pets)),
            "artifact_catalog": db.int4_array(sorted(profile.artifacts or ())),
            "kingdom_catalog": db.int4_array(_kingdom_ids(profile))}


def _kingdom_ids(profile: ProfileData) -> list[int]:
    return sorted((profile.kingdom_levels or {}).keys() | (profile.progress or {}).keys())


def _json_or_none(value: Any) -> str | None:
    return None if value is None else _json(value)


def parse(profile_json: str | bytes) -> ProfileData:
    """A ProfileData object's JSON text as validated data; raises pydantic's ValidationError when malformed."""
    return ProfileData.model_validate_json(profile_json)


def _retry_later(conn: psycopg.Connection, exc: BaseException, message: str,
                 claim_kept: bool = False) -> TransientEtlError:
    """The error that leaves the message to SQS (``claim_kept``: not before the claim, which could not
    be released, expires); a stale prepared statement also drops the connection, so that the
    container's next call opens a fresh one."""
    if stale_prepared_statement(exc):
        conn.close()
    error = TransientEtlError(message, settings().claim_ttl_seconds if claim_kept else 0)
    error.__cause__ = exc
    return error


def _failed(conn: psycopg.Connection, snapshot_id: str, exc: Exception) -> Outcome | TransientEtlError:
    """Record why the snapshot failed and release its claim: a permanent error is ``FAILED``, anything
    else the ``TransientEtlError`` that leaves its message to SQS."""
    error_type = classify(exc)
    log.warning("snapshot %s failed (%s): %s", snapshot_id, error_type.value if error_type else "transient", exc)
    try:
        record_error(conn, snapshot_id, exc, error_type)
    except Exception:  # the connection is gone, or the server refuses writes: try again later
        log.exception("could not record the error of snapshot %s; its claim expires after the TTL", snapshot_id)
        return _retry_later(conn, exc, f"snapshot {snapshot_id}: {type(exc).__name__}: {exc} (error not recorded)",
                            claim_kept=True)
    if error_type is None:
        return _retry_later(conn, exc, f"snapshot {snapshot_id}: {type(exc).__name__}: {exc}")
    return Outcome.FAILED


def _prepare(snapshot_id: str, taken: Claim) -> tuple[str, ProfileWrite | Exception]:
    """Parse a claimed snapshot and build its write; a failure is kept, to be recorded in its turn."""
    try:
        return snapshot_id, prepare_write(snapshot_id, taken.created_at, parse(taken.profile_json))
    except Exception as exc:
        return snapshot_id, exc


def process_snapshots(snapshot_ids: Iterable[UUID | str], conn: psycopg.Connection | None = None
                      ) -> dict[str, Outcome | TransientEtlError]:
    """Claim the snapshots in one statement, then parse and write each claimed one in its own
    transaction, in the order given. The next snapshot is parsed and its statements built while
    PostgreSQL executes the current one's, so the worker's CPU and the database's overlap.

    Returns each snapshot's outcome by ``snapshot_key``; a ``TransientEtlError`` means a retry may
    succeed (its claim is released, or expires after the TTL if the connection is gone). Without a
    ``conn`` it uses the container's, and opens a new one when a snapshot's failure closed it; a
    connection given by the caller is not replaced, and what is left of the batch is transient."""
    own_connection = conn is None
    conn = conn or db.connection()
    keys = list(dict.fromkeys(map(snapshot_key, snapshot_ids)))
    try:
        claims = claim_batch(conn, keys)
    except psycopg.Error as exc:
        if classify(exc) is not None:
            raise
        error = _retry_later(conn, exc, f"could not claim snapshots: {exc}")
        return dict.fromkeys(keys, error)
    results: dict[str, Outcome | TransientEtlError] = {}
    pending: deque[tuple[str, Claim]] = deque()
    for key, taken in claims.items():
        if isinstance(taken, Claim):
            pending.append((key, taken))
        else:
            log.info("snapshot %s: %s", key, taken)
            results[key] = taken
    upcoming = None
    while pending or upcoming:
        if conn.closed and (conn := _reopened(own_connection)) is None:
            lost = TransientEtlError("no connection to write the snapshot with; its claim expires after the TTL",
                                     settings().claim_ttl_seconds)
            left = ([upcoming[0]] if upcoming else []) + [key for key, _ in pending]
            results.update(dict.fromkeys(left, lost))
            break
        snapshot_id, write = upcoming or _prepare(*pending.popleft())
        upcoming = None
        try:
            if isinstance(write, Exception):
                raise write
            # BEGIN and COMMIT are statements of the pipeline, not psycopg's transaction(): inside a
            # pipeline that syncs once as it opens and twice as it closes, three round trips per
            # snapshot with PostgreSQL idle, and its COMMIT would leave only after the next snapshot
            # is prepared. Sent first, the COMMIT runs while the worker prepares; the pipeline's
            # closing sync then collects every result, and a failure rolls back below.
            with conn.pipeline():
                conn.execute("BEGIN", prepare=False)
                outcome = execute_write(conn, write)
                conn.execute("COMMIT", prepare=False)
                if pending:
                    upcoming = _prepare(*pending.popleft())
        except BaseException as exc:
            _roll_back(conn)
            if not isinstance(exc, Exception):  # an interrupt: the connection is left clean, then it goes on
                raise
            results[snapshot_id] = _failed(conn, snapshot_id, exc)
        else:
            results[snapshot_id] = outcome
    return {key: results[key] for key in keys}


def _roll_back(conn: psycopg.Connection) -> None:
    """End the transaction a failed write left open: aborted by an error (the COMMIT was skipped), or
    never committed (an exception in Python before the COMMIT was sent). ``Connection.rollback`` also
    forgets the statements psycopg prepared on the way: when an earlier statement of the pipeline
    failed, PostgreSQL skipped their preparing, and their names would fail the next snapshot."""
    if not conn.closed:
        try:
            conn.rollback()
        except psycopg.Error:
            log.exception("could not roll back a failed write")


def _reopened(own_connection: bool) -> psycopg.Connection | None:
    """A new container connection in place of a closed one; None for a caller's, or when none opens."""
    if not own_connection:
        return None
    try:
        return db.connection()
    except psycopg.OperationalError:
        log.exception("could not reconnect to write the rest of the batch")
        return None


def process_snapshot(snapshot_id: UUID | str, conn: psycopg.Connection | None = None) -> Outcome:
    """``process_snapshots`` of one snapshot; raises ``TransientEtlError`` when a retry may succeed."""
    result = process_snapshots([snapshot_id], conn)[snapshot_key(snapshot_id)]
    if isinstance(result, TransientEtlError):
        raise result
    return result
