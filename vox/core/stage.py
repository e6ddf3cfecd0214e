"""A keyed stage: state keyed by something other than the input's partitioning (a customer, a
product, a topic), fed by the keyed records routing emits for it.

One `KeyedStage` declares all of it: the records it takes from each batch of new events (its
`router`), how they travel (`pack` / `unpack`, partitioned by `key_of`), the pure logic that
folds them into per-key state and says what to write (`logic`), the changelogged table the state
lives in, and the ClickHouse tables its rows go to (`ddl`). The worker runs every declared
stage the same way (`vox.worker.stage`): a topic, a Faust table, a continuity guard, the commit
order of `vox.worker.commit`; `vox replay` runs the same router and logic in-process
(`vox.replay`); so stream and replay agree by construction.

Two rules a stage's logic keeps, since delivery is at least once:
* the state remembers the highest offset of the stage's topic it has applied (`applied_offset`):
  a record re-read after a restart, whose state the changelog already had, is skipped;
* records carry the input position they came from, and the state recognises a batch routing
  sent twice (a crash between publishing and storing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Generic, Protocol, Sequence, TypeVar

from vox.core.ports import RoutingMemory
from vox.schemas import Event

if TYPE_CHECKING:
    from vox.settings import Settings

Rec = TypeVar("Rec")


@dataclass
class StageOutput:
    """What a stage's batch produces: rows per ClickHouse table, and messages for output topics
    (topic suffix, key, value). Rows carry deterministic keys: writing them twice changes nothing."""

    rows: list[tuple[str, Sequence[str], list[tuple]]] = field(default_factory=list)
    messages: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    states: dict[str, bytes | None] = field(default_factory=dict)  # the touched keys' states, for the table (None: delete)
    records: dict[str, list] = field(default_factory=dict)  # keyed records for other stages, by their topic
    marks: dict[str, dict] = field(default_factory=dict)  # event-time marks sent with them (`vox.core.progress`)
    counts: dict[str, int] = field(default_factory=dict)  # what the rows do not show (votes unresolved)
    levels: dict[str, float] = field(default_factory=dict)  # latest levels of a bounded set of keys, for gauges


class StageRouter(Protocol[Rec]):
    """Events -> keyed records. It may hold state of its own (a cache it can rebuild from
    `RoutingMemory`: the worker calls `recall` before each batch, on the ClickHouse thread)."""

    def recall(self, memory: RoutingMemory, events: Sequence[Event]) -> None: ...

    def records_of(self, events: Sequence[Event], positions: Sequence[tuple[int, int]]) -> list[Rec]:
        """The batch's records, in order; `positions`: (input partition id, offset) per event."""


class KeyedLogic(Protocol[Rec]):
    """The per-key state of one process and what it makes of records."""

    def apply(self, key: str, records: list[Rec], source: int, offset: int,
              stored: Callable[[], bytes | None]) -> int | None:  # fmt: skip
        """Fold the records (from `offset` of the stage topic's partition `source`, a
        `vox.core.keys.source_id`; -1 in a replay) into the key's state, loading it with `stored`
        if it is not in memory; the number of records applied, or None when the state had this
        offset already. What the logic emits from here carries that position."""

    def flush(self, keys: Sequence[str]) -> StageOutput:
        """The output of the keys touched since the last flush, their states among it."""

    def drop(self, key: str) -> None:
        """Forget the key's state in memory (its table entry is deleted by the caller)."""

    # Optional: `redact(key, state, forgotten) -> bytes | None`, the state without these
    # forgotten customers (`vox.core.forgotten` keys), None to delete it. Without it, a state
    # whose key is a forgotten customer is deleted.


class NoRecall:
    """For routers that need nothing from storage."""

    def recall(self, memory: RoutingMemory, events: Sequence[Event]) -> None:
        return None


@dataclass(frozen=True)
class KeyedStage(Generic[Rec]):
    name: str  # in logs and metrics
    topic: str  # suffix of its input topic (`vox.` + topic)
    table: str  # its Faust table, changelogged to `{group}-{table}-changelog`
    router: Callable[["Settings"], StageRouter[Rec]]
    logic: Callable[["Settings"], KeyedLogic[Rec]]
    key_of: Callable[[Rec], str]
    pack: Callable[[list[Rec]], bytes]
    unpack: Callable[[bytes], list[Rec]]
    outputs: tuple[str, ...] = ()  # suffixes of the topics its messages go to
    feeds: tuple[str, ...] = ()  # topics it sends keyed records to with its event-time marks (`vox.core.progress`)
    from_ingest: bool = True  # routed from every ingest batch (False: only other stages feed it)
    ddl: tuple[str, ...] = ()  # CREATE TABLE IF NOT EXISTS ... of its own tables (`{db}` for the database)


class JsonRecords:
    """`pack` / `unpack` for a stage whose records are JSON lists, in a versioned envelope: a
    message in a format this vox does not read is refused by name, never misread."""

    def __init__(self, version: int, what: str):
        self.version, self.what = version, what

    def pack(self, records: list) -> bytes:
        from pydantic_core import to_json

        return to_json({"format": self.version, "records": records})

    def unpack(self, data: bytes) -> list:
        from pydantic_core import from_json

        from vox.errors import VoxError

        message = from_json(data)
        if not isinstance(message, dict) or message.get("format") != self.version:
            raise VoxError(f"{self.what} message is in a format this vox does not read ({str(data[:40])})")
        return message["records"]


def by_key(stage: KeyedStage[Rec], records: Sequence[Rec]) -> dict[str, list[Rec]]:
    """The records of each key, in their order."""
    grouped: dict[str, list[Rec]] = {}
    key_of = stage.key_of
    for record in records:
        grouped.setdefault(key_of(record), []).append(record)
    return grouped
