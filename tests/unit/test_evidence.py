"""How much a placement rests on: each axis provisional or established by its own evidence, cuts
from established customers only, and components that none of the deployment's declared feeds
reaches left out for everyone (issue 14, items 3 and 5)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import pytest
from pydantic import ValidationError

from tests.factories import post, vote
from tests.unit.test_scoring import at, make_events, run
from vox.core.customers.config import ScoringConfig
from vox.core.customers.scores import score
from vox.core.customers.state import DAY
from vox.core.typology import LEVELS_OF_CELL

ADAPTIVE = ScoringConfig(cut_mode="adaptive")


def placed(engine):
    placements, _ = engine.scorer.place(list(engine.scorer.customers))
    return {p.customer_id: p for p in placements}


def test_each_axis_is_established_by_its_own_evidence() -> None:
    answers = [post(customer_id="ann", kind="answer", post_id=f"a{n}", text="x" * 400, occurred_at=at(n / 10))
               for n in range(4)]  # fmt: skip
    votes = [vote(customer_id=f"v{n}", target_kind="post", target_id=f"a{n % 4}", target_author_id="ann",
                  vote_type="up", occurred_at=at(1, n)) for n in range(7)]  # fmt: skip
    late = post(customer_id="ann", kind="comment", occurred_at=at(31))
    early = placed(run(*answers, *votes))["ann"].scores
    # 4 answers + 7 votes: competence evidence 11 (a day of decay: a little less), established;
    # observed one day: implication provisional
    assert 10 < early.competence_evidence < 11 and early.competence_established
    assert early.observed_days < 2 and not early.implication_established
    later = placed(run(*answers, *votes, late))["ann"].scores
    assert later.implication_established and later.observed_days >= 30
    assert later.implication_level_evidence == "established"
    # evidence fades as competence does: a month on, these 11 count as less than 10
    assert later.competence_evidence < 10 < early.competence_evidence and not later.competence_established
    few = placed(run(*answers[:2]))["ann"].scores
    assert not few.competence_established and few.competence_level_evidence == "provisional"


def test_a_crowd_of_provisional_newcomers_never_moves_the_cuts() -> None:
    regulars = [post(customer_id=f"r{n}", kind="answer", text="x" * (100 * (n + 1)), occurred_at=at(d))
                for n in range(25) for d in (0, 20, 40)]  # fmt: skip
    praise = [vote(customer_id=f"fan{n}-{k}", target_author_id=f"r{n}", target_kind="post", vote_type="up",
                   occurred_at=at(41, k)) for n in range(25) for k in range(8)]  # fmt: skip
    newcomers = [post(customer_id=f"new{n}", kind="comment", occurred_at=at(41, n)) for n in range(300)]
    alone, crowded = run(*regulars, *praise, config=ADAPTIVE), run(*regulars, *praise, *newcomers, config=ADAPTIVE)
    placed(alone), placed(crowded)
    assert alone.scorer.cuts() == crowded.scorer.cuts()
    assert alone.scorer.competence_cuts.total == crowded.scorer.competence_cuts.total > 20


def test_a_young_deployment_spreads_its_customers_by_the_placed_population() -> None:
    # ten days of data: nobody is established on implication (30 days of observation), yet the
    # customers differ; the cuts come from every placed customer until 20 are established
    events = [post(customer_id=f"c{n}", kind="comment", post_id=f"p{n}-{k}", occurred_at=at(k * 9 / (n + 1), n))
              for n in range(40) for k in range(n + 1)]  # fmt: skip
    engine = run(*events, config=ADAPTIVE)
    placements = placed(engine).values()
    assert not any(p.scores.implication_established for p in placements)
    assert engine.scorer.implication_cuts.total == 0 and engine.scorer.implication_placed.total == len(placements) > 40
    levels = {p.cell for p in placements}
    implication = [LEVELS_OF_CELL[cell][1] for cell in levels]
    assert {"low", "medium", "high"} <= set(implication), levels  # fixed cuts left "high" empty
    by_implication = sorted(placements, key=lambda p: p.scores.implication)
    quietest, busiest = by_implication[0], by_implication[-1]
    assert LEVELS_OF_CELL[busiest.cell][1] == "high" and LEVELS_OF_CELL[quietest.cell][1] == "low"


def test_a_component_no_declared_feed_reaches_is_left_out_for_everyone() -> None:
    forum_feeds = ScoringConfig(feeds=("contributions", "posts"))
    forum = [post(customer_id="ann", kind="answer", occurred_at=at(0)),
             post(customer_id="bob", kind="question", occurred_at=at(0, 1))]  # fmt: skip
    engine = run(*forum, config=forum_feeds)
    for p in placed(engine).values():
        assert {"i_purchases", "c_learning", "i_co_creation", "c_accuracy"} <= set(p.scores.not_observed)
        assert "i_purchases" not in p.scores.left_out  # not observed here, not "no evidence yet"
        assert p.scores.implication_parts["purchases"] == 0
    # a deployment that does send purchases: ann never bought, and that weighs (at zero) on her
    store = placed(run(*forum))["ann"].scores
    assert "i_purchases" not in store.not_observed and store.implication < placed(engine)["ann"].scores.implication


def test_unknown_feeds_are_refused_with_the_ones_vox_knows() -> None:
    with pytest.raises(ValidationError, match="clicks"):
        ScoringConfig(feeds=("clickstream",))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60))
def test_days_since_active_is_never_longer_than_the_data_seen(seed: int, n: int) -> None:
    events = make_events(seed, n)
    engine = run(*events)
    latest = max(state.latest for state in engine.scorer.customers.values())
    first = min(state.first_seen for state in engine.scorer.customers.values())
    for customer, state in engine.scorer.customers.items():
        s = score(state, latest, engine.scorer.config)
        assert s.days_since_active == -1.0 or 0 <= s.days_since_active <= (latest - first) / DAY + 1e-9
        assert 0 <= s.observed_days <= (latest - first) / DAY + 1e-9
