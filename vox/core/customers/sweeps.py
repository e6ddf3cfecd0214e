"""Sweeps: every customer scored and placed at fixed event-time points, against one set of cut
points for the whole population, the same in every worker and in `vox replay`.

Why it is built this way (docs/scoring.md, "Sweeps"):

* **Fixed points in event time.** Sweep j is at `t_j = j * sweep_minutes`. A customers partition
  runs it once its watermark (`vox.core.progress`: every source has passed that far) is beyond
  `t_j` by the allowed lateness. Signals are held in the customer's state until then and the
  sweep applies those that occurred by `t_j`: the scores as of `t_j` hold exactly what occurred
  by `t_j`, whatever batches, workers or restarts the records went through. Scores are as of
  the sweep point, so a silent customer's recency and implication fall as points pass.
* **Bounded cost per sweep.** A sweep scores the customers with signals up to its point, and the
  silent ones 1, 2, 4, 8... days after the point of their last signal (`SweepClock.silent_due`):
  a customer silent for a year is scored 9 more times, not 8,760 at hourly points. Not sooner
  than a day: the fastest of the scores' clocks is recency's (half-life 14 days), which moves
  0.2 % in an hour of silence; rescoring at 1, 2, 4, 8 and 16 hours was two thirds of a
  replay's scoring for nothing an analyst could see. The index of who is due when
  is in memory, rebuilt from the partition's states when a worker takes the partition over.
* **One population.** Each partition reports, per sweep, how its established customers moved in
  the 0.1-point histogram of each axis, and how every placed customer did (the cuts while too few
  are established: `vox.core.typology.pool_for`), to `PopulationLogic`, a stage of one key. Once every
  partition has reported sweep i, the population's cuts at i are known and go back to every
  partition. Sweep j places against the cuts of sweep `j - cuts_lag_sweeps`: a partition runs
  ahead of the slowest by up to that many points without waiting, and the cuts are a sum, so
  they are the same however the customers are spread over partitions (a replay is one).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

from vox.core.customers.signals import Signal
from vox.core.typology import POOLS, PopulationCuts, pool_for

#: competence (low|medium, medium|high[, band]), implication: the population's carry their band
#: (`PopulationCuts.band`), the fixed ones do not
Cuts = tuple[tuple[float, ...], tuple[float, ...]]


def cuts_entry(j: int, cuts: Cuts) -> list:
    return [j, list(cuts[0]), list(cuts[1])]


def entry_cuts(entry: list) -> tuple[int, Cuts]:
    """An entry as `cuts_entry` writes it, or as the first sweeps wrote it: [j, c0, c1, i0, i1]."""
    if isinstance(entry[1], list):
        return entry[0], (tuple(entry[1]), tuple(entry[2]))
    j, c0, c1, i0, i1 = entry
    return j, ((c0, c1), (i0, i1))
CUTS = "cuts"  # the kind of the records that bring a partition the population's cuts
POPULATION = "population"  # the population stage's one key


@dataclass(frozen=True)
class SweepClock:
    period_s: float
    lateness_s: float

    @property
    def silent_gap(self) -> int:
        """Points in a day (at least 1): the first silent rescoring's distance from the last signal's."""
        return max(1, round(86_400 / self.period_s))

    def silent_due(self, last: int, after: int) -> int:
        """The next sweep after `after` at which a customer whose last signal fell in sweep `last`
        is scored again: a day of points after it, then 2, 4, 8... days."""
        gap = self.silent_gap
        while last + gap <= after:
            gap *= 2
        return last + gap

    def covering(self, t: float) -> int:
        """The first sweep whose point is at or after t: the one that applies a signal at t."""
        return math.ceil(t / self.period_s)

    def point(self, j: int) -> float:
        return j * self.period_s

    def ready(self, watermark: float) -> int | None:
        """The last sweep the watermark allows: every source is past its point by the lateness."""
        if not math.isfinite(watermark):
            return None
        return math.floor((watermark - self.lateness_s) / self.period_s)


@dataclass
class PartitionSweeps:
    """What a customers partition keeps of its sweeps (changelogged with its states), and the
    index of who is due when (memory only: `rebuild`)."""

    swept: int | None = None  # the last sweep run; None before the first
    known_from: int | None = None  # the population's first sweep: before it, the fixed cuts
    cuts: dict[int, Cuts] = field(default_factory=dict)  # the population's cuts, by sweep
    watermark: float = -math.inf
    due: dict[int, set[str]] = field(default_factory=dict)
    indexed: bool = False
    stored: bytes | None = None  # as the table holds it: another worker's write shows as a difference

    def to_bytes(self) -> bytes:
        return json.dumps({"swept": self.swept, "known_from": self.known_from,
                           "cuts": [cuts_entry(j, c) for j, c in sorted(self.cuts.items())]}).encode()  # fmt: skip

    @classmethod
    def from_bytes(cls, data: bytes | None) -> "PartitionSweeps":
        if not data:
            return cls()
        stored = json.loads(data)
        return cls(stored["swept"], stored["known_from"], dict(map(entry_cuts, stored["cuts"])))

    def schedule(self, customer: str, j: int) -> None:
        self.due.setdefault(j, set()).add(customer)

    def cuts_for(self, j: int, lag: int, fallback: Cuts) -> Cuts | None:
        """The cuts sweep j places against, or None while the population has not sent them.
        Before the population's first sweep nobody was placed: the fallback (fixed) cuts."""
        if self.known_from is None:
            return None
        if j - lag < self.known_from:
            return fallback
        return self.cuts.get(j - lag)

    def receive(self, records: list[Signal]) -> None:
        for record in records:
            first, entries = json.loads(record.a)
            self.known_from = first if self.known_from is None else min(self.known_from, first)
            self.cuts.update(map(entry_cuts, entries))

    def prune(self, lag: int) -> None:
        if self.swept is not None:
            for j in [j for j in self.cuts if j < self.swept + 1 - lag]:
                del self.cuts[j]


