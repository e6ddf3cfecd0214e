"""A topic's interaction graph and its PageRank, brought up to date at each ranking.

Edges point from who seeks or recognises to whom is sought or recognised (the asker to the one
who answered, a voter to the author, a replier to the one replied to, a mention to the one
mentioned), weighted, and decay in event time. PageRank on it is the "whom one knows" centrality
(docs/glossary.md): being sought by those who are sought.

**Decay costs nothing.** Every edge decays at the same rate, so at any instant the decayed graph
is the stored one scaled by a single factor, and PageRank, which only sees each customer's
*shares* of endorsement, is the same for both. New weight is stored in a growing frame
(`Frame.grown`: a weight added at t counts exp(lambda (t - t0))), so older weight shrinks
relative to it exactly as decay would make it; the frame is rescaled now and then
(`Frame.rebase`), which changes no PageRank.

**PageRank by warm-started push** (forward push with signed residuals, as in Zhang, Lofgren and
Goel, "Approximate personalized PageRank on dynamic graphs", KDD 2016, for the global vector).
The exact x solves x = s + alpha P^T x, with s = 1 - alpha per customer and P each customer's
endorsement shares (a customer who endorses no one keeps their mass: the walk stops). From an
estimate p, the residual r = s - p + alpha P^T p says how far p is from x (x = p + (I - alpha
P^T)^-1 r); pushing a residual (p[u] += r[u], its alpha share spread to u's endorsees) shrinks
it. An edge only changes its source's row (O(1), bounded by `max_out`); centrality is read only
when a topic is ranked, so `refresh` then starts from the previous ranking's p, recomputes r on
the graph as it stands (O(edges)) and pushes every residual above the tolerance: the work is
proportional to what changed since, not to the graph (bench.leaders measures it). Pushing after
every edge (the dynamic method proper) gives the same p at a ranking but must store every
residual it moves, a hundred customers' states per edge here: the changelog, not the arithmetic,
made it the worker's bottleneck. After a refresh every |r| is below the tolerance, so the total
error, summed over customers, is at most n tolerance / (1 - alpha).

Only p is kept between rankings (r follows from p and the graph), and iteration order never
depends on Python's per-process hash seed (dicts, never sets, sorted where a removal walks an
index): a process that read the topic back computes the same bits as one that never stopped.
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
                 r: float = 0.0):  # fmt: skip
        self.out: dict[str, float] = out if out is not None else {}
        self.total = sum(self.out.values()) if total is None else total
        self.p, self.r = p, r


class Graph:
    def __init__(self, tolerance: float = 1e-3, max_out: int = 64, alpha: float = ALPHA):
        self.tolerance, self.max_out, self.alpha = tolerance, max_out, alpha
        self.vertices: dict[str, Vertex] = {}
        self.into: dict[str, dict[str, None]] = {}  # who endorses each vertex (insertion-ordered: no hash seed)
        self.dirty: dict[str, None] = {}  # vertices whose row changed since `take_dirty`
        self.pushes = 0  # pushes done, for the benchmark

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
            vertex = self.vertices[key] = Vertex()  # p 0 until the next refresh
            self.into.setdefault(key, {})
            self.dirty[key] = None
        return vertex

    def endorse(self, source: str, target: str, weight: float) -> None:
        """Add `weight` (in the frame's units) to the edge source -> target."""
        if source == target or weight <= 0:
            return
        u = self.ensure(source)
        self.ensure(target)
        row = u.out
        if target not in row:
            self.into.setdefault(target, {})[source] = None
        row[target] = row.get(target, 0.0) + weight
        u.total += weight
        if len(row) > self.max_out:
            weakest = min(row, key=lambda k: (row[k], k))
            u.total -= row.pop(weakest)
            self.into[weakest].pop(source, None)
        self.dirty[source] = None

    def remove(self, key: str) -> None:
        """Drop a vertex and every edge to or from it (eviction, a forgotten customer)."""
        z = self.vertices.get(key)
        if z is None:
            return
        for source in sorted(self.into.get(key, {})):
            u = self.vertices[source]
            u.total -= u.out.pop(key, 0.0)
            self.dirty[source] = None
        for target in z.out:
            self.into.get(target, {}).pop(key, None)
        del self.vertices[key]
        self.into.pop(key, None)
        self.dirty.pop(key, None)

    def rescale(self, factor: float) -> None:
        """Every weight times `factor` (a frame rebase): shares, hence PageRank, unchanged."""
        for key, vertex in self.vertices.items():
            if vertex.out:
                vertex.out = {t: w * factor for t, w in vertex.out.items()}
                vertex.total *= factor
                self.dirty[key] = None

    # -- PageRank -----------------------------------------------------------------------------
    def centrality(self, key: str) -> float:
        """PageRank as of the last `refresh`."""
        vertex = self.vertices.get(key)
        return 0.0 if vertex is None else vertex.p

    def refresh(self) -> None:
        """Bring p to the graph as it stands, from p as it was: residuals recomputed, pushed."""
        alpha, tolerance, s = self.alpha, self.tolerance, 1 - self.alpha
        vertices = self.vertices
        for vertex in vertices.values():
            vertex.r = s - vertex.p
        for vertex in vertices.values():
            if vertex.total > 0 and vertex.p:
                share = alpha * vertex.p / vertex.total
                for target, w in vertex.out.items():
                    vertices[target].r += share * w
        queue = deque(key for key, v in vertices.items() if abs(v.r) > tolerance)
        while queue:
            key = queue.popleft()
            u = vertices[key]
            if abs(u.r) <= tolerance:
                continue
            mass, u.r = u.r, 0.0
            u.p += mass
            self.pushes += 1
            if u.total > 0:
                share = alpha * mass / u.total
                for target, w in u.out.items():
                    v = vertices[target]
                    before = abs(v.r) > tolerance
                    v.r += share * w
                    if not before and abs(v.r) > tolerance:
                        queue.append(target)

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
