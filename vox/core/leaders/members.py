"""What a topic knows of each customer in it: the components of the three dimensions and of
credibility, counted as the topic's interactions are applied (`Topic.apply`).

Counts that a leader of last year should not keep forever (acceptances, votes received,
answers, activity) are stored twice: as raw counts, which are evidence, and decayed in the
topic's growing frame (`vox.core.leaders.graph.Frame`), which rank customers against each
other: within one topic every decayed count shares the frame, so comparing stored values
compares decayed ones. Distinct counts (interlocutors, seekers, recognisers, recognition days)
are k-minimum-value sketches: exact up to `SKETCH_K` and about 18 % off beyond, in a few
hundred bytes whatever the count.
"""

from __future__ import annotations

import hashlib

SKETCH_K = 32
_TOP = float(1 << 53)
WEEK_S = 7 * 86_400
KEEP_WEEKS = 104  # active weeks remembered: two years of regularity
KEEP_BRANDS = 8  # brands counted per customer; a ninth replaces the least named
POSITIVE = frozenset({"up", "helpful", "favourite"})
NEGATIVE = frozenset({"down", "unhelpful"})
CONTRIBUTIONS = ("question", "answer", "comment", "idea", "review")


def sketch_hash(value: str) -> int:
    # 53 bits: exact in JSON readers that hold numbers as doubles
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big") >> 11


class Sketch:
    """Distinct values seen, by the k smallest hashes (Bar-Yossef et al., 2002)."""

    __slots__ = ("hashes",)

    def __init__(self, hashes: list[int] | None = None):
        self.hashes: list[int] = hashes or []

    def add(self, value: str) -> bool:
        h, hashes = sketch_hash(value), self.hashes
        if h in hashes or (len(hashes) >= SKETCH_K and h >= hashes[-1]):
            return False
        hashes.append(h)
        hashes.sort()
        del hashes[SKETCH_K:]
        return True

    def count(self) -> float:
        if len(self.hashes) < SKETCH_K:
            return float(len(self.hashes))
        return round((SKETCH_K - 1) * _TOP / (self.hashes[-1] + 1), 1)


class Member:
    """One customer in one topic. JSON: see `to_dict`."""

    __slots__ = ("role", "made", "accepted", "positive", "negative", "responses", "decayed", "weeks", "first",
                 "last", "talk", "seekers", "recognisers", "days", "brands", "branded")  # fmt: skip

    def __init__(self, data: dict | None = None):
        d = data or {}
        self.role: str = d.get("role", "customer")
        self.made: dict[str, int] = d.get("made", {})  # contributions by kind (CONTRIBUTIONS)
        self.accepted: int = d.get("accepted", 0)  # answers accepted (accept votes received)
        self.positive: int = d.get("positive", 0)  # up, helpful and favourite votes received
        self.negative: int = d.get("negative", 0)
        self.responses: int = d.get("responses", 0)  # answers and replies their posts drew
        self.decayed: dict[str, float] = d.get("decayed", {})  # accepted, positive, answers, activity (frame units)
        self.weeks: list[int] = d.get("weeks", [])
        self.first: float | None = d.get("first")
        self.last: float | None = d.get("last")
        self.talk = Sketch(d.get("talk"))  # distinct interlocutors, either way
        self.seekers = Sketch(d.get("seekers"))  # distinct customers who sought them out
        self.recognisers = Sketch(d.get("recognisers"))  # distinct givers of positive votes and accepts
        self.days = Sketch(d.get("days"))  # distinct days on which they were recognised
        self.brands: dict[str, int] = d.get("brands", {})
        self.branded: int = d.get("branded", 0)  # posts naming a brand

    def to_dict(self) -> dict:
        return {"role": self.role, "made": self.made, "accepted": self.accepted, "positive": self.positive,
                "negative": self.negative, "responses": self.responses, "decayed": self.decayed,
                "weeks": self.weeks, "first": self.first, "last": self.last, "talk": self.talk.hashes,
                "seekers": self.seekers.hashes, "recognisers": self.recognisers.hashes, "days": self.days.hashes,
                "brands": self.brands, "branded": self.branded}  # fmt: skip

    # -- what happens to them -------------------------------------------------------------------
    def grow(self, name: str, grown: float) -> None:
        self.decayed[name] = self.decayed.get(name, 0.0) + grown

    def active(self, at: float, grown: float) -> None:
        self.grow("activity", grown)
        week = int(at // WEEK_S)
        if not self.weeks or self.weeks[-1] != week:
            if week not in self.weeks:
                self.weeks.append(week)
                self.weeks.sort()
                del self.weeks[:-KEEP_WEEKS]
        self.first = at if self.first is None else min(self.first, at)
        self.last = at if self.last is None else max(self.last, at)

    def contributed(self, kind: str, brand: str, at: float, grown: float) -> None:
        self.made[kind] = self.made.get(kind, 0) + 1
        if kind == "answer":
            self.grow("answers", grown)
        self.active(at, grown)
        if brand:
            self.branded += 1
            if brand not in self.brands and len(self.brands) >= KEEP_BRANDS:
                del self.brands[min(self.brands, key=lambda b: (self.brands[b], b))]
            self.brands[brand] = self.brands.get(brand, 0) + 1

    def recognised(self, vote_type: str, giver: str, at: float, grown: float) -> None:
        if vote_type in NEGATIVE:
            self.negative += 1
            return
        if vote_type == "accept":
            self.accepted += 1
            self.grow("accepted", grown)
        elif vote_type in POSITIVE:
            self.positive += 1
            self.grow("positive", grown)
        else:
            return
        self.recognisers.add(giver)
        self.days.add(str(int(at // 86_400)))

    def rescale(self, factor: float) -> None:
        self.decayed = {name: value * factor for name, value in self.decayed.items()}

    # -- what they show ---------------------------------------------------------------------------
    def contributions(self) -> int:
        return sum(self.made.values())

    def main_brand_share(self) -> float:
        return max(self.brands.values()) / self.branded if self.branded else 0.0
