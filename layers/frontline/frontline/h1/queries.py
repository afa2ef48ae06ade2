"""The h1 read statements: one statement per endpoint, PostgreSQL builds the JSON text.

Each query is a :class:`~frontline.web.VersionedQuery`: a version row (none when the season does not
exist) whose ``v`` feeds the ETag, and a body built only when the client's copy is stale. Integers
(BIGINT statistics included) are rendered by PostgreSQL and never pass through a Python float; times
are unix seconds.
"""

from __future__ import annotations

from frontline.web import VersionedQuery

HEARTBEAT_WORKER = "h1_poller"
RECENT_EVENTS = 10
MAX_POINTS_PER_SERIES = 500  # the default resolution keeps a series at or below this many points
# A requested resolution finer than this many points per series allows is raised to the finest that
# does: at about 550 bytes a point and faction, a long season at 900 s would pass Lambda's 6 MB answer.
MAX_REQUESTED_POINTS_PER_SERIES = 2000


def _unix(timestamp: str) -> str:
    return f"floor(extract(epoch FROM {timestamp}))::bigint"


def json_array(aggregate: str) -> str:
    """``json_agg`` over no rows is NULL; the API says ``[]``."""
    return f"coalesce({aggregate}, '[]'::json)"


# --- fragments shared by several endpoints ----------------------------------------------------------

# One event of the public API (alias e). Attack events have no region (the table's sentinel is hidden).
EVENT = """'type', e.type, 'event_id', e.event_id, 'season', e.season, 'enemy', e.enemy,
    'region', CASE WHEN e.type = 'defend' THEN e.region END, 'start_time', e.start_time, 'end_time', e.end_time,
    'points', e.points, 'points_max', e.points_max, 'status', e.status, 'players_at_start', e.players_at_start"""



def statistic_json(alias: str, *without: str) -> str:
    """Every statistic column of an ``h1_statistic`` row as a JSON object, minus the surrogate key, the
    season and the bucket (and ``without``): new statistic columns reach the API without a code change."""
    keys = ", ".join(f"'{c}'" for c in ("id", "season", "bucket", *without))
    return f"(to_jsonb({alias}) - ARRAY[{keys}])"


def latest_per_enemy(table: str, season: str, where: str = "true", order: str = "bucket DESC") -> str:
    """The latest row of each enemy 0..2 (alias st), one index probe per enemy."""
    return f"""generate_series(0, 2) AS f(enemy)
    CROSS JOIN LATERAL (SELECT * FROM {table} WHERE season = {season} AND enemy = f.enemy AND {where}
                        ORDER BY {order} LIMIT 1) st"""


def _latest_statistics(season: str) -> str:
    return json_array(f"""(SELECT json_agg({statistic_json("st")} ORDER BY f.enemy)
        FROM {latest_per_enemy("h1_statistic", season)})""")


def _event_list(where: str, order: str = "e.type, e.event_id") -> str:
    return json_array(f"(SELECT json_agg(json_build_object({EVENT}) ORDER BY {order}) FROM h1_event e WHERE {where})")


# A season's summary (alias s): its row, dates, each faction's last known state, and event counts.
SEASON_SUMMARY = f"""json_build_object(
    'season', s.season,
    'active', s.season = (SELECT active_season FROM "App"),
    'start_time', (SELECT min(time) FROM h1_status WHERE season = s.season
                   AND bucket = (SELECT min(bucket) FROM h1_status WHERE season = s.season)),
    'end_time', (SELECT max(time) FROM h1_status WHERE season = s.season
                 AND bucket = (SELECT max(bucket) FROM h1_status WHERE season = s.season)),
    'season_duration', s.season_duration,
    'last_updated', {_unix("s.last_updated")},
    'introduction_order', s.introduction_order,
    'points_max', s.points_max,
    'factions', {json_array(f'''(SELECT json_agg(json_build_object(
            'enemy', f.enemy, 'status', st.status, 'points', st.points, 'points_taken', st.points_taken,
            'points_max', s.points_max[f.enemy + 1], 'introduction_order', s.introduction_order[f.enemy + 1],
            'time', st.time) ORDER BY f.enemy)
        FROM {latest_per_enemy("h1_status", "s.season", order="bucket DESC, time DESC")})''')},
    'events', (SELECT json_build_object(
            'defend', count(*) FILTER (WHERE type = 'defend'),
            'defend_success', count(*) FILTER (WHERE type = 'defend' AND status = 'success'),
            'defend_fail', count(*) FILTER (WHERE type = 'defend' AND status = 'fail'),
            'attack', count(*) FILTER (WHERE type = 'attack'),
            'attack_success', count(*) FILTER (WHERE type = 'attack' AND status = 'success'),
            'attack_fail', count(*) FILTER (WHERE type = 'attack' AND status = 'fail'),
            'active', count(*) FILTER (WHERE status = 'active'))
        FROM h1_event WHERE season = s.season)
)"""


