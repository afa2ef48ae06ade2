"""Write Helldivers 1 API responses into the h1_* tables, set-based.

A ``get_campaign_status`` poll is four statements in one transaction, following seed 000's write path:
the seasons it names (unconfirmed), its events with their progress buckets, the status and statistic
buckets, then the season confirmed (with ``last_updated``) and ``App.active_season``. The same
statements record the poll's campaign transitions in ``push_outbox`` (exactly once, by dedupe key). Each table's rows
travel as arrays through ``unnest``. Every data upsert skips rows whose values would not change, so
ingesting the same response twice writes no data row (the confirmation stamps ``last_updated``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.types.json import Jsonb

from frontline.h1.models import ATTACK_REGION, CampaignStatus, DefendEvent, Event, SeasonSnapshots

FINAL_BACKFILL_DELAY_SECONDS = 600
MISSED_END_REFETCH_SECONDS = 900

UPSERT_SEASONS = """
INSERT INTO h1_season (season)
SELECT DISTINCT season FROM unnest(%(seasons)b::int[]) AS season
ON CONFLICT (season) DO NOTHING
"""

# Events (attack and defend in one table), the progress buckets of the current season's events, and
# (for polls) their transitions into the push outbox, in one statement: every CTE sees the rows as they
# were before it, and the foreign key from progress to event is checked at the statement's end.
# No transition is recorded before the first poll has set App.active_season (the baseline). A poll
# older than the newest one stored (a lagging upstream cache) changes no event, records no transition,
# and adds progress to known events only: status, statistic and progress rows have their own time
# guard, events have no time.
UPSERT_EVENTS = """
WITH fresh AS (
    SELECT %(poll_time)s::int IS NULL OR %(poll_time)s::int >= COALESCE(max(polled_at), 0) AS ok FROM h1_season
), incoming AS (
    SELECT * FROM unnest(
        %(season)b::int[], %(type)b::text[], %(event_id)b::int[], %(start_time)b::int[], %(end_time)b::int[],
        %(region)b::int[], %(enemy)b::int[], %(points_max)b::int[], %(points)b::int[], %(status)b::text[],
        %(players_at_start)b::int[], %(max_event_id)b::int[], %(poll_players_at_start)b::bool[]
    ) AS t(season, type, event_id, start_time, end_time, region, enemy, points_max, points, status,
           players_at_start, max_event_id, poll_players_at_start)
), events AS (
    INSERT INTO h1_event AS e (season, type, event_id, start_time, end_time, region, enemy, points_max, points,
                               status, players_at_start, max_event_id, poll_players_at_start)
    SELECT * FROM incoming WHERE (SELECT ok FROM fresh)
    ON CONFLICT (type, event_id) DO UPDATE SET
        season = EXCLUDED.season, start_time = EXCLUDED.start_time, end_time = EXCLUDED.end_time,
        region = EXCLUDED.region, enemy = EXCLUDED.enemy, points_max = EXCLUDED.points_max,
        points = EXCLUDED.points, status = EXCLUDED.status,
        players_at_start = COALESCE(EXCLUDED.players_at_start, e.players_at_start),
        max_event_id = COALESCE(EXCLUDED.max_event_id, e.max_event_id),
        poll_players_at_start = COALESCE(EXCLUDED.poll_players_at_start, e.poll_players_at_start)
    WHERE (e.season, e.start_time, e.end_time, e.region, e.enemy, e.points_max, e.points, e.status,
           e.players_at_start, e.max_event_id, e.poll_players_at_start)
          IS DISTINCT FROM
          (EXCLUDED.season, EXCLUDED.start_time, EXCLUDED.end_time, EXCLUDED.region, EXCLUDED.enemy,
           EXCLUDED.points_max, EXCLUDED.points, EXCLUDED.status,
           COALESCE(EXCLUDED.players_at_start, e.players_at_start),
           COALESCE(EXCLUDED.max_event_id, e.max_event_id),
           COALESCE(EXCLUDED.poll_players_at_start, e.poll_players_at_start))
    RETURNING e.season
), earlier_seasons_touched AS (
    -- an attack slot lagging a season changes that season's events: its last_updated versions its reads
    UPDATE h1_season SET last_updated = now()
    WHERE %(poll_time)s::int IS NOT NULL AND season IN (SELECT season FROM events)
      AND season <> %(progress_season)s AND last_updated IS NOT NULL
), before AS (
    SELECT e.type, e.event_id, e.status FROM h1_event e JOIN incoming USING (type, event_id)
), transitions AS (
    INSERT INTO push_outbox (dedupe_key, kind, season, enemy, payload)
    SELECT concat_ws(':', i.type, i.event_id, t.kind), t.kind, i.season, i.enemy,
           jsonb_build_object('type', i.type, 'event_id', i.event_id, 'region', i.region, 'enemy', i.enemy,
                              'points', i.points, 'points_max', i.points_max, 'status', i.status)
    FROM incoming i
    LEFT JOIN before b USING (type, event_id)
    CROSS JOIN LATERAL (SELECT CASE
        WHEN b.status IS NULL AND i.status = 'active' THEN 'started'
        WHEN coalesce(b.status, 'active') = 'active' AND i.status = 'success' THEN 'won'
        WHEN coalesce(b.status, 'active') = 'active' AND i.status = 'fail' THEN 'lost'
    END AS kind) t
    WHERE %(poll_time)s::int IS NOT NULL AND t.kind IS NOT NULL AND i.season = %(progress_season)s
      AND (SELECT active_season FROM "App") > 0 AND (SELECT ok FROM fresh)
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING 1
), progress AS (
    INSERT INTO h1_event_progress AS p (type, event_id, bucket, time, points)
    SELECT type, event_id, %(bucket)s, %(time)s, points FROM incoming i
    WHERE season = %(progress_season)s
      AND ((SELECT ok FROM fresh)
           OR EXISTS (SELECT 1 FROM h1_event e WHERE (e.type, e.event_id) = (i.type, i.event_id)))
    ON CONFLICT (type, event_id, bucket) DO UPDATE SET time = EXCLUDED.time, points = EXCLUDED.points
    WHERE EXCLUDED.time >= p.time AND (p.time, p.points) IS DISTINCT FROM (EXCLUDED.time, EXCLUDED.points)
    RETURNING 1
)
SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM progress), (SELECT count(*) FROM transitions)
"""

# h1_status rows: live-poll rows are one per (season, enemy, bucket) and move to the latest poll of
# their window; official snapshot rows are one per (season, enemy, time) (migration 0012).
_STATUS_UPSERT = """
INSERT INTO h1_status AS s (season, enemy, bucket, time, points, points_taken, status, source)
SELECT * FROM unnest(%(season)b::int[], %(enemy)b::int[], %(bucket)b::int[], %(time)b::int[], %(points)b::int[],
                     %(points_taken)b::int[], %(status)b::text[], %(source)b::text[])
