"""The scoring stage of the worker: apply a batch of signals to customer states, place the
customers, write their scores, announce their moves.

Customer states live in a Faust table (changelog topic, compacted): a restarted or rebalanced
worker gets them back. A decoded copy of the recently used ones is kept in memory.

A `vox.signals` message carries the signals of one batch for the customers of one partition
(see `vox/worker/app.py`), so the scoring stage handles a few messages per batch, not one per event.

Exactly-once effect, with at-least-once delivery:
* a state records the highest `vox.signals` offset applied to it (a customer's signals all
  travel in one partition), so signals re-read after a restart are skipped if the changelog
  already had them;
* each signal carries the input partition and offset of the event it came from, and a state
  keeps the last offset applied per input partition, so a batch the routing stage sent twice
  (crash between publishing and storing) is applied once; signals of one event share an offset,
  and the ids of the last ones applied tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable, MutableMapping, Sequence

from vox.worker.retry import Patient
from vox.core.customers.config import ScoringConfig
from vox.core.customers.engine import Scorer, Transition
from vox.replay import write_scores
from vox.core.customers.signals import by_customer, unpack
from vox.core.customers.state import FLAG_COUNTED, CustomerState
from vox.forget import forget_key
from vox.metrics import WorkerMetrics
from vox.clickhouse.store import Store

DECODED_CACHE = 200_000  # customers kept decoded in memory; the rest are bytes in the table


@dataclass(frozen=True, slots=True)
class SignalRecord:
    topic: str
    key: bytes | None
    value: bytes
    partition: int
    offset: int


class ScoreSink:
    def __init__(self, store: Store, config: ScoringConfig, table: MutableMapping[bytes, bytes],
                 publish_transitions: Callable[[Sequence[Transition]], Awaitable[None]], patient: Patient,
                 metrics: WorkerMetrics):  # fmt: skip
        self.store, self.table, self.publish_transitions = store, table, publish_transitions
        self.metrics = metrics
        self.scorer = Scorer(config)
        self.patient = patient  # shared with the ingest stage: one ClickHouse thread

    def _state(self, customer_id: str) -> CustomerState:
        customers = self.scorer.customers
        state = customers.pop(customer_id, None)  # re-inserted last: the dict is the LRU order
        if state is None:
            stored = self.table.get(customer_id.encode())
            if stored:
                state = CustomerState.from_bytes(stored)
                # the adaptive cut histogram is this process's: count this customer afresh
                state.flags &= ~FLAG_COUNTED
                state.placed[0] = state.placed[1] = -1.0
            else:
                state = CustomerState()
        customers[customer_id] = state
        return state

    async def write_batch(self, records: Sequence[SignalRecord]) -> int:
        touched: list[str] = []
        applied = 0
        for record in records:
            for customer_id, signals in by_customer(unpack(record.value)).items():
                state = self._state(customer_id)
                if record.offset <= state.applied_offset:
                    continue  # the changelog had it already
                for signal in signals:
                    applied += self.scorer.apply(signal)
                state.applied_offset = record.offset
                touched.append(customer_id)  # its offset moved: save it either way
        self.metrics.signals_applied.inc(applied)
        placements, transitions = self.scorer.place(touched)
        # moves are announced before they are stored: a crash between the two announces a move
        # again (at least once) rather than storing one nobody heard of, since the re-run after a
        # restart may place the customer at other batch boundaries and not make that move again
        if transitions:
            await self.patient.send(self.publish_transitions, transitions)
        await self.patient.call(write_scores, self.store, placements, transitions)
        for customer_id in dict.fromkeys(touched):
            self.table[customer_id.encode()] = self.scorer.customers[customer_id].to_bytes()
        self._trim()
        self.metrics.customers_scored.inc(len(placements))
        self.metrics.transitions.inc(len(transitions))
        for record in records:
            self.metrics.mark_processed(record.topic, record.partition, record.offset)
        return len(placements)

    def forget(self, keys: set[str]) -> None:
        """Drop the states of these forgotten customers (keys of `vox.forget`): deleting them
        from the table writes a tombstone to its changelog."""
        for stored in [key for key in self.table.keys() if forget_key(key.decode(errors="replace")) in keys]:
            del self.table[stored]
            self.scorer.customers.pop(stored.decode(errors="replace"), None)

    def _trim(self) -> None:
        customers = self.scorer.customers
        while len(customers) > DECODED_CACHE:
            customers.pop(next(iter(customers)))
