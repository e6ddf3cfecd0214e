"""The customer scoring as two keyed stages: content (authorship, for votes that named no
author: `vox.core.customers.content`), and customers: signals keyed by customer, states in
`vox-customers`, scores to `customer_scores` and its history, moves to `segment_transitions` and
`vox.segments`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from vox.core.customers.content import ContentLogic, ContentRouter, content_of
from vox.core.customers.content import pack as pack_content
from vox.core.customers.content import unpack as unpack_content
from vox.core.customers.engine import Placement, Router, Scorer, Transition
from vox.core.customers.rows import SCORE_COLUMNS, TRANSITION_COLUMNS, score_row, segment_message, transition_row
from vox.core.customers.signals import Signal, pack, unpack
from vox.core.customers.state import NEVER, CustomerState
from vox.core.customers.scores import score
from vox.core.customers.sweeps import CUTS, POPULATION, PartitionSweeps, PopulationLogic, SweepClock, scan
from vox.core.customers.sweeps import pack as pack_population
from vox.core.customers.sweeps import unpack as unpack_population
from vox.core.forgotten import forget_key
from vox.core.held import SEPARATOR, held_key
from vox.core.keys import PARTITION_KEY_PREFIX, KeyPartitions, partition_key
from vox.core.stage import KeyedStage, NoRecall, StageOutput
from vox.core.typology import PopulationCuts

if TYPE_CHECKING:
    from vox.settings import Settings

DECODED_CACHE = 200_000  # customers kept decoded in memory; the rest are bytes in the table
def is_customer_key(key: str) -> bool:
    """A key of the customers table that is a customer's state (not a partition's record, not a
    chunk of held signals, `vox.core.held.held_key`)."""
    return not key.startswith(PARTITION_KEY_PREFIX) and SEPARATOR not in key


class CustomerLogic:
    """Signals held in each customer's state until the sweep whose point they precede; sweeps run
    per partition as its watermark allows (`vox.core.customers.sweeps`), each one's histogram
    moves reported to the population stage, whose cuts come back as records of the partition."""

    def __init__(self, scorer: Scorer, partitions: int, decoded_cache: int = DECODED_CACHE):
        c = scorer.config
        self.scorer = scorer
        self.decoded_cache = decoded_cache
        self.partition_of = KeyPartitions(partitions)
        self.clock = SweepClock(c.sweep_minutes * 60, c.allowed_lateness_s)
        self.fixed = (c.competence_cuts, c.implication_cuts)
        self.partitions: dict[int, PartitionSweeps] = {}
        self.table: Mapping[bytes, bytes] = {}
        self._keys: dict[int, str] = {}
        self.loaded: dict[str, bytes | None] = {}  # the table's bytes each decoded state stands for
        self.advanced: set[int] = set()  # partitions with news for their sweeps since the last flush

    def partition_key(self, partition: int) -> str:
        key = self._keys.get(partition)
        if key is None:
            key = self._keys[partition] = partition_key("sweeps", partition, self.partition_of)
        return key

    def held_key(self, key: str, generation: int, chunk: int) -> str:
        # not cached: only customers holding more than HELD_IN_STATE_MAX signals have chunks
        return held_key(key, generation, chunk, self.partition_of)  # the customer's key, no mark: format 6's

    def advance(self, partition: int, watermark: float, table: Mapping[bytes, bytes]) -> None:
        """Before a batch's records: the partition's watermark after them (its sweeps run at
        `flush`), and the table its states are in."""
        self.table = table
        data = table.get(self.partition_key(partition).encode())
        known = self.partitions.get(partition)
        if known is None or known.stored != data:
            # first seen here, or moved on elsewhere since (a rebalance): the table's is the truth
            known = self.partitions[partition] = PartitionSweeps.from_bytes(data)
            known.stored = data
        known.watermark = max(known.watermark, watermark)
        self.advanced.add(partition)

    def _index(self, partition: int, sweeps: PartitionSweeps) -> None:
        """Who is due when, from the partition's states (a worker taking it over)."""
        for key, data in scan(self.table, partition, self.partition_of, is_customer_key):
            self._schedule(key, self._state(key, data), sweeps)  # its held signals' chunks read with it
        sweeps.indexed = True

    def _schedule(self, key: str, state: CustomerState, sweeps: PartitionSweeps, after: int | None = None) -> None:
        """List the customer at its next sweep after `after` (default: the last one run)."""
        if after is None:
            after = sweeps.swept if sweeps.swept is not None else -(2**62)
        # the earlier of: the sweep of its next signal held, the next of its silent points (which
        # depend on its signals' times only, not on whether later ones have arrived yet)
        due = []
        if state.held:
            due.append(max(after + 1, self.clock.covering(min(s.at for s in state.held))))
        if state.scored_at > NEVER:
            due.append(self.clock.silent_due(self.clock.covering(state.latest), after))
        if due:
            sweeps.schedule(key, min(due))

    def _state(self, key: str, data: bytes | None) -> CustomerState:
        """The customer's state: the one decoded here, unless the table holds another since (the
        partition was another worker's meanwhile: the table, restored from the changelog, is
        the truth)."""
        customers = self.scorer.customers
        state = customers.pop(key, None)  # re-inserted last: the dict is the LRU order
        if state is None or self.loaded.get(key) != data:
            state = CustomerState.from_bytes(data) if data else CustomerState()
            # a chunk is written before the state that counts it, in the same partition; one
            # missing (a forgotten customer's, dropped meanwhile) holds nothing any more
            state.held_out.read_back(state.held, lambda g, i: self.table.get(self.held_key(key, g, i).encode()), unpack)
            self.loaded[key] = data
        customers[key] = state
        return state

    def apply(self, key: str, records: list[Signal], source: int, offset: int,
              stored: Callable[[], bytes | None]) -> int | None:  # fmt: skip
        sweeps = self.partitions[self.partition_of(key)]  # loaded by `advance`
        if key.startswith(PARTITION_KEY_PREFIX):
            sweeps.receive([r for r in records if r.kind == CUTS])  # the population's cuts: idempotent
            self.advanced.add(self.partition_of(key))
            return len(records)
        state = self._state(key, stored())
        if offset <= state.applied_offset:
            return None  # the changelog had it already
        held = [signal for signal in records if self.scorer.hold(state, signal)]
        state.applied_offset = offset
        if held:
            self._schedule(key, state, sweeps)
        return len(held)

    def flush(self, keys: Sequence[str]) -> StageOutput:
        customers = self.scorer.customers
        output = StageOutput()
        saved = [key for key in dict.fromkeys(keys) if not key.startswith(PARTITION_KEY_PREFIX)]
        reports, swept, rows = [], {}, SweptRows()
        for partition in sorted(self.advanced):
            sweeps = self.partitions[partition]
            moved = self._sweep(partition, sweeps, rows, saved)
            if moved is not None:
                reports.append([partition, sweeps.swept, moved])
            data = sweeps.to_bytes()
            if data != sweeps.stored:
                swept[self.partition_key(partition)] = sweeps.stored = data
        self.advanced = set()
        rows.into(output)
        if reports:
            output.records["population"] = reports
        for key in dict.fromkeys(saved):
            if key in customers:
                # the held signals' new chunks before the state that counts them, those it no
                # longer counts deleted after it (`CustomerState.held_writes`)
                chunks, dropped = customers[key].held_writes()
                output.states.update((self.held_key(key, *at), chunk) for at, chunk in chunks)
                output.states[key] = self.loaded[key] = customers[key].to_bytes()
                output.states.update((self.held_key(key, *at), None) for at in dropped)
        # the partitions' sweeps after their customers: a crash between the two writes leaves
        # customers swept that the partition will sweep again (recognised: `scored_at`), never
        # a partition past sweeps its customers have not had
        output.states.update(swept)
        while len(customers) > self.decoded_cache:
            self.loaded.pop(evicted := next(iter(customers)), None)
            customers.pop(evicted)
        return output

    def redact(self, key: str, value: bytes, forgotten: set[str]) -> bytes | None:
        """A forgotten customer's state and the chunks of its held signals go (`StageRunner.forget`)."""
        return None if forget_key(key.split(SEPARATOR, 1)[0]) in forgotten else value

    def _sweep(self, partition: int, sweeps: PartitionSweeps, rows: SweptRows,
               saved: list[str]) -> list | None:  # fmt: skip
        """Run every sweep the watermark and the population's cuts allow; the histogram moves of
        each (None: nothing to report)."""
        ready = self.clock.ready(sweeps.watermark)
        if ready is None:
            return None
        if not sweeps.indexed:
            self._index(partition, sweeps)
        if sweeps.swept is None:
            # the first sweep: none before the earliest signal held (so that no customer's
            # signals are swept later here than elsewhere), none beyond the watermark
            sweeps.swept = min([ready, *(j - 1 for j in sweeps.due)])
            return []
        c = self.scorer.config
        reported: list = []
        while sweeps.swept < ready:
            j = sweeps.swept + 1
            cuts = self.fixed if c.cut_mode == "fixed" else sweeps.cuts_for(j, c.cuts_lag_sweeps, self.fixed)
            if cuts is None:
                break  # the population has not sent them yet: the next batch (its records) resumes
            reported.append([j, self._sweep_one(j, sweeps, cuts, rows, saved)])
            sweeps.swept = j
        sweeps.prune(c.cuts_lag_sweeps)
        return reported or None

    def _sweep_one(self, j: int, sweeps: PartitionSweeps, cuts, rows: SweptRows, saved: list[str]) -> list:  # noqa: ANN001
        point = self.clock.point(j)
        moves: dict[tuple[int, int], int] = {}

        def move(axis: int, old: float | None, new: float | None) -> None:
            for value, d in ((old, -1), (new, 1)):
                if value is not None:
                    b = PopulationCuts.bin_of(value)
                    moves[(axis, b)] = moves.get((axis, b), 0) + d

        scorer, customers = self.scorer, self.scorer.customers
        for key in sorted(sweeps.due.pop(j, ())):
            data = self.table.get(key.encode())
            if data is None and key not in customers:
                continue  # forgotten meanwhile
            state = self._state(key, data)
            if state.scored_at >= point:
                # listed twice, or swept here before a crash that kept it and not its partition's
                # sweeps: listed again after its own last sweep
                self._schedule(key, state, sweeps, after=self.clock.covering(state.scored_at))
                continue
            held_now = any(s.at <= point for s in state.held)
            if not held_now and self.clock.silent_due(self.clock.covering(state.latest), j - 1) != j:
                self._schedule(key, state, sweeps, after=j)  # not due here after all (an earlier listing)
                continue
            scorer.release(state, point)
            if state.signals == 0:
                self._schedule(key, state, sweeps, after=j)
                continue
            s = score(state, point, scorer.config)
            scorer.recount(state, s, move)
            placement, transition = scorer.placement(key, state, s, cuts)
            state.scored_at = point
            rows.add(placement, transition, int(point))
            self._schedule(key, state, sweeps, after=j)
            saved.append(key)
        return [[axis, b, d] for (axis, b), d in sorted(moves.items()) if d]

    def drop(self, key: str) -> None:
        self.scorer.customers.pop(key, None)
        self.loaded.pop(key, None)


