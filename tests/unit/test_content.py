"""The content stage: votes that named no author are resolved once, at a position of the
stage's own topic, whatever the order in which a vote and its content arrive, across restarts,
and resends; votes on content that never shows up credit no one and are counted."""

from __future__ import annotations

from itertools import permutations

from tests.factories import encode, post, review, vote
from vox.core.customers import signals as S
from vox.core.customers.config import ScoringConfig
from vox.core.customers.content import LEADERS_TOPIC, ContentLogic, content_of, content_records
from vox.core.keys import source_id
from vox.core.stage import by_key
from vox.core.customers.stage import CONTENT as CONTENT_STAGE
from vox.schemas import EVENT_ADAPTER

STAGE_TOPIC = source_id("vox.content", 0)
VOTE = vote(event_id="v1", customer_id="bob", target_id="r-late", target_author_id=None, occurred_at="2026-03-01T10:05:00Z")
CONTENT = review(event_id="e1", review_id="r-late", customer_id="alice", occurred_at="2026-03-01T10:00:00Z")


def events(*dicts: dict) -> list:
    return [EVENT_ADAPTER.validate_json(encode(d)) for d in dicts]


class Stage:
    """The content stage as the worker runs it: messages of its topic, a table of bytes."""

    def __init__(self, table: dict | None = None, leaders: bool = False) -> None:
        self.logic, self.table, self.offset = ContentLogic(ScoringConfig(), leaders), {} if table is None else table, -1
        self.leaders = leaders
        self.signals: list[S.Signal] = []
        self.interactions: list[list] = []
        self.unresolved = 0

    def message(self, records: list, offset: int | None = None) -> None:
        self.offset = self.offset + 1 if offset is None else offset
        for key, group in by_key(CONTENT_STAGE, CONTENT_STAGE.unpack(CONTENT_STAGE.pack(records))).items():
            self.logic.apply(key, group, STAGE_TOPIC, self.offset, lambda key=key: self.table.get(key))
        output = self.logic.flush([content_of(r) for r in records])
        self.table.update(output.states)
        self.unresolved += output.counts["votes unresolved"]
        self.signals += output.records.get("signals", [])
        self.interactions += output.records.get(LEADERS_TOPIC, [])


def routed(*dicts: dict, leaders: bool = False) -> list:
    """Content records of these events, each at its own input position (its event id's, in
    its family's topic: an order between families is the consumer's, not the topics')."""
    evs = events(*dicts)
    return content_records(evs, [(source_id(f"vox.{e.type}s", 0), INPUT_OFFSETS.setdefault(e.event_id, len(INPUT_OFFSETS)))
                                 for e in evs], leaders)  # fmt: skip


INPUT_OFFSETS: dict[str, int] = {}


def resolved(signals: list[S.Signal]) -> list[tuple[str, str, str]]:
    return sorted((s.kind, s.customer_id, s.giver) for s in signals)


def test_a_vote_is_resolved_once_whether_it_comes_before_or_after_its_content() -> None:
    expected = [(S.VOTE_CAST, "bob", ""), (S.VOTE_RECEIVED, "alice", "bob")]
    for order in permutations([VOTE, CONTENT]):
        stage = Stage()
        for event in order:  # each in a message of its own
            stage.message(routed(event))
        assert resolved(stage.signals) == expected
    stage = Stage()
    stage.message(routed(VOTE, CONTENT))  # both in one message
    assert resolved(stage.signals) == expected


def test_a_vote_waiting_when_the_worker_stops_is_resolved_by_the_next_one_from_the_table() -> None:
    first = Stage()
    first.message(routed(VOTE))
    assert first.signals == []
    restarted = Stage(first.table)  # a new process: nothing in memory but the table
    restarted.offset = first.offset
    restarted.message(routed(CONTENT))
    assert resolved(restarted.signals) == [(S.VOTE_CAST, "bob", ""), (S.VOTE_RECEIVED, "alice", "bob")]


def test_replayed_messages_and_resent_records_resolve_nothing_twice_and_keep_their_positions() -> None:
    stage = Stage()
    stage.message(routed(VOTE), offset=0)
    before = dict(stage.table)
    stage.message(routed(CONTENT), offset=1)
    positions = [(s.customer_id, s.source, s.position) for s in stage.signals]
    assert {source for _, source, _ in positions} == {STAGE_TOPIC} and len(positions) == 2
    # a crash after the signals went out, before the states were kept: the same message again,
    # from the table as it was, gives the same signals at the same positions (recognised downstream)
    again = Stage(before)
    again.message(routed(CONTENT), offset=1)
    assert [(s.customer_id, s.source, s.position) for s in again.signals] == positions
    # the state kept: the message re-read is skipped; routing's resend (same input position) too
    stage.message(routed(CONTENT), offset=1)
    stage.message(routed(CONTENT), offset=2)
    assert len(stage.signals) == 2


