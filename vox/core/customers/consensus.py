"""A product's rating consensus, as it is known when a customer rates it.

Accuracy (docs/glossary.md: "their ratings agree with the consensus") compares a rating with the mean
of the product's *earlier* reviews. To make that independent of arrival order within the
allowed lateness L, a review at time t is compared with the reviews that occurred before t - L:
any review that could still arrive late is left out of everyone's consensus until it cannot.
Reviews older than (latest - 2L) are folded into two numbers; the few newer ones are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PRIOR_MEAN = 3.5


@dataclass(slots=True)
class ProductConsensus:
    settled_sum: float = 0.0
    settled_count: int = 0
    recent: list[tuple[float, int]] = field(default_factory=list)  # (time, rating), newer than latest - 2L
    latest: float = float("-inf")

    def observe(self, at: float, rating: int, lateness_s: float, prior_reviews: float,
                min_reviews: int) -> float | None:  # fmt: skip
        """Record a review; return |rating - consensus before it| (None: too few earlier reviews)."""
        cutoff = at - lateness_s
        total = self.settled_sum + sum(r for t, r in self.recent if t < cutoff)
        count = self.settled_count + sum(1 for t, _ in self.recent if t < cutoff)
        error = None
        if count >= min_reviews:
            consensus = (total + PRIOR_MEAN * prior_reviews) / (count + prior_reviews)
            error = abs(rating - consensus)
        self.recent.append((at, rating))
        if at > self.latest:
            self.latest = at
            horizon = at - 2 * lateness_s
            old = [(t, r) for t, r in self.recent if t < horizon]
            if old:
                self.recent = [(t, r) for t, r in self.recent if t >= horizon]
                self.settled_sum += sum(r for _, r in old)
                self.settled_count += len(old)
        return error
