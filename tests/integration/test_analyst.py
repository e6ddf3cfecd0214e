"""The analyst query path is read-only at the engine level and bounded, on chDB and the server:
every attack of the adversarial review is refused in one line, and nothing changes."""

from __future__ import annotations

import re

import pytest

from tests.integration.test_cli import assert_one_line_error, vox
from vox.clickhouse.analyst import QueryLimits, QueryRefused, checked_statement, run_analyst_query

LIMITS = QueryLimits(max_seconds=2, max_rows=1000)

# (query, words of the refusal); each is tried on a fresh read-only connection
ATTACKS = [
    ("SELECT 1; DROP DATABASE {db}", "one statement at a time"),
    ("DROP DATABASE {db}", "read-only queries only"),
    # (the 18.16 server does not parse WITH before INSERT: refused as a syntax error there)
    ("WITH 1 AS x INSERT INTO {db}.dead_letters (reason) VALUES ('x')", "read-only|Syntax error"),
    ("TRUNCATE TABLE {db}.interactions", "read-only queries only"),
    ("ALTER TABLE {db}.interactions DELETE WHERE 1", "read-only queries only"),
    ("SELECT * FROM file('/etc/passwd', 'TSV', 'line String') LIMIT 1", "read-only"),
    ("SELECT 1 INTO OUTFILE '/tmp/vox-analyst-outfile.txt'", "INTO OUTFILE is not allowed"),
    ("WITH 1 AS x SELECT * FROM url('http://127.0.0.1:9/', 'TSV', 'a String')", "read-only"),
    ("SELECT * FROM remote('127.0.0.1:9', system.one)", "read-only"),
    ("SELECT 1 SETTINGS readonly = 0", "read-only"),
    ("SELECT number FROM system.numbers LIMIT 5000", "over 1,000 rows"),
    ("SELECT count() FROM system.numbers WHERE cityHash64(number) % 7 = 1", "ran over 2 s"),
]


@pytest.mark.parametrize("query, words", ATTACKS, ids=[a[0][:40] for a in ATTACKS])
def test_attacks_are_refused_and_change_nothing(store, query: str, words: str) -> None:
    db = store.database
    tables_before = store.query(f"SHOW TABLES FROM {db}")
    with pytest.raises(QueryRefused) as refused:
        run_analyst_query(store, query.format(db=db), LIMITS)
    assert re.search(words, str(refused.value)) and "\n" not in str(refused.value)
    assert store.query(f"SHOW TABLES FROM {db}") == tables_before  # still read-only, still all there


def test_reads_still_work_and_the_connection_stays_read_only(store) -> None:
    db = store.database
    assert run_analyst_query(store, f"SELECT count() FROM {db}.interactions;", LIMITS) == [(0,)]
    assert run_analyst_query(store, "SELECT 'a;b' AS s -- a comment; not a statement", LIMITS) == [("a;b",)]
    with pytest.raises(Exception):
        store.execute(f"DROP TABLE {db}.interactions")  # even vox's own calls cannot write on it now
    assert run_analyst_query(store, f"EXISTS TABLE {db}.interactions", LIMITS) == [(1,)]
    # vox's database is the current one: analysts need not name it
    assert run_analyst_query(store, "SELECT count() FROM interactions", LIMITS) == [(0,)]


@pytest.mark.parametrize("text", ["", " ; ", "-- only a comment"])
def test_an_empty_query_is_refused(text: str) -> None:
    with pytest.raises(QueryRefused, match="no statement"):
        checked_statement(text)


def test_vox_sql_refuses_in_one_line(tmp_path) -> None:
    env = {"VOX_HOME": str(tmp_path), "CLICKHOUSE_URL": f"chdb://{tmp_path / 'chdb'}"}
    done = vox("sql", "SELECT 1; DROP DATABASE vox", env=env)
    assert done.returncode == 1
    assert_one_line_error(done, "one statement at a time")
    done = vox("sql", "SELECT * FROM file('/etc/passwd', 'TSV', 'line String')", env=env)
    assert_one_line_error(done, "vox sql is read-only")
    assert vox("sql", "SELECT 40 + 2 AS answer", env=env).stdout == "answer\n42\n"
