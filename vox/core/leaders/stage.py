"""The leaders stage: interactions keyed by topic (`vox.core.leaders.topic`), leaders to
`opinion_leaders`, `opinion_leader_history` and `vox.leaders`.

Posts and reviews come from ingest, and votes that name their target's author and topic; other
votes come from the content stage, which knows the author and topic of the content they are on
(`vox.core.customers.content`). Interactions wait in their topic's
header until event time passes them (`vox.core.held`), then are taken in (time, event id)
order.

State: a topic is a header (its members in order, its leaders, the held interactions, offsets)
under the topic's name, one entry per member (counts, sketches, edges: about 1-2 KB) under a key
of the same partition (`member_key`), and the topic's PageRank as of its last ranking (one
entry, written at rankings only): a batch writes only the members it changed, never a whole
topic. Past `HELD_IN_STATE_MAX` held interactions (a backlog, while event time stalls), they
are stored in chunks under keys of the same partition (`held_key`, `vox.core.held.HeldOut`).
A process decodes a topic once and keeps it; when the header in the table is not the one it
wrote (another worker had the partition since), it reads the topic again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from pydantic_core import from_json, to_json

from vox.core.customers.content import names_author_and_topic
from vox.core.customers.rows import at as timestamp
from vox.core.forgotten import forget_key
from vox.core.held import HELD_MARK, SEPARATOR, HeldKeys, HeldOut, held_key
from vox.core.keys import PARTITION_KEY_PREFIX, KeyPartitions, key_in_partition
from vox.core.leaders.config import LeadersConfig
from vox.core.leaders.ranking import COMPONENTS, Standing
from vox.core.leaders.topic import ANONYMOUS, Interaction, Ranked, Topic
from vox.core.stage import JsonRecords, KeyedStage, NoRecall, StageOutput
from vox.schemas import Event, Post, Review, Vote

if TYPE_CHECKING:
    from vox.settings import Settings

RECORDS_FORMAT = 1
MEMBER_MARK = SEPARATOR  # between topic and customer in a member's key, as in a held chunk's (`held_key`)
PAGERANK = "\x00pagerank"  # the "customer" of a topic's PageRank entry (no customer id starts with NUL)
# interactions per chunk of held ones: about 120 bytes each, so a chunk stays far below Kafka's
# 1 MB message (a backlog of 300,000 events had topic headers of 600 KB before the chunks)
HELD_CHUNK_INTERACTIONS = 2000

LEADER_COLUMNS = ("topic", "customer_id", "is_leader", "rank", "score", "kind", "who", "what", "whom",
                  "credibility", "candidate", "flags", *(f"{c}" for c in COMPONENTS),
                  *(f"{c}_part" for c in COMPONENTS), "contributions", "ranked_at", "version")  # fmt: skip
HISTORY_COLUMNS = ("topic", "customer_id", "change", "rank", "score", "kind", "who", "what", "whom", "credibility",
                   "at", "version")  # fmt: skip


def interactions_of(events: Sequence[Event], positions: Sequence[tuple[int, int]]) -> list[Interaction]:
    """Posts and reviews, in their topic (a review's: its category), and votes that name their
    target's author and topic. Other votes reach the stage from the content stage, with their
    content's author and topic (`vox.core.customers.content`)."""
    out: list[Interaction] = []
    for event, (source, offset) in zip(events, positions):
        if isinstance(event, Vote):
            if names_author_and_topic(event):  # an anonymous voter's too: evidence
                out.append([event.target_topic, source, offset, event.occurred_at.timestamp(), event.event_id, "vote",
                            event.customer_id, event.actor_role, event.target_author_id, event.vote_type])  # fmt: skip
            continue
        if event.actor_role == ANONYMOUS or not isinstance(event, (Post, Review)):
            continue
        when = event.occurred_at.timestamp()
        if isinstance(event, Post):
            detail = [event.kind, event.brand or "", list(event.mentions)]
            out.append([event.topic, source, offset, when, event.event_id, "post", event.customer_id,
                        event.actor_role, event.reply_to_customer_id or "", detail])  # fmt: skip
        else:
            out.append([event.category, source, offset, when, event.event_id, "post", event.customer_id,
                        event.actor_role, "", ["review", event.brand or "", []]])  # fmt: skip
    return out


class InteractionRouter(NoRecall):
    def records_of(self, events: Sequence[Event], positions: Sequence[tuple[int, int]]) -> list[Interaction]:
        return interactions_of(events, positions)


_RECORDS = JsonRecords(RECORDS_FORMAT, "an interaction record")
pack, unpack = _RECORDS.pack, _RECORDS.unpack


class Header:
    """JSON: {"offset", "seen": {source: position}, "held": [interactions], "held_out": [generation,
    chunks], "topic": Topic.header()}: "held" is empty while "held_out" counts chunks, which the
    reader reads (`LeadersLogic._fresh_header`)."""

    def __init__(self, data: bytes | None):
        stored = from_json(data) if data else {}
        self.offset: int = stored.get("offset", -1)
        self.seen: dict[str, int] = stored.get("seen", {})
        self.held: list[Interaction] = stored.get("held", [])
        self.held_out = HeldOut(*stored.get("held_out", (0, 0)))
        self.topic: dict = stored.get("topic", {})
        self.data = data

    def to_bytes(self, topic_header: dict) -> bytes:
        out = self.held_out
        return to_json({"offset": self.offset, "seen": self.seen, "held": [] if out.chunks else self.held,
                        "held_out": [out.generation, out.chunks], "topic": topic_header})  # fmt: skip


class LeadersLogic:
    def __init__(self, config: LeadersConfig, partitions: int):
        self.config = config
        self.held = HeldKeys(partitions, config.lateness_s)
        self.partition_of = KeyPartitions(partitions)
        self.table: Mapping[bytes, bytes] = {}
        self.headers: dict[str, Header] = {}
        self.topics: dict[str, Topic] = {}  # decoded, kept while their header is the table's
        self._member_keys: dict[tuple[str, str], str] = {}

    def advance(self, partition: int, watermark: float, table: Mapping[bytes, bytes]) -> None:
        self.table = table
        self.held.advance(partition, watermark, table)

    def member_key(self, topic: str, customer: str) -> str:
        """A key for the member's state that lands in the topic's partition."""
        found = self._member_keys.get((topic, customer))
        if found is None:
            found = key_in_partition(f"{topic}{MEMBER_MARK}{customer}{MEMBER_MARK}", self.partition_of(topic),
                                     self.partition_of)  # fmt: skip
            if len(self._member_keys) > 1_000_000:
                self._member_keys.clear()
            self._member_keys[(topic, customer)] = found
        return found

    def held_key(self, topic: str, generation: int, chunk: int) -> str:
        """The key of a chunk of the topic's held interactions, in the topic's partition: a
        member's key whose "customer" starts with HELD_MARK (not cached: only topics past
        `HELD_IN_STATE_MAX` held interactions have any)."""
        return held_key(topic, generation, chunk, self.partition_of, HELD_MARK)

    def _topic(self, key: str, header: Header) -> Topic:
        topic = self.topics.get(key)
        if topic is None:
            stored = {}
            for customer in header.topic.get("members", []):
                data = self.table.get(self.member_key(key, customer).encode())
                if data is not None:
                    stored[customer] = from_json(data)
            data = self.table.get(self.member_key(key, PAGERANK).encode())
            topic = self.topics[key] = Topic(key, self.config, header.topic, stored, from_json(data) if data else None)
        return topic

    def apply(self, key: str, records: list[Interaction], source: int, offset: int,
              stored: Callable[[], bytes | None]) -> int | None:  # fmt: skip
        if key.startswith(PARTITION_KEY_PREFIX) or MEMBER_MARK in key:
            return 0
        header = self._fresh_header(key, stored)
        if offset <= header.offset:
            return None  # the changelog had it already
        applied = 0
        for record in records:
            record_source, position = str(record[1]), record[2]
            seen = header.seen.get(record_source, -1)
            if record[1] >= 0 and position <= seen:
                continue  # a batch routing sent twice
            header.seen[record_source] = max(seen, position)
            header.held.append(record)
            applied += 1
        header.offset = offset
        if header.held:
            self.held.hold(key)
        return applied

    def _fresh_header(self, key: str, stored: Callable[[], bytes | None]) -> Header:
        header = self.headers.get(key)
        data = stored()
        if header is None or header.data != data:
            header = self.headers[key] = Header(data)
            self.topics.pop(key, None)  # first seen here, or another worker's since: read it again
            header.held_out.read_back(header.held, lambda g, i: self.table.get(self.held_key(key, g, i).encode()),
                                      from_json)  # fmt: skip
        return header

    def flush(self, keys: Sequence[str]) -> StageOutput:
        output = StageOutput()
        touched = [key for key in dict.fromkeys(keys) if not key.startswith(PARTITION_KEY_PREFIX) and MEMBER_MARK not in key]
        rankings: list[tuple[str, Ranked]] = []
        for cut, key in self.held.due():
            header = self._fresh_header(key, lambda key=key: self.table.get(key.encode()))
            ready = [r for r in header.held if r[3] <= cut]
            if ready:
                header.held = [r for r in header.held if r[3] > cut]
                ready.sort(key=lambda r: (r[3], r[4], r[5]))  # a post before its own "reply" (same id)
                topic = self._topic(key, header)
                for record in ready:
                    ranked = topic.take(record)
                    if ranked is not None:
                        rankings.append((key, ranked))
                touched.append(key)
            if not header.held:
                self.held.settled(key)
        for key in dict.fromkeys(touched):
            header = self.headers[key]
            topic = self._topic(key, header)
            # held chunks before the header that counts them, the ones it no longer counts after
            chunks, dropped = header.held_out.writes(header.held, to_json, HELD_CHUNK_INTERACTIONS)
            output.states.update((self.held_key(key, *at), chunk) for at, chunk in chunks)
            for customer in topic.changed_members():
                output.states[self.member_key(key, customer)] = to_json(topic.member_state(customer))
            for customer in topic.take_evicted():
                output.states[self.member_key(key, customer)] = None
            if topic.ranked_since_saved:
                output.states[self.member_key(key, PAGERANK)] = to_json(topic.pagerank())
                topic.ranked_since_saved = False
            header.data = output.states[key] = header.to_bytes(topic.header())  # after its members: see CustomerLogic.flush
            output.states.update((self.held_key(key, *at), None) for at in dropped)
        self.held.save(output)
        if rankings:
            rows = [leader_row(name, r, s) for name, r in rankings for s in r.standings.values()]
            output.rows.append(("opinion_leaders", LEADER_COLUMNS, rows))
            history = [history_row(name, r, customer, change) for name, r in rankings
                       for change, customers in (("entered", r.entered), ("left", r.left)) for customer in customers]  # fmt: skip
            if history:
                output.rows.append(("opinion_leader_history", HISTORY_COLUMNS, history))
                output.messages.extend(("leaders", name.encode(), leader_message(name, r, customer, change))
                                       for name, r in rankings for change, customers in
                                       (("entered", r.entered), ("left", r.left)) for customer in customers)  # fmt: skip
                output.counts["leaders entered"] = sum(len(r.entered) for _, r in rankings)
                output.counts["leaders left"] = sum(len(r.left) for _, r in rankings)
        return output

    def drop(self, key: str) -> None:
        topic = key.split(MEMBER_MARK, 1)[0]  # a member's or a held chunk's key: its topic is read again
        self.headers.pop(topic, None)
        self.topics.pop(topic, None)

    def redact(self, key: str, data: bytes, forgotten: set[str]) -> bytes | None:
        """A forgotten customer's member entry is deleted; a topic header loses them from its
        members and leaders (their edges go when the topic is next read: `Topic` skips members
        with no entry) and from its held interactions, in the header or in chunks."""
        if MEMBER_MARK in key:
            customer = key.split(MEMBER_MARK)[1]
            if customer.startswith(HELD_MARK):
                chunk = from_json(data)
                kept_held = _without(chunk, forgotten)
                return data if len(kept_held) == len(chunk) else to_json(kept_held)
            if customer == PAGERANK:
                ranks = from_json(data)
                kept = {c: p for c, p in ranks.items() if forget_key(c) not in forgotten}
                return data if len(kept) == len(ranks) else to_json(kept)
            return None if forget_key(customer) in forgotten else data
        header = Header(data)
        members = header.topic.get("members", [])
        kept = [m for m in members if forget_key(m) not in forgotten]
        held = _without(header.held, forgotten)
        if len(kept) == len(members) and len(held) == len(header.held):
            return data
        header.topic["members"] = kept
        header.topic["leaders"] = [m for m in header.topic.get("leaders", []) if forget_key(m) not in forgotten]
        header.held = held
        return header.to_bytes(header.topic)


def _without(held: list[Interaction], forgotten: set[str]) -> list[Interaction]:
    """The interactions whose actor and target are not forgotten."""
    return [r for r in held if forget_key(r[6]) not in forgotten and forget_key(r[8] or "\x00") not in forgotten]


def leader_row(topic: str, ranked: Ranked, s: Standing) -> tuple:
    rank = ranked.leaders.index(s.customer) + 1 if s.customer in ranked.leaders else 0
    return (topic, s.customer, 1 if rank else 0, rank, round(s.score, 5), s.kind, round(s.who, 4), round(s.what, 4),
            round(s.whom, 4), round(s.credibility, 4), 1 if s.candidate else 0, list(s.flags),
            *(round(s.raw[c], 4) for c in COMPONENTS), *(round(s.parts[c], 4) for c in COMPONENTS),
            int(s.raw.get("contributions", 0)), timestamp(ranked.at), ranked.version)  # fmt: skip


def _standing_of(ranked: Ranked, customer: str) -> Standing | None:
    return ranked.standings.get(customer)


def history_row(topic: str, ranked: Ranked, customer: str, change: str) -> tuple:
    s = _standing_of(ranked, customer)
    rank = ranked.leaders.index(customer) + 1 if customer in ranked.leaders else 0
    if s is None:
        return (topic, customer, change, rank, 0.0, "", 0.0, 0.0, 0.0, 0.0, timestamp(ranked.at), ranked.version)
    return (topic, customer, change, rank, round(s.score, 5), s.kind, round(s.who, 4), round(s.what, 4),
            round(s.whom, 4), round(s.credibility, 4), timestamp(ranked.at), ranked.version)  # fmt: skip


def leader_message(topic: str, ranked: Ranked, customer: str, change: str) -> bytes:
    """What `vox.leaders` carries: one JSON object when a customer enters or leaves a topic's leaders."""
    row = dict(zip(HISTORY_COLUMNS, history_row(topic, ranked, customer, change)))
    row["at"] = row["at"].isoformat().replace("+00:00", "Z")
    return to_json(row)


_STANDING = "rank UInt16, score Float32, kind {label}, who Float32, what Float32, whom Float32, credibility Float32"

#: Its tables, applied as a migration (a built-in stage's tables are part of the schema)
DDL = (
    # Latest standing per topic and customer (version: the topic's rankings so far).
    """
    CREATE TABLE IF NOT EXISTS {db}.opinion_leaders (
        topic String,
        customer_id String,
        is_leader UInt8,
        %s,
        candidate UInt8,
        flags Array(String),
        %s,
        contributions UInt32,
        ranked_at {ts},
        version UInt64
    ) ENGINE = ReplacingMergeTree(version)
    ORDER BY (topic, customer_id)
    """ % (_STANDING, ",\n        ".join([f"{c} Float32" for c in COMPONENTS] + [f"{c}_part Float32" for c in COMPONENTS])),
    # Every entry into and exit from a topic's leaders.
    """
    CREATE TABLE IF NOT EXISTS {db}.opinion_leader_history (
        topic String,
        customer_id String,
        change {label},
        %s,
        at {ts},
        version UInt64
    ) ENGINE = ReplacingMergeTree(version)
    ORDER BY (topic, at, customer_id, change)
    """ % _STANDING,
    """
    CREATE VIEW IF NOT EXISTS {db}.current_leaders AS
    SELECT topic, rank, customer_id, kind, score, who, what, whom, credibility, flags, ranked_at
    FROM {db}.opinion_leaders FINAL
    WHERE is_leader = 1
    ORDER BY topic, rank
    """,
)


def _logic(settings: "Settings") -> LeadersLogic:
    return LeadersLogic(settings.leaders, settings.topic_partitions)


LEADERS: KeyedStage[Interaction] = KeyedStage(
    name="leaders",
    topic="interactions",
    table="vox-topics",
    router=lambda settings: InteractionRouter(),
    logic=_logic,
    key_of=lambda record: record[0],
    pack=pack,
    unpack=unpack,
    outputs=("leaders",),
)
