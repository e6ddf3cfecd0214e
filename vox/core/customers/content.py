"""Who wrote a piece of content, for votes whose producer did not say.

Bounded: the most recent `capacity` contents are remembered (least recently used out). A vote
that arrives before its content waits, up to `pending_capacity` votes in all and `vote_wait_days`
of event time, and is resolved when the content shows up; a vote whose content never shows up
(or was forgotten) is dropped from scoring and counted, never guessed: neither its author nor its
voter is credited (votes on content that never exists must not raise anyone's implication). Its
row in `interactions` is unaffected.
"""

from __future__ import annotations

from collections import OrderedDict

from vox.schemas import Vote


class ContentIndex:
    def __init__(self, capacity: int = 1_000_000, pending_capacity: int = 100_000):
        self.capacity, self.pending_capacity = capacity, pending_capacity
        self.authors: OrderedDict[str, str] = OrderedDict()
        self.pending: OrderedDict[str, list[Vote]] = OrderedDict()
        self.pending_count = 0
        self.dropped = 0  # votes given up on: never resolved

    def remember(self, content_id: str, author: str) -> list[Vote]:
        """Record authorship; return the votes that were waiting for this content."""
        self.authors[content_id] = author
        self.authors.move_to_end(content_id)
        if len(self.authors) > self.capacity:
            self.authors.popitem(last=False)
        waiting = self.pending.pop(content_id, [])
        self.pending_count -= len(waiting)
        return waiting

    def author_of(self, vote: Vote) -> str | None:
        """The author if known; otherwise the vote waits for its content."""
        author = self.authors.get(vote.target_id)
        if author is not None:
            return author
        self.wait(vote)
        return None

    def expire(self, now_s: float, max_wait_s: float) -> None:
        """Drop the votes that have waited longer than `max_wait_s` of event time (`now_s`: the
        time of the event being routed). Waiting lists are in arrival order: the oldest first."""
        while self.pending:
            content_id, waiting = next(iter(self.pending.items()))
            if waiting[0].occurred_at.timestamp() >= now_s - max_wait_s:
                return
            del self.pending[content_id]
            self.pending_count -= len(waiting)
            self.dropped += len(waiting)

    def wait(self, vote: Vote) -> None:
        """Hold a vote until its content shows up (once: a vote already waiting is not added)."""
        waiting = self.pending.setdefault(vote.target_id, [])
        if any(v.event_id == vote.event_id for v in waiting):
            return
        waiting.append(vote)
        self.pending_count += 1
        while self.pending_count > self.pending_capacity:
            _, evicted = self.pending.popitem(last=False)
            self.pending_count -= len(evicted)
            self.dropped += len(evicted)