@dataclass
class SweptRows:
    """What a batch's sweeps write, gathered over all of them: one insert per table per batch,
    and in `customer_scores` each customer's last row only (the table keeps the highest version:
    the earlier sweeps' rows of a batch that ran many, a backlog's, would be written only to be
    replaced). History and transitions get every one."""

    scores: dict[str, tuple] = field(default_factory=dict)
    history: list[tuple] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)

    def add(self, placement: Placement, transition: Transition | None, version: int) -> None:
        row = self.scores[placement.customer_id] = score_row(placement, version=version)  # sweeps in order: the last wins
        if placement.snapshot:
            self.history.append(row)
        if transition is not None:
            self.transitions.append(transition)

    def into(self, output: StageOutput) -> None:
        if self.scores:
            output.rows.extend([("customer_scores", SCORE_COLUMNS, list(self.scores.values())),
                                ("customer_score_history", SCORE_COLUMNS, self.history),
                                ("segment_transitions", TRANSITION_COLUMNS, [transition_row(t) for t in self.transitions])])  # fmt: skip
        output.messages.extend(("segments", t.customer_id.encode(), segment_message(t)) for t in self.transitions)


class NothingFromIngest(NoRecall):
    def records_of(self, events, positions) -> list:  # noqa: ANN001
        return []


