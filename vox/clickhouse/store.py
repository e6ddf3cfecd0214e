"""All ClickHouse access: one small interface over embedded chDB and a real server.

Everything else in vox talks to a `Store`; nothing else imports chdb or clickhouse_driver.
Differences between ClickHouse versions (the 18.16 server Debian ships has no DateTime64 and
no LowCardinality) are settled here, in `Dialect`, and nowhere else.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from pydantic_core import to_json

from vox.errors import RefusedError, UnreachableError, VoxError
from vox.settings import ClickHouseTarget


@dataclass(frozen=True)
class Dialect:
    """The few SQL spellings that depend on the server version."""

    version: tuple[int, ...]

    @property
    def modern(self) -> bool:
        return self.version >= (20, 1)

    @property
    def timestamp(self) -> str:
        # 18.x has no sub-second DateTime; events keep millisecond order on modern servers.
        return "DateTime64(3, 'UTC')" if self.modern else "DateTime('UTC')"

    @property
    def label(self) -> str:
        # A short, repetitive string (family, role, brand...): dictionary-encoded where possible.
        return "LowCardinality(String)" if self.modern else "String"

    def render(self, sql: str, database: str) -> str:
        return sql.format(db=quote_identifier(database), ts=self.timestamp, label=self.label)


def quote_identifier(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise VoxError(f"ClickHouse database name {name!r} must be letters, digits and underscores")
    return name


def quote(value: Any) -> str:
    """A ClickHouse literal for a Python value (strings escaped, used for IN lists)."""
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, (int, float)):
        return repr(value)
    raise TypeError(f"cannot quote {type(value).__name__}")


def in_list(values: Iterable[Any]) -> str:
    return "(" + ",".join(quote(v) for v in values) + ")"


def parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


class Store:
    """A ClickHouse database: run DDL, query rows, insert batches."""

    target: ClickHouseTarget
    dialect: Dialect

    @property
    def database(self) -> str:
        return self.target.database

    def render(self, sql: str) -> str:
        return self.dialect.render(sql, self.database)

    def execute(self, sql: str) -> None:
        raise NotImplementedError

    def query(self, sql: str) -> list[tuple]:
        raise NotImplementedError

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def query_formatted(self, sql: str, fmt: str) -> bytes:
        """The result written in a ClickHouse output format (`vox.clickhouse.formats.FORMATS`)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def make_read_only(self, max_seconds: float, max_rows: int) -> None:
        """From now on this connection runs bounded reads only: the limits first, then
        `readonly = 1`, which no later statement, SET or SETTINGS clause can lift."""
        raise NotImplementedError

    def scalar(self, sql: str) -> Any:
        rows = self.query(sql)
        return rows[0][0] if rows else None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ChdbStore(Store):
    """Embedded ClickHouse (chDB), persisted in a directory; one process may open it at a time."""

    def __init__(self, target: ClickHouseTarget):
        from chdb import session  # imported here: loading the engine costs ~1 s and 100 MB

        assert target.path is not None
        self.target = target
        try:
            target.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VoxError(f"cannot use {target.path} as the chDB directory ({exc.strerror}): point CLICKHOUSE_URL "
                           "(or VOX_HOME, whose chdb/ it is by default) at a directory vox may create") from None  # fmt: skip
        try:
            self._session = session.Session(str(target.path))
        except Exception as exc:  # chDB reports a held directory as a generic error
            if "already initialized" in str(exc):  # one chDB directory per process at a time
                raise VoxError(f"cannot open chDB at {target.path}: {_first_line(exc)}") from exc
            raise UnreachableError(
                f"cannot open chDB at {target.path}: another vox process (a running worker?) holds it; "
                "stop that process or point CLICKHOUSE_URL elsewhere"
            ) from exc
        self.dialect = Dialect(parse_version(self._run("SELECT version()", "TSV").strip()))

    def _run(self, sql: str, fmt: str = "CSV") -> str:
        return self._run_bytes(sql, fmt).decode("utf-8")

    def _run_bytes(self, sql: str, fmt: str) -> bytes:
        try:
            result = self._session.query(sql, fmt)
        except Exception as exc:
            self._drain()  # embedded: never unreachable, so every failure is a refusal
            raise RefusedError(f"ClickHouse (chDB) rejected a query: {_first_line(exc)}") from exc
        return result.bytes() if result is not None else b""

    def query_formatted(self, sql: str, fmt: str) -> bytes:
        return self._run_bytes(sql, fmt)  # the engine's own writer and escaping

    def _drain(self) -> None:
        """chDB 26.9 keeps what a failed query had written (its result header, for one) and
        prepends it to the next result: a throwaway query takes it."""
        try:
            self._session.query("SELECT 1", "CSV")
        except Exception:  # noqa: BLE001 - best effort; the next real query reports for itself
            pass

    def execute(self, sql: str) -> None:
        self._run(sql)

    def query(self, sql: str) -> list[tuple]:
        text = self._run(sql, "JSONCompact")
        return [tuple(row) for row in json.loads(text)["data"]] if text else []

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        # pydantic-core writes JSON (timestamps as ISO 8601, which best_effort parsing reads)
        # several times faster than the json module with a `default` hook.
        body = b"\n".join(map(to_json, rows)).decode("utf-8")
        self._run(f"INSERT INTO {self.database}.{table} ({', '.join(columns)}) "
                  f"SETTINGS date_time_input_format = 'best_effort' FORMAT JSONCompactEachRow\n{body}")  # fmt: skip

    def make_read_only(self, max_seconds: float, max_rows: int) -> None:
        self._run(f"USE {quote_identifier(self.database)}")  # analysts write `FROM interactions`
        for name, value in _read_only_settings(max_seconds, max_rows).items():
            self._run(f"SET {name} = {quote(value)}")

    def close(self) -> None:
        self._session.close()


