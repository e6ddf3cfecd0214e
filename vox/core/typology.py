"""The 3 x 3 customer typology of docs/glossary.md: competence (rows) x implication (columns).

Seven cells are named by the research; the two it leaves unnamed get names here so they are
never dropped: `spectateurs` (low competence, low implication: not involved, not developing)
and `enthousiastes` (low competence, high implication: involved, not developing competence).
"""

from __future__ import annotations

import struct

_FLOAT32 = struct.Struct("<f")

LEVELS = ("low", "medium", "high")

#: (competence level, implication level) -> cell name
CELLS: dict[tuple[str, str], str] = {
    ("high", "low"): "referents",
    ("high", "medium"): "controleurs",
    ("high", "high"): "experts",
    ("medium", "low"): "potentiels_1",
    ("medium", "medium"): "coeur",
    ("medium", "high"): "communautaires",
    ("low", "low"): "spectateurs",
    ("low", "medium"): "potentiels_2",
    ("low", "high"): "enthousiastes",
}
CELL_NAMES = tuple(CELLS.values())
LEVELS_OF_CELL = {name: levels for levels, name in CELLS.items()}


#: Recommended Knowledge Marketing action when a customer is in / enters a cell (docs/glossary.md),
#: in plain words (the research's "démarche 1 / 2 / B" are named in docs/glossary.md).
ACTIONS: dict[str, str] = {
    "potentiels_1": "raise their involvement through community actions (invite them to the forum, groups, "
    "events), to bring them to the core (coeur)",
    "potentiels_2": "raise their competence through learning actions (workshops, tutorials, guided creation), "
    "to bring them to the core (coeur)",
    "coeur": "raise their competence further, so that they become controleurs, experts or communautaires",
    "experts": "co-creation: product tests, idea platforms, moderation, ambassador programmes",
    "controleurs": "co-creation: product tests and idea platforms; give them control of their own experience",
    "communautaires": "co-creation: moderation and ambassador programmes in the community",
    "referents": "inform: give them references (brand, attributes, information, image); invite light co-creation "
    "such as reviews and tests",
    "spectateurs": "show them the value created by the other categories (reviews, answers, ideas) to start "
    "their involvement",
    "enthousiastes": "learning actions (tutorials, guided use), so that their involvement turns into competence",
}


def level_of(score: float, cuts: tuple[float, ...], previous: int | None, hysteresis: float) -> int:
    """0 low, 1 medium, 2 high. With a previous level, a customer moves only once the score is
    `hysteresis` points past the cut it crosses, so a score sitting on a cut does not flap.
    Population cuts carry a third number, their band (`PopulationCuts.band`): the hysteresis
    is never wider, so that where scores are dense it holds few customers back."""
    raw = 0 if score < cuts[0] else 1 if score < cuts[1] else 2
    if previous is None or raw == previous:
        return raw
    if len(cuts) > 2:
        hysteresis = min(hysteresis, cuts[2])
    level = previous
    if raw > previous:
        for candidate in range(previous + 1, raw + 1):
            if score >= cuts[candidate - 1] + hysteresis:
                level = candidate
    else:
        for candidate in range(previous - 1, raw - 1, -1):
            if score < cuts[candidate] - hysteresis:
                level = candidate
    return level


def cell_index(competence_level: int, implication_level: int) -> int:
    return 3 * competence_level + implication_level


def cell_name(index: int) -> str:
    return CELLS[(LEVELS[index // 3], LEVELS[index % 3])]


class PopulationCuts:
    """Adaptive cut points: the scores at given population shares, from a histogram of every
    customer's current score (0.1-point bins), updated as scores change. Exact to a bin, bounded
    in memory whatever the population, and the same whatever order customers are seen in."""

    BINS = 1001
    MIN_CUSTOMERS = 20  # fewer, and shares mean nothing: the fallback (fixed) cuts
    #: The most of the population a cut's hysteresis may hold back on either side of it: 3 %,
    #: what the default 3 points hold where customers are spread evenly over the 100 points
    BAND_SHARE = 0.03

    def __init__(self, low_share: float, high_share: float):
        self.low_share, self.high_share = low_share, high_share
        self.counts = [0] * self.BINS
        self.total = 0

    @classmethod
    def bin_of(cls, score: float) -> int:
        # as float32, as a state stores the score it was counted with: it leaves the same bin
        (score,) = _FLOAT32.unpack(_FLOAT32.pack(score))
        return min(cls.BINS - 1, max(0, int(round(score * 10))))

    def move(self, old: float | None, new: float | None) -> None:
        """A customer's score moved from `old` to `new`; None: not (or no longer) counted."""
        if old is not None:
            self.counts[self.bin_of(old)] -= 1
            self.total -= 1
        if new is not None:
            self.counts[self.bin_of(new)] += 1
            self.total += 1

    def cuts(self, fallback: tuple[float, float]) -> tuple[float, float]:
        if self.total < self.MIN_CUSTOMERS:
            return fallback
        low = self._cut(self.low_share * self.total)
        high = self._cut((1 - self.high_share) * self.total)
        low = low if low is not None else fallback[0]
        high = high if high is not None else fallback[1]
        return (low, max(high, low + 0.1))

    def band(self, cuts: tuple[float, float]) -> float:
        """The points either side of both cuts within which at most `BAND_SHARE` of the
        population lies. Hysteresis in points alone is blind to density: on
        the Stack Exchange sample, 3 points around the competence cuts left established users
        at 45/25/30 % low/medium/high where the cuts alone gave 35/33/32 %; on the review set,
        whose silent majority sits near 0 implication, 98 % stayed at high implication."""
        if self.total < self.MIN_CUSTOMERS:
            return 0.0
        share, widths = self.BAND_SHARE * self.total, []
        below = [0]
        for count in self.counts:
            below.append(below[-1] + count)  # below[i]: customers under the edge i / 10
        for cut in cuts:
            edge = min(self.BINS, max(0, int(round(cut * 10))))
            up = next((e for e in range(edge + 1, self.BINS + 1) if below[e] - below[edge] > share), self.BINS)
            down = next((e for e in range(edge - 1, -1, -1) if below[edge] - below[e] > share), 0)
            widths += [(up - 1 - edge) / 10, (edge - down - 1) / 10]
        return max(0.0, min(widths))  # 0: the bin next to a cut holds more than the share

    def _cut(self, rank: float) -> float | None:
        """The bin edge with `rank` customers below it, as near as ties allow: a bin holding many
        equal scores (everyone who did one thing once) goes to the side that leaves the share
        nearer the configured one, instead of always below the cut."""
        seen = 0
        for index, count in enumerate(self.counts):
            if seen + count >= rank:
                return (index + 1) / 10 if seen + count - rank <= rank - seen else index / 10
            seen += count
        return None


#: The histograms the population keeps, by index ("axis" in the moves): customers established on
#: competence, on implication, then every placed customer on each axis
POOLS = ("competence", "implication", "competence_placed", "implication_placed")


def pool_for(axis: int, pools: list[PopulationCuts]) -> PopulationCuts:
    """The population an axis's cuts come from: the customers established on it, or every placed
    customer while fewer than `MIN_CUSTOMERS` are. A young deployment (implication is established
    after weeks of observation) then still spreads its customers over the three levels, each
    placement saying it is provisional, instead of holding everyone below fixed cuts that fit
    no real scale."""
    established = pools[axis]
    return established if established.total >= established.MIN_CUSTOMERS else pools[axis + 2]
