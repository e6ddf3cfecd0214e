"""A customer's rolling state: a few hundred bytes of decayed sums and tiny sketches.

Why it is built this way:
* **Exponential decay in event time, order-free.** A decayed sum is kept as
  `sum(w_i * 2**((t_i - t0) / h))` around a reference time `t0`; its value at any time T is that
  times `2**(-(T - t0) / h)`. Adding is commutative, so events that arrive out of order (within
  the allowed lateness, or at all) give the same numbers. `t0` moves forward now and then
  (`rebase`) so the powers stay small.
* **Distinct counts without sets.** Distinct categories / products engaged and distinct
  customers who recognised them are tiny "latest time per hash bucket" sketches: the decayed
  count is the sum of each bucket's decay. Taking a max is order-free too; the count saturates
  at the number of buckets, which the saturating components make harmless.
* **Small and flat.** Everything is in typed arrays, serialised to bytes for the changelog
  (`to_bytes` / `from_bytes`), well under a kilobyte per customer.
"""

from __future__ import annotations

import math
import struct
import zlib
from array import array
from typing import Callable

from vox.core.customers import signals as S
from vox.core.held import HELD_CHUNKS_MAX, HeldOut
from vox.errors import VoxError

DAY = 86_400.0
WEEK = 7 * DAY
EPOCH_2000 = 946_684_800.0  # sketch times are days since 2000-01-01, as float32
BUCKETS = 16
RING = 8  # recent sessions remembered to count each session once
RECENT_IDS = 32  # signal ids remembered: a batch re-sent after a crash is not applied twice
REBASE_AFTER_S = 30 * DAY
NEVER = -1.0e9

# Decay groups: each accumulator fades with one half-life.
COMPETENCE, IMPLICATION, VALUE = 0, 1, 2

# Accumulators: (name, decay group)
ACCUMULATORS = (
    ("pos_votes", COMPETENCE), ("neg_votes", COMPETENCE), ("accepted", COMPETENCE),
    ("answers", COMPETENCE), ("questions", COMPETENCE), ("text_chars", COMPETENCE),
    ("text_items", COMPETENCE), ("positive_received", COMPETENCE), ("learning_views", COMPETENCE),
    ("views", COMPETENCE), ("abs_error", COMPETENCE), ("rated", COMPETENCE),
    ("actions", IMPLICATION), ("clicks", IMPLICATION), ("sessions", IMPLICATION),
    ("dwell_s", IMPLICATION), ("dwell_n", IMPLICATION), ("ideas", IMPLICATION),
    ("votes_cast", IMPLICATION), ("posts", IMPLICATION), ("purchases", IMPLICATION),
    ("shares", IMPLICATION), ("reviews", IMPLICATION), ("answers_recent", IMPLICATION),
    ("mentions_made", IMPLICATION), ("review_votes_cast", IMPLICATION),
    ("spend", VALUE), ("purchases_value", VALUE),
)  # fmt: skip
INDEX = {name: i for i, (name, _) in enumerate(ACCUMULATORS)}
GROUP = [group for _, group in ACCUMULATORS]
N_ACC = len(ACCUMULATORS)

# COUNTED / COUNTED_I: in the adaptive cut population of competence / implication (established
# customers); PLACED / PLACED_I: in the population of every placed customer, whose cuts serve
# while too few are established on the axis (`vox.core.typology.POOLS`)
FLAG_STAFF, FLAG_PARTNER, FLAG_COUNTED, FLAG_COUNTED_I, FLAG_PLACED, FLAG_PLACED_I = 1, 2, 4, 8, 16, 32
# t0, last_action, last_purchase, latest, applied_offset, signals, weeks bitmap, cell, flags, week_anchor
HEADER_2 = struct.Struct("<ddddqqQhBi")
# format 3 adds: first_seen
HEADER_3 = struct.Struct("<ddddqqQhBid")
# format 4 adds: scored_at, and after the positions (now counted) the signals held for a sweep;
# format 5 writes those in chunks, each its length then a `vox.signals` record (`HELD_CHUNK`);
# format 6 writes the generation and number of the chunks kept out of the state, under keys of
# their own (`held_writes`), then, when there are none, the held signals' chunks as format 5
HEADER = struct.Struct("<ddddqqQhBidd")
# The changelog's format: states written by every vox version since must stay readable.
STATE_MAGIC, STATE_FORMAT = b"vxs", 6
ACC_COUNT = struct.Struct("<H")
POSITIONS_COUNT = struct.Struct("<I")
HELD_CHUNK = struct.Struct("<I")
HELD_OUT = struct.Struct("<II")  # generation, chunks
# signals per chunk: about 100 bytes each, so a chunk stays far below Kafka's 1 MB message
HELD_CHUNK_SIGNALS = 2000



