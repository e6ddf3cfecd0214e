"""The scoring core: hand-computed components, properties, typology and transitions."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vox.schemas import EVENT_ADAPTER
from tests.factories import click, encode, post, review, vote
from vox.core.customers.config import ScoringConfig
from vox.core.customers.engine import ScoringEngine
from vox.core.customers.scores import score, weighted
from vox.core.customers.state import CustomerState
from vox.core.typology import ACTIONS, CELL_NAMES, PopulationCuts, level_of

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)  # a Monday
FIXED = ScoringConfig(cut_mode="fixed")


def at(days: float = 0, seconds: float = 0) -> str:
    return (T0 + timedelta(days=days, seconds=seconds)).isoformat().replace("+00:00", "Z")


def run(*events: dict, config: ScoringConfig = FIXED) -> ScoringEngine:
    engine = ScoringEngine(config)
    for event in events:
        engine.process(EVENT_ADAPTER.validate_json(encode(event)))
    return engine


def scores_of(engine: ScoringEngine, customer: str, as_of_days: float | None = None):
    state = engine.scorer.customers[customer]
    as_of = state.latest if as_of_days is None else (T0 + timedelta(days=as_of_days)).timestamp()
    return score(state, as_of, engine.scorer.config)


# -- hand-computed components ----------------------------------------------------------------


def test_decay_halves_a_count_after_one_half_life() -> None:
    engine = run(click(customer_id="a", occurred_at=at(0)))
    state = engine.scorer.customers["a"]
    later = (T0 + timedelta(days=30)).timestamp()  # implication half-life: 30 days
    assert state.decayed("clicks", later, engine.scorer.half_lives) == pytest.approx(0.5)
    assert state.decayed("views", (T0 + timedelta(days=180)).timestamp(), engine.scorer.half_lives) == pytest.approx(0.5)


def test_approval_of_votes_received() -> None:
    votes = [vote(customer_id=f"v{n}", target_author_id="a", vote_type="helpful", occurred_at=at(0, n)) for n in range(3)]
    votes.append(vote(customer_id="v9", target_author_id="a", vote_type="unhelpful", occurred_at=at(0, 5)))
    engine = run(review(customer_id="a", occurred_at=at(0)), *votes)
    quality = scores_of(engine, "a").competence_parts["quality"]
    approval = 0.5 + ((3 + 1) / (4 + 2) - 0.5) * (4 / (4 + 3)) * 2  # Laplace, shrunk by evidence (k = 3)
    acceptance = min(1.0, (0 + 0.2) / (0 + 1) / (2 * 0.2) * 0.5)  # no answers yet: the prior
    answer_share = 0.5  # no answers, no questions
    assert quality == pytest.approx((approval + acceptance + answer_share) / 3)


def test_learning_share_with_prior() -> None:
    pages = ["docs", "tutorial", "product", "search"]
    engine = run(*[click(customer_id="a", page_type=p, action="view", occurred_at=at(0, n)) for n, p in enumerate(pages)])
    # (2 docs + 0.25 * 4 prior views) / (4 views + 4 prior) = 0.375, and 0.5 counts as full marks
    assert scores_of(engine, "a").competence_parts["learning"] == pytest.approx(0.375 / 0.5)


def test_depth_of_a_detailed_review() -> None:
    engine = run(review(customer_id="a", text="x" * 450, occurred_at=at(0)))
    # mean length with the prior: (450 + 150 * 1) / (1 + 1) = 300 chars, half of the way
    assert scores_of(engine, "a").competence_parts["depth"] == pytest.approx(0.5)


def test_accuracy_against_the_consensus_known_before() -> None:
    others = [review(customer_id=f"o{n}", product_id="p", rating=4, occurred_at=at(n)) for n in range(2)]
    mine = review(customer_id="a", product_id="p", rating=2, occurred_at=at(3))
    engine = run(*others, mine)
    consensus = (4 + 4 + 3.5 * 2) / (2 + 2)  # two pseudo-reviews at 3.5 stars
    error = abs(2 - consensus)
    mean_error = (error + 0.5 * 2.0 * 1) / (1 + 1)  # one neutral prior review
    assert scores_of(engine, "a").competence_parts["accuracy"] == pytest.approx(1 - mean_error / 2.0)
    # the first reviewers had no consensus to be compared with: neutral accuracy
    assert scores_of(engine, "o0").competence_parts["accuracy"] == pytest.approx(0.5)


def test_durability_recency_and_visit_depth() -> None:
    events = [click(customer_id="a", session_id=f"s{week}", dwell_ms=30_000, occurred_at=at(7 * week, n))
              for week in (0, 2, 5) for n in range(2)]  # fmt: skip
    engine = run(*events)
    parts = scores_of(engine, "a", as_of_days=35 + 14).implication_parts
    assert parts["durability"] == pytest.approx(3 / 12)
    # frequency: 0.7 * saturation of decayed actions + 0.3 * recency (14 days of silence: one half)
    actions = sum(2 ** (-((35 + 14) - d) / 30) for d in (0, 0, 14, 14, 35, 35))
    assert parts["frequency"] == pytest.approx(0.7 * actions / (actions + 60) + 0.3 * 0.5, rel=1e-4)
    assert parts["depth"] == pytest.approx((2 / (2 + 4) + 30 / (30 + 30)) / 2)


def test_value_and_role() -> None:
    engine = run(click(customer_id="a", page_type="checkout", action="purchase", order_value=200, occurred_at=at(0)),
                 *[post(customer_id="a", kind="answer", occurred_at=at(1, n)) for n in range(3)])  # fmt: skip
    s = scores_of(engine, "a", as_of_days=90)
    assert s.value == pytest.approx(100.0)  # value half-life: 90 days
    assert s.recency_days == pytest.approx(90) and s.monetary == pytest.approx(200)
    assert s.role == "apporteur_de_solutions"


def test_signals_reach_the_receiver() -> None:
    engine = run(post(customer_id="bob", kind="question", reply_to_customer_id=None, parent_post_id=None,
                      mentions=[], occurred_at=at(0)),  # fmt: skip
                 post(customer_id="carol", reply_to_customer_id="bob", mentions=["dave"], occurred_at=at(0, 1)),
                 vote(customer_id="erin", target_author_id="carol", vote_type="up", occurred_at=at(0, 2)))
    bob, dave, carol = (engine.scorer.customers[c] for c in ("bob", "dave", "carol"))
    h = engine.scorer.half_lives
    assert bob.decayed("positive_received", bob.latest, h) == pytest.approx(1)
    assert dave.decayed("positive_received", dave.latest, h) == pytest.approx(1)
    assert carol.decayed("pos_votes", carol.latest, h) == pytest.approx(1)
    assert dave.decayed("actions", dave.latest, h) == 0  # being mentioned is not doing


def test_votes_without_author_are_resolved_from_content_before_or_after() -> None:
    engine = run(
        vote(customer_id="x", target_kind="post", target_id="t-late", target_author_id=None, occurred_at=at(0)),
        post(customer_id="bob", post_id="t-late", occurred_at=at(0, 1)),  # content after its vote
        review(customer_id="amy", review_id="r-early", occurred_at=at(0, 2)),
        vote(customer_id="y", target_id="r-early", target_author_id=None, occurred_at=at(0, 3)),
        vote(customer_id="z", target_id="never-seen", target_author_id=None, occurred_at=at(0, 4)),
    )
    h = engine.scorer.half_lives
    for author in ("bob", "amy"):
        state = engine.scorer.customers[author]
        assert state.decayed("pos_votes", state.latest, h) == pytest.approx(1)
    assert engine.waiting_votes() == 1  # still waiting for 'never-seen'


def test_staff_are_scored_and_flagged() -> None:
    engine = run(post(customer_id="s1", actor_role="staff", occurred_at=at(0)))
    placements, _ = engine.scorer.place(["s1"])
    assert placements[0].staff and placements[0].role == "staff"


def test_state_round_trips_and_stays_small() -> None:
    engine = run(*[click(customer_id="a", session_id=f"s{n % 5}", occurred_at=at(n)) for n in range(40)],
                 review(customer_id="a", occurred_at=at(41)))  # fmt: skip
    state = engine.scorer.customers["a"]
    data = state.to_bytes()
    assert len(data) < 1024
    again = CustomerState.from_bytes(data)
    assert again.to_bytes() == data
    assert score(again, state.latest, FIXED) == score(state, state.latest, FIXED)


# -- properties ------------------------------------------------------------------------------

FAMILIES = ("click", "review", "post", "vote_cast", "vote_received", "reply")


def make_events(seed: int, n: int, spacing_s: float = 3600) -> list[dict]:
    rng = random.Random(seed)
    events = []
    for i in range(n):
        when = at(0, i * spacing_s + rng.uniform(0, spacing_s / 2))
        kind = rng.choice(FAMILIES)
        if kind == "click":
            events.append(click(customer_id="a", session_id=f"s{i // 3}", page_type=rng.choice(["docs", "product"]),
                                action=rng.choice(["view", "purchase", "share"]), occurred_at=when))  # fmt: skip
        elif kind == "review":
            events.append(review(customer_id=rng.choice(["a", "b"]), product_id=f"p{rng.randrange(3)}",
                                 rating=rng.randint(1, 5), text="t" * rng.randrange(800), occurred_at=when))  # fmt: skip
        elif kind == "post":
            events.append(post(customer_id="a", kind=rng.choice(["question", "answer", "comment", "idea"]),
                               occurred_at=when))  # fmt: skip
        elif kind == "vote_cast":
            events.append(vote(customer_id="a", occurred_at=when))
        elif kind == "vote_received":
            events.append(vote(customer_id=f"g{rng.randrange(20)}", target_author_id="a",
                               vote_type=rng.choice(["up", "down", "helpful", "accept"]), occurred_at=when))  # fmt: skip
        else:
            events.append(post(customer_id=f"g{rng.randrange(20)}", reply_to_customer_id="a", occurred_at=when))
    return events


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), horizon=st.floats(0, 400))
def test_scores_stay_between_0_and_100(seed: int, n: int, horizon: float) -> None:
    engine = run(*make_events(seed, n))
    for customer in engine.scorer.customers:
        s = scores_of(engine, customer, as_of_days=horizon + n / 24)
        assert 0 <= s.competence <= 100 and 0 <= s.implication <= 100
        assert all(0 <= v <= 1 for v in (*s.competence_parts.values(), *s.implication_parts.values()))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 40), extra=st.integers(1, 10),
       kind=st.sampled_from(["helpful", "up", "accept", "favourite"]))  # fmt: skip
def test_more_helpful_votes_never_lower_competence(seed: int, n: int, extra: int, kind: str) -> None:
    base = make_events(seed, n) + [review(customer_id="a", occurred_at=at(0))]
    more = [vote(customer_id=f"fan{i}", target_author_id="a", vote_type=kind, occurred_at=at(0, 60 * i))
            for i in range(extra)]  # fmt: skip
    without, with_votes = run(*base), run(*base, *more)
    as_of = max(without.scorer.customers["a"].latest, with_votes.scorer.customers["a"].latest)
    before = score(without.scorer.customers["a"], as_of, FIXED).competence
    after = score(with_votes.scorer.customers["a"], as_of, FIXED).competence
    assert after >= before - 1e-9


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 40), silence=st.floats(1, 300))
def test_a_silent_customer_loses_implication(seed: int, n: int, silence: float) -> None:
    engine = run(*make_events(seed, n))
    state = engine.scorer.customers["a"] if "a" in engine.scorer.customers else None
    if state is None or state.last_action < 0:
        return
    now = score(state, state.latest, FIXED).implication
    later = score(state, state.latest + silence * 86_400, FIXED).implication
    assert later < now


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 60))
def test_order_within_the_allowed_lateness_does_not_change_scores(seed: int, n: int) -> None:
    events = make_events(seed, n, spacing_s=120)  # dense: many events within 10 minutes of each other
    rng = random.Random(seed)
    lateness = FIXED.allowed_lateness_s
    # each event may arrive up to the allowed lateness after the ones that follow it in time
    arrival = sorted(events, key=lambda e: datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")).timestamp()
                     + rng.uniform(0, lateness))  # fmt: skip
    in_order, shuffled = run(*events), run(*arrival)
    for customer, state in in_order.scorer.customers.items():
        a = score(state, state.latest, FIXED)
        b = score(shuffled.scorer.customers[customer], state.latest, FIXED)
        assert b.competence == pytest.approx(a.competence, abs=1e-6)
        assert b.implication == pytest.approx(a.implication, abs=1e-6)
        assert b.value == pytest.approx(a.value, abs=1e-6)


# -- typology ----------------------------------------------------------------------------------


def test_hysteresis_keeps_a_customer_on_a_cut_from_flapping() -> None:
    cuts = (33.3, 66.7)
    assert level_of(34.0, cuts, None, 3) == 1  # first placement: no hysteresis
    assert level_of(35.0, cuts, 0, 3) == 0  # from low: must pass 36.3
    assert level_of(36.5, cuts, 0, 3) == 1
    assert level_of(31.0, cuts, 1, 3) == 1  # from medium: must fall below 30.3
    assert level_of(30.0, cuts, 1, 3) == 0
    assert level_of(90.0, cuts, 0, 3) == 2  # a big jump crosses both
    assert level_of(68.0, cuts, 0, 3) == 1  # past the first cut only, within the second's band


def test_where_scores_are_dense_the_hysteresis_narrows_to_a_small_share_of_the_population() -> None:
    dense, sparse = PopulationCuts(1 / 3, 1 / 3), PopulationCuts(1 / 3, 1 / 3)
    for n in range(300):
        dense.move(None, 50 + (n % 30) / 10)  # 300 customers within 3 points
        sparse.move(None, n / 3)  # 300 customers over 100 points
    cuts = dense.cuts((33.3, 66.7))
    band = dense.band(cuts)
    assert band < 0.2  # 10 customers a bin: a 3 % share (9) is less than a bin
    # past the cut by more than the band: moves, where 3 points would have held it (a third of all)
    assert level_of(cuts[0] + band + 0.05, (*cuts, band), 0, 3) == 1
    assert level_of(cuts[0] + band + 0.05, cuts, 0, 3) == 0
    assert 2.5 < sparse.band(sparse.cuts((33.3, 66.7))) < 3.5  # spread evenly: about the configured 3 points
    assert PopulationCuts(1 / 3, 1 / 3).band((33.3, 66.7)) == 0.0  # nobody yet (the fixed cuts decide)


def test_population_cuts_follow_shares() -> None:
    cuts = PopulationCuts(0.25, 0.25)
    for s in range(100):
        cuts.move(None, float(s))
    low, high = cuts.cuts((33.3, 66.7))
    assert sum(1 for s in range(100) if s < low) == 25  # a quarter low
    assert sum(1 for s in range(100) if s >= high) == 25  # a quarter high
    cuts.move(10.0, 99.0)  # a customer moving changes the population, not its size
    assert cuts.total == 100


def test_a_move_between_cells_is_a_transition_with_its_action() -> None:
    engine = ScoringEngine(FIXED)
    first = [click(customer_id="a", page_type="product", occurred_at=at(0))]
    for event in first:
        engine.process(EVENT_ADAPTER.validate_json(encode(event)))
    placements, transitions = engine.scorer.place(["a"])
    assert transitions == [] and placements[0].previous_cell is None
    start = placements[0].cell
    for n in range(300):  # a lot of deep, expert, involved activity
        for event in (click(customer_id="a", session_id=f"s{n}", page_type="docs", dwell_ms=90_000, occurred_at=at(n / 10)),
                      post(customer_id="a", kind="answer", text="x" * 900, occurred_at=at(n / 10, 30)),
                      vote(customer_id=f"fan{n}", target_author_id="a", vote_type="accept", occurred_at=at(n / 10, 60))):  # fmt: skip
            engine.process(EVENT_ADAPTER.validate_json(encode(event)))
    placements, transitions = engine.scorer.place(["a"])
    assert placements[0].cell != start and len(transitions) == 1
    move = transitions[0]
    assert (move.from_cell, move.to_cell) == (start, placements[0].cell)
    assert move.action == ACTIONS[move.to_cell] and set(ACTIONS) == set(CELL_NAMES)


def test_components_without_any_evidence_are_left_out_of_the_scores() -> None:
    """A customer seen only on forum pages (no content, no rated review) is judged on what was
    seen: breadth, recognition and learning. A forum without clickstream: implication without
    visit depth, and co-creation, community, purchases from their totals only."""
    engine = run(*(click(customer_id="a", session_id="s1", page_type=page, product_id="p1", category="guitars",
                         action="view", order_value=None, occurred_at=at(0, n))
                   for n, page in enumerate(("docs", "community", "product", "tutorial"))))  # fmt: skip
    s = scores_of(engine, "a")
    w = FIXED.competence_weights
    seen = ("breadth", "recognition", "learning")
    expected = 100 * sum(s.competence_parts[n] * w[n] for n in seen) / sum(w[n] for n in seen)
    assert s.competence == pytest.approx(expected)
    assert s.competence_parts["learning"] == pytest.approx((2 + 0.25 * 4) / (4 + 4) / 0.5)
    assert s.competence > weighted(s.competence_parts, w)  # the priors of the unseen parts no longer dilute it
    assert s.left_out == ("c_accuracy", "c_depth", "c_quality")  # what `vox explain` marks as left out

    forum = run(post(customer_id="b", kind="question", reply_to_customer_id=None, parent_post_id=None, mentions=[],
                     occurred_at=at(0)),
                vote(customer_id="b", occurred_at=at(0, 60)))  # fmt: skip
    f = scores_of(forum, "b")
    assert f.implication_parts["community"] == pytest.approx(1 / (1 + 5), rel=1e-4)  # all on the total: no visits
    assert f.implication_parts["co_creation"] == pytest.approx(1 / (1 + 10), rel=1e-4)
    wi = FIXED.implication_weights
    used = [n for n in wi if n != "depth"]
    assert f.implication == pytest.approx(100 * sum(f.implication_parts[n] * wi[n] for n in used) / sum(wi[n] for n in used))
    assert f.left_out == ("c_accuracy", "c_depth", "c_learning", "i_depth")  # a question: written, not an answer


def test_breadth_recognition_co_creation_community_and_purchases() -> None:
    from vox.core.customers.state import _bucket

    categories, products, givers = ["guitars", "drums"], ["p1", "p2", "p4"], ["g1", "g2", "g3"]
    # precondition: no two items share a sketch bucket (else the sketch would count them once)
    assert len({_bucket("c:" + c) for c in categories} | {_bucket("t:theory")}) == 3
    assert len({_bucket(p) for p in products}) == 3
    assert len({_bucket(g) for g in givers}) == 3
    events = [click(customer_id="a", session_id="s1", category=c, product_id=p, action="view", order_value=None,
                    occurred_at=at(0, n)) for n, (c, p) in enumerate(zip(categories * 2, products))]  # fmt: skip
    events += [vote(customer_id="a", occurred_at=at(0, 10 + n)) for n in range(2)]  # two votes cast
    events += [post(customer_id="a", kind="idea", reply_to_customer_id=None, parent_post_id=None, mentions=[],
                    topic="theory", occurred_at=at(0, 20))]  # fmt: skip
    events += [post(customer_id=g, reply_to_customer_id="a", occurred_at=at(0, 30 + n)) for n, g in enumerate(givers)]
    events += [vote(customer_id="g1", target_author_id="a", vote_type="up", occurred_at=at(0, 40))]
    s = scores_of(engine := run(*events), "a")
    domains = 2 + 1  # two categories and the idea's topic
    assert s.competence_parts["breadth"] == pytest.approx(0.5 * domains / (domains + 3) + 0.5 * 3 / (3 + 5), rel=1e-4)
    assert s.competence_parts["recognition"] == pytest.approx(0.7 * 3 / (3 + 5) + 0.3 * 4 / (4 + 10), rel=1e-4)
    sessions = 1  # three page views, one session
    co_creation = 2 + 3 * 1  # votes cast + 3 per idea
    assert s.implication_parts["co_creation"] == pytest.approx(
        0.3 * co_creation / (co_creation + 10) + 0.7 * (co_creation / sessions) / (co_creation / sessions + 1.5), rel=1e-4)
    assert s.implication_parts["community"] == pytest.approx(0.3 * 1 / (1 + 5) + 0.7 * 1 / (1 + 0.3), rel=1e-4)
    assert s.implication_parts["purchases"] == 0
    assert engine.scorer.customers["a"].decayed("sessions", engine.scorer.customers["a"].latest,
                                                engine.scorer.half_lives) == pytest.approx(1, rel=1e-4)  # fmt: skip


def test_a_batch_re_sent_after_a_crash_is_applied_once_however_many_signals_it_holds() -> None:
    """The routing stage re-sends a batch's signals when it crashed after publishing them and
    before storing the batch's rows. Recent ids alone (32 per customer) would let a customer
    with more signals than that in the batch count the excess twice; input positions do not."""
    from vox.core.customers.engine import Scorer
    from vox.core.customers.signals import SIGNALS_PER_EVENT, VOTE_RECEIVED, Signal, at_position, signal_id
    from vox.core.keys import source_id

    def batch(first: int, n: int) -> list[Signal]:
        source = source_id("vox.votes", 2)
        return [at_position([Signal("staff", VOTE_RECEIVED, 1.77e9 + k, a="up", giver=f"u{k}",
                                    sid=signal_id(f"v{k}", VOTE_RECEIVED, "staff"))], source, k)[0]
                for k in range(first, first + n)]  # fmt: skip

    scorer = Scorer(ScoringConfig())
    assert sum(scorer.apply(s) for s in batch(0, 100)) == 100
    assert sum(scorer.apply(s) for s in batch(0, 100)) == 0  # the whole batch again
    assert sum(scorer.apply(s) for s in batch(60, 80)) == 40  # a replay overlapping new events
    assert scorer.customers["staff"].signals == 140
    # several signals of one event (a review and its accuracy): each counts, once
    review_signals = at_position([Signal("alice", kind, 1.77e9, sid=signal_id("r1", kind, "alice"))
                                  for kind in ("review", "accuracy")], source=7, offset=3)  # fmt: skip
    assert [scorer.apply(s) for s in review_signals] == [True, True]
    assert [scorer.apply(s) for s in review_signals] == [False, False]
    assert [scorer.apply(s) for s in review_signals[1:]] == [False]  # even the last one alone
    restored = CustomerState.from_bytes(scorer.customers["staff"].to_bytes())
    assert list(restored.positions) == [source_id("vox.votes", 2), 139 * SIGNALS_PER_EVENT]


def test_an_anonymous_identity_is_evidence_about_others_but_never_placed_nor_counted_in_the_cuts() -> None:
    """Placeholder voters (one id per vote, as the importers make them) count as distinct voters
    for the author they vote for, and are never given a state, a placement or a share of the
    adaptive cuts; a vote without author and content by a placeholder credit no placeholder."""
    # everyone established: each placed customer counts in the cuts, so a counted placeholder would show
    adaptive = ScoringConfig(cut_mode="adaptive", established_competence_evidence=0, established_implication_days=0)
    content = [post(customer_id="alice", post_id="t-a", kind="answer", occurred_at=at(0)),
               post(customer_id="bob", post_id="t-b", kind="answer", occurred_at=at(0, 1))]  # fmt: skip
    anonymous = [vote(customer_id=f"site:anon:v{n}", actor_role="anonymous", target_kind="post", target_id="t-a",
                      target_author_id="alice" if n % 2 else None, vote_type="up", occurred_at=at(1, n))
                 for n in range(40)]  # fmt: skip
    by_placeholder = [post(customer_id="site:anon:gone", actor_role="anonymous", post_id="t-x", occurred_at=at(2)),
                      vote(customer_id="bob", target_kind="post", target_id="t-x", target_author_id=None,
                           vote_type="up", occurred_at=at(2, 1))]  # fmt: skip
    with_them = run(*content, *anonymous, *by_placeholder, config=adaptive)
    without = run(*content, by_placeholder[1], config=adaptive)
    assert not [c for c in with_them.scorer.customers if ":anon:" in c]
    h = with_them.scorer.half_lives
    alice = with_them.scorer.customers["alice"]
    assert alice.decayed("pos_votes", alice.latest, h) == pytest.approx(40)
    assert alice.sketch_count(alice.givers, alice.latest, h[0]) > 10  # distinct voters, to the sketch's limit
    for engine in (with_them, without):
        engine.scorer.place(list(engine.scorer.customers))
    assert set(with_them.scorer.customers) == set(without.scorer.customers) == {"alice", "bob", "dave"}
    assert with_them.scorer.implication_cuts.total == without.scorer.implication_cuts.total == 3
    assert with_them.scorer.competence_cuts.total == without.scorer.competence_cuts.total == 3


def test_a_customer_who_never_acted_has_no_recency_not_a_sentinel() -> None:
    """Only mentioned: `days_since_active` said about 30,444 days (the state's sentinel time)."""
    from vox.core.customers.rows import SCORE_COLUMNS, score_row

    engine = run(post(customer_id="carol", reply_to_customer_id="dave", mentions=["dave"], occurred_at=at(0)))
    placements, _ = engine.scorer.place(["carol", "dave"])
    rows = {p.customer_id: dict(zip(SCORE_COLUMNS, score_row(p))) for p in placements}
    assert rows["dave"]["days_since_active"] == -1.0 and rows["dave"]["rfm_recency_days"] == -1.0
    assert rows["carol"]["days_since_active"] == 0.0
    assert scores_of(engine, "dave").implication_parts["frequency"] == 0.0
