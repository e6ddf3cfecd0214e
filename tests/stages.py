"""A keyed stage of a few dozen lines, to prove the extension point (`vox.core.stage`): events
per product, streamed by the worker (`VOX_STAGES=customers,tests.stages:PRODUCT_EVENTS`) and
replayed by `vox replay` through the same declaration."""

from __future__ import annotations

import json
from typing import Callable, Sequence

from vox.core.stage import KeyedStage, NoRecall, StageOutput
from vox.schemas import Event

Record = list  # [product id, input partition id, offset]


class ProductRouter(NoRecall):
    def records_of(self, events: Sequence[Event], positions: Sequence[tuple[int, int]]) -> list[Record]:
        return [[e.product_id, source, offset] for e, (source, offset) in zip(events, positions)
                if getattr(e, "product_id", None)]  # fmt: skip


class ProductCounts:
    """State per product: {"events": n, "offset": applied offset, "at": {source: last offset}}."""

    def __init__(self) -> None:
        self.states: dict[str, dict] = {}

    def apply(self, key: str, records: list[Record], source: int, offset: int,
              stored: Callable[[], bytes | None]) -> int | None:  # fmt: skip
        state = self.states.get(key) or json.loads(stored() or b'{"events": 0, "offset": -1, "at": {}}')
        self.states[key] = state
        if offset <= state["offset"]:
            return None
        applied = 0
        for _, source, position in records:
            last = state["at"].get(str(source), -1)
            if source < 0 or position > last:  # a batch routing sent twice is recognised
                state["at"][str(source)] = max(last, position)
                state["events"] += 1
                applied += 1
        state["offset"] = offset
        return applied

    def flush(self, keys: Sequence[str]) -> StageOutput:
        keys = list(dict.fromkeys(keys))
        rows = [(key, self.states[key]["events"]) for key in keys]
        return StageOutput(rows=[("product_events", ("product_id", "events"), rows)],
                           states={key: json.dumps(self.states.pop(key)).encode() for key in keys})  # fmt: skip

    def drop(self, key: str) -> None:
        self.states.pop(key, None)


PRODUCT_EVENTS: KeyedStage[Record] = KeyedStage(
    name="product_events", topic="product-events", table="vox-product-events",
    router=lambda settings: ProductRouter(), logic=lambda settings: ProductCounts(), key_of=lambda record: record[0],
    pack=lambda records: json.dumps(records).encode(), unpack=json.loads,
    ddl=("CREATE TABLE IF NOT EXISTS {db}.product_events (product_id String, events UInt64) "
         "ENGINE = ReplacingMergeTree(events) ORDER BY product_id",),
)  # fmt: skip