ON CONFLICT {conflict} DO UPDATE SET
    time = EXCLUDED.time, points = EXCLUDED.points, points_taken = EXCLUDED.points_taken, status = EXCLUDED.status
WHERE EXCLUDED.time >= s.time
  AND (s.time, s.points, s.points_taken, s.status)
      IS DISTINCT FROM (EXCLUDED.time, EXCLUDED.points, EXCLUDED.points_taken, EXCLUDED.status)
"""
UPSERT_POLL_STATUS = _STATUS_UPSERT.format(conflict="(season, enemy, bucket) WHERE source = 'poll'")
UPSERT_SNAPSHOT_STATUS = _STATUS_UPSERT.format(conflict="(season, enemy, time) WHERE source = 'snapshot'")

STATISTIC_COLUMNS = (
    "players", "total_unique_players", "missions", "successful_missions", "total_mission_difficulty",
    "completed_planets", "defend_events", "successful_defend_events", "attack_events", "successful_attack_events",
)
STATISTIC_BIGINT_COLUMNS = ("kills", "deaths", "accidentals", "shots", "hits")
_ALL_STATISTIC_COLUMNS = STATISTIC_COLUMNS + STATISTIC_BIGINT_COLUMNS

# The status and statistic buckets of one poll, and the factions it shows newly defeated, in one statement.
UPSERT_POLL_BUCKETS = f"""
WITH previous AS (
    SELECT DISTINCT ON (enemy) enemy, status FROM h1_status
    WHERE season = %(stat_season)s AND source = 'poll' ORDER BY enemy, bucket DESC
), defeated AS (
    INSERT INTO push_outbox (dedupe_key, kind, season, enemy, payload)
    SELECT concat_ws(':', 'faction', %(stat_season)s, n.enemy, 'defeated'), 'faction_defeated', %(stat_season)s,
           n.enemy, jsonb_build_object('season', %(stat_season)s, 'enemy', n.enemy)
    FROM unnest(%(enemy)b::int[], %(status)b::text[]) AS n(enemy, status)
    JOIN previous p USING (enemy)
    WHERE n.status = 'defeated' AND p.status <> 'defeated'
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING 1
), status AS ({UPSERT_POLL_STATUS} RETURNING 1),
statistic AS (
    INSERT INTO h1_statistic AS st (season, enemy, bucket, time, {", ".join(_ALL_STATISTIC_COLUMNS)})
    SELECT %(stat_season)s, enemy, %(stat_bucket)s, %(stat_time)s, {", ".join(_ALL_STATISTIC_COLUMNS)}
    FROM unnest(%(stat_enemy)b::int[],
                {", ".join(f"%(stat_{c})b::int[]" for c in STATISTIC_COLUMNS)},
                {", ".join(f"%(stat_{c})b::bigint[]" for c in STATISTIC_BIGINT_COLUMNS)})
         AS t(enemy, {", ".join(_ALL_STATISTIC_COLUMNS)})
    ON CONFLICT (season, enemy, bucket) DO UPDATE SET
        time = EXCLUDED.time, {", ".join(f"{c} = EXCLUDED.{c}" for c in _ALL_STATISTIC_COLUMNS)}
    WHERE EXCLUDED.time >= st.time
      AND (st.time, {", ".join(f"st.{c}" for c in _ALL_STATISTIC_COLUMNS)})
          IS DISTINCT FROM (EXCLUDED.time, {", ".join(f"EXCLUDED.{c}" for c in _ALL_STATISTIC_COLUMNS)})
    RETURNING 1
)
SELECT (SELECT count(*) FROM status), (SELECT count(*) FROM statistic), (SELECT count(*) FROM defeated)
"""

# The season confirmed, App.active_season kept current, and when the campaign moved to a new season:
# the finished one marked for its final backfill, and season_ended/season_started transitions; for the
# poller, its heartbeat too. Returns the previous active season, the seasons whose backfill is due
# now, the transitions recorded here, and whether the outbox holds rows to relay.
# The current season is due for a backfill when one of its events is still active past its end though
# no slot shows it any more: the poller missed how it ended (an outage longer than the event), and the
# season's get_snapshots lists it finished. Due at the event's end, so that only a fetch made after it
# clears the mark; again every MISSED_END_REFETCH_SECONDS while the event stays active after one.
# A switch marks the finished season for its final backfill even when such a mark is pending.
CONFIRM_POLL = """
WITH previous AS (
    SELECT active_season FROM "App"
), confirmed AS (
    UPDATE h1_season SET
        last_updated = now(), introduction_order = %(introduction_order)s, points_max = %(points_max)s,
        season_duration = %(season_duration)s, polled_at = %(time)s,
        poll_defend_event_id = %(defend_event_id)s, poll_attack_event_ids = %(attack_event_ids)s,
        final_backfill_after = COALESCE(final_backfill_after, (
            SELECT max(missed.due) FROM h1_event e,
                   LATERAL (SELECT greatest(e.end_time, %(time)s - %(refetch)s) AS due) missed
            WHERE e.season = %(season)s AND e.status = 'active' AND e.end_time < %(time)s
              AND COALESCE(snapshots_fetched_at, 0) < missed.due
              AND NOT (e.type = 'defend' AND e.event_id = %(defend_event_id)s)
              AND NOT (e.type = 'attack' AND e.event_id = ANY (%(attack_event_ids)s))))
    WHERE season = %(season)s AND (polled_at IS NULL OR polled_at <= %(time)s)
    RETURNING season, final_backfill_after
), app AS (
    UPDATE "App" SET active_season = %(season)s WHERE active_season < %(season)s RETURNING active_season
), finished AS (
    UPDATE h1_season SET final_backfill_after = greatest(final_backfill_after, %(time)s + %(delay)s)
    WHERE season = (SELECT active_season FROM previous) AND season < %(season)s AND EXISTS (SELECT 1 FROM app)
    RETURNING season
), season_transitions AS (
    INSERT INTO push_outbox (dedupe_key, kind, season, payload)
    SELECT concat_ws(':', 'season', t.season, t.kind), t.kind, t.season, jsonb_build_object('season', t.season)
    FROM (VALUES ((SELECT active_season FROM previous), 'season_ended'), (%(season)s, 'season_started')) AS t(season, kind)
    WHERE (SELECT active_season FROM previous) BETWEEN 1 AND %(season)s - 1
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING 1
), beat AS (
    INSERT INTO worker_heartbeat AS h (worker_type, last_beat, poll_duration_ms, last_error, started_at, updated_at)
    SELECT %(worker)s::text, now(), %(duration_ms)s, NULL, %(started_at)s, now() WHERE %(worker)s::text IS NOT NULL
    ON CONFLICT (worker_type) DO UPDATE SET
        last_beat = now(), poll_duration_ms = EXCLUDED.poll_duration_ms, last_error = NULL,
        started_at = EXCLUDED.started_at, updated_at = now()
    RETURNING 1
)
SELECT (SELECT active_season FROM previous),
       ARRAY(SELECT season FROM h1_season WHERE final_backfill_after <= %(time)s AND season <> %(season)s
             UNION SELECT season FROM confirmed WHERE final_backfill_after <= %(time)s ORDER BY 1),
       (SELECT count(*) FROM season_transitions),
       EXISTS (SELECT 1 FROM push_outbox WHERE relayed_at IS NULL) OR EXISTS (SELECT 1 FROM season_transitions)
