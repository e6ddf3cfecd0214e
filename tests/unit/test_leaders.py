"""The leaders core: the graph's PageRank against an exact computation, each dimension on
hand-computed cases, the properties the issue names, and the stage's fold (dedup, reload,
order within the lateness)."""

from __future__ import annotations

import random

import pytest
from pydantic_core import from_json, to_json

from vox.core import held as held_module
from vox.core.forgotten import forget_key
from vox.core.keys import PARTITION_KEY_PREFIX
from vox.core.leaders import stage as leaders_stage
from vox.core.leaders.config import LeadersConfig
from vox.core.leaders.graph import Frame, Graph, exact_pagerank
from vox.core.leaders.members import Member, Sketch
from vox.core.leaders.ranking import Standing, choose_leaders, credibility, standings
from vox.core.leaders.stage import HELD_MARK, LeadersLogic
from vox.core.leaders.topic import Topic
from vox.core.stage import StageOutput

DAY = 86_400.0
T0 = 1_767_225_600.0  # 2026-01-01


def post(topic, author, at, kind="answer", reply_to="", brand="", mentions=(), role="customer", eid=None, pos=0):
    return [topic, -1, pos, at, eid or f"e{author}{at}", "post", author, role, reply_to, [kind, brand, list(mentions)]]


def vote(topic, voter, author, at, vote_type="up", role="customer", eid=None):
    return [topic, -1, 0, at, eid or f"v{voter}{author}{at}", "vote", voter, role, author, vote_type]


# -- the graph -------------------------------------------------------------------------------

def random_graph(seed: int, n: int = 300, edges: int = 3000, tolerance: float = 1e-4) -> Graph:
    rng = random.Random(seed)
    graph = Graph(tolerance=tolerance, max_out=32)
    for _ in range(edges):
        graph.endorse(f"c{rng.randrange(n)}", f"c{int(rng.paretovariate(1.1)) % n}", rng.uniform(0.5, 2))
    graph.refresh()
    return graph


def test_push_pagerank_matches_the_exact_one() -> None:
    graph = random_graph(1)
    exact = exact_pagerank(graph)
    total_error = sum(abs(exact[k] - graph.centrality(k)) for k in exact)
    assert total_error <= len(exact) * graph.tolerance / (1 - graph.alpha)  # the bound the module states
    top = sorted(exact, key=exact.get, reverse=True)[:20]
    assert sorted(graph.vertices, key=graph.centrality, reverse=True)[:20] == top


def test_removing_vertices_keeps_pagerank_exact() -> None:
    graph = random_graph(2)
    for key in ["c0", "c1", "c5", "c17"]:
        graph.remove(key)
    graph.refresh()
    exact = exact_pagerank(graph)
    assert "c0" not in exact and all(("c0" not in v.out) for v in graph.vertices.values())
    assert max(abs(exact[k] - graph.centrality(k)) for k in exact) < 0.01


def test_decay_is_the_growing_frame() -> None:
    """Weights added over time in the frame give the PageRank of the decayed weights."""
    frame = Frame(half_life_s=10 * DAY)
    grown, plain = Graph(tolerance=1e-6), Graph(tolerance=1e-6)
    edges = [("a", "b", 0), ("c", "b", 5), ("b", "d", 10), ("a", "d", 20), ("d", "a", 30), ("c", "a", 40)]
    now = T0 + 40 * DAY
    for source, target, day in edges:
        at = T0 + day * DAY
        grown.endorse(source, target, frame.grown(at))
        plain.endorse(source, target, 0.5 ** ((now - at) / (10 * DAY)))  # the decayed weight, as of now
    grown.refresh()
    exact = exact_pagerank(plain)
    assert all(grown.centrality(k) == pytest.approx(exact[k], abs=1e-4) for k in exact)
    grown.rescale(1e-9)  # a rebase changes weights, never shares
    grown.refresh()
    assert grown.centrality("a") == pytest.approx(exact["a"], abs=1e-4)


def test_a_refresh_from_stored_pagerank_gives_the_same_bits_as_one_that_never_stopped() -> None:
    from vox.core.leaders.graph import Vertex

    rng = random.Random(9)
    first = [(f"c{rng.randrange(200)}", f"c{rng.randrange(50)}", rng.uniform(0.5, 2)) for _ in range(1500)]
    then = [(f"c{rng.randrange(220)}", f"c{rng.randrange(60)}", rng.uniform(0.5, 2)) for _ in range(300)]
    running = Graph(tolerance=1e-3)
    for edge in first:
        running.endorse(*edge)
    running.refresh()
    reread = Graph(tolerance=1e-3)  # what a worker taking the topic over loads: rows, and p as of the ranking
    for key, v in running.vertices.items():
        reread.load(key, Vertex(dict(v.out), v.total, v.p))
    for graph in (running, reread):
        for edge in then:
            graph.endorse(*edge)
        graph.refresh()
    assert {k: v.p for k, v in running.vertices.items()} == {k: v.p for k, v in reread.vertices.items()}
    exact = exact_pagerank(running)
    assert sum(abs(exact[k] - running.centrality(k)) for k in exact) <= len(exact) * 1e-3 / 0.15


