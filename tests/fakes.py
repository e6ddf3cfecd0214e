"""An in-memory stand-in for `vox.clickhouse.tables.VoxTables`, for unit tests of ingest,
routing and replay: the protocols of `vox.core.ports`, over lists of the same rows."""

from __future__ import annotations

from typing import Sequence

from vox.core.interactions import INTERACTION_COLUMNS, dead_letter_position

COLUMN = {name: i for i, name in enumerate(INTERACTION_COLUMNS)}


class MemoryTables:
    def __init__(self) -> None:
        self.interactions: list[tuple] = []
        self.dead_letters: list[tuple] = []
        self.forgotten: set[str] = set()
        self.progress: dict[tuple[str, str, int], int] = {}
        self.rows: dict[str, list[tuple]] = {}  # keyed stages' tables

    def _value(self, row: tuple, column: str) -> object:
        return row[COLUMN[column]]

    def stored_digests(self, event_ids: Sequence[str]) -> dict[str, int]:
        wanted = set(event_ids)
        return {row[COLUMN["event_id"]]: row[COLUMN["content_digest"]] for row in self.interactions
                if row[COLUMN["event_id"]] in wanted}  # fmt: skip

    def insert_interactions(self, rows: Sequence[tuple]) -> None:
        self.interactions.extend(rows)

    def stored_dead_letters(self, positions: Sequence[tuple[str, int, int]]) -> set[tuple[str, int, int]]:
        return set(positions) & {dead_letter_position(row) for row in self.dead_letters}

    def insert_dead_letters(self, rows: Sequence[tuple]) -> None:
        self.dead_letters.extend(rows)

    def forgotten_keys(self) -> set[str]:
        return set(self.forgotten)

    def ratings_of(self, product_ids: Sequence[str]) -> list[tuple[str, float, int]]:
        wanted = set(product_ids)
        rows = sorted((r for r in self.interactions if self._value(r, "event_type") == "review"
                       and self._value(r, "product_id") in wanted),
                      key=lambda r: (self._value(r, "occurred_at"), self._value(r, "event_id")))  # fmt: skip
        return [(self._value(r, "product_id"), self._value(r, "occurred_at").timestamp(), self._value(r, "rating"))
                for r in rows]  # fmt: skip

    def load_progress(self, group: str, partitions: Sequence[tuple[str, int]]) -> dict[tuple[str, int], int]:
        return {(t, p): self.progress[(group, t, p)] for t, p in partitions if (group, t, p) in self.progress}

    def save_progress(self, group: str, moved: dict[tuple[str, int], int]) -> None:
        for (t, p), offset in moved.items():
            self.progress[(group, t, p)] = max(offset, self.progress.get((group, t, p), 0))

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
        self.rows.setdefault(table, []).extend(rows)

    def latest(self, table: str, key_column: int = 0, version_column: int = 1) -> dict:
        """The last version of each key, as a ReplacingMergeTree keeps it."""
        found: dict = {}
        for row in self.rows.get(table, []):
            if row[key_column] not in found or row[version_column] >= found[row[key_column]][version_column]:
                found[row[key_column]] = row
        return found
