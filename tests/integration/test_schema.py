"""Every seed-000 model exists with the columns, types, unique keys, indexes and foreign keys the seed
lists (read from the catalog), and the StarForge tables that ingestion needs exist."""

import pytest

# table -> {column: (postgres type, nullable)}; taken from seed 000's field tables.
SEED_000_COLUMNS = {
    "h1_season": {"id": ("text", False), "last_updated": ("timestamp with time zone", True),
                  "season": ("integer", False), "introduction_order": ("integer[]", False),
                  "points_max": ("integer[]", False), "season_duration": ("integer", False)},
    "h1_event": {"id": ("text", False), "season": ("integer", False), "type": ("text", False),
                 "event_id": ("integer", False), "start_time": ("integer", False), "end_time": ("integer", False),
                 "region": ("integer", False), "enemy": ("integer", False), "points_max": ("integer", False),
                 "points": ("integer", False), "status": ("text", False), "players_at_start": ("integer", True)},
    "h1_event_progress": {"id": ("text", False), "type": ("text", False), "event_id": ("integer", False),
                          "bucket": ("integer", False), "time": ("integer", False), "points": ("integer", False)},
    "h1_status": {"id": ("text", False), "season": ("integer", False), "enemy": ("integer", False),
                  "bucket": ("integer", False), "time": ("integer", False), "points": ("integer", False),
                  "points_taken": ("integer", False), "status": ("text", False)},
    "h1_statistic": {"id": ("text", False), "season": ("integer", False), "enemy": ("integer", False),
                     "bucket": ("integer", False), "time": ("integer", False),
                     **{c: ("integer", False) for c in ("players", "total_unique_players", "missions",
                                                        "successful_missions", "total_mission_difficulty",
                                                        "completed_planets")},
                     **{c: ("bigint", False) for c in ("kills", "deaths", "accidentals", "shots", "hits")}},
    "User": {"id": ("text", False), "name": ("text", True), "username": ("text", True), "email": ("text", True),
             "emailVerified": ("boolean", False), "image": ("text", True), "role": ("text", False),
             "banned": ("boolean", False), "createdAt": ("timestamp with time zone", False),
             "updatedAt": ("timestamp with time zone", False)},
    "Account": {"id": ("text", False), "userId": ("text", False), "accountId": ("text", False),
                "providerId": ("text", False), "accessToken": ("text", True), "refreshToken": ("text", True),
                "accessTokenExpiresAt": ("timestamp with time zone", True),
                "refreshTokenExpiresAt": ("timestamp with time zone", True), "idToken": ("text", True),
                "scope": ("text", True), "password": ("text", True),
                "createdAt": ("timestamp with time zone", False), "updatedAt": ("timestamp with time zone", False)},
    "Session": {"id": ("text", False), "token": ("text", False), "userId": ("text", False),
                "expiresAt": ("timestamp with time zone", False), "ipAddress": ("text", True),
                "userAgent": ("text", True), "createdAt": ("timestamp with time zone", False),
                "updatedAt": ("timestamp with time zone", False)},
    "Verification": {"id": ("text", False), "identifier": ("text", False), "value": ("text", False),
                     "expiresAt": ("timestamp with time zone", False),
                     "createdAt": ("timestamp with time zone", False),
                     "updatedAt": ("timestamp with time zone", False)},
    "Settings": {"userId": ("text", False), "settings": ("jsonb", False)},
    "Review": {"id": ("text", False), "createdAt": ("timestamp with time zone", False),
               "updatedAt": ("timestamp with time zone", False), "title": ("text", False),
               "content": ("text", True), "published": ("boolean", False), "authorId": ("text", False)},
    "ApiKey": {"id": ("text", False), "hash": ("text", False), "visible": ("text", False),
               "userId": ("text", False), "description": ("text", False),
               "createdAt": ("timestamp with time zone", False), "enabled": ("boolean", False)},
    "App": {"id": ("text", False), "version": ("text", False), "active_season": ("integer", False)},
    "worker_heartbeat": {"worker_type": ("text", False), "last_beat": ("timestamp with time zone", False),
                         "poll_duration_ms": ("integer", True), "last_error": ("text", True),
                         "started_at": ("timestamp with time zone", False),
                         "updated_at": ("timestamp with time zone", False)},
    "push_subscription": {"id": ("integer", False), "endpoint": ("text", False), "keys_p256dh": ("text", False),
                          "keys_auth": ("text", False), "created_at": ("timestamp with time zone", False)},
}

# The seed's "uniqueness constraints and indexes" table, plus primary keys.
SEED_000_UNIQUE = {
    # h1_status: (season, enemy, bucket) holds for live-poll rows; snapshot rows are keyed by time (0012).
    ("h1_season", ("season",)), ("h1_event", ("type", "event_id")), ("h1_status", ("season", "enemy", "bucket")),
    ("h1_statistic", ("season", "enemy", "bucket")), ("h1_event_progress", ("type", "event_id", "bucket")),
    ("User", ("username",)), ("User", ("email",)), ("Session", ("token",)),
    ("Verification", ("identifier", "value")), ("Settings", ("userId",)), ("ApiKey", ("hash",)),
    ("push_subscription", ("endpoint",)), ("worker_heartbeat", ("worker_type",)),
}
SEED_000_INDEXES = {
    ("h1_season", ("season",)), ("h1_season", ("last_updated",)), ("h1_event", ("season", "type")),
    ("h1_event", ("season", "status")), ("h1_event", ("season", "enemy")), ("h1_status", ("season", "bucket")),
    ("h1_statistic", ("season", "bucket")), ("Account", ("userId",)), ("Session", ("userId",)),
    ("push_subscription", ("endpoint",)),
}
SEED_000_FOREIGN_KEYS = {
    ("h1_event", ("season",), "h1_season", ("season",), "r"),
    ("h1_status", ("season",), "h1_season", ("season",), "r"),
    ("h1_statistic", ("season",), "h1_season", ("season",), "r"),
    ("h1_event_progress", ("type", "event_id"), "h1_event", ("type", "event_id"), "r"),
    ("Account", ("userId",), "User", ("id",), "c"),
    ("Session", ("userId",), "User", ("id",), "c"),
    ("Settings", ("userId",), "User", ("id",), "r"),
    ("Review", ("authorId",), "User", ("id",), "r"),
    ("ApiKey", ("userId",), "User", ("id",), "c"),
}
STARFORGE_TABLES = {
    "hero_snapshots", "users", "heroes", "hero_troops", "hero_pets", "hero_artifacts", "teams", "team_troops",
    "hero_kingdom_progress", "hero_pvp_regions", "hero_pvp_stats", "hero_class_data", "hero_meta_json",
    "user_profile_summary", "etl_errors", "queue_jobs", "audit_logs", "guilds", "guild_members", "feature_flags",
    "troop_catalog", "pet_catalog", "artifact_catalog", "kingdom_catalog",
}

