"""`vox sql` prints what ClickHouse's own formats write: a header, NULL apart from '', values
with tabs and newlines escaped; the query comes from an argument, a file or standard input.
On a server (the native protocol returns values) vox writes the formats itself: the same bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_cli import assert_one_line_error, vox
from vox.clickhouse.analyst import QueryLimits, analyst_output
from vox.clickhouse.formats import FORMATS
from vox.clickhouse.store import open_store
from vox.settings import parse_clickhouse_url

# values that break naive output: a tab and a newline inside a value, NULL beside '', quotes,
# a backslash, an array of strings with a quote, a timestamp, a float, a big integer
TRICKY = ("SELECT 'a\\tb\\nc' AS text, CAST(NULL AS Nullable(String)) AS missing, '' AS empty, "
          "'say \"hi\", then' AS quoted, 'back\\\\slash' AS backslash, ['x', 'y\\'z', 't\\tab'] AS tags, "
          "toDateTime('2026-03-01 10:00:00', 'UTC') AS at, 1.5 AS share, toUInt64(4294967296) AS big, "
          "toInt32(-3) AS negative, 'é' AS accent")  # fmt: skip
LIMITS = QueryLimits(max_seconds=5, max_rows=100)


def test_tsv_has_a_header_and_escapes_what_would_break_rows(tmp_path: Path) -> None:
    done = vox("sql", "--format", "tsv", TRICKY, env={"VOX_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()  # two lines: the newline inside a value is escaped
    assert header.split("\t")[:3] == ["text", "missing", "empty"]
    fields = row.split("\t")
    assert fields[:3] == ["a\\tb\\nc", "\\N", ""]  # NULL and '' told apart
    assert fields[5] == "['x','y\\'z','t\\tab']" and fields[6] == "2026-03-01 10:00:00"


def test_csv_and_json_lines(tmp_path: Path) -> None:
    env = {"VOX_HOME": str(tmp_path)}
    csv = vox("sql", "--format", "csv", "SELECT 'a,b' AS s, NULL AS n, 2 AS k", env=env).stdout
    assert csv == '"s","n","k"\n"a,b",\\N,2\n'
    lines = vox("sql", "--format", "jsonl", "SELECT number AS n, toString(number) AS s FROM system.numbers LIMIT 2",
                env=env).stdout.splitlines()  # fmt: skip
    assert [json.loads(line) for line in lines] == [{"n": 0, "s": "0"}, {"n": 1, "s": "1"}]


def test_the_query_from_a_file_or_standard_input(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {"VOX_HOME": str(tmp_path)}
    (tmp_path / "q.sql").write_text("-- how many\nSELECT 6 * 7 AS answer;\n")
    assert vox("sql", "--file", str(tmp_path / "q.sql"), env=env).stdout == "answer\n42\n"
    piped = subprocess.run([sys.executable, "-m", "vox", "sql", "-"], input="SELECT 'piped' AS how",
                           capture_output=True, text=True, env={**__import__("os").environ, **env})  # fmt: skip
    assert piped.stdout == "how\npiped\n", piped.stderr


@pytest.mark.parametrize("args, words", [
    (["sql"], ["no query"]),
    (["sql", "SELECT 1", "--file", "q.sql"], ["not both"]),
    (["sql", "--format", "xml", "SELECT 1"], ["invalid choice: 'xml'"]),
])  # fmt: skip
def test_argument_errors_exit_2(args: list[str], words: list[str], tmp_path: Path) -> None:
    done = vox(*args, env={"VOX_HOME": str(tmp_path)})
    assert done.returncode == 2
    assert_one_line_error(done, *words)


def test_a_missing_query_file_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(vox("sql", "--file", str(tmp_path / "nope.sql"), env={"VOX_HOME": str(tmp_path)}),
                          "cannot read the query from", "No such file")  # fmt: skip


@pytest.mark.parametrize("fmt", ["tsv", "csv", "jsonl"])
def test_a_server_gives_the_bytes_chdb_writes(fmt: str, clickhouse_server, chdb_dir: Path) -> None:
    """The server's rows written by vox equal chDB's engine output for the same query."""
    with open_store(parse_clickhouse_url(f"chdb://{chdb_dir}")) as embedded:
        expected = analyst_output(embedded, TRICKY, LIMITS, FORMATS[fmt])
    with open_store(parse_clickhouse_url(clickhouse_server.url("vox_formats"))) as server:
        assert analyst_output(server, TRICKY, LIMITS, FORMATS[fmt]).decode() == expected.decode()
