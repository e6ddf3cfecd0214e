"""Do the scores mean something on a real community? The Stack Exchange sample in ../shared/data,
scored with the default settings, against what the site itself says of its users: reputation
(earned from up-votes, accepted answers and bounties over the site's life), which vox never reads.

This guards the weights against fitting the simulator alone: a forum without clickstream has no
learning or visit-depth evidence, and its scores must still rank its experts first.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from vox.schemas import EVENT_ADAPTER
from tests.unit.test_importers import SE_DUMP, need
from vox.importers.stackexchange import import_stackexchange
from vox.core.customers.config import ScoringConfig
from vox.core.customers.engine import ScoringEngine
from vox.core.typology import LEVELS_OF_CELL

MIN_EVENTS = 5  # of their own: below that, reputation mostly reflects a single lucky post


def ranks(values: list[float]) -> list[float]:
    """Average ranks (ties share their mean rank), for Spearman's correlation."""
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2
        i = j + 1
    return out


def spearman(x: list[float], y: list[float]) -> float:
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return cov / (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5


def test_spearman_with_ties() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert ranks([5, 1, 5, 2]) == [2.5, 0.0, 2.5, 1.0]


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[float, float, str, int]]:
    """(competence, implication, cell, reputation) of each user with MIN_EVENTS events."""
    out = tmp_path_factory.mktemp("se") / "events.jsonl"
    import_stackexchange(need(SE_DUMP), out, progress=False)
    engine, own = ScoringEngine(ScoringConfig()), Counter()
    with open(out, "rb") as lines:
        for line in lines:
            event = EVENT_ADAPTER.validate_json(line)
            engine.process(event)
            own[event.customer_id] += 1
    placements, _ = engine.scorer.place(list(engine.scorer.customers))
    reputation = {}
    for line in (SE_DUMP / "Users.xml").read_text(encoding="utf-8").splitlines():
        if found := re.search(r' Id="(-?\d+)".*? Reputation="(\d+)"', line):
            reputation[f"quantumcomputing:u{found.group(1)}"] = int(found.group(2))
    return [(p.scores.competence, p.scores.implication, p.cell, reputation[p.customer_id])
            for p in placements if p.customer_id in reputation and own[p.customer_id] >= MIN_EVENTS]  # fmt: skip


def test_competence_ranks_users_as_their_reputation_does(scored) -> None:
    assert len(scored) > 100
    rho = spearman([c for c, *_ in scored], [r for *_, r in scored])
    print(f"\nSpearman(competence, reputation) over {len(scored)} users with >= {MIN_EVENTS} events: {rho:.2f}")
    assert rho >= 0.6


def test_the_most_reputed_users_are_placed_high_in_competence(scored) -> None:
    top = sorted(scored, key=lambda row: -row[3])[: len(scored) // 10]
    high = sum(LEVELS_OF_CELL[cell][0] == "high" for *_, cell, _ in top)
    print(f"\ntop {len(top)} by reputation: {high} placed high in competence; cells {Counter(c for *_, c, _ in top)}")
    assert high / len(top) >= 0.7
