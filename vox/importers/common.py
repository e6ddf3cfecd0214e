"""What every importer shares: time ordering with bounded memory, validation, the report.

Exports are rarely in time order across files (a dump's comments and votes are separate from
its posts), and may be far larger than memory. Importers hand events to an `EventSpill`, a
temporary SQLite table that sorts on disk; the output is then written in time order, each event
validated against the published schemas first, so what comes out always passes the worker.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from pydantic import ValidationError

from vox.schemas import EVENT_ADAPTER
from vox.core.triage import explain


@dataclass
class ImportReport:
    families: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)  # reason -> count

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    @property
    def written(self) -> int:
        return sum(self.families.values())

    def summary(self) -> str:
        parts = ", ".join(f"{family} {count}" for family, count in sorted(self.families.items()))
        text = f"wrote {self.written} events ({parts or 'none'})"
        if self.skipped:
            text += "; skipped " + ", ".join(f"{count} {reason}" for reason, count in self.skipped.most_common())
        return text


class EventSpill:
    """Events in, events out in `(occurred_at, event_id)` order, sorted on disk by SQLite."""

    def __init__(self, directory: Path | None = None):
        self._dir = tempfile.TemporaryDirectory(prefix="vox-import-", dir=directory)
        self._db = sqlite3.connect(Path(self._dir.name) / "spill.db")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE events (occurred_at TEXT, event_id TEXT, body TEXT)")
        self._pending: list[tuple[str, str, str]] = []

    @property
    def directory(self) -> Path:
        """A private temporary directory, removed by `close` (for an importer's own indexes)."""
        return Path(self._dir.name)

    def add(self, event: dict) -> None:
        self._pending.append((event["occurred_at"], event["event_id"], json.dumps(event, ensure_ascii=False)))
        if len(self._pending) >= 10_000:
            self._flush()

    def _flush(self) -> None:
        self._db.executemany("INSERT INTO events VALUES (?, ?, ?)", self._pending)
        self._pending.clear()

    def in_time_order(self) -> Iterator[str]:
        self._flush()
        # Timestamps are all written the same way (UTC, milliseconds, 'Z'), so text order is time order.
        yield from (body for (body,) in self._db.execute("SELECT body FROM events ORDER BY occurred_at, event_id"))

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()


def write_events(spill: EventSpill, out: Path, report: ImportReport) -> None:
    """Validate each event against the schemas and write the valid ones, in time order."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as sink:
        for body in spill.in_time_order():
            try:
                event = EVENT_ADAPTER.validate_json(body)
            except ValidationError as exc:
                report.skip(f"invalid ({explain(exc, body.encode())[0]})")
                continue
            sink.write(body + "\n")
            report.families[event.type] += 1


def iso_utc(text: str) -> str:
    """A dump's naive timestamp (UTC by convention), as vox writes timestamps: ms and 'Z'."""
    date, _, time = text.partition("T")
    time = time or "00:00:00"
    if "." in time:
        whole, fraction = time.split(".", 1)
        time = f"{whole}.{(fraction + '000')[:3]}"
    else:
        time = f"{time}.000"
    return f"{date}T{time}Z"