# --- GET /api/h1/live -------------------------------------------------------------------------------

_LIVE_CAMPAIGN_STATUS = json_array(f"""(SELECT json_agg(json_build_object(
        'enemy', f.enemy, 'time', st.time, 'points', st.points, 'points_taken', st.points_taken,
        'points_max', version.points_max[f.enemy + 1], 'status', st.status,
        'introduction_order', version.introduction_order[f.enemy + 1]) ORDER BY f.enemy)
    FROM {latest_per_enemy("h1_status", "version.season", "source = 'poll'")})""")

_EVENT_PROGRESS = json_array("""(SELECT json_agg(json_build_object('time', p.time, 'points', p.points) ORDER BY p.bucket)
    FROM h1_event_progress p WHERE p.type = e.type AND p.event_id = e.event_id)""")

# Active events of the season, and the poll's event slots when still active (attack slots can lag seasons).
_LIVE_ACTIVE_EVENTS = json_array(f"""(SELECT json_agg(json_build_object({EVENT}, 'progress', {_EVENT_PROGRESS})
                         ORDER BY e.start_time, e.type, e.event_id)
    FROM h1_event e
    WHERE e.status = 'active'
      AND (e.season = version.season
           OR (e.type = 'defend' AND e.event_id = version.poll_defend_event_id)
           OR (e.type = 'attack' AND e.event_id = ANY (version.poll_attack_event_ids))))""")

_LIVE_RECENT_EVENTS = json_array(f"""(SELECT json_agg(json_build_object({EVENT}) ORDER BY e.end_time DESC, e.type, e.event_id)
    FROM (SELECT * FROM h1_event WHERE season = version.season AND status <> 'active'
          ORDER BY end_time DESC, type, event_id LIMIT {RECENT_EVENTS}) e)""")

LIVE = VersionedQuery(
    version_sql="""
    SELECT s.*, hb.last_beat, hb.updated_at AS beat_updated_at, hb.poll_duration_ms, hb.last_error, beat.stale,
           row(s.season, s.last_updated, hb.updated_at, beat.stale)::text AS v
    FROM "App" a
    JOIN h1_season s ON s.season = a.active_season
    LEFT JOIN worker_heartbeat hb ON hb.worker_type = %(worker)s
    CROSS JOIN LATERAL (SELECT coalesce(hb.last_beat < now() - make_interval(secs => %(stale_after)s::int), true)
                        AS stale) beat""",
    body_sql=f"""
    SELECT json_build_object(
        'season', (SELECT {SEASON_SUMMARY} FROM h1_season s WHERE s.season = version.season),
        'polled_at', version.polled_at,
        'campaign_status', {_LIVE_CAMPAIGN_STATUS},
        'active_events', {_LIVE_ACTIVE_EVENTS},
        'recent_events', {_LIVE_RECENT_EVENTS},
        'statistics', {_latest_statistics("version.season")},
        'heartbeat', json_build_object(
            'worker', %(worker)s, 'last_beat', {_unix("version.last_beat")},
            'updated_at', {_unix("version.beat_updated_at")}, 'poll_duration_ms', version.poll_duration_ms,
            'last_error', version.last_error, 'stale', version.stale, 'stale_after_seconds', %(stale_after)s::int))""",
)


# --- GET /api/h1/campaign ---------------------------------------------------------------------------

def _downsampled(source: str, key: str, point: str, tiebreak: str = "") -> str:
    """Rows of ``source`` (alias t) within [from, to], one per ``key`` and resolution window: the freshest
    (greatest time; ``tiebreak`` orders equal times), each as the JSON ``point`` (over alias x, whose
    ``window_start`` is the point's bucket), in an array ordered by window then key."""
    return json_array(f"""(SELECT json_agg({point} ORDER BY x.window_start, x.{key})
        FROM (SELECT DISTINCT ON (t.{key}, t.bucket / version.resolution) t.*,
                     t.bucket / version.resolution * version.resolution AS window_start
              FROM {source} t
              WHERE t.bucket BETWEEN version.range_from - %(bucket_size)s::int + 1 AND version.range_to
                AND t.time BETWEEN version.range_from AND version.range_to
              ORDER BY t.{key}, t.bucket / version.resolution, t.time DESC{tiebreak}) x)""")


