"""The scoring core in two stages, pure and synchronous.

* `Router` turns events into signals keyed by the customer they are about. It holds the state
  keyed by something else than a customer: content authorship (to re-key votes whose producer
  did not know the author) and product consensus (for rating accuracy).
* `Scorer` holds each customer's state, applies their signals, and places them in the typology
  when asked (`place`): at the end of a batch in the worker, every few thousand events in a
  replay. A move between cells is a `Transition`.

The worker runs the two stages on their own partitions; `vox replay`, the tests and the
benchmarks run them back to back in one process. The numbers are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from vox.schemas import Event, Review, Vote
from vox.core.customers import signals as S
from vox.core.customers.config import ScoringConfig
from vox.core.customers.consensus import ProductConsensus
from vox.core.customers.content import ANONYMOUS, ContentLogic, content_of, content_records
from vox.core.customers.scores import Scores, half_lives, score
from vox.core.customers.state import FLAG_COUNTED, FLAG_COUNTED_I, FLAG_PLACED, FLAG_PLACED_I, CustomerState
from vox.core.ports import RoutingMemory
from vox.core.typology import ACTIONS, PopulationCuts, cell_index, cell_name, level_of, pool_for

SNAPSHOT_MOVE = 2.0  # points either score must move before a new history snapshot


class Router:
    """Events -> the signals of the customers they are about. Its own state, each product's
    rating consensus, is keyed by product: reviews are partitioned by product at the input, and
    after a restart or a rebalance a product's consensus is rebuilt exactly from its stored
    reviews (`recall`, through a `RoutingMemory`: `interactions`). Votes that named no author
    give no signal here: the content stage (`vox.core.customers.content`) resolves them."""

    def __init__(self, config: ScoringConfig):
        self.config = config
        self.products: dict[str, ProductConsensus] = {}

    def recall(self, memory: RoutingMemory, events: Sequence[Event]) -> None:
        """Fetch from memory what the batch needs and the cache lacks (the worker runs this on
        the ClickHouse thread, and `records_of` on its event loop)."""
        missing = sorted({e.product_id for e in events if isinstance(e, Review)} - self.products.keys())
        if not missing:
            return
        c = self.config
        for product in missing:
            self.products[product] = ProductConsensus()
        for product, at, rating in memory.ratings_of(missing):
            self.products[product].observe(at, rating, c.allowed_lateness_s, c.consensus_prior_reviews,
                                           c.consensus_min_reviews)  # fmt: skip

    def records_of(self, events: Sequence[Event], positions: Sequence[tuple[int, int]]) -> list[S.Signal]:
        """Signals of a batch of new events, in order, each marked with the input position
        (source id, offset) of its event."""
        out: list[S.Signal] = []
        for event, (source, offset) in zip(events, positions):
            out.extend(S.at_position(self.signals(event), source, offset))
        return out

    def signals(self, event: Event) -> list[S.Signal]:
        """Every signal the event gives, each with its deterministic id (a vote that named no
        author: none, see the class)."""
        if isinstance(event, Vote) and not event.target_author_id:
            return []
        # an anonymous actor (a placeholder identity) is evidence about others only: no state
        own = [] if event.actor_role == ANONYMOUS else [S.own_signal(event)]
        out = S.with_ids(event.event_id, [*own, *S.received_signals(event)])
        if isinstance(event, Review):
            out.extend(S.with_ids(event.event_id, self._accuracy(event)))
        return out

    def _accuracy(self, review: Review) -> list[S.Signal]:
        consensus = self.products.setdefault(review.product_id, ProductConsensus())
        c = self.config
        error = consensus.observe(review.occurred_at.timestamp(), review.rating, c.allowed_lateness_s,
                                  c.consensus_prior_reviews, c.consensus_min_reviews)  # fmt: skip
        if error is None:
            return []
        return [S.Signal(review.customer_id, S.ACCURACY, review.occurred_at.timestamp(), x=error)]


@dataclass(frozen=True, slots=True)
class Placement:
    """A customer's scores and cell after a placement."""

    customer_id: str
    scores: Scores
    cell: str
    previous_cell: str | None
    staff: bool
    role: str  # actor role: customer | staff | partner
    signals: int  # signals applied so far: a version number that only grows
    snapshot: bool  # worth a row in the score history


@dataclass(frozen=True, slots=True)
class Transition:
    customer_id: str
    from_cell: str
    to_cell: str
    at: float
    competence: float
    implication: float
    action: str