"""

# Seasons from get_snapshots, one row per season (arrays arrive as JSON: unnest cannot carry int[][]).
# A final backfill (see CONFIRM_POLL) is done once a fetch at or after its due time is stored.
UPSERT_SNAPSHOT_SEASONS = """
INSERT INTO h1_season AS s (season, introduction_order, points_max, snapshots_fetched_at, last_updated)
SELECT season, COALESCE(introduction_order, '{}'), COALESCE(points_max, '{}'), time, now()
FROM jsonb_to_recordset(%(seasons)s::jsonb) AS t(season int, introduction_order int[], points_max int[], time int)
ON CONFLICT (season) DO UPDATE SET
    introduction_order = CASE WHEN EXCLUDED.introduction_order = '{}' THEN s.introduction_order
                              ELSE EXCLUDED.introduction_order END,
    points_max = CASE WHEN EXCLUDED.points_max = '{}' THEN s.points_max ELSE EXCLUDED.points_max END,
    snapshots_fetched_at = EXCLUDED.snapshots_fetched_at,
    final_backfill_after = CASE WHEN s.final_backfill_after <= EXCLUDED.snapshots_fetched_at THEN NULL
                                ELSE s.final_backfill_after END,
    last_updated = now()
WHERE (s.introduction_order, s.points_max, s.snapshots_fetched_at, s.final_backfill_after)
      IS DISTINCT FROM
      (CASE WHEN EXCLUDED.introduction_order = '{}' THEN s.introduction_order ELSE EXCLUDED.introduction_order END,
       CASE WHEN EXCLUDED.points_max = '{}' THEN s.points_max ELSE EXCLUDED.points_max END,
       EXCLUDED.snapshots_fetched_at,
       CASE WHEN s.final_backfill_after <= EXCLUDED.snapshots_fetched_at THEN NULL ELSE s.final_backfill_after END)