class ServerStore(Store):
    """A ClickHouse server over the native protocol (clickhouse-driver)."""

    def __init__(self, target: ClickHouseTarget, connect_timeout: float = 5.0):
        from clickhouse_driver import Client

        self.target = target
        self._client = Client(
            host=target.host,
            port=target.port,
            user=target.user,
            password=target.password,
            secure=target.secure,
            connect_timeout=connect_timeout,
            settings={"strings_as_bytes": False},
        )
        try:
            version = self._client.execute("SELECT version()")[0][0]
        except Exception as exc:
            raise UnreachableError(
                f"cannot reach ClickHouse at {target.host}:{target.port} ({_first_line(exc)}); "
                "is the server running, and is CLICKHOUSE_URL right?"
            ) from exc
        self.dialect = Dialect(parse_version(version))

    def _call(self, sql: str, *params: Any, **options: Any) -> Any:
        try:
            return self._client.execute(sql, *params, **options)
        except Exception as exc:
            if _unreachable(exc):
                raise UnreachableError(f"ClickHouse at {self.target.host}:{self.target.port} is unreachable: "
                                       f"{_first_line(exc)}") from exc  # fmt: skip
            raise RefusedError(f"ClickHouse server rejected a query: {_first_line(exc)}") from exc

    def execute(self, sql: str) -> None:
        self._call(sql)

    def query(self, sql: str) -> list[tuple]:
        return self._call(sql)

    def query_formatted(self, sql: str, fmt: str) -> bytes:
        from vox.clickhouse.formats import format_rows

        # the native protocol returns values, not text: written by vox, as ClickHouse would
        rows, columns = self._call(sql, with_column_types=True)
        return format_rows(fmt, [name for name, _ in columns], [kind for _, kind in columns], rows)

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._call(f"INSERT INTO {self.database}.{table} ({', '.join(columns)}) VALUES", rows)

    def make_read_only(self, max_seconds: float, max_rows: int) -> None:
        # sent with every query; the server applies `readonly` before the query's own SETTINGS
        self._client.settings.update(_read_only_settings(max_seconds, max_rows))
        # analysts write `FROM interactions`: the database exists now (open_store made it)
        self._client.connection.database = self.database
        self._client.disconnect()  # the next query connects to it

    def close(self) -> None:
        self._client.disconnect()


def _read_only_settings(max_seconds: float, max_rows: int) -> dict[str, Any]:
    """In this order: once `readonly` is 1, no other setting may change."""
    return {"max_execution_time": int(max(1, max_seconds)), "max_result_rows": int(max_rows),
            "result_overflow_mode": "throw", "readonly": 1}  # fmt: skip


# Server error codes that say "not now" rather than "never": overload, limits of the moment,
# a replica or a keeper away, the server shutting down.
TRANSIENT_SERVER_CODES = frozenset({
    159,  # TIMEOUT_EXCEEDED
    202,  # TOO_MANY_SIMULTANEOUS_QUERIES
    209, 210,  # SOCKET_TIMEOUT, NETWORK_ERROR
    241,  # MEMORY_LIMIT_EXCEEDED
    242,  # TABLE_IS_READ_ONLY
    252,  # TOO_MANY_PARTS
    285, 319,  # TOO_FEW_LIVE_REPLICAS, UNKNOWN_STATUS_OF_INSERT
    394,  # QUERY_WAS_CANCELLED
    425,  # SYSTEM_ERROR
    999,  # KEEPER_EXCEPTION
})  # fmt: skip


def _unreachable(exc: BaseException) -> bool:
    from clickhouse_driver import errors

    if isinstance(exc, (errors.NetworkError, errors.SocketTimeoutError, EOFError, OSError)):
        return True
    return isinstance(exc, errors.ServerException) and exc.code in TRANSIENT_SERVER_CODES


def _first_line(exc: BaseException) -> str:
    """The start of an error's message on one line (the server's put the code on a line of its own)."""
    text = " ".join(str(exc).split("Stack trace:")[0].split()) or type(exc).__name__
    return text.rstrip(" ,.")[:300]


def open_store(target: ClickHouseTarget) -> Store:
    store: Store = ChdbStore(target) if target.kind == "chdb" else ServerStore(target)
    store.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(target.database)}")
    return store