# A bucket holding both a poll row and a snapshot row answers with the fresher; at equal times, the poll.
_CAMPAIGN_STATUS = _downsampled(
    "(SELECT * FROM h1_status WHERE season = version.season)", "enemy",
    "json_build_object('bucket', x.window_start, 'enemy', x.enemy, 'time', x.time, 'points', x.points, "
    "'points_taken', x.points_taken, 'status', x.status, 'source', x.source)", ", t.source = 'snapshot'")

_CAMPAIGN_STATISTICS = _downsampled(
    "(SELECT * FROM h1_statistic WHERE season = version.season)", "enemy",
    statistic_json("x", "window_start") + " || jsonb_build_object('bucket', x.window_start)")

_CAMPAIGN_EVENT_PROGRESS = _downsampled(
    "(SELECT * FROM h1_event_progress WHERE type = e.type AND event_id = e.event_id)", "event_id",
    "json_build_object('bucket', x.window_start, 'time', x.time, 'points', x.points)")

_CAMPAIGN_EVENTS = json_array(f"""(SELECT json_agg(json_build_object({EVENT}, 'progress', {_CAMPAIGN_EVENT_PROGRESS})
                         ORDER BY e.start_time, e.type, e.event_id)
    FROM h1_event e
    WHERE e.season = version.season AND e.start_time <= version.range_to AND e.end_time >= version.range_from)""")


def _coarsest_fitting(max_points: str) -> str:
    """The smallest multiple of the bucket size that splits the range into at most ``max_points`` windows."""
    return (f"%(bucket_size)s::int * greatest(1, ceil((range.range_to::bigint - range.range_from + 1)"
            f" / (%(bucket_size)s::numeric * ({max_points}::int - 1))))::int")


# The range defaults to the season's stored buckets; the resolution to the smallest multiple of the bucket
# size that keeps a series within MAX_POINTS_PER_SERIES, and a requested one is raised to keep it within
# MAX_REQUESTED_POINTS_PER_SERIES. Windows are aligned to multiples of the resolution (the same windows
# for any range), so a range touches up to span / resolution + 1 of them.
CAMPAIGN = VersionedQuery(
    version_sql=f"""
    SELECT s.season, range.range_from, range.range_to, resolution.resolution,
           row(s.season, s.last_updated)::text AS v
    FROM h1_season s
    CROSS JOIN LATERAL (
        SELECT coalesce(%(from)s::int, (SELECT min(bucket) FROM h1_status WHERE season = s.season), 0) AS range_from,
               coalesce(%(to)s::int, (SELECT max(bucket) FROM h1_status WHERE season = s.season) + %(bucket_size)s::int - 1, 0)
               AS range_to) range
    CROSS JOIN LATERAL (
        SELECT CASE WHEN %(resolution)s::int IS NULL THEN {_coarsest_fitting("%(max_points)s")}
                    ELSE greatest(%(resolution)s::int, {_coarsest_fitting("%(max_requested_points)s")}) END
               AS resolution) resolution
    WHERE s.season = %(season)s::int AND s.last_updated IS NOT NULL""",  # as the archive lists
    body_sql=f"""
    SELECT json_build_object(
        'season', version.season, 'from', version.range_from, 'to', version.range_to,
        'resolution', version.resolution, 'status', {_CAMPAIGN_STATUS}, 'statistics', {_CAMPAIGN_STATISTICS},
        'events', {_CAMPAIGN_EVENTS})""",
)


# --- GET /api/h1/seasons, GET /api/h1/seasons/{season} -----------------------------------------------

# The archive lists stored seasons: a row that only exists because a lagging attack slot named its
# season (never confirmed by a poll or a backfill, last_updated null) holds nothing to show.
SEASONS = VersionedQuery(
    version_sql="""
    SELECT row(max(last_updated), count(*), (SELECT active_season FROM "App"))::text AS v
    FROM h1_season WHERE last_updated IS NOT NULL""",
    body_sql=f"""
    SELECT json_build_object('seasons', {json_array(
        f"(SELECT json_agg({SEASON_SUMMARY} ORDER BY s.season) FROM h1_season s WHERE s.last_updated IS NOT NULL)")})""",
)

SEASON = VersionedQuery(
    version_sql="""
    SELECT season, row(season, last_updated, (SELECT active_season FROM "App"))::text AS v
    FROM h1_season WHERE season = %(season)s::int AND last_updated IS NOT NULL""",  # as the archive lists
    body_sql=f"""
    SELECT json_build_object(
        'season', (SELECT {SEASON_SUMMARY} FROM h1_season s WHERE s.season = version.season),
        'statistics', {_latest_statistics("version.season")},
        'events', {_event_list("e.season = version.season", "e.start_time, e.type, e.event_id")})""",
)
