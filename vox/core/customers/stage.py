"""The customer scoring as two keyed stages: content (authorship, for votes that named no
author: `vox.core.customers.content`), and customers: signals keyed by customer, states in
`vox-customers`, scores to `customer_scores` and its history, moves to `segment_transitions` and
`vox.segments`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

from vox.core.customers.content import ContentLogic, ContentRouter, content_of
from vox.core.customers.content import pack as pack_content
from vox.core.customers.content import unpack as unpack_content
from vox.core.customers.engine import Router, Scorer
from vox.core.customers.rows import SCORE_COLUMNS, TRANSITION_COLUMNS, score_row, segment_message, transition_row
from vox.core.customers.signals import Signal, pack, unpack
from vox.core.customers.state import FLAG_COUNTED, FLAG_COUNTED_I, CustomerState
from vox.core.stage import KeyedStage, StageOutput

if TYPE_CHECKING:
    from vox.settings import Settings

DECODED_CACHE = 200_000  # customers kept decoded in memory; the rest are bytes in the table


class CustomerLogic:
    def __init__(self, scorer: Scorer, decoded_cache: int = DECODED_CACHE):
        self.scorer = scorer
        self.decoded_cache = decoded_cache

    def _state(self, customer_id: str, stored: Callable[[], bytes | None]) -> CustomerState:
        customers = self.scorer.customers
        state = customers.pop(customer_id, None)  # re-inserted last: the dict is the LRU order
        if state is None:
            data = stored()
            if data:
                state = CustomerState.from_bytes(data)
                # the adaptive cut histogram is this process's: count this customer afresh
                state.flags &= ~(FLAG_COUNTED | FLAG_COUNTED_I)
                state.placed[0] = state.placed[1] = -1.0
            else:
                state = CustomerState()
        customers[customer_id] = state
        return state

    def apply(self, key: str, records: list[Signal], source: int, offset: int,
              stored: Callable[[], bytes | None]) -> int | None:  # fmt: skip
        state = self._state(key, stored)
        if offset <= state.applied_offset:
            return None  # the changelog had it already
        applied = sum(self.scorer.apply(signal) for signal in records)
        state.applied_offset = offset
        return applied

    def flush(self, keys: Sequence[str]) -> StageOutput:
        placements, transitions = self.scorer.place(keys)
        customers = self.scorer.customers
        scores = [score_row(p) for p in placements]  # each row built once: history takes the snapshots
        output = StageOutput(
            rows=[("customer_scores", SCORE_COLUMNS, scores),
                  ("customer_score_history", SCORE_COLUMNS, [row for row, p in zip(scores, placements) if p.snapshot]),
                  ("segment_transitions", TRANSITION_COLUMNS, [transition_row(t) for t in transitions])],
            messages=[("segments", t.customer_id.encode(), segment_message(t)) for t in transitions],
            states={key: customers[key].to_bytes() for key in dict.fromkeys(keys) if key in customers},
        )  # fmt: skip
        while len(customers) > self.decoded_cache:
            customers.pop(next(iter(customers)))
        return output

    def drop(self, key: str) -> None:
        self.scorer.customers.pop(key, None)


def _router(settings: "Settings") -> Router:
    return Router(settings.scoring)


def _logic(settings: "Settings") -> CustomerLogic:
    return CustomerLogic(Scorer(settings.scoring))


def _customer_of(signal: Signal) -> str:
    return signal.customer_id


CUSTOMERS: KeyedStage[Signal] = KeyedStage(
    name="customers",
    topic="signals",
    table="vox-customers",
    router=_router,
    logic=_logic,
    key_of=_customer_of,
    pack=pack,
    unpack=unpack,
    outputs=("segments",),
)


def _content_logic(settings: "Settings") -> ContentLogic:
    return ContentLogic(settings.scoring)


#: Runs before the customers stage (in `vox replay`, whose stages run in the declared order):
#: the signals it resolves go to the customers stage's topic.
CONTENT: KeyedStage[list] = KeyedStage(
    name="content",
    topic="content",
    table="vox-content",
    router=lambda settings: ContentRouter(),
    logic=_content_logic,
    key_of=content_of,
    pack=pack_content,
    unpack=unpack_content,
)
