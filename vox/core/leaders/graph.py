"""A topic's interaction graph and its PageRank, kept up to date edge by edge.

Edges point from who seeks or recognises to whom is sought or recognised (the asker to the one
who answered, a voter to the author, a replier to the one replied to, a mention to the one
mentioned), weighted, and decay in event time. PageRank on it is the "whom one knows" centrality
(DOMAIN.md section 3): being sought by those who are sought.

**Decay costs nothing.** Every edge decays at the same rate, so at any instant the decayed graph
is the stored one scaled by a single factor, and PageRank, which only sees each customer's
*shares* of endorsement, is the same for both. New weight is stored in a growing frame
(`Frame.grown`: a weight added at t counts exp(lambda (t - t0))), so older weight shrinks
relative to it exactly as decay would make it; the frame is rescaled now and then
(`Frame.rebase`), which changes no PageRank.

**PageRank by dynamic push** (forward push with signed residuals, as in Zhang, Lofgren and Goel,
"Approximate personalized PageRank on dynamic graphs", KDD 2016, for the global vector). The
exact x solves x = s + alpha P^T x, with s = 1 - alpha per customer and P each customer's
endorsement shares (a customer who endorses no one keeps their mass: the walk stops). We keep an
estimate p and a residual r with the invariant r = s - p + alpha P^T p, so x = p + (I - alpha
P^T)^-1 r: pushing a residual (p[u] += r[u], its alpha share spread to u's endorsees) keeps the
invariant and shrinks r. A new customer adds s to its residual; a change of u's row of P
changes r only at u's endorsees, by alpha p[u] (new share - old share); then residuals above the
tolerance are pushed. Cost per edge: u's out-degree (bounded by `max_out`) plus the pushes it
triggers, a handful on a settled graph (bench.leaders measures it). Every |r| ends below the
tolerance, so the total error, summed over customers, is at most n tolerance / (1 - alpha).

Iteration order never depends on Python's per-process hash seed (dicts, never sets, and sorted
where a removal walks an index): two processes applying the same edges hold the same bits.
"""

from __future__ import annotations

import math
from collections import deque

ALPHA = 0.85  # the usual damping: a walk follows an endorsement 85 % of the time


class Frame:
    """The growing frame of decayed weights: `grown(t)` is what a unit added at t is stored as."""

    REBASE_AT = 60.0  # exp(60) ~ 1e26: well inside a float, far from losing old weights' precision

    def __init__(self, half_life_s: float, origin: float | None = None):
        self.rate = math.log(2) / half_life_s
        self.origin = origin

    def grown(self, at: float) -> float:
        if self.origin is None:
            self.origin = at
        return math.exp(self.rate * (at - self.origin))

    def decayed(self, stored: float, now: float) -> float:
        """A stored weight as of `now`, in plain decayed units."""
        return stored * math.exp(-self.rate * (now - (self.origin if self.origin is not None else now)))

    def needs_rebase(self, at: float) -> bool:
        return self.origin is not None and self.rate * (at - self.origin) > self.REBASE_AT


class Vertex:
    __slots__ = ("out", "total", "p", "r")

    def __init__(self, out: dict[str, float] | None = None, total: float | None = None, p: float = 0.0,
                 r: float = 1 - ALPHA):  # fmt: skip
        self.out: dict[str, float] = out if out is not None else {}
        self.total = sum(self.out.values()) if total is None else total
        self.p, self.r = p, r