def _router(settings: "Settings") -> Router:
    return Router(settings.scoring)


def _logic(settings: "Settings") -> CustomerLogic:
    return CustomerLogic(Scorer(settings.scoring), settings.topic_partitions)


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
    return ContentLogic(settings.scoring, settings.runs("leaders"))


#: Runs before the customers stage (in `vox replay`, whose stages run in the declared order):
#: the signals it resolves go to the customers stage's topic.
CONTENT: KeyedStage[list] = KeyedStage(
    name="content",
    topic="content",
    table="vox-content",
    router=lambda settings: ContentRouter(settings.runs("leaders")),
    logic=_content_logic,
    key_of=content_of,
    pack=pack_content,
    unpack=unpack_content,
    feeds=("signals", "interactions"),  # the leaders stage's, when it runs
)


def _population_logic(settings: "Settings") -> PopulationLogic:
    c, partitions = settings.scoring, settings.topic_partitions
    partition_of = KeyPartitions(partitions)
    keys = [partition_key("cuts", p, partition_of) for p in range(partitions)]
    return PopulationLogic(partitions, (c.competence_shares, c.implication_shares),
                           (c.competence_cuts, c.implication_cuts), lambda: keys)  # fmt: skip


#: Runs after the customers stage: their sweeps' histogram moves, one key for the whole
#: population; the cuts it completes go back to every customers partition (`vox.signals`),
#: with no event-time marks (the customers' watermark does not wait for it: it waits for them).
POPULATION_STAGE: KeyedStage[list] = KeyedStage(
    name="population",
    topic="population",
    table="vox-population",
    router=lambda settings: NothingFromIngest(),
    logic=_population_logic,
    key_of=lambda record: POPULATION,
    pack=pack_population,
    unpack=unpack_population,
    from_ingest=False,
)
