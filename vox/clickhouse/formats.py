"""The output formats of `vox sql` and the worker's /sql endpoint.

On chDB the engine writes them itself (`ChdbStore.query_formatted`: ClickHouse's own escaping).
The native protocol of a server returns typed values instead of text, so for a server the same
formats are written here, following ClickHouse's rules (tests/integration/test_formats_sql.py
checks both give the same bytes): TSV escapes tab, newline and backslash and writes NULL as
`\\N`; CSV quotes strings, doubles quotes and writes NULL as `\\N`; arrays are ClickHouse
literals (`['a','b']`); JSON lines write values natively.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import uuid
from typing import Any, Sequence

#: what `vox sql --format` accepts -> ClickHouse's format name
FORMATS = {
    "pretty": "PrettyCompactNoEscapes",  # no colour escapes: the output may go to a file or a pipe
    "tsv": "TSVWithNames",
    "csv": "CSVWithNames",
    "jsonl": "JSONEachRow",
    "json": "JSONCompact",  # {"meta", "data", ...}: what vox's own clients parse
}

_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\b": "\\b", "\f": "\\f",
                              "\0": "\\0"})  # fmt: skip


_QUOTED_ESCAPES = str.maketrans({**{chr(k): v for k, v in _TSV_ESCAPES.items()}, "'": "\\'"})


def _tsv_field(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, (list, tuple)):  # a literal whose strings are escaped already
        return text_of(value)
    return text_of(value).translate(_TSV_ESCAPES)


def _number(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _timestamp(value: dt.datetime) -> str:
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    return text + f".{value.microsecond // 1000:03d}" if value.microsecond else text


def text_of(value: Any) -> str:
    """A value as ClickHouse writes it in text formats (unescaped; None is the caller's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dt.datetime):
        return _timestamp(value)
    if isinstance(value, (dt.date, uuid.UUID, decimal.Decimal)):
        return str(value)
    if isinstance(value, (list, tuple)):
        inner = ",".join(_literal(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _literal(value: Any) -> str:
    """An element inside an array or tuple: strings and dates quoted, as ClickHouse writes them."""
    if value is None:
        return "NULL"
    if isinstance(value, (str, bytes, dt.date, uuid.UUID)):
        return "'" + text_of(value).translate(_QUOTED_ESCAPES) + "'"
    return text_of(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _number(value)
    return text_of(value)


def _tsv(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["\t".join(name.translate(_TSV_ESCAPES) for name in names)]
    lines += ["\t".join(map(_tsv_field, row)) for row in rows]
    return "\n".join(lines) + "\n"


def _csv_field(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, (bool, int, float, decimal.Decimal)):
        return text_of(value)
    return '"' + text_of(value).replace('"', '""') + '"'


def _csv(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = [",".join(_csv_field(name) for name in names)] + [",".join(map(_csv_field, row)) for row in rows]
    return "\n".join(lines) + "\n"


def _jsonl(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    dump = lambda row: json.dumps(dict(zip(names, map(_json_value, row))), ensure_ascii=False,  # noqa: E731
                                  separators=(",", ":"))  # fmt: skip
    return "".join(dump(row) + "\n" for row in rows)


def _json(names: Sequence[str], types: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    return json.dumps({"meta": [{"name": n, "type": t} for n, t in zip(names, types)],
                       "data": [list(map(_json_value, row)) for row in rows], "rows": len(rows)},
                      ensure_ascii=False)  # fmt: skip


def _pretty(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [["ᴺᵁᴸᴸ" if v is None else text_of(v) for v in row] for row in rows]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(names)]
    top = "┌─" + "─┬─".join(name + "─" * (w - len(name)) for name, w in zip(names, widths)) + "─┐"
    body = ["│ " + " │ ".join(c.ljust(w) for c, w in zip(row, widths)) + " │" for row in cells]
    bottom = "└─" + "─┴─".join("─" * w for w in widths) + "─┘"
    return "\n".join([top, *body, bottom]) + "\n"


def format_rows(fmt: str, names: Sequence[str], types: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """Rows with their column names and ClickHouse types in one of FORMATS' ClickHouse formats."""
    if fmt == FORMATS["tsv"]:
        text = _tsv(names, rows)
    elif fmt == FORMATS["csv"]:
        text = _csv(names, rows)
    elif fmt == FORMATS["jsonl"]:
        text = _jsonl(names, rows)
    elif fmt == FORMATS["json"]:
        text = _json(names, types, rows)
    elif fmt == FORMATS["pretty"]:
        text = _pretty(names, rows)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return text.encode("utf-8")