def cuts_message(first: int, entries: list[tuple[int, Cuts]], key: str) -> Signal:
    """A record for one customers partition (`key` lands in it): the population's cuts."""
    payload = json.dumps([first, [cuts_entry(j, c) for j, c in entries]])
    return Signal(key, CUTS, float(first), a=payload)


def banded(axis: PopulationCuts, fallback: tuple[float, float]) -> tuple[float, ...]:
    """The population's cuts with their band; the fallback alone while too few are counted."""
    cuts = axis.cuts(fallback)
    return (*cuts, axis.band(cuts)) if axis.total >= axis.MIN_CUSTOMERS else cuts


class PopulationLogic:
    """The population stage: one key, summing every partition's histogram moves sweep by sweep;
    when all have reported a sweep, its cuts go to every customers partition."""

    def __init__(self, partitions: int, shares: tuple[tuple[float, float], tuple[float, float]],
                 fallback: Cuts, partition_keys: Callable[[], list[str]]):  # fmt: skip
        self.partitions, self.shares, self.fallback = partitions, shares, fallback
        self.partition_keys = partition_keys
        self.state: dict | None = None
        self.sent: list[tuple[int, list[tuple[int, Cuts]]]] = []

    def _load(self, stored: Callable[[], bytes | None]) -> dict:
        if self.state is None:
            data = stored()
            self.state = json.loads(data) if data else {"offset": -1, "reached": {}, "complete": None,
                                                         "counts": [[] for _ in POOLS], "queue": {}}  # fmt: skip
            # a state kept before the placed pools: their counts start empty, as if nobody was placed
            self.state["counts"] += [[] for _ in POOLS[len(self.state["counts"]):]]
            for moves in self.state["queue"].values():
                moves += [{} for _ in POOLS[len(moves):]]
        return self.state

    def apply(self, key: str, records: list, source: int, offset: int,
              stored: Callable[[], bytes | None]) -> int | None:  # fmt: skip
        state = self._load(stored)
        if offset <= state["offset"]:
            return None
        reached, queue = state["reached"], state["queue"]
        for partition, until, deltas in records:
            known = reached.get(str(partition))
            for j, moves in deltas:
                if known is None or j > known:  # a partition's batch sent twice is recognised
                    into = queue.setdefault(str(j), [{} for _ in POOLS])
                    for axis, b, d in moves:
                        into[axis][str(b)] = into[axis].get(str(b), 0) + d
            reached[str(partition)] = until if known is None else max(known, until)
        state["offset"] = offset
        self._complete(state)
        return len(records)

    def _complete(self, state: dict) -> None:
        reached = state["reached"]
        if len(reached) < self.partitions:
            return
        upto = min(reached.values())
        done = state["complete"]
        if done is not None and upto <= done:
            return
        axes = [PopulationCuts(*self.shares[i % 2]) for i in range(len(POOLS))]
        for axis, counts in zip(axes, state["counts"]):
            if counts:
                axis.counts = list(counts)
                axis.total = sum(counts)
        first = upto if done is None else done + 1
        entries: list[tuple[int, Cuts]] = []
        queue = state["queue"]
        for j in sorted(int(j) for j in queue if int(j) < first):  # before the first: no cuts asked of them
            self._add(axes, queue.pop(str(j)))
        for j in range(first, upto + 1):
            self._add(axes, queue.pop(str(j), [{} for _ in POOLS]))
            cuts = (banded(pool_for(0, axes), self.fallback[0]), banded(pool_for(1, axes), self.fallback[1]))
            entries.append((j, cuts))
        state["counts"] = [axis.counts for axis in axes]
        state["complete"] = upto
        state.setdefault("first", first)
        self.sent.append((state["first"], entries))

    @staticmethod
    def _add(axes: list[PopulationCuts], moves: list[dict]) -> None:
        for axis, into in zip(axes, moves):
            for b, d in into.items():
                axis.counts[int(b)] += d
                axis.total += d

    def flush(self, keys):  # noqa: ANN001, ANN201 - the KeyedLogic protocol
        from vox.core.stage import StageOutput

        output = StageOutput()
        if self.sent:
            records = [cuts_message(first, entries, key) for first, entries in self.sent
                       for key in self.partition_keys()]  # fmt: skip
            output.records["signals"] = records
            self.sent = []
        if self.state is not None and POPULATION in keys:
            output.states[POPULATION] = json.dumps(self.state).encode()
        return output

    def drop(self, key: str) -> None:
        self.state = None


def scan(table: Mapping[bytes, bytes], partition: int, partition_of: Callable[[str], int],
         is_state: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:  # fmt: skip
    """The states of one partition in a stage's table (`is_state`: which keys are states, not the
    partition's own records or what a state keeps beside it)."""
    for stored, value in list(table.items()):
        key = stored.decode(errors="replace")
        if is_state(key) and partition_of(key) == partition:
            yield key, value


def pack(records: list) -> bytes:
    """The population topic's records: [partition, last sweep run, [[sweep, [[axis, bin, +-n]...]]...]]."""
    return json.dumps(records, separators=(",", ":")).encode()


def unpack(data: bytes) -> list:
    return json.loads(data) if data else []