def test_a_customer_keeps_only_the_strongest_endorsements() -> None:
    graph = Graph(max_out=4)
    for n in range(6):
        graph.endorse("a", f"t{n}", 1 + n)
    assert sorted(graph.vertices["a"].out) == ["t2", "t3", "t4", "t5"]
    assert "a" not in graph.into["t0"]


# -- what a topic counts -----------------------------------------------------------------------

def test_an_answer_a_reply_a_mention_and_votes_count_as_the_module_says() -> None:
    topic = Topic("guitars", LeadersConfig())
    topic.take(post("guitars", "asker", T0, kind="question"))
    topic.take(post("guitars", "expert", T0 + 60, kind="answer", reply_to="asker"))
    topic.take(post("guitars", "other", T0 + 120, kind="comment", reply_to="expert", mentions=["expert"]))
    topic.take(vote("guitars", "asker", "expert", T0 + 180, "accept"))
    topic.take(vote("guitars", "other", "expert", T0 + 240, "up"))
    topic.take(vote("guitars", "anon:1", "expert", T0 + 300, "down", role="anonymous"))
    expert, asker = topic.members["expert"], topic.members["asker"]
    assert expert.made == {"answer": 1}
    assert asker.responses == 1 and expert.responses == 1  # the answer drew... the comment drew
    assert expert.seekers.count() == 2  # the asker answered, the replier (who also mentioned them)
    assert expert.talk.count() == 2 and asker.talk.count() == 1
    assert (expert.accepted, expert.positive, expert.negative) == (1, 1, 1)
    assert expert.recognisers.count() == 2 and expert.days.count() == 1
    assert "anon:1" not in topic.members  # evidence about the author, never a member
    # edges: asker -> expert (answer 1 + accept 2), other -> expert (reply 0.5 + mention 0.5 + up 0.5)
    out = topic.graph.vertices
    assert out["asker"].out["expert"] == pytest.approx(3.0, rel=1e-3)
    assert out["other"].out["expert"] == pytest.approx(1.5, rel=1e-3)


def test_a_reply_resolved_by_its_parent_adds_the_edge_and_no_second_post() -> None:
    named, resolved = Topic("guitars", LeadersConfig()), Topic("guitars", LeadersConfig())
    for topic in (named, resolved):
        topic.take(post("guitars", "asker", T0, kind="question"))
    named.take(post("guitars", "expert", T0 + 60, kind="answer", reply_to="asker", eid="a1"))
    # the producer named only the parent post: the post from ingest, its edge from the content stage
    resolved.take(post("guitars", "expert", T0 + 60, kind="answer", eid="a1"))
    resolved.take(["guitars", -1, 0, T0 + 60, "a1", "reply", "expert", "customer", "asker", "answer"])
    for topic in (named, resolved):
        topic.graph.refresh()
    assert resolved.members["expert"].made == named.members["expert"].made == {"answer": 1}
    assert resolved.members["asker"].responses == named.members["asker"].responses == 1
    assert resolved.members["expert"].seekers.count() == named.members["expert"].seekers.count() == 1
    assert resolved.graph.vertices["asker"].out == named.graph.vertices["asker"].out
    assert resolved.graph.centrality("expert") == pytest.approx(named.graph.centrality("expert"))


def test_credibility_by_hand() -> None:
    m = Member()
    for n in range(100):  # one friend voting a hundred times, on one day
        m.recognised("up", "friend", T0 + n, 1.0)
    assert credibility(m) == pytest.approx(0.5)  # m = 1: 1 / 2; approval 1
    crowd = Member()
    for n in range(9):
        crowd.recognised("up", f"fan{n}", T0 + n * DAY, 1.0)
    assert credibility(crowd) == pytest.approx(0.9)  # m = 9: 9 / 10
    for n in range(30):
        crowd.recognised("down", f"critic{n}", T0, 1.0)
    # approved (9 + 1) / (39 + 2) of the time: twice that share
    assert credibility(crowd) == pytest.approx(0.9 * 2 * 10 / 41)


def test_sketch_counts_exactly_then_estimates() -> None:
    s = Sketch()
    for n in range(20):
        s.add(f"c{n}")
        s.add(f"c{n}")
    assert s.count() == 20
    for n in range(20, 5000):
        s.add(f"c{n}")
    assert 5000 * 0.6 < s.count() < 5000 * 1.4