class Scorer:
    def __init__(self, config: ScoringConfig):
        self.config = config
        self.half_lives = half_lives(config)
        self.customers: dict[str, CustomerState] = {}
        adaptive = config.cut_mode == "adaptive"
        self.competence_cuts = PopulationCuts(*config.competence_shares) if adaptive else None
        self.implication_cuts = PopulationCuts(*config.implication_shares) if adaptive else None
        # every placed customer, for the cuts while too few are established (`pool_for`)
        self.competence_placed = PopulationCuts(*config.competence_shares) if adaptive else None
        self.implication_placed = PopulationCuts(*config.implication_shares) if adaptive else None

    def state(self, customer_id: str) -> CustomerState:
        found = self.customers.get(customer_id)
        if found is None:
            found = self.customers[customer_id] = CustomerState()
        return found

    def apply(self, signal: S.Signal) -> bool:
        """Apply a signal once: False when this signal was already applied (a replay)."""
        state = self.state(signal.customer_id)
        if not state.accept(signal.source, signal.position, signal.sid):
            return False
        state.apply(signal, self.half_lives)
        return True

    def hold(self, state: CustomerState, signal: S.Signal) -> bool:
        """Accept a signal once, to be applied by the sweep whose point it precedes (`release`)."""
        if not state.accept(signal.source, signal.position, signal.sid):
            return False
        state.held.append(signal)
        return True

    def release(self, state: CustomerState, up_to: float) -> None:
        """Apply the held signals that occurred by `up_to`, in event-time order (then kind and
        id): the same sums whatever order they arrived in."""
        due = sorted((s for s in state.held if s.at <= up_to), key=lambda s: (s.at, s.kind, s.sid))
        if due:
            state.held = [s for s in state.held if s.at > up_to]
            for signal in due:
                state.apply(signal, self.half_lives)

    def recount(self, state: CustomerState, s: Scores, move) -> None:  # noqa: ANN001 - move(axis, old, new)
        """Move the customer in the adaptive cut populations (`POOLS`): on each axis, counted
        while established on it, with the score it was last placed with (a newcomer's competence
        is mostly the priors, their implication a start: crowds of newcomers would drag the
        cuts), and counted among every placed customer, whose cuts serve while too few are
        established (`pool_for`)."""
        for axis, flag, counts, value in ((0, FLAG_COUNTED, s.competence_established, s.competence),
                                          (1, FLAG_COUNTED_I, s.implication_established, s.implication),
                                          (2, FLAG_PLACED, True, s.competence),
                                          (3, FLAG_PLACED_I, True, s.implication)):  # fmt: skip
            counted = bool(state.flags & flag)
            if counted or counts:
                move(axis, state.placed[axis % 2] if counted else None, value if counts else None)
            state.flags = state.flags | flag if counts else state.flags & ~flag

    def placement(self, cid: str, state: CustomerState, s: Scores,
                  cuts: tuple[tuple[float, float], tuple[float, float]]) -> tuple[Placement, Transition | None]:  # fmt: skip
        """Place a scored customer against these cut points (with hysteresis from its cell)."""
        h = self.config.hysteresis
        previous = state.cell if state.cell >= 0 else None
        c_level = level_of(s.competence, cuts[0], previous // 3 if previous is not None else None, h)
        i_level = level_of(s.implication, cuts[1], previous % 3 if previous is not None else None, h)
        cell = cell_index(c_level, i_level)
        moved = previous is not None and cell != previous
        snapshot = moved or previous is None or abs(s.competence - state.snapshot[0]) >= SNAPSHOT_MOVE \
            or abs(s.implication - state.snapshot[1]) >= SNAPSHOT_MOVE  # fmt: skip
        state.cell = cell
        state.placed[0], state.placed[1] = s.competence, s.implication
        if snapshot:
            state.snapshot[0], state.snapshot[1] = s.competence, s.implication
        name = cell_name(cell)
        placement = Placement(cid, s, name, cell_name(previous) if previous is not None else None, state.is_staff,
                              state.role, state.signals, snapshot)  # fmt: skip
        transition = Transition(cid, cell_name(previous), name, s.as_of, s.competence, s.implication,
                                ACTIONS[name]) if moved else None  # fmt: skip
        return placement, transition

    def cuts(self) -> tuple[tuple[float, float], tuple[float, float]]:
        c = self.config
        pools = self.pools()
        if pools is None:
            return c.competence_cuts, c.implication_cuts
        return pool_for(0, pools).cuts(c.competence_cuts), pool_for(1, pools).cuts(c.implication_cuts)

    def pools(self) -> list[PopulationCuts] | None:
        """The adaptive cut populations, in the order of `POOLS`; None with fixed cuts."""
        if self.competence_cuts is None or self.implication_cuts is None:
            return None
        placed = [self.competence_placed, self.implication_placed]
        return [self.competence_cuts, self.implication_cuts, *placed]  # type: ignore[list-item]

    def place(self, customer_ids: Iterable[str]) -> tuple[list[Placement], list[Transition]]:
        """Score these customers as of their latest signal and place them in the typology."""
        placements, transitions = [], []
        ids = list(dict.fromkeys(customer_ids))
        states = [(cid, self.customers[cid]) for cid in ids if cid in self.customers]
        scored = [(cid, state, score(state, state.latest, self.config)) for cid, state in states]
        axes = self.pools()
        if axes is not None:
            for _, state, s in scored:  # the population moves first, then everyone is placed against it
                self.recount(state, s, lambda axis, old, new: axes[axis].move(old, new))
        cuts = self.cuts()
        for cid, state, s in scored:
            placement, transition = self.placement(cid, state, s, cuts)
            placements.append(placement)
            if transition is not None:
                transitions.append(transition)
        return placements, transitions


class ScoringEngine:
    """The stages in one process, event by event (tests, benchmarks): routing, the content
    stage for votes that named no author, the scorer."""

    def __init__(self, config: ScoringConfig):
        self.router = Router(config)
        self.content = ContentLogic(config)
        self.scorer = Scorer(config)
        self._events = 0

    def process(self, event: Event) -> list[str]:
        """Apply an event; return the customers whose state changed."""
        self._events += 1
        signals = self.router.signals(event)
        for record in content_records([event], [(-1, -1)]):
            self.content.apply(content_of(record), [record], -1, self._events, lambda: None)
        signals.extend(self.content.emitted)
        self.content.emitted = []
        touched = []
        for signal in signals:
            self.scorer.apply(signal)
            touched.append(signal.customer_id)
        return touched

    def waiting_votes(self) -> int:
        return sum(len(state["waiting"]) for state in self.content.states.values())
