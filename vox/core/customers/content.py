"""Who wrote a piece of content, for votes whose producer did not say: a keyed stage, keyed by
content id.

A review or a post tells the stage its content's author; a vote that named no author goes to
the stage of its target. A vote on content already known is resolved at once; one on content
not seen yet waits in the content's state and is resolved when the content shows up. Either way
its signals (cast, for the voter; received, for the author) are emitted once, by the stage,
from a position of the stage's own topic: the same on every replay of that topic, whatever the
order in which the vote and its content reached the input topics. (Resolving votes in the
ingest stage instead, from a cache refilled from ClickHouse, gave a vote two possible positions,
its own or its content's, depending on the order of partitions in a batch: after a crash, a
re-read batch could apply it twice.)

A vote whose content has not shown up once `vote_wait_days` of event time have passed (the
latest event time the stage has seen) is counted as unresolved (`vox_votes_unresolved_total`)
and credits no one; it stays waiting, up to `MAX_WAITING` votes per content, in case its
content does arrive. Neither the voter nor anyone else is credited for votes on content that
never exists.

With the leaders stage on (`VOX_STAGES` has `leaders`), content also knows its topic (a post's,
a review's category), and every vote on it that does not name both its target's author and
topic goes on to the leaders stage as an interaction in that topic (`vox.core.leaders.topic`).
A vote that names both goes to the leaders stage straight from ingest
(`vox.core.leaders.stage.interactions_of`) and never comes here: most producers know what a
vote is on, and the hop through this stage costs a record on its topic, a state read and a
state written for each vote.
A post that names the post it replies to but not that post's author reaches the stage of its
parent the same way, which sends the leaders stage the reply's edge once the parent's author is
known ("reply" interactions; the post itself reaches the leaders stage from ingest).
"""

from __future__ import annotations

from typing import Callable, Sequence

from pydantic_core import from_json, to_json

from vox.core.customers import signals as S
from vox.core.customers.config import ScoringConfig
from vox.core.forgotten import forget_key
from vox.core.stage import JsonRecords, NoRecall, StageOutput
from vox.schemas import Event, Post, Review, Vote

ANONYMOUS = "anonymous"  # actor_role of placeholder identities: never given a state of their own
MAX_WAITING = 1000  # votes waiting per unknown content; more are dropped at once (counted)
RANK_BITS = 24  # positions of emitted signals: offset of the stage's topic, then a rank within it
RECORDS_FORMAT = 1

# A record: ["c", content, source, offset, at, author, topic] for content, or
# ["v", content, source, offset, at, event_id, voter, role, vote_type, target_kind] for a vote,
# or, for the leaders stage only, ["t", ... the same ..., author] for a vote naming its author
# but not its topic,
# and ["r", parent, source, offset, at, event_id, replier, role, post kind, topic] for a post
# naming its parent post only.
Record = list
LEADERS_TOPIC = "interactions"  # the leaders stage's (`vox.core.leaders.stage`)


def names_author_and_topic(vote: Vote) -> bool:
    """Whether a vote names its target's author and topic: ingest then sends it to the leaders
    stage itself (`vox.core.leaders.stage.interactions_of`), and it never comes here for them."""
    return bool(vote.target_author_id and vote.target_topic)


def content_records(events: Sequence[Event], positions: Sequence[tuple[int, int]], leaders: bool = False) -> list[Record]:
    out: list[Record] = []
    for event, (source, offset) in zip(events, positions):
        at = event.occurred_at.timestamp()
        if isinstance(event, (Review, Post)):
            content = event.review_id if isinstance(event, Review) else event.post_id
            topic = event.category if isinstance(event, Review) else event.topic
            # content by a placeholder identity: its votes credit no author ("")
            out.append(["c", content, source, offset, at, "" if event.actor_role == ANONYMOUS else event.customer_id,
                        topic])  # fmt: skip
            if (leaders and isinstance(event, Post) and event.parent_post_id and not event.reply_to_customer_id
                    and event.actor_role != ANONYMOUS):  # fmt: skip
                out.append(["r", event.parent_post_id, source, offset, at, event.event_id, event.customer_id,
                            event.actor_role, event.kind, event.topic])  # fmt: skip
        elif isinstance(event, Vote) and (not event.target_author_id
                                          or (leaders and not names_author_and_topic(event))):  # fmt: skip
            record = [event.event_id, event.customer_id, event.actor_role, event.vote_type, event.target_kind]
            if event.target_author_id:
                out.append(["t", event.target_id, source, offset, at, *record, event.target_author_id])
            else:
                out.append(["v", event.target_id, source, offset, at, *record])
    return out


_RECORDS = JsonRecords(RECORDS_FORMAT, "a content record")
pack, unpack = _RECORDS.pack, _RECORDS.unpack


def content_of(record: Record) -> str:
    return record[1]


class ContentRouter(NoRecall):
    def __init__(self, leaders: bool = False):
        self.leaders = leaders

    def records_of(self, events: Sequence[Event], positions: Sequence[tuple[int, int]]) -> list[Record]:
        return content_records(events, positions, self.leaders)


def vote_signals(vote: Record, author: str, content_at: float | None = None) -> list[S.Signal]:
    """A resolved vote: cast by the voter, received by the author (unless they are one). A vote
    older than its content (clocks apart, a producer's bug) counts from when the content
    occurred: never before, so that the signals of a vote that waited are not late for the
    sweep of their time (`vox.core.customers.sweeps`), which had already run."""
    _, _, _, _, at, event_id, voter, role, vote_type, target_kind = vote
    if content_at is not None:
        at = max(at, content_at)
    out = [] if role == ANONYMOUS else [S.Signal(voter, S.VOTE_CAST, at, role, a=vote_type, b=target_kind)]
    if author and author != voter:
        out.append(S.Signal(author, S.VOTE_RECEIVED, at, a=vote_type, giver=voter))
    return S.with_ids(event_id, out)