def community(seed: int = 3, staff_posts: int = 400, leader: str = "lead") -> list[list]:
    """A topic where `leader` answers many askers, a staff account answers even more, and
    regulars chat among themselves."""
    rng = random.Random(seed)
    out = []
    t = T0
    for n in range(staff_posts):
        t += 600
        asker = f"r{rng.randrange(40)}"
        out.append(post("t", asker, t, kind="question", eid=f"q{n}"))
        answerer = "staff-1" if n % 2 else (leader if n % 3 else f"r{rng.randrange(40)}")
        role = "staff" if answerer == "staff-1" else "customer"
        out.append(post("t", answerer, t + 60, reply_to=asker, role=role, eid=f"a{n}"))
        out.append(vote("t", asker, answerer, t + 120, "accept" if rng.random() < 0.5 else "up", eid=f"v{n}"))
    return out


def test_a_staff_account_is_never_a_leader() -> None:
    topic = Topic("t", LeadersConfig(top_k=3, rank_every=50))
    for interaction in community():
        topic.take(interaction)
    topic.rank(T0 + 400 * 600)  # PageRank refreshed
    everyone = standings(topic.members, topic.graph.centrality, lambda stored: stored, topic.config)
    staff = everyone["staff-1"]
    assert staff.raw["contributions"] > everyone["lead"].raw["contributions"]  # the busiest account
    assert "staff-1" not in topic.leaders and staff.flags == ("staff",) and not staff.candidate
    assert topic.leaders[0] == "lead"


def test_more_distinct_repliers_never_lower_whom_one_knows() -> None:
    base = community(seed=4)
    for extra in (1, 5, 20):
        whom = []
        for repliers in (0, extra):
            topic = Topic("t", LeadersConfig(rank_every=10_000))
            for interaction in base:
                topic.take(interaction)
            for n in range(repliers):
                topic.take(post("t", f"new{n}", T0 + 401 * 600 + n, kind="comment", reply_to="lead"))
            whom.append(topic.rank(T0 + 402 * 600).standings["lead"].whom)
        assert whom[1] >= whom[0]


def test_hysteresis_keeps_a_leader_until_well_below_the_bar() -> None:
    config = LeadersConfig(top_k=2, margin=0.1)

    def standing(scores: dict[str, float]) -> dict[str, Standing]:
        return {c: Standing(c, {}, {}, 0, 0, 0, 1, s, "expert", True, ()) for c, s in scores.items()}

    assert choose_leaders([], standing({"a": 0.9, "b": 0.8, "c": 0.7}), config) == ["a", "b"]
    # c passes b, but not by 10 %: b stays
    assert choose_leaders(["a", "b"], standing({"a": 0.9, "b": 0.8, "c": 0.85}), config) == ["a", "b"]
    # by more than 10 %: c displaces b
    assert choose_leaders(["a", "b"], standing({"a": 0.9, "b": 0.8, "c": 0.95}), config) == ["c", "a"]
    # a leader below (1 - margin) of the bar leaves, whoever replaces them
    assert choose_leaders(["a", "b"], standing({"a": 0.9, "b": 0.44, "c": 0.5, "d": 0.45}), config) == ["a", "c"]
    assert choose_leaders(["a", "b"], standing({"a": 0.9, "b": 0.46, "c": 0.5}), config) == ["a", "b"]


# -- the stage's fold ------------------------------------------------------------------------------

def run_logic(batches: list[list[list]], logic: LeadersLogic | None = None, table: dict | None = None,
              lateness_end: float | None = None, first_offset: int = 0,
              watermarks: list[float] | None = None) -> tuple[list[StageOutput], dict, LeadersLogic]:  # fmt: skip
    """Each batch: one message of the stage's topic (offset `first_offset` + its index), the
    watermark then its latest interaction's time, or `watermarks[n]`."""
    logic = logic or LeadersLogic(LeadersConfig(rank_every=20), partitions=1)
    table = {} if table is None else table
    outputs = []
    for n, batch in enumerate(batches):
        offset = first_offset + n
        watermark = max((r[3] for r in batch), default=lateness_end or 0.0)
        if watermarks is not None:
            watermark = watermarks[n]
        logic.advance(0, watermark if lateness_end is None or n < len(batches) - 1 else lateness_end, table)
        touched = []
        grouped: dict[str, list] = {}
        for r in batch:
            grouped.setdefault(r[0], []).append(r)
        for key, records in grouped.items():
            if logic.apply(key, records, 7, offset, lambda key=key: table.get(key.encode())) is not None:
                touched.append(key)
        output = logic.flush(touched)
        for key, state in output.states.items():
            if state is None:
                table.pop(key.encode(), None)
            else:
                table[key.encode()] = state
        outputs.append(output)
    return outputs, table, logic


def leader_rows(outputs: list[StageOutput]) -> list[tuple]:
    return [row for o in outputs for table, _, rows in o.rows if table == "opinion_leaders" for row in rows]