def test_votes_on_content_that_never_shows_up_credit_no_one_and_are_counted() -> None:
    """20 votes on content that never exists do not raise the voter's implication (they did in
    the adversarial review); once they have waited `vote_wait_days` they are counted."""
    stage = Stage()
    ghosts = [vote(event_id=f"ghost-{n}", customer_id="bob", target_id=f"nowhere-{n}", target_author_id=None,
                   occurred_at="2026-03-01T10:05:00Z") for n in range(20)]  # fmt: skip
    stage.message(routed(*ghosts))
    stage.message(routed(post(customer_id="carol", occurred_at="2026-03-20T10:00:00Z")))
    assert stage.signals == [] and stage.unresolved == 0  # 19 days: still waiting
    stage.message(routed(post(customer_id="carol", occurred_at="2026-04-01T10:06:00Z")))  # 31 days on
    assert stage.unresolved == 20 and stage.signals == []
    stage.message(routed(post(customer_id="carol", occurred_at="2026-05-01T10:06:00Z")))
    assert stage.unresolved == 20  # counted once


QUESTION = post(event_id="q1", post_id="q-1", customer_id="alice", kind="question", parent_post_id=None,
                reply_to_customer_id=None, mentions=[], topic="setup", occurred_at="2026-03-01T10:00:00Z")  # fmt: skip
ANSWER = post(event_id="a1", post_id="a-1", customer_id="bob", kind="answer", parent_post_id="q-1",
              reply_to_customer_id=None, mentions=[], topic="setup", occurred_at="2026-03-01T10:05:00Z")  # fmt: skip


def test_a_reply_naming_only_its_parent_post_reaches_the_leaders_with_the_parents_author() -> None:
    posts = source_id("vox.posts", 0)
    for order in permutations([QUESTION, ANSWER]):  # in one partition: offsets in the order published
        stage = Stage(leaders=True)
        for offset, event in enumerate(order):
            stage.message(content_records(events(event), [(posts, offset)], leaders=True))
        replies = [i for i in stage.interactions if i[5] == "reply"]
        assert len(replies) == 1, order  # once, whichever came first
        topic, _, _, at, event_id, _, actor, role, target, kind = replies[0]
        assert (topic, event_id, actor, role, target, kind) == ("setup", "a1", "bob", "customer", "alice", "answer")
        assert stage.signals == []  # an edge for the leaders only: a reply is no vote
    # a producer that names whom it replies to: the post says it (ingest), nothing goes this way
    named = Stage(leaders=True)
    named.message(routed(QUESTION, {**ANSWER, "event_id": "a2", "post_id": "a-2", "reply_to_customer_id": "alice"},
                         leaders=True))  # fmt: skip
    assert [i for i in named.interactions if i[5] == "reply"] == []
    # without the leaders stage, no record at all
    assert [r for r in routed(ANSWER) if r[0] == "r"] == []


def test_a_vote_naming_its_targets_author_and_topic_goes_to_the_leaders_without_this_stage() -> None:
    from vox.core.leaders.stage import interactions_of

    votes = source_id("vox.votes", 0)
    on_review = vote(event_id="v9", customer_id="bob", target_id="r-9", target_author_id="alice",
                     occurred_at="2026-03-01T10:05:00Z", vote_type="helpful")  # fmt: skip
    anonymous = {**on_review, "event_id": "v10", "customer_id": "anon-1", "actor_role": "anonymous"}
    named = events({**on_review, "target_topic": "pedals"}, {**anonymous, "target_topic": "pedals"})
    assert content_records(named, [(votes, 0), (votes, 1)], leaders=True) == []
    at = named[0].occurred_at.timestamp()
    assert interactions_of(named, [(votes, 0), (votes, 1)]) == [
        ["pedals", votes, 0, at, "v9", "vote", "bob", "customer", "alice", "helpful"],
        ["pedals", votes, 1, at, "v10", "vote", "anon-1", "anonymous", "alice", "helpful"],  # evidence too
    ]
    # its topic unsaid, or its author: the content stage tells the leaders stage both
    for unsaid in (on_review, {**on_review, "target_topic": "pedals", "target_author_id": None}):
        assert [r[0] for r in content_records(events(unsaid), [(votes, 0)], leaders=True)] == (
            ["t"] if unsaid is on_review else ["v"])  # fmt: skip
        assert interactions_of(events(unsaid), [(votes, 0)]) == []
    # without the leaders stage, a vote naming its author skips this stage either way
    assert content_records(named, [(votes, 0), (votes, 1)]) == []
