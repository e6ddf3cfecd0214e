"""What the pure stages need from storage, as small protocols.

The worker and `vox replay` pass `vox.clickhouse.tables.VoxTables`, the one ClickHouse adapter;
unit tests pass an in-memory fake (`tests/fakes.py`). Nothing here knows SQL.
"""

from __future__ import annotations

from typing import Protocol, Sequence


Position = tuple[str, int]  # (topic, partition)


class RoutingMemory(Protocol):
    """Every event ever stored, as routing needs to see it after a restart or a rebalance."""

    def ratings_of(self, product_ids: Sequence[str]) -> list[tuple[str, float, int]]:
        """(product, event time, rating) of every stored review of these products, in (event
        time, event id) order."""


class EventTables(Protocol):
    """Where ingest writes: `interactions` (with `event_keys`) and `dead_letters`."""

    def stored_digests(self, event_ids: Sequence[str]) -> dict[str, int]:
        """The content digest of the stored copy of each of these events that is stored."""

    def insert_interactions(self, rows: Sequence[tuple]) -> None: ...

    def stored_dead_letters(self, positions: Sequence[tuple[str, int, int]]) -> set[tuple[str, int, int]]:
        """Which of these (topic, partition, offset) already have a dead letter."""

    def insert_dead_letters(self, rows: Sequence[tuple]) -> None: ...

    def forgotten_keys(self) -> set[str]: ...


class ProgressTable(Protocol):
    """Each stage's watermarks (`vox.core.continuity`), per consumer group."""

    def load_progress(self, group: str, partitions: Sequence[Position]) -> dict[Position, int]: ...

    def save_progress(self, group: str, moved: dict[Position, int]) -> None: ...


class StageTables(Protocol):
    """Where keyed stages write their rows (`vox.core.stage.StageOutput`)."""

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None: ...


class ReplayTables(EventTables, StageTables, Protocol):
    """What `vox replay` writes to."""