def positioned(interactions: list[list]) -> list[list]:
    return [[r[0], 7, n, *r[3:]] for n, r in enumerate(interactions)]


def test_order_within_the_lateness_does_not_change_the_leaders() -> None:
    records = positioned(community(seed=5, staff_posts=120))
    end = records[-1][3] + 3600
    batches = [records[i:i + 40] for i in range(0, len(records), 40)] + [[]]
    in_order = leader_rows(run_logic(batches, lateness_end=end)[0])
    rng = random.Random(1)
    shuffled, position = [], 0
    for batch in batches:  # each batch's events arrive in any order (none later than the lateness)
        batch = list(batch)
        rng.shuffle(batch)
        for record in batch:  # at the input positions of their arrival
            record[2], position = position, position + 1
        shuffled.append(batch)
    assert leader_rows(run_logic(shuffled, lateness_end=end)[0]) == in_order
    assert in_order


# min_contributions 3: members who changed between the last ranking and the restart have rows
# at the next ranking only if the topic's header remembers them (it once did not)
@pytest.mark.parametrize("least", [5, 3])
def test_a_resent_batch_counts_once_and_a_new_process_reads_the_topic_back(least: int) -> None:
    def logic() -> LeadersLogic:
        return LeadersLogic(LeadersConfig(rank_every=20, min_contributions=least), 1)

    records = positioned(community(seed=6, staff_posts=120))
    end = records[-1][3] + 3600
    batches = [records[i:i + 40] for i in range(0, len(records), 40)]
    outputs, table, _ = run_logic(batches[:4], logic())
    resent_and_rest = [batches[3], *batches[4:], []]  # routing sent batch 3 again
    rest, _, _ = run_logic(resent_and_rest, logic(), table, lateness_end=end, first_offset=4)
    straight, _, _ = run_logic([*batches, []], logic(), lateness_end=end)
    assert leader_rows(outputs + rest) == leader_rows(straight)


def test_a_stalled_topic_stores_its_held_interactions_in_chunks_each_written_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """While event time stalls (a backlog), a topic's held interactions go into chunks of their
    own, each batch's once, not into the header at every batch (which grew towards Kafka's
    message limit); a new process reads them back; taking some writes the rest again."""
    monkeypatch.setattr(held_module, "HELD_IN_STATE_MAX", 20)
    monkeypatch.setattr(leaders_stage, "HELD_CHUNK_INTERACTIONS", 25)
    records = positioned(community(seed=6, staff_posts=120))
    end = records[-1][3] + 3600
    batches = [records[i:i + 40] for i in range(0, len(records), 40)]
    stalled = T0 - 3600
    # held until batch 6, which takes those before records[200]; then stalled again
    watermarks = [stalled] * 6 + [records[200][3]] + [stalled] * (len(batches) - 7) + [end]

    def logic() -> LeadersLogic:
        return LeadersLogic(LeadersConfig(rank_every=20), 1)

    first, table, _ = run_logic(batches[:5], logic(), watermarks=watermarks)
    headers = [from_json(o.states["t"]) for o in first]
    assert all(h["held"] == [] for h in headers[1:]) and headers[-1]["held_out"][1] >= 8  # out of the header
    chunks = [v for o in first for k, v in o.states.items() if HELD_MARK in k and v]
    assert sum(map(len, chunks)) < 1.2 * len(to_json(records[:200]))  # each held interaction written once
    assert len(table[b"t"]) < len(to_json(records[:40]))  # the header does not grow with what it holds
    # forgetting a customer takes their interactions out of the chunks too
    logic_ = logic()
    forgotten = {forget_key("r1")}
    redacted = {key: logic_.redact(key.decode(), value, forgotten) for key, value in table.items()
                if not key.startswith(PARTITION_KEY_PREFIX.encode())}  # as the worker's forget does
    held = [r for key, value in redacted.items() if HELD_MARK.encode() in key for r in from_json(value)]
    assert held and "r1" not in {r[6] for r in held} | {r[8] for r in held}
    assert any(r[6] == "r1" for key, value in table.items() if HELD_MARK.encode() in key for r in from_json(value))
    # a new process takes the partition over: it reads the chunks back
    rest, table, _ = run_logic([*batches[5:], []], logic(), table, lateness_end=end, first_offset=5,
                               watermarks=watermarks[5:])  # fmt: skip
    straight, _, _ = run_logic([*batches, []], logic(), lateness_end=end, watermarks=watermarks)
    monkeypatch.setattr(held_module, "HELD_IN_STATE_MAX", 10_000)
    in_header, _, _ = run_logic([*batches, []], logic(), lateness_end=end, watermarks=watermarks)
    assert leader_rows(first + rest) == leader_rows(straight) == leader_rows(in_header) != []
    assert not [key for key in table if HELD_MARK.encode() in key]  # every chunk deleted once taken
