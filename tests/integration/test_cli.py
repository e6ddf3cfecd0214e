"""Bad arguments and bad configuration end in one line that says what to fix, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def vox(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vox", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=timeout)  # fmt: skip


def assert_one_line_error(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize("args, words", [
    (["frobnicate"], ["invalid choice: 'frobnicate'"]),
    (["kafka", "restart"], ["invalid choice: 'restart'"]),
    (["produce"], ["the following arguments are required: file"]),
    (["db"], ["required: action"]),
])  # fmt: skip
def test_bad_arguments(args: list[str], words: list[str]) -> None:
    done = vox(*args)
    assert done.returncode == 2
    assert_one_line_error(done, *words)


def test_help_explains_each_command() -> None:
    done = vox("--help")
    for command in ("demo", "worker", "kafka", "topics", "db", "sql", "produce", "schemas"):
        assert f"    {command}" in done.stdout


def test_malformed_clickhouse_url(tmp_path: Path) -> None:
    done = vox("db", "migrate", env={"CLICKHOUSE_URL": "http//oops", "VOX_HOME": str(tmp_path)})
    assert_one_line_error(done, "CLICKHOUSE_URL", "chdb:///", "clickhouse://")


def test_unreachable_clickhouse_server(tmp_path: Path) -> None:
    done = vox("db", "migrate", env={"CLICKHOUSE_URL": "clickhouse://127.0.0.1:1/vox", "VOX_HOME": str(tmp_path)})
    assert_one_line_error(done, "cannot reach ClickHouse at 127.0.0.1:1", "CLICKHOUSE_URL")


@pytest.mark.parametrize("command", [["topics", "create"], ["worker"], ["produce", "vox/samples/sample-events.jsonl"]])
def test_unreachable_broker(command: list[str], tmp_path: Path) -> None:
    env = {"KAFKA_BOOTSTRAP": "127.0.0.1:1", "VOX_KAFKA_TIMEOUT_S": "2", "VOX_HOME": str(tmp_path)}
    assert_one_line_error(vox(*command, env=env), "cannot reach Kafka at 127.0.0.1:1")


def test_no_broker_configured(tmp_path: Path) -> None:
    done = vox("topics", "create", env={"VOX_HOME": str(tmp_path), "KAFKA_BOOTSTRAP": ""})
    assert_one_line_error(done, "vox kafka start", "KAFKA_BOOTSTRAP")


def test_bad_setting_value(tmp_path: Path) -> None:
    done = vox("db", "migrate", env={"VOX_BATCH_MAX_EVENTS": "lots", "VOX_HOME": str(tmp_path)})
    assert_one_line_error(done, "VOX_BATCH_MAX_EVENTS")


def test_sql_refuses_writes(tmp_path: Path) -> None:
    done = vox("sql", "DROP TABLE vox.interactions", env={"VOX_HOME": str(tmp_path)})
    assert_one_line_error(done, "read-only")


def test_missing_file_to_produce(tmp_path: Path) -> None:
    done = vox("produce", "nope.jsonl", env={"VOX_HOME": str(tmp_path), "KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    assert_one_line_error(done, "no such file: nope.jsonl")


def test_a_second_worker_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = vox("worker", env={"VOX_HOME": str(tmp_path), "VOX_WEB_PORT": str(port), "KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    assert done.returncode == 1
    assert_one_line_error(done, f"cannot serve /metrics on 127.0.0.1:{port}", "VOX_WEB_PORT")


@pytest.mark.parametrize("args, env, words", [
    (["db", "migrate"], {"VOX_HOME": "/etc/passwd"}, ["/etc/passwd"]),
    (["db", "migrate"], {"CLICKHOUSE_URL": "chdb:///etc/passwd"}, ["/etc/passwd"]),
    (["simulate", "--customers", "5", "--days", "1", "--out", "README.md"], {}, ["README.md"]),
    (["import", "amazon-reviews", "README.md", "--out", "/proc/nope/x.jsonl"], {}, ["/proc/nope"]),
])  # fmt: skip
def test_unusable_paths_get_one_line(args: list[str], env: dict, words: list[str], tmp_path: Path) -> None:
    done = vox(*args, env={"VOX_HOME": str(tmp_path), **env})
    assert done.returncode == 1
    assert_one_line_error(done, *words)


@pytest.mark.parametrize("content", [b"", b"a,b,c\n1,2,3\n", b"\x00\x01\xff\xfe binary", b"\n\n",
                                     __import__("gzip").compress(b'{"type": "review"}\n')])  # a .gz given as is
def test_replay_of_a_file_with_no_valid_event_fails(content: bytes, tmp_path: Path) -> None:
    source = tmp_path / "input.jsonl"
    source.write_bytes(content)
    done = vox("replay", str(source), "--no-progress",
               env={"VOX_HOME": str(tmp_path), "CLICKHOUSE_URL": f"chdb://{tmp_path / 'chdb'}"})  # fmt: skip
    assert done.returncode == 1
    assert_one_line_error(done, "holds no valid event")


def test_producing_an_empty_file_fails(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    done = vox("produce", str(tmp_path / "empty.jsonl"), env={"VOX_HOME": str(tmp_path), "KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    assert_one_line_error(done, "nothing to publish", "is empty")


@pytest.mark.parametrize("args, words", [
    (["simulate", "--customers", "5"], ["one of the arguments --out --rate is required"]),
    (["simulate", "--customers", "abc", "--out", "x"], ["--customers", "expected a whole number of 1 or more (got 'abc')"]),
    (["simulate", "--invalid-rate", "lots", "--out", "x"], ["expected a share between 0 and 1"]),
])  # fmt: skip
def test_simulate_argument_errors_exit_2(args: list[str], words: list[str]) -> None:
    done = vox(*args)
    assert done.returncode == 2
    assert_one_line_error(done, *words)


def test_an_import_that_found_no_event_says_so_and_fails(tmp_path: Path) -> None:
    """A CSV given as McAuley JSON lines used to print "wrote 0 events" and exit 0."""
    source, out = tmp_path / "reviews.csv", tmp_path / "reviews.events.jsonl"
    source.write_text("reviewerID,asin,overall\nA1,B2,5\n")
    done = vox("import", "amazon-reviews", str(source), "--out", str(out), "--no-progress")
    assert_one_line_error(done, "no event imported", "2 lines that are not JSON", "McAuley JSON-lines")
    assert not out.exists()


def test_leaders_and_explain_on_replayed_history(tmp_path: Path) -> None:
    """`vox leaders` names the leaders `vox replay` found, `vox explain` says which topic a
    leader leads, and an unknown topic gets one line."""
    from vox.simulator.generate import SimConfig
    from vox.simulator.run import write_simulation

    write_simulation(SimConfig(customers=300, days=20, seed=2), tmp_path / "sim", progress=False)
    env = {"VOX_HOME": str(tmp_path / "home"), "CLICKHOUSE_URL": f"chdb://{tmp_path / 'chdb'}"}
    assert vox("replay", str(tmp_path / "sim" / "events.jsonl"), env=env, timeout=300).returncode == 0
    shown = vox("leaders", env=env)
    assert shown.returncode == 0, shown.stderr
    first = next(line.split() for line in shown.stdout.splitlines() if line.strip().startswith("1 "))
    customer, kind = first[1], first[2]
    assert kind in ("expert", "communicator")
    explained = vox("explain", customer, env=env)
    assert explained.returncode == 0 and "Leads " in explained.stdout and kind in explained.stdout, explained.stdout
    assert_one_line_error(vox("leaders", "no-such-topic", env=env), "no leaders in topic 'no-such-topic'")


# every command, with a bad input a user could give: (command line, environment, exit, words)
BAD_INPUT = {
    "demo": (["demo"], {"KAFKA_BOOTSTRAP": "127.0.0.1:1"}, 1, "cannot reach Kafka at 127.0.0.1:1"),
    "simulate": (["simulate", "--days", "0", "--out", "x"], {}, 2, "must be at least 1"),
    "import": (["import", "stackexchange", "/nonexistent"], {}, 1, "is not a directory"),
    "replay": (["replay", "nope.jsonl"], {}, 1, "no such file: nope.jsonl"),
    # a first try, before any data: what to do, not ClickHouse's unknown table
    "explain": (["explain", "nobody"], {}, 1, "no customer scores in database vox: run `vox db migrate`"),
    "sentiment": (["sentiment", "brand:Nothing"], {}, 1, "no sentiment tables in database vox"),
    "leaders": (["leaders", "no-topic"], {}, 1, "no leader tables in database vox"),
    "alerts": (["alerts"], {"VOX_QUERY_MAX_ROWS": "0"}, 1, "VOX_QUERY_MAX_ROWS"),
    "forget": (["forget", "two words"], {}, 1, "is not a customer id"),
    "worker": (["worker"], {"KAFKA_BOOTSTRAP": "127.0.0.1:1"}, 1, "cannot reach Kafka at 127.0.0.1:1"),
    "kafka": (["kafka", "restart"], {}, 2, "invalid choice: 'restart'"),
    "topics": (["topics", "create"], {"KAFKA_BOOTSTRAP": "127.0.0.1:1"}, 1, "cannot reach Kafka at 127.0.0.1:1"),
    "db": (["db", "migrate"], {"CLICKHOUSE_URL": "postgres://x"}, 1, "CLICKHOUSE_URL: must look like"),
    "sql": (["sql", "DELETE FROM interactions WHERE 1"], {}, 1, "read-only queries only"),
    "produce": (["produce", "README.md"], {"KAFKA_BOOTSTRAP": "127.0.0.1:1"}, 1, "cannot reach Kafka at 127.0.0.1:1"),
    "schemas": (["schemas", "import"], {}, 2, "invalid choice: 'import'"),
}


def test_the_bad_inputs_cover_every_command() -> None:
    from vox.cli import build_parser

    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    assert sorted(BAD_INPUT) == sorted(commands)


@pytest.mark.parametrize("command", sorted(BAD_INPUT))
def test_every_command_answers_bad_input_in_one_line(command: str, tmp_path: Path) -> None:
    args, env, code, words = BAD_INPUT[command]
    done = vox(*args, env={"VOX_HOME": str(tmp_path), "VOX_KAFKA_TIMEOUT_S": "2", **env}, timeout=120)
    assert done.returncode == code, done.stderr
    assert_one_line_error(done, words)


def test_demo_on_an_unusable_database_says_so_before_starting_a_broker(tmp_path: Path) -> None:
    done = vox("demo", env={"VOX_HOME": str(tmp_path), "KAFKA_BOOTSTRAP": "", "CLICKHOUSE_URL": "chdb:///etc/passwd"})
    assert done.returncode == 1
    assert_one_line_error(done, "cannot use /etc/passwd as the chDB directory")
    assert not (tmp_path / "kafka").exists() and done.stdout == ""  # nothing started, nothing to stop