class Graph:
    def __init__(self, tolerance: float = 1e-3, max_out: int = 64, alpha: float = ALPHA):
        self.tolerance, self.max_out, self.alpha = tolerance, max_out, alpha
        self.vertices: dict[str, Vertex] = {}
        self.into: dict[str, dict[str, None]] = {}  # who endorses each vertex (insertion-ordered: no hash seed)
        self.dirty: dict[str, None] = {}  # vertices whose row, p or r changed since `take_dirty`
        self.pushes = 0  # pushes done, for the benchmark's cost per edge
        self._queue: deque[str] = deque()  # vertices whose residual may be above the tolerance

    # -- building -------------------------------------------------------------------------
    def load(self, key: str, vertex: Vertex) -> None:
        """A vertex as stored (its endorsements must be loaded too before the next change)."""
        self.vertices[key] = vertex
        self.into.setdefault(key, {})
        for target in vertex.out:
            self.into.setdefault(target, {})[key] = None

    def ensure(self, key: str) -> Vertex:
        vertex = self.vertices.get(key)
        if vertex is None:
            vertex = self.vertices[key] = Vertex(r=1 - self.alpha)  # its teleport mass, not pushed yet
            self.into.setdefault(key, {})
            self.dirty[key] = None
            self._queue.append(key)
        return vertex

    def endorse(self, source: str, target: str, weight: float) -> None:
        """Add `weight` (in the frame's units) to the edge source -> target, and settle PageRank."""
        if source == target or weight <= 0:
            return
        u = self.ensure(source)
        self.ensure(target)
        row = dict(u.out)
        row[target] = row.get(target, 0.0) + weight
        if len(row) > self.max_out:
            weakest = min(row, key=lambda k: (row[k], k))
            del row[weakest]
        self._set_row(source, row)
        self._settle()

    def remove(self, key: str) -> None:
        """Drop a vertex and every edge to or from it (eviction, a forgotten customer)."""
        z = self.vertices.get(key)
        if z is None:
            return
        for source in sorted(self.into.get(key, {})):
            row = dict(self.vertices[source].out)
            row.pop(key, None)
            self._set_row(source, row)
        if z.total > 0 and z.p:
            for target, w in z.out.items():
                self._add_residual(target, -self.alpha * z.p * w / z.total)
        for target in z.out:
            self.into.get(target, {}).pop(key, None)
        del self.vertices[key]
        self.into.pop(key, None)
        self.dirty.pop(key, None)
        self._settle()

    def rescale(self, factor: float) -> None:
        """Every weight times `factor` (a frame rebase): shares, hence PageRank, unchanged."""
        for key, vertex in self.vertices.items():
            if vertex.out:
                vertex.out = {t: w * factor for t, w in vertex.out.items()}
                vertex.total *= factor
                self.dirty[key] = None

    # -- PageRank -----------------------------------------------------------------------------
    def centrality(self, key: str) -> float:
        vertex = self.vertices.get(key)
        return 0.0 if vertex is None else vertex.p

    def _set_row(self, key: str, row: dict[str, float]) -> None:
        u = self.vertices[key]
        old, old_total = u.out, u.total
        total = sum(row.values())
        if u.p:
            scale = self.alpha * u.p
            for target in {**old, **row}:
                before = old.get(target, 0.0) / old_total if old_total > 0 else 0.0
                after = row.get(target, 0.0) / total if total > 0 else 0.0
                if after != before:
                    self._add_residual(target, scale * (after - before))
        for target in old:
            if target not in row:
                self.into[target].pop(key, None)
        for target in row:
            if target not in old:
                self.into.setdefault(target, {})[key] = None
        u.out, u.total = row, total
        self.dirty[key] = None

    def _add_residual(self, key: str, amount: float) -> None:
        vertex = self.vertices.get(key)
        if vertex is not None:
            vertex.r += amount
            self.dirty[key] = None
            self._queue.append(key)

    def _settle(self) -> None:
        queue, tolerance, alpha = self._queue, self.tolerance, self.alpha
        vertices, dirty = self.vertices, self.dirty
        while queue:
            key = queue.popleft()
            u = vertices.get(key)
            if u is None or abs(u.r) <= tolerance:
                continue
            mass, u.r = u.r, 0.0
            u.p += mass
            dirty[key] = None
            self.pushes += 1
            if u.total > 0:
                share = alpha * mass / u.total
                for target, w in u.out.items():
                    v = vertices[target]
                    v.r += share * w
                    dirty[target] = None
                    if abs(v.r) > tolerance:
                        queue.append(target)

    def settle(self) -> None:
        """Push what is queued (a vertex `ensure`d without an edge yet)."""
        self._settle()

    def take_dirty(self) -> list[str]:
        keys = list(self.dirty)
        self.dirty = {}
        return keys


def exact_pagerank(graph: Graph, tol: float = 1e-12, iterations: int = 10_000) -> dict[str, float]:
    """x = s + alpha P^T x by power iteration, on the same graph: what the push estimate approximates."""
    alpha, s = graph.alpha, 1 - graph.alpha
    x = {key: s for key in graph.vertices}
    for _ in range(iterations):
        nxt = {key: s for key in graph.vertices}
        for key, u in graph.vertices.items():
            if u.total > 0:
                share = alpha * x[key] / u.total
                for target, w in u.out.items():
                    nxt[target] += share * w
        change = max((abs(nxt[k] - x[k]) for k in x), default=0.0)
        x = nxt
        if change < tol:
            break
    return x