INDEXES_SQL = """
SELECT t.relname, i.indisunique, i.indisprimary,
       array_agg(a.attname ORDER BY k.ord) AS columns
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
GROUP BY i.indexrelid, t.relname, i.indisunique, i.indisprimary
"""

FOREIGN_KEYS_SQL = """
SELECT src.relname, array_agg(sa.attname ORDER BY k.ord), dst.relname, array_agg(da.attname ORDER BY k.ord),
       c.confdeltype
FROM pg_constraint c
JOIN pg_class src ON src.oid = c.conrelid
JOIN pg_class dst ON dst.oid = c.confrelid
JOIN pg_namespace n ON n.oid = src.relnamespace AND n.nspname = 'public'
CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(src_att, dst_att, ord)
JOIN pg_attribute sa ON sa.attrelid = src.oid AND sa.attnum = k.src_att
JOIN pg_attribute da ON da.attrelid = dst.oid AND da.attnum = k.dst_att
WHERE c.contype = 'f'
GROUP BY c.oid, src.relname, dst.relname, c.confdeltype
"""


@pytest.mark.parametrize("table", sorted(SEED_000_COLUMNS))
def test_seed_000_columns(conn, table):
    rows = conn.execute(
        """SELECT attname, format_type(atttypid, atttypmod), NOT attnotnull
           FROM pg_attribute WHERE attrelid = format('public.%%I', %s::text)::regclass
             AND attnum > 0 AND NOT attisdropped""",
        (table,),
    ).fetchall()
    actual = {name: (type_, nullable) for name, type_, nullable in rows}
    for column, expected in SEED_000_COLUMNS[table].items():
        assert actual.get(column) == expected, f"{table}.{column}"


def test_seed_000_unique_keys_and_indexes(conn):
    rows = conn.execute(INDEXES_SQL).fetchall()
    unique = {(table, tuple(cols)) for table, is_unique, _pk, cols in rows if is_unique}
    every = {(table, tuple(cols)) for table, *_flags, cols in rows}
    assert SEED_000_UNIQUE <= unique, SEED_000_UNIQUE - unique
    assert SEED_000_INDEXES <= every, SEED_000_INDEXES - every


def test_seed_000_foreign_keys(conn):
    rows = {(s, tuple(sc), d, tuple(dc), action) for s, sc, d, dc, action in conn.execute(FOREIGN_KEYS_SQL)}
    assert SEED_000_FOREIGN_KEYS <= rows, SEED_000_FOREIGN_KEYS - rows


def test_seed_000_ids_are_uuidv7(conn):
    conn.execute("INSERT INTO h1_season (season) VALUES (1)")
    (ident,) = conn.execute("SELECT id FROM h1_season").fetchone()
    assert ident[14] == "7", ident  # the version nibble of a UUIDv7


def test_starforge_tables_exist(conn):
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'starforge'"
    ).fetchall()
    assert STARFORGE_TABLES <= {r[0] for r in rows}


def test_starforge_gin_index_built_outside_a_transaction(conn):
    (valid,) = conn.execute(
        """SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           WHERE c.relname = 'idx_hero_snapshots_raw_gin'"""
    ).fetchone()
    assert valid


def test_no_starforge_index_repeats_the_leading_columns_of_a_unique_index(conn):
    """Such an index serves no lookup the unique one does not, and costs every write (migration 0047)."""
    redundant = conn.execute("""
        SELECT plain.indexrelid::regclass::text
        FROM pg_index plain
        JOIN pg_index uniq
          ON uniq.indrelid = plain.indrelid AND uniq.indisunique AND uniq.indexrelid <> plain.indexrelid
        JOIN pg_class t ON t.oid = plain.indrelid
        WHERE t.relnamespace = 'starforge'::regnamespace AND NOT plain.indisunique
          AND plain.indpred IS NULL AND plain.indexprs IS NULL AND uniq.indpred IS NULL AND uniq.indexprs IS NULL
          AND (SELECT relam FROM pg_class WHERE oid = uniq.indexrelid) = (SELECT relam FROM pg_class WHERE oid = plain.indexrelid)
          AND (uniq.indclass::oid[])[0:array_length(plain.indclass::oid[], 1) - 1]
            = (plain.indclass::oid[])[0:array_length(plain.indclass::oid[], 1) - 1]
          AND (uniq.indkey::int2[])[0:array_length(plain.indkey::int2[], 1) - 1]
            = (plain.indkey::int2[])[0:array_length(plain.indkey::int2[], 1) - 1]
        ORDER BY 1""").fetchall()
    assert redundant == []