class ContentLogic:
    """States (JSON): {"author": id or null, "at": when the content occurred (absent in states
    written before it was kept), "topic" (absent before it was kept), "offset": applied offset of
    the stage's topic, "seen": {input source: last input offset}, "waiting": [vote records]}."""

    def __init__(self, config: ScoringConfig, leaders: bool = False):
        self.wait_s = config.vote_wait_days * 86_400
        self.leaders = leaders
        self.states: dict[str, dict] = {}
        self.emitted: list[S.Signal] = []
        self.interactions: list[list] = []  # votes in their content's topic, for the leaders stage
        self.latest = float("-inf")  # latest event time seen: the clock of the waiting votes
        self.uncounted: dict[str, list[float]] = {}  # keys with waiting votes not yet counted
        self.unresolved = 0
        self._at: tuple[int, int] = (0, -1)  # (source, offset) of the message being applied
        self._rank = 0

    def apply(self, key: str, records: list[Record], source: int, offset: int,
              stored: Callable[[], bytes | None]) -> int | None:  # fmt: skip
        state = self.states.get(key)
        if state is None:
            data = stored()
            state = from_json(data) if data else {"author": None, "offset": -1, "seen": {}, "waiting": []}
            self.states[key] = state
        if offset <= state["offset"]:
            return None  # the changelog had it already
        if (source, offset) != self._at:
            self._at, self._rank = (source, offset), 0
        applied = 0
        for record in records:
            seen = state["seen"].get(str(record[2]), -1)
            if record[2] >= 0 and record[3] <= seen:
                continue  # a batch routing sent twice
            state["seen"][str(record[2])] = max(seen, record[3])
            applied += 1
            self.latest = max(self.latest, record[4])
            if record[0] == "c":
                state["author"], state["at"] = record[5], record[4]
                if len(record) > 6:
                    state["topic"] = record[6]
                for vote in state["waiting"]:
                    self._resolve(vote, state)
                state["waiting"] = []
                self.uncounted.pop(key, None)
            elif state["author"] is not None:
                self._resolve(record, state)
            elif len(state["waiting"]) < MAX_WAITING:
                state["waiting"].append(record)
                if record[0] == "v":  # "t" votes were scored at ingest: only their topic waits
                    self.uncounted.setdefault(key, []).append(record[4])
            elif record[0] == "v":
                self.unresolved += 1
        state["offset"] = offset
        return applied

    def _resolve(self, record: Record, state: dict) -> None:
        """A vote or reply whose content is known: a vote's signals (if ingest could not resolve
        it), and its interaction in the content's topic (a reply: in its own)."""
        kind = record[0]
        author = record[10] if kind == "t" else state["author"]
        if kind == "v":
            self._emit(vote_signals(record, author, state.get("at")))
        topic = record[9] if kind == "r" else state.get("topic")
        if self.leaders and author and topic:
            at = record[4] if state.get("at") is None else max(record[4], state["at"])
            source, offset = self._at
            position = (offset << RANK_BITS) + min(self._rank, (1 << RANK_BITS) - 1)
            self._rank += 1
            self.interactions.append([topic, source, position, at, record[5], "reply" if kind == "r" else "vote",
                                      record[6], record[7], author, record[8]])  # fmt: skip

    def _emit(self, signals: list[S.Signal]) -> None:
        source, offset = self._at
        for signal in signals:
            signal.source, signal.position = source, (offset << RANK_BITS) + min(self._rank, (1 << RANK_BITS) - 1)
            self._rank += 1
        self.emitted.extend(signals)

    def flush(self, keys: Sequence[str]) -> StageOutput:
        self._count_expired()
        keys = list(dict.fromkeys(keys))
        records = {"signals": self.emitted} if self.emitted else {}
        if self.interactions:
            records[LEADERS_TOPIC] = self.interactions
        output = StageOutput(records=records,
                             states={key: to_json(self.states.pop(key)) for key in keys if key in self.states},
                             counts={"votes unresolved": self.unresolved})  # fmt: skip
        self.emitted, self.interactions = [], []
        self.unresolved = 0
        self.states.clear()  # the table has them: loaded again when needed
        return output

    def _count_expired(self) -> None:
        """Waiting votes older than `vote_wait_days` before the latest event time: unresolved."""
        horizon = self.latest - self.wait_s
        for key in list(self.uncounted):
            times = self.uncounted[key]
            fresh = [t for t in times if t >= horizon]
            self.unresolved += len(times) - len(fresh)
            if fresh:
                self.uncounted[key] = fresh
            else:
                del self.uncounted[key]

    def drop(self, key: str) -> None:
        self.states.pop(key, None)

    @staticmethod
    def redact(key: str, data: bytes, forgotten: set[str]) -> bytes | None:
        """The state without these forgotten customers: deleted if they wrote the content (a
        vote on it then waits for content that never comes), their waiting votes removed."""
        state = from_json(data)
        if state["author"] is not None and forget_key(state["author"]) in forgotten:
            return None
        kept = [vote for vote in state["waiting"] if forget_key(vote[6]) not in forgotten
                and (len(vote) <= 10 or forget_key(vote[10]) not in forgotten)]  # fmt: skip
        if len(kept) == len(state["waiting"]):
            return data
        state["waiting"] = kept
        return to_json(state)
