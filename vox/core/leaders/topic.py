"""One topic: its members, its graph, its leaders, and what each interaction changes.

Interactions reach a topic in (time, event id) order (`vox.core.held`), so a topic is a pure
fold: the same interactions give the same members, graph, PageRank and leaders in every worker
and in `vox replay`. Leaders are ranked at points of that sequence only (every `rank_every`
interactions, and on entering a new `rank_interval_minutes` of event time), never at a batch's
end, which differs between a stream and a replay.

How a vote or a reply inherits its topic: a post names its topic; an answer or a reply is in the
topic its post names (Stack Exchange: the thread's); a review is in its product's category; a
vote is in the topic of the content it is on: the one it names (`target_topic`, with its
target's author), else the one the content stage knows (`vox.core.customers.content`) and sends
on with the vote.

Bounds: at most `max_customers` members per topic; past it, the least active (decayed activity)
are evicted, down to 95 % of it, leaders never, with their edges (their PageRank mass goes with
them; their endorsements of others are lost: the cost is on customers endorsed mostly by the
evicted, who are the least active). At most `max_out_edges` edges per member, the strongest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vox.core.leaders.config import LeadersConfig
from vox.core.leaders.graph import Frame, Graph, Vertex
from vox.core.leaders.members import Member
from vox.core.leaders.ranking import Standing, choose_leaders, is_candidate, standings

ANONYMOUS = "anonymous"  # a placeholder identity: evidence about others, never a member
KEEP_AFTER_EVICTION = 0.95

# An interaction: [topic, source, position, at, event id, kind, actor, role, target, detail]
#   kind "post": target = whom it replies to ("" if no one), detail = [post kind, brand, mentions]
#   kind "vote": target = the content's author, detail = vote type
#   kind "reply": a post that named only the post it replies to, whose author the content stage
#     found: target = that author, detail = the post's kind (the post itself came as "post")
Interaction = list


@dataclass
class Ranked:
    """What one ranking produced: the standings written as rows, and the changes of leaders."""

    at: float
    version: int
    standings: dict[str, Standing]
    leaders: list[str]
    entered: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


class Topic:
    """The header (JSON): {"members": ids in order of arrival, "origin": the frame's t0, "leaders",
    "since": interactions since the last ranking, "interval", "version": rankings so far, "dirty":
    members changed since the last ranking}."""

    def __init__(self, name: str, config: LeadersConfig, header: dict | None = None,
                 stored: dict[str, dict] | None = None, pagerank: dict[str, float] | None = None):  # fmt: skip
        h = header or {}
        self.name, self.config = name, config
        self.frame = Frame(config.half_life_days * 86_400, h.get("origin"))
        self.graph = Graph(config.push_tolerance, config.max_out_edges)
        self.members: dict[str, Member] = {}
        for key in h.get("members", []):
            data = (stored or {}).get(key)
            if data is None:
                continue  # a forgotten customer's
            self.members[key] = Member(data["member"])
            out, total = data["vertex"]
            self.graph.load(key, Vertex(out, total, (pagerank or {}).get(key, 0.0)))
        # the members with the evidence to lead: kept up to date at each ranking, from the members
        # changed since the last (a ranking never walks every member of a big topic)
        self.candidates: set[str] = {key for key, m in self.members.items() if is_candidate(m, config)}
        self.leaders: list[str] = h.get("leaders", [])
        self.since: int = h.get("since", 0)
        self.interval: int | None = h.get("interval")
        self.version: int = h.get("version", 0)
        # members changed since the last ranking (their rows), kept in the header: a process that
        # takes the topic over between two rankings writes their rows at the next, as one that
        # never stopped would
        self.dirty: dict[str, None] = {key: None for key in h.get("dirty", []) if key in self.members}
        self.changed: dict[str, None] = {}  # members changed since `changed_members` (their states)
        self.evicted: list[str] = []  # since `take_evicted`
        self.ranked_since_saved = False  # PageRank moved: its entry is to be written

    def header(self) -> dict:
        return {"members": list(self.members), "origin": self.frame.origin, "leaders": self.leaders,
                "since": self.since, "interval": self.interval, "version": self.version,
                "dirty": list(self.dirty)}  # fmt: skip

    def member_state(self, key: str) -> dict:
        v = self.graph.vertices[key]
        return {"member": self.members[key].to_dict(), "vertex": [v.out, v.total]}

    def pagerank(self) -> dict[str, float]:
        """PageRank as of the last ranking, kept in one entry per topic (written at rankings only)."""
        return {key: v.p for key, v in self.graph.vertices.items() if v.p}

    # -- applying interactions --------------------------------------------------------------
    def take(self, interaction: Interaction) -> Ranked | None:
        """Apply one interaction; the ranking it triggered, if any (before it, when it opens a
        new interval of event time)."""
        at = interaction[3]
        ranked = None
        interval = int(at // (self.config.rank_interval_minutes * 60))
        if self.interval is not None and interval > self.interval and self.since:
            ranked = self.rank(at)
        self.interval = interval if self.interval is None else max(self.interval, interval)
        self._apply(interaction)
        self.since += 1
        if self.since >= self.config.rank_every:
            ranked = self.rank(at) if ranked is None else ranked  # one ranking per interaction at most
        return ranked

    def _apply(self, interaction: Interaction) -> None:
        _, _, _, at, _, kind, actor, role, target, detail = interaction
        if self.frame.needs_rebase(at):
            self._rebase(at)
        grown = self.frame.grown(at)
        weights = self.config.edge_weights
        if kind == "post":
            post_kind, brand, mentions = detail
            author = self._member(actor, role)
            author.contributed(post_kind, brand, at, grown)
            if target and target != actor:
                self._replied(author, actor, target, post_kind, grown)
            for mentioned in mentions:
                if mentioned != actor:
                    other = self._member(mentioned)
                    other.seekers.add(actor)
                    other.talk.add(actor)
                    author.talk.add(mentioned)
                    self.graph.endorse(actor, mentioned, weights["mention"] * grown)
        elif kind == "reply":
            if target and target != actor:
                self._replied(self._member(actor, role), actor, target, detail, grown)
        elif kind == "vote":
            author = self._member(target)
            author.recognised(detail, actor, at, grown)
            if role != ANONYMOUS and actor != target and detail not in ("down", "unhelpful"):
                self._member(actor, role)
                self.graph.endorse(actor, target, weights["accept" if detail == "accept" else "vote"] * grown)
        if len(self.members) > self.config.max_customers:
            self._evict()

    def _replied(self, author: Member, actor: str, target: str, post_kind: str, grown: float) -> None:
        """`actor`'s post replies to `target`'s: who talks to whom, who sought whom out, the edge."""
        weights = self.config.edge_weights
        other = self._member(target)
        other.responses += 1
        author.talk.add(target)
        other.talk.add(actor)
        if post_kind == "answer":  # the asker sought the answerer out
            author.seekers.add(target)
            self.graph.endorse(target, actor, weights["answer"] * grown)
        else:  # a reply engages with the one replied to
            other.seekers.add(actor)
            self.graph.endorse(actor, target, weights["reply"] * grown)

    def _member(self, key: str, role: str | None = None) -> Member:
        member = self.members.get(key)
        if member is None:
            member = self.members[key] = Member()
            self.graph.ensure(key)
        if role is not None and role != ANONYMOUS:
            member.role = role  # the latest role a customer acted under in the topic
        self.dirty[key] = self.changed[key] = None
        return member

    def _evict(self) -> None:
        keep = int(self.config.max_customers * KEEP_AFTER_EVICTION)
        leaders = set(self.leaders)
        order = sorted((m.decayed.get("activity", 0.0), key) for key, m in self.members.items() if key not in leaders)
        for _, key in order[: len(self.members) - keep]:
            del self.members[key]
            self.graph.remove(key)
            self.dirty.pop(key, None)
            self.changed.pop(key, None)
            self.candidates.discard(key)
            self.evicted.append(key)

    def _rebase(self, at: float) -> None:
        factor = 1 / self.frame.grown(at)
        self.frame.origin = at
        self.graph.rescale(factor)
        for key, member in self.members.items():
            member.rescale(factor)
            self.dirty[key] = self.changed[key] = None

    def forget(self, keys: set[str]) -> None:
        for key in [k for k in self.members if k in keys]:
            del self.members[key]
            self.graph.remove(key)
            self.dirty.pop(key, None)
            self.changed.pop(key, None)
            self.candidates.discard(key)
        self.leaders = [k for k in self.leaders if k not in keys]

    # -- ranking ----------------------------------------------------------------------------------
    def rank(self, at: float) -> Ranked:
        self.graph.refresh()
        self.ranked_since_saved = True
        decay = self.frame.decayed
        wanted = set(self.dirty) | set(self.leaders)
        for key in self.dirty:
            if is_candidate(self.members[key], self.config):
                self.candidates.add(key)
            else:
                self.candidates.discard(key)
        standing = standings(self.members, self.graph.centrality, lambda stored: decay(stored, at), self.config,
                             only=wanted, candidates=self.candidates)  # fmt: skip
        chosen = choose_leaders(self.leaders, standing, self.config)
        before = set(self.leaders)
        self.version += 1
        # rows: the changed members with the contributions to lead (staff too: scored, never
        # ranked), and every leader, old or new
        least = self.config.min_contributions
        rows = {k: s for k, s in standing.items()
                if (k in wanted and self.members[k].contributions() >= least) or k in chosen or k in before}  # fmt: skip
        ranked = Ranked(at, self.version, rows, chosen,
                        [c for c in chosen if c not in before], sorted(before - set(chosen)))  # fmt: skip
        self.leaders = chosen
        self.since = 0
        self.dirty = {}
        return ranked

    def changed_members(self) -> list[str]:
        """Members whose stored state changed (their edges or their counts)."""
        keys = [*self.changed, *self.graph.take_dirty()]
        self.changed = {}
        return [key for key in dict.fromkeys(keys) if key in self.members]

    def take_evicted(self) -> list[str]:
        evicted, self.evicted = self.evicted, []
        return evicted
