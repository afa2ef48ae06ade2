"""StarForge without I/O: the payload generator, the upstream models, error classification, cursors,
and the shipped catalog."""

from __future__ import annotations

import json

import psycopg
import pytest
from pydantic import ValidationError

from frontline.starforge import api, catalog, etl, generator
from frontline.starforge.models import ProfileData, SnapshotRequest, profile_data_of


def test_a_generated_profile_has_the_realistic_shape_and_id_ranges():
    payload = generator.generate_profile(42)
    profile = payload["result"]["ProfileData"]
    assert set(payload) == {"result"} and set(payload["result"]) == {"ProfileData"}
    assert len(profile["Troops"]) == 700 and all(6000 <= int(t) < 7000 for t in profile["Troops"])
    assert len(profile["Pets"]) == 100 and all(13000 <= int(p) < 14000 for p in profile["Pets"])
    assert len(profile["KingdomLevels"]) == 40 and all(3000 <= int(k) < 4000 for k in profile["KingdomLevels"])
    assert profile["Teams"] and profile["PvpRegions"] and profile["NameCode"] == generator.namecode_for(42)
    assert all(key[0].isupper() for key in profile if key != "username")  # PascalCase, as the game sends
    assert len(profile["Id"]) == 10 and len(profile["GuildId"]) == 10  # Parse object ids
    assert generator.generate_profile(42) == payload  # deterministic


def test_a_login_payload_weighs_2_to_3_mb():
    size = len(json.dumps(generator.generate_profile(1, login=True)))
    assert 2_000_000 <= size <= 3_000_000


def test_the_envelope_and_a_bare_profile_parse_alike_keeping_unknown_keys():
    enveloped = generator.generate_profile(3)
    bare = generator.generate_profile(3, envelope=False)
    parsed = ProfileData.model_validate(profile_data_of(enveloped))
    assert parsed == ProfileData.model_validate(profile_data_of(bare))
    assert parsed.name_code == generator.namecode_for(3) and parsed.username == "hero_3"
    assert parsed.extras["Attack"] == bare["Attack"]
    troop_id = min(parsed.troops)
    assert parsed.troops[troop_id].extras == {"EliteLevel": bare["Troops"][str(troop_id)]["EliteLevel"]}
    assert parsed.pets is not None and parsed.class_data is not None


def test_another_spelling_of_a_key_fills_its_field_when_alone_and_is_kept_beside_the_games():
    def parsed(profile: dict) -> ProfileData:
        return ProfileData.model_validate_json(json.dumps({"NameCode": "X"} | profile))  # as the ETL parses

    assert parsed({"Username": "b"}).username == "b" and parsed({"level": 7}).level == 7
    both = parsed({"Username": "b", "username": "a", "level": 7, "Level": 5, "LEVEL": 6})
    assert (both.username, both.level) == ("a", 5)
    assert both.extras == {"Username": "b", "level": 7, "LEVEL": 6}


def test_absent_sections_stay_none_so_the_etl_leaves_their_tables_alone():
    parsed = ProfileData.model_validate({"NameCode": "X", "Troops": {}})
    assert parsed.troops == {} and parsed.pets is None and parsed.teams is None


def test_a_profile_without_namecode_is_invalid():
    with pytest.raises(ValidationError):
        ProfileData.model_validate({"Name": "nobody"})


def test_a_snapshot_request_needs_a_known_source_and_an_object_payload():
    assert SnapshotRequest.model_validate_json('{"source": "cli_upload", "payload": {}}').namecode is None
    for body in ('{"source": "x", "payload": {}}', '{"source": "login", "payload": []}', '{"source": "login"}'):
        with pytest.raises(ValidationError):
            SnapshotRequest.model_validate_json(body)


@pytest.mark.parametrize("exc, expected", [
    (psycopg.OperationalError("connection lost"), None),
    (psycopg.errors.DeadlockDetected("deadlock"), None),
    (psycopg.errors.SerializationFailure("serialization"), None),
    (psycopg.errors.QueryCanceled("statement timeout"), None),
    (psycopg.errors.LockNotAvailable("lock timeout"), None),
    (psycopg.InterfaceError("connection closed"), None),
    (psycopg.errors.ReadOnlySqlTransaction("read-only transaction"), None),  # a failover in progress
    (psycopg.errors.ForeignKeyViolation("fk"), etl.ErrorType.FK_VIOLATION),
    (psycopg.errors.NumericValueOutOfRange("too big"), etl.ErrorType.DB_ERROR),
    (psycopg.errors.UniqueViolation("dup"), etl.ErrorType.DB_ERROR),
    (RuntimeError("bug"), etl.ErrorType.PROCESSING_ERROR),
])
def test_errors_are_classified_transient_or_permanent(exc, expected):
    assert etl.classify(exc) is expected


def test_a_validation_error_is_a_parse_error():
    with pytest.raises(ValidationError) as caught:
        ProfileData.model_validate([])
    assert etl.classify(caught.value) is etl.ErrorType.PARSE_ERROR


def test_owner_cursors_round_trip_and_reject_garbage():
    row = {"amount": 7, "level": 20, "hero_id": "0b0c8d52-4f6b-4f0e-9d57-1d1f3c1e2a33"}
    amount, level, hero_id = api.decode_cursor(api.encode_cursor(row))
    assert (amount, level, str(hero_id)) == (7, 20, row["hero_id"])
    with pytest.raises(api.ApiError):
        api.decode_cursor("bm9wZQ")


def test_the_shipped_catalog_is_the_generated_one_and_valid():
    shipped = json.loads(catalog.SAMPLE_CATALOG.read_text())
    assert shipped == generator.generate_catalog()
    loaded = catalog.load(catalog.SAMPLE_CATALOG)
    assert loaded.troops and loaded.pets and loaded.kingdoms and loaded.artifacts
    assert loaded.troops[0].model_extra  # unmapped keys are kept for meta


def test_the_catalog_accepts_pascal_case_keys():
    entry = catalog.CatalogEntry.model_validate({"Id": 6001, "Name": "Goblin", "ReferenceName": "goblin",
                                                 "Colors": 5})
    assert (entry.id, entry.name, entry.kid, entry.model_extra) == (6001, "Goblin", "goblin", {"Colors": 5})
