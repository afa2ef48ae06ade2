import json

import boto3
import pytest
from moto import mock_aws
from psycopg.conninfo import conninfo_to_dict

from frontline import cli, db
from frontline.config import settings


def test_connection_is_reused_and_reopened_when_closed(database):
    first = db.connection()
    assert db.connection() is first
    first.close()
    second = db.connection()
    assert second is not first and not second.closed
    assert second.execute("SELECT 1").fetchone() == (1,)


def test_connection_reopened_when_broken_by_the_server(database, conn):
    victim = db.connection()
    pid = victim.info.backend_pid
    conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(Exception):
        victim.execute("SELECT 1")
    assert db.connection().execute("SELECT 1").fetchone() == (1,)


def test_statements_are_not_prepared_server_side_by_default(database):
    assert db.connection().prepare_threshold is None


def test_transactions_are_explicit(database, conn):
    with pytest.raises(RuntimeError):
        with db.transaction() as tx:
            tx.execute("INSERT INTO h1_season (season) VALUES (1)")
            raise RuntimeError("boom")
    assert conn.execute("SELECT count(*) FROM h1_season").fetchone()[0] == 0
    db.connection().execute("INSERT INTO h1_season (season) VALUES (2)")  # autocommit outside a transaction
    assert conn.execute("SELECT count(*) FROM h1_season").fetchone()[0] == 1


@mock_aws
def test_credentials_come_from_secrets_manager(monkeypatch):
    monkeypatch.delenv("POSTGRES_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    secret = {"host": "db.internal", "port": 5432, "username": "frontline", "password": "s3cr3t", "dbname": "app"}
    arn = boto3.client("secretsmanager").create_secret(Name="db", SecretString=json.dumps(secret))["ARN"]
    monkeypatch.setenv("DB_SECRET_ARN", arn)
    params = conninfo_to_dict(db.conninfo())
    assert params == {"host": "db.internal", "port": "5432", "user": "frontline", "password": "s3cr3t",
                      "dbname": "app", "sslmode": "require"}


def test_missing_configuration_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("POSTGRES_URL", raising=False)
    monkeypatch.delenv("DB_SECRET_ARN", raising=False)
    with pytest.raises(db.DatabaseNotConfigured, match="POSTGRES_URL"):
        db.conninfo()


def test_the_cli_says_in_one_line_when_it_has_no_database(monkeypatch, capsys):
    monkeypatch.delenv("POSTGRES_URL", raising=False)
    monkeypatch.delenv("DB_SECRET_ARN", raising=False)
    assert cli.main(["users", "create", "--username", "nobody"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: set POSTGRES_URL (locally: the export line that `frontline dev` prints) or DB_SECRET_ARN (AWS)"]
    monkeypatch.setenv("POSTGRES_URL", "host=127.0.0.1 port=1 user=nobody connect_timeout=1")  # nothing listens
    settings.cache_clear()
    assert cli.main(["migrate"]) == 2
    error = capsys.readouterr().err.splitlines()
    assert len(error) == 1 and error[0].startswith("error: connection failed")


@pytest.mark.parametrize("values", [[], [0], [1, -2, 2**31 - 1, -(2**31)], list(range(6000, 6700))])
def test_int4_arrays_arrive_as_the_same_int4_array(database, values):
    packed = db.int4_array(values)
    assert isinstance(packed, db.Int4Array)
    answer = db.connection().execute("SELECT %b, pg_typeof(%b)::text", (packed, packed)).fetchone()
    assert answer == (values, "integer[]")


@pytest.mark.parametrize("values", [[1, None], [1, 2**31], [1.5], ["7"], [True, 2]])
def test_values_that_are_not_int4_are_left_to_psycopg(database, values):
    assert db.int4_array(values) is values


@pytest.mark.parametrize("value", [{"Name": "Zoë", "Troops": [1, 2.5, None, True], "Extra": {}}, [2**70, -1]])
def test_jsonb_text_is_compact_utf8_and_arrives_as_the_same_value(database, value):
    text = db.jsonb_text(value)  # the 70-bit integer goes through the json module
    assert ", " not in text and "\\u" not in text
    assert db.connection().execute("SELECT %s::jsonb", (text,)).fetchone()[0] == value