def _bucket(text: str) -> int:
    return zlib.crc32(text.encode()) % BUCKETS


def _days(t: float) -> float:
    return (t - EPOCH_2000) / DAY


class CustomerState:
    __slots__ = ("t0", "acc", "domains", "products", "givers", "ring", "last_action", "last_purchase",
                 "weeks", "week_anchor", "flags", "cell", "applied_offset", "signals", "latest",
                 "placed", "snapshot", "recent", "positions", "first_seen", "scored_at", "held", "held_out",
                 "_inline")  # fmt: skip

    def __init__(self) -> None:
        self.t0 = 0.0
        self.acc = array("d", bytes(8 * N_ACC))
        self.domains = array("f", [NEVER] * BUCKETS)  # categories and topics engaged
        self.products = array("f", [NEVER] * BUCKETS)
        self.givers = array("f", [NEVER] * BUCKETS)  # customers who replied, mentioned, voted up
        self.ring = array("d", [NEVER] * (2 * RING))  # (session hash, first event time) pairs
        self.last_action = NEVER
        self.last_purchase = NEVER
        self.weeks = 0  # bit k: active in week (week_anchor - k)
        self.week_anchor = -1
        self.flags = 0
        self.cell = -1  # 3 * competence level + implication level, -1 before the first placement
        self.applied_offset = -1  # highest signals-topic offset applied (streaming dedup)
        self.signals = 0
        self.latest = NEVER  # latest signal time: scores are evaluated as of then
        self.placed = array("f", [-1.0, -1.0])  # competence, implication at the last placement
        self.snapshot = array("f", [-100.0, -100.0])  # the same at the last history snapshot
        self.recent = array("I", [0] * (RECENT_IDS + 1))  # last signal ids applied, and the next slot
        # per input partition (id, offset) pairs: the input position of the last event whose
        # signals were applied (streaming dedup of re-sent batches, see `accept`)
        self.positions = array("q")
        self.first_seen = NEVER  # earliest signal time: how long this customer has been observed
        self.scored_at = NEVER  # the sweep point it was last scored at (`vox.core.customers.sweeps`)
        # signals accepted but not applied yet: a sweep applies those up to its point, so that
        # the scores as of that point hold exactly what occurred by then, however they arrived
        self.held: list[S.Signal] = []
        self.held_out = HeldOut()  # the chunks they are stored in out of the state, if many (`held_writes`)
        # (the held list, how many of its signals, their chunks in the state as written)
        self._inline: tuple[list[S.Signal], int, list[bytes]] | None = None

    # -- decay bookkeeping ------------------------------------------------------------------

    def _weight(self, t: float, half_lives: tuple[float, float, float], group: int) -> float:
        return 2.0 ** ((t - self.t0) / half_lives[group])

    def _rebase(self, t: float, half_lives: tuple[float, float, float]) -> None:
        if self.signals == 0:
            self.t0 = t
            return
        if t - self.t0 < REBASE_AFTER_S:
            return
        factors = [2.0 ** (-(t - self.t0) / h) for h in half_lives]
        acc = self.acc
        for i in range(N_ACC):
            acc[i] *= factors[GROUP[i]]
        self.t0 = t

    def decayed(self, name: str, as_of: float, half_lives: tuple[float, float, float]) -> float:
        i = INDEX[name]
        return self.acc[i] * 2.0 ** (-(as_of - self.t0) / half_lives[GROUP[i]])

    def decayer(self, as_of: float, half_lives: tuple[float, float, float]) -> Callable[[str], float]:
        """`decayed` for many accumulators at one time: each group's factor computed once (a
        score reads about 40), to the same bits."""
        factors = [2.0 ** (-(as_of - self.t0) / h) for h in half_lives]
        acc = self.acc
        return lambda name: acc[INDEX[name]] * factors[GROUP[INDEX[name]]]

    @staticmethod
    def sketch_count(sketch: array, as_of: float, half_life: float) -> float:
        now = _days(as_of)
        h = half_life / DAY
        return sum(2.0 ** (-max(0.0, now - day) / h) for day in sketch if day > NEVER / 2)

    def active_weeks(self, as_of: float, window: int) -> int:
        week = int(as_of // WEEK)
        if self.week_anchor < 0 or week - self.week_anchor >= 64:
            return 0
        shifted = self.weeks << (week - self.week_anchor) if week >= self.week_anchor else self.weeks >> (self.week_anchor - week)
        return bin(shifted & ((1 << window) - 1)).count("1")

    # -- applying signals -------------------------------------------------------------------

    def apply(self, signal: S.Signal, half_lives: tuple[float, float, float]) -> None:
        t = signal.at
        if signal.at > self.t0 or self.signals == 0:
            self._rebase(t, half_lives)
        self.signals += 1
        self.latest = max(self.latest, t)
        self.first_seen = t if self.first_seen <= NEVER else min(self.first_seen, t)
        w = [self._weight(t, half_lives, g) for g in (COMPETENCE, IMPLICATION, VALUE)]
        acc, kind = self.acc, signal.kind

        def add(name: str, amount: float = 1.0) -> None:
            i = INDEX[name]
            acc[i] += amount * w[GROUP[i]]

        if kind in (S.CLICK, S.REVIEW, S.POST, S.VOTE_CAST):
            self._own_action(t, signal)
            add("actions")
        if kind == S.CLICK:
            self._click(signal, w, half_lives, add)
        elif kind == S.REVIEW:
            add("reviews")
            add("text_chars", min(signal.x, 5000.0))
            add("text_items")
            self._touch(self.domains, "c:" + signal.domain, t)
            self._touch(self.products, signal.key, t)
        elif kind == S.POST:
            add("posts")
            add("mentions_made", signal.y)
            if signal.a == "answer":
                add("answers")
                add("answers_recent")
                add("text_chars", min(signal.x, 5000.0))
                add("text_items")
            elif signal.a == "question":
                add("questions")
            elif signal.a == "idea":
                add("ideas")
            self._touch(self.domains, "t:" + signal.domain, t)
        elif kind == S.VOTE_CAST:
            add("votes_cast")
            if signal.b == "review":
                add("review_votes_cast")
        elif kind == S.VOTE_RECEIVED:
            if signal.a in S.POSITIVE_VOTES:
                add("pos_votes")
                add("positive_received")
                self._touch(self.givers, signal.giver, t)
                if signal.a == "accept":
                    add("accepted")
            elif signal.a in S.NEGATIVE_VOTES:
                add("neg_votes")
        elif kind in (S.REPLY_RECEIVED, S.MENTION_RECEIVED):
            add("positive_received")
            self._touch(self.givers, signal.giver, t)
        elif kind == S.ACCURACY:
            add("abs_error", signal.x)
            add("rated")

    def _click(self, signal: S.Signal, w: list[float], half_lives: tuple[float, float, float],
               add: Callable[..., None]) -> None:  # fmt: skip
        t = signal.at
        add("clicks")
        add("views")
        if signal.a in ("docs", "tutorial"):
            add("learning_views")
        if signal.x > 0:
            add("dwell_s", min(signal.x, 3600.0))
            add("dwell_n")
        if signal.session:
            self._count_session(signal.session, t, w[IMPLICATION], half_lives[IMPLICATION])
        if signal.b == "share":
            add("shares")
        if signal.b == "purchase":
            add("purchases")
            add("purchases_value")
            add("spend", signal.y)
            self.last_purchase = max(self.last_purchase, t)
        if signal.domain:
            self._touch(self.domains, "c:" + signal.domain, t)
        if signal.key:
            self._touch(self.products, signal.key, t)

    def _own_action(self, t: float, signal: S.Signal) -> None:
        self.last_action = max(self.last_action, t)
        if signal.role == "staff":
            self.flags |= FLAG_STAFF
        elif signal.role == "partner":
            self.flags |= FLAG_PARTNER
        week = int(t // WEEK)
        if self.week_anchor < 0:
            self.week_anchor = week
        if week > self.week_anchor:
            shift = week - self.week_anchor
            self.weeks = (self.weeks << shift) & ((1 << 64) - 1) if shift < 64 else 0
            self.week_anchor = week
        age = self.week_anchor - week
        if age < 64:
            self.weeks |= 1 << age

    @staticmethod
    def _touch(sketch: array, item: str, t: float) -> None:
        b = _bucket(item)
        day = _days(t)
        if day > sketch[b]:
            sketch[b] = day

    def _count_session(self, session: str, t: float, weight: float, half_life: float) -> None:
        """Count each session once, weighted by the time of its first event, whatever order its
        events arrive in (as long as fewer than RING sessions of one customer overlap within the
        allowed lateness)."""
        key = float(zlib.crc32(session.encode()))
        ring, sessions = self.ring, INDEX["sessions"]
        oldest, oldest_time = 0, math.inf
        for slot in range(RING):
            if ring[2 * slot] == key and ring[2 * slot + 1] > NEVER / 2:
                first = ring[2 * slot + 1]
                if t < first:  # an earlier event of a session already counted: move its weight
                    self.acc[sessions] += weight - weight * 2.0 ** ((first - t) / half_life)
                    ring[2 * slot + 1] = t
                return
            if ring[2 * slot + 1] < oldest_time:
                oldest, oldest_time = slot, ring[2 * slot + 1]
        ring[2 * oldest], ring[2 * oldest + 1] = key, t
        self.acc[sessions] += weight

    def accept(self, source: int, position: int, sid: int) -> bool:
        """Whether a signal is new to this state (and remember it). Signals of one input
        partition reach a customer in position order (see `signals.at_position`), so one at or
        before the last position applied from its partition is a re-send. The recent ids catch
        what positions cannot see (signals without a position: a replay from a file)."""
        if source >= 0:
            positions = self.positions
            for i in range(0, len(positions), 2):
                if positions[i] == source:
                    if position <= positions[i + 1]:
                        return False
                    positions[i + 1] = position
                    break
            else:
                positions.extend((source, position))
        return not (sid and self.seen(sid))

    def seen(self, sid: int) -> bool:
        """True if this signal id was applied lately; otherwise remember it."""
        recent = self.recent
        if sid in recent[:RECENT_IDS]:
            return True
        slot = recent[RECENT_IDS]
        recent[slot] = sid
        recent[RECENT_IDS] = (slot + 1) % RECENT_IDS
        return False

    def _oldest_active_week_start(self) -> float:
        if not self.weeks or self.week_anchor < 0:
            return self.latest
        return min(self.latest, (self.week_anchor - (self.weeks.bit_length() - 1)) * WEEK)

    # -- flags ------------------------------------------------------------------------------

    @property
    def is_staff(self) -> bool:
        return bool(self.flags & FLAG_STAFF)

    @property
    def role(self) -> str:
        return "staff" if self.flags & FLAG_STAFF else "partner" if self.flags & FLAG_PARTNER else "customer"

    # -- bytes for the changelog --------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """Format 6: a magic and version, the number of accumulators (new ones are appended to
        `ACCUMULATORS`, and an older state reads them as zero), then the fields, the positions
        (counted), and the number of chunks the held signals are stored in (`held_writes`)."""
        header = HEADER.pack(self.t0, self.last_action, self.last_purchase, self.latest, self.applied_offset,
                             self.signals, self.weeks, self.cell, self.flags, self.week_anchor, self.first_seen,
                             self.scored_at)  # fmt: skip
        return STATE_MAGIC + bytes([STATE_FORMAT]) + ACC_COUNT.pack(N_ACC) + header + self.acc.tobytes() + \
            self.domains.tobytes() + self.products.tobytes() + self.givers.tobytes() + self.ring.tobytes() + \
            self.placed.tobytes() + self.snapshot.tobytes() + self.recent.tobytes() + \
            POSITIONS_COUNT.pack(len(self.positions)) + self.positions.tobytes() + \
            HELD_OUT.pack(self.held_out.generation, self.held_out.chunks) + \
            (b"" if self.held_out.chunks else self._inline_bytes())  # fmt: skip

    def _inline_bytes(self) -> bytes:
        """The held signals kept in the state, each write's new ones packed once (packing them
        all again at every write made a busy customer's wait quadratic). `held` is only ever
        appended to in place; any other change gives a new list, which packs afresh."""
        held = self.held
        if not held:
            self._inline = None
            return b""
        chunks: list[bytes] = []
        covered = 0
        if self._inline is not None and self._inline[0] is held and self._inline[1] <= len(held):
            _, covered, chunks = self._inline
        if covered < len(held):
            if len(chunks) >= HELD_CHUNKS_MAX:
                chunks, covered = [], 0
            record = S.pack(held[covered:])
            chunks = [*chunks, HELD_CHUNK.pack(len(record)) + record]
        self._inline = (held, len(held), chunks)
        return b"".join(chunks)

    def held_writes(self) -> tuple[list[tuple[tuple[int, int], bytes]], list[tuple[int, int]]]:
        """What to store of the held signals out of the state (`vox.core.held.HeldOut`): the
        chunks to write before it, by (generation, number), and those to delete after it. Up to
        `HELD_IN_STATE_MAX` signals stay in the state (nothing apart)."""
        return self.held_out.writes(self.held, S.pack, HELD_CHUNK_SIGNALS)

    @classmethod
    def from_bytes(cls, data: bytes) -> "CustomerState":
        """A state of any format this vox knows: 6 to 2, or 1 (no magic: what vox wrote until the
        formats were versioned). A newer format is refused, never misread. Format 6 holds the
        number of its held signals' chunks, which the caller reads (`HeldOut.read_back`); 5 and 4 hold
        the signals, which are written as chunks at the state's next write."""
        version, n_acc, offset, header, fields = _header(data)
        state = cls()
        (state.t0, state.last_action, state.last_purchase, state.latest, state.applied_offset, state.signals,
         state.weeks, state.cell, state.flags, state.week_anchor) = fields[:10]  # fmt: skip
        if version >= 4:
            state.first_seen, state.scored_at = fields[10:]
        elif version == 3:
            (state.first_seen,) = fields[10:]
        if version < 3:  # first seen, at the latest: the start of the oldest active week remembered, or the latest signal
            state.first_seen = state._oldest_active_week_start()
        offset += header.size
        state.acc[:n_acc] = array("d", data[offset : offset + 8 * n_acc])
        offset += 8 * n_acc
        for name, size in (("domains", 4 * BUCKETS), ("products", 4 * BUCKETS), ("givers", 4 * BUCKETS),
                           ("ring", 16 * RING), ("placed", 8), ("snapshot", 8), ("recent", 4 * (RECENT_IDS + 1))):  # fmt: skip
            target = getattr(state, name)
            del target[:]
            target.frombytes(data[offset : offset + size])
            offset += size
        if version < 4:
            state.positions.frombytes(data[offset:])  # variable length, last
            return state
        (count,) = POSITIONS_COUNT.unpack_from(data, offset)
        offset += POSITIONS_COUNT.size
        state.positions.frombytes(data[offset : offset + 8 * count])
        offset += 8 * count
        if version >= 6:
            state.held_out = HeldOut(*HELD_OUT.unpack_from(data, offset))
            offset += HELD_OUT.size
        if offset < len(data) and version == 4:
            state.held = S.unpack(data[offset:])
        elif offset < len(data):  # chunks in the state (format 5, or 6 with none out of it)
            chunks = []
            while offset < len(data):
                (size,) = HELD_CHUNK.unpack_from(data, offset)
                chunks.append(data[offset : offset + HELD_CHUNK.size + size])
                state.held.extend(S.unpack(chunks[-1][HELD_CHUNK.size :]))
                offset += HELD_CHUNK.size + size
            state._inline = (state.held, len(state.held), chunks)  # read back as written: not packed again
        return state


def _header(data: bytes) -> tuple[int, int, int, struct.Struct, tuple]:
    """(format, accumulators, where the header starts, its struct, its fields) of a stored state."""
    n_acc, offset, version = N_ACC, 0, 1
    if data[: len(STATE_MAGIC)] == STATE_MAGIC:
        version = data[len(STATE_MAGIC)]
        if version > STATE_FORMAT:
            raise VoxError(f"a customer state is in format {version}, newer than this vox reads "
                           f"({STATE_FORMAT}): run the vox version that wrote it, or a newer one")  # fmt: skip
        (n_acc,) = ACC_COUNT.unpack_from(data, len(STATE_MAGIC) + 1)
        if n_acc > N_ACC:
            raise VoxError(f"a customer state has {n_acc} accumulators, this vox knows {N_ACC}: it was written "
                           "by a newer vox")  # fmt: skip
        offset = len(STATE_MAGIC) + 1 + ACC_COUNT.size
    header = HEADER if version >= 4 else HEADER_3 if version == 3 else HEADER_2
    return version, n_acc, offset, header, header.unpack_from(data, offset)
