"""The analyst query path: one statement, read-only at the engine level, bounded.

Whatever an analyst can send (`vox sql`, and later the dashboard's endpoints) goes through
`run_analyst_query`. The guard that counts is the engine's: the connection is switched to
`readonly = 1` after its limits are set, so no statement, `SETTINGS` clause or `SET` can lift it,
and ClickHouse itself then refuses writes, DDL and every table function that reaches files, URLs
or other servers (`file`, `url`, `s3`, `remote`, `mysql`, `executable`...). The text checks below
only cover what the engine cannot see: several statements in one call (chDB runs them all) and
`INTO OUTFILE`, which chDB executes in-process as a client would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, TypeVar

from vox.errors import VoxError
from vox.clickhouse.formats import FORMATS
from vox.clickhouse.store import Store

T = TypeVar("T")

READ_ONLY_WORDS = {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN"}
_LITERAL = re.compile(
    r"""'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`"""  # strings and quoted identifiers
    r"""|--[^\n]*|\#[^\n]*|/\*.*?\*/""",  # comments
    re.DOTALL,
)
_OUTFILE = re.compile(r"\bINTO\s+OUTFILE\b", re.IGNORECASE)


@dataclass(frozen=True)
class QueryLimits:
    max_seconds: float = 30.0
    max_rows: int = 100_000


class QueryRefused(VoxError):
    """The query is not one an analyst may run; the message says why."""


def checked_statement(sql: str) -> str:
    """The one read-only statement in `sql` (a trailing `;` dropped), or QueryRefused."""
    code = _LITERAL.sub(lambda m: " " if m.group(0)[0] in "-#/" else "''", sql)
    body = code.strip().rstrip(";").strip()
    if not body:
        raise QueryRefused("no statement given: pass one SELECT query")
    if ";" in body:
        raise QueryRefused("one statement at a time: the query holds a ';' between statements")
    first = body.split(None, 1)[0].upper().lstrip("(")
    if first not in READ_ONLY_WORDS:
        raise QueryRefused(f"read-only queries only ({', '.join(sorted(READ_ONLY_WORDS))}); got {first[:30]}")
    if _OUTFILE.search(body):
        raise QueryRefused("INTO OUTFILE is not allowed: vox sql prints rows; redirect its output to a file")
    return sql.strip().rstrip(";").rstrip()  # the original text: literals untouched


def run_analyst_query(store: Store, sql: str, limits: QueryLimits) -> list[tuple]:
    """Rows of one checked, read-only, bounded query. The store stays read-only afterwards."""
    return _guarded(store, sql, limits, store.query)


def analyst_output(store: Store, sql: str, limits: QueryLimits, fmt: str) -> bytes:
    """The same query's result in a ClickHouse output format (`vox.clickhouse.formats.FORMATS`)."""
    if fmt not in FORMATS.values():
        raise QueryRefused(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    return _guarded(store, sql, limits, lambda statement: store.query_formatted(statement, fmt))


def _guarded(store: Store, sql: str, limits: QueryLimits, run: Callable[[str], T]) -> T:
    statement = checked_statement(sql)
    store.make_read_only(limits.max_seconds, limits.max_rows)
    try:
        return run(statement)
    except QueryRefused:
        raise
    except VoxError as exc:
        raise QueryRefused(_plain_refusal(str(exc), limits)) from None


def _plain_refusal(message: str, limits: QueryLimits) -> str:
    if "readonly" in message.lower() or "READONLY" in message:
        return ("refused: vox sql is read-only; this statement would change data, change settings or reach "
                "outside the database (files, URLs, other servers)")  # fmt: skip
    if "TOO_MANY_ROWS" in message or "Limit for result exceeded" in message:
        return f"refused: the result has over {limits.max_rows:,} rows (VOX_QUERY_MAX_ROWS): aggregate or add a LIMIT"
    if "TIMEOUT_EXCEEDED" in message or "Timeout exceeded" in message:
        return f"refused: the query ran over {limits.max_seconds:g} s (VOX_QUERY_MAX_SECONDS): narrow it"
    return message