"""


# Array parameters use %(name)b: psycopg sends them in binary, several times cheaper than quoting text.


def bucket_start(time: int, bucket_size: int) -> int:
    """The tumbling window a time falls into: ``floor(time / size) * size``."""
    return time // bucket_size * bucket_size


def _columns(rows: list[tuple], names: tuple[str, ...], prefix: str = "") -> dict[str, list]:
    """Rows to one list per column: the shape ``unnest`` takes."""
    columns = list(zip(*rows)) if rows else [()] * len(names)
    return {prefix + name: list(values) for name, values in zip(names, columns)}


_EVENT_COLUMNS = ("season", "type", "event_id", "start_time", "end_time", "region", "enemy", "points_max", "points",
                  "status", "players_at_start", "max_event_id", "poll_players_at_start")


def _event_row(event: Event, *, from_poll: bool) -> tuple:
    defend = isinstance(event, DefendEvent)
    return (
        event.season, "defend" if defend else "attack", event.event_id, event.start_time, event.end_time,
        event.region if defend else ATTACK_REGION, event.enemy, event.points_max, event.points, event.status,
        event.players_at_start, getattr(event, "max_event_id", None),
        ("players_at_start" in event.model_fields_set) if from_poll else None,
    )


@dataclass(frozen=True)
class Heartbeat:
    """The poller's heartbeat, written by the poll's confirming statement when the poll succeeds."""

    worker_type: str
    started_at: datetime  # when the worker process started
    poll_started: float  # time.monotonic() at the start of the poll cycle


@dataclass(frozen=True)
class PollResult:
    season: int
    previous_season: int
    rows_written: int
    final_backfills_due: list[int]
    transitions: int
    outbox_pending: bool


def ingest_campaign_status(
    conn: psycopg.Connection, poll: CampaignStatus, bucket_size: int, heartbeat: Heartbeat | None = None
) -> PollResult:
    """Store one poll in one transaction (the caller's, or a new one)."""
    season, bucket = poll.season, bucket_start(poll.time, bucket_size)
    events = [_event_row(e, from_poll=True) for e in poll.events]
    status_rows = [
        (season, enemy, bucket, poll.time, entry.points, entry.points_taken, entry.status, "poll")
        for enemy, entry in enumerate(poll.campaign_status)
    ]
    stat_rows = [(s.enemy, *(getattr(s, c) for c in _ALL_STATISTIC_COLUMNS)) for s in poll.statistics]
    with conn.transaction():
        cur = conn.cursor()
        cur.execute(UPSERT_SEASONS, {"seasons": sorted({season, *(e.season for e in poll.events)})})
        cur.execute(UPSERT_EVENTS, {**_columns(events, _EVENT_COLUMNS), "bucket": bucket, "time": poll.time,
                                    "progress_season": season, "poll_time": poll.time})
        event_rows, progress_rows, event_transitions = cur.fetchone()
        cur.execute(UPSERT_POLL_BUCKETS, {
            **_columns(status_rows, ("season", "enemy", "bucket", "time", "points", "points_taken", "status", "source")),
            **_columns(stat_rows, ("enemy", *_ALL_STATISTIC_COLUMNS), prefix="stat_"),
            "stat_season": season, "stat_bucket": bucket, "stat_time": poll.time,
        })
        status_written, statistic_written, faction_transitions = cur.fetchone()
        cur.execute(CONFIRM_POLL, {
            "season": season, "time": poll.time, "delay": FINAL_BACKFILL_DELAY_SECONDS,
            "refetch": MISSED_END_REFETCH_SECONDS,
            "introduction_order": [e.introduction_order for e in poll.campaign_status],
            "points_max": [e.points_max for e in poll.campaign_status],
            "season_duration": poll.statistics[0].season_duration,
            "defend_event_id": poll.defend_event.event_id,
            "attack_event_ids": [e.event_id for e in poll.attack_events],
            "worker": heartbeat and heartbeat.worker_type,
            "started_at": heartbeat and heartbeat.started_at,
            "duration_ms": heartbeat and int((time.monotonic() - heartbeat.poll_started) * 1000),
        })
        previous_season, due, season_transitions, outbox_pending = cur.fetchone()
    return PollResult(season, previous_season, event_rows + progress_rows + status_written + statistic_written, due,
                      event_transitions + faction_transitions + season_transitions, outbox_pending)


def ingest_snapshots(conn: psycopg.Connection, season: int, payload: SeasonSnapshots, bucket_size: int) -> int:
    """Store one season's ``get_snapshots`` response; return the rows written (0 when nothing changed)."""
    return ingest_seasons(conn, [(season, payload)], bucket_size)


def ingest_seasons(conn: psycopg.Connection, seasons: list[tuple[int, SeasonSnapshots]], bucket_size: int) -> int:
    """Store ``get_snapshots`` responses, one or many seasons in one transaction of four statements;
    return the rows written (0 when nothing changed).

    Each snapshot becomes ``h1_status`` rows marked ``source = 'snapshot'`` in its bucket, beside (never
    over) the live-poll rows. An unknown season (empty response) writes nothing."""
    known = [(season, payload) for season, payload in seasons if not payload.is_empty]
    if not known:
        return 0
    season_rows = [{"season": season, "introduction_order": p.introduction_order, "points_max": p.points_max,
                    "time": p.time} for season, p in known]
    events = [_event_row(e, from_poll=False) for _, p in known for e in (*p.defend_events, *p.attack_events)]
    # keyed by (season, time, enemy): a snapshot repeated in a response is stored once
    status_rows = list({
        (season, snap.time, enemy): (season, enemy, bucket_start(snap.time, bucket_size), snap.time, f.points,
                                     f.points_taken, f.status, "snapshot")
        for season, p in known
        for snap in p.snapshots
        for enemy, f in enumerate(snap.data)
    }.values())
    with conn.transaction():
        cur = conn.cursor()
        cur.execute(UPSERT_SNAPSHOT_SEASONS, {"seasons": Jsonb(season_rows)})
        written = cur.rowcount
        cur.execute(UPSERT_SEASONS, {"seasons": sorted({e[0] for e in events})})
        cur.execute(UPSERT_EVENTS, {**_columns(events, _EVENT_COLUMNS), "bucket": 0, "time": 0,
                                    "progress_season": None, "poll_time": None})
        written += sum(cur.fetchone())
        cur.execute(UPSERT_SNAPSHOT_STATUS, _columns(status_rows, ("season", "enemy", "bucket", "time", "points",
                                                          "points_taken", "status", "source")))
        written += cur.rowcount
    return written
