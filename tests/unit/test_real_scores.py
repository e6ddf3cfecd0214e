"""Do the scores mean something on a real community? The Stack Exchange sample in ../shared/data,
replayed by `vox replay` with the default settings (each user's latest `customer_scores` row), against what the site itself says of
its users: reputation (earned from up-votes, accepted answers and bounties over the site's life),
which vox never reads. `python -m bench.real` prints the same figures, and the review set's.

This guards the weights against fitting the simulator alone: a forum without clickstream has no
learning or visit-depth evidence, and its scores must still rank its experts first.
"""

from __future__ import annotations

import pytest

from bench.real import ranks, report, reputation, score_file, spearman
from tests.unit.test_importers import SE_DUMP, need
from vox.core.customers.config import ScoringConfig
from vox.importers.stackexchange import FEEDS, import_stackexchange


def test_spearman_with_ties() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert ranks([5, 1, 5, 2]) == [2.5, 0.0, 2.5, 1.0]


@pytest.fixture(scope="module")
def forum(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("se") / "events.jsonl"
    import_stackexchange(need(SE_DUMP), out, progress=False)
    config = ScoringConfig(feeds=FEEDS)  # as a deployment fed by this dump declares it
    placements, own = score_file(out, config)
    figures = report(placements, own, reputation(SE_DUMP, "quantumcomputing"), config)
    figures["placements"] = placements
    return figures


def test_competence_ranks_users_as_their_reputation_does(forum) -> None:
    active, regular = forum["spearman_1_events"], forum["spearman_5_events"]
    print(f"\nSpearman(competence, reputation): {active['rho']:.3f} over {active['users']} users with 1+ events, "
          f"{regular['rho']:.3f} over {regular['users']} with 5+")  # fmt: skip
    assert regular["users"] > 100 and active["users"] > 400
    assert regular["rho"] >= 0.7 and active["rho"] >= 0.45


def test_the_most_reputed_users_are_placed_high_in_competence(forum) -> None:
    print(f"\n20 most reputed: {forum['top_20_high']} at high competence; "
          + ", ".join(f"{row['level']} ({row['evidence']})" for row in forum["top_20"]))
    assert forum["top_20_high"] >= 15


def test_established_customers_fill_each_level_near_its_configured_share(forum) -> None:
    for axis in ("competence", "implication"):
        figures = forum[f"{axis}_established"]
        print(f"\n{axis}: {figures['customers']} established, shares {figures['shares']}")
        assert figures["customers"] >= 50
        for level, share in figures["shares"].items():
            assert abs(share - figures["configured"][level]) <= 0.10, (axis, level)


def test_nothing_a_forum_cannot_show_weighs_on_anyone(forum) -> None:
    """No clickstream, no purchase, no star rating on this dump: learning, visit depth, purchases
    and rating accuracy are out of every score, named so in each row (its favourites are votes by
    known users: co-creation stays)."""
    not_observed = {tuple(row["not_observed"]) for row in forum["placements"]}
    assert not_observed == {("c_accuracy", "c_learning", "i_depth", "i_purchases")}
