"""Shared fixtures: a real Kafka broker and a real ClickHouse server for the session, and a
fresh ClickHouse database per test on both chDB and the server."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from vox.local.server import LocalClickHouseServer
from vox.local.broker import LocalKafka
from vox.clickhouse.migrations import migrate
from vox.settings import Settings, parse_clickhouse_url
from vox.clickhouse.store import open_store

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def kafka_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """VOX_HOME of a real single-node broker, started once for the whole session."""
    home = tmp_path_factory.mktemp("kafka-home")
    broker = LocalKafka(Settings(home=home))
    broker.start()
    yield home
    broker.stop()


@pytest.fixture(scope="session")
def clickhouse_server(tmp_path_factory: pytest.TempPathFactory) -> LocalClickHouseServer:
    """Debian's clickhouse-server (18.16), started once on free ports."""
    server = LocalClickHouseServer(tmp_path_factory.mktemp("clickhouse-server")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


def fresh_database() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["chdb", "server"])
def clickhouse_url(request: pytest.FixtureRequest, chdb_dir: Path) -> str:
    """A URL to an empty database, on chDB and on the real server in turn."""
    if request.param == "chdb":
        return f"chdb://{chdb_dir}?database={fresh_database()}"
    return request.getfixturevalue("clickhouse_server").url(fresh_database())


@pytest.fixture
def store(clickhouse_url: str):
    """A migrated, empty database (closed after the test: chDB allows one directory per process)."""
    with open_store(parse_clickhouse_url(clickhouse_url)) as opened:
        migrate(opened)
        yield opened


@pytest.fixture(params=["memory", "chdb", "server"])
def tables(request: pytest.FixtureRequest, chdb_dir: Path):
    """vox's tables three ways: the in-memory fake of the unit tests, chDB and the server."""
    from tests.fakes import MemoryTables
    from vox.clickhouse.tables import VoxTables

    if request.param == "memory":
        yield MemoryTables()
        return
    url = f"chdb://{chdb_dir}?database={fresh_database()}" if request.param == "chdb" else \
        request.getfixturevalue("clickhouse_server").url(fresh_database())  # fmt: skip
    with open_store(parse_clickhouse_url(url)) as opened:
        migrate(opened)
        yield VoxTables(opened)
