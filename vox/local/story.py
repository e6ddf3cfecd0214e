"""What `vox demo` tells as it happens: the worker's own announcements (`vox.segments`,
`vox.leaders`, `vox.alerts`) turned into a few lines of plain words. Pure: messages in, lines out;
the demo reads the topics and prints."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from vox.core.sentiment.subjects import END_REASONS

MOVES_TOLD = 3  # the first moves between cells, then only their count
LEADERS_TOLD = 4  # the first leader of as many topics, then only their count


def _time(text: str | None) -> str:
    return (text or "")[:16].replace("T", " ")


@dataclass
class Story:
    moves: int = 0
    leaders: int = 0
    leader_topics: set = field(default_factory=set)
    alerts: int = 0

    def tell(self, family: str, payload: bytes) -> list[str]:
        """The lines one announcement adds (often none: the rest is counted)."""
        message = json.loads(payload)
        if family == "segments":
            return self._move(message)
        if family == "leaders":
            return self._leader(message)
        return self._alert(message)

    def _move(self, m: dict) -> list[str]:
        if not m.get("from"):
            return []  # a first placement, not a move
        self.moves += 1
        if self.moves > MOVES_TOLD:
            return []
        return [f"  move     {m['customer_id']} went from {m['from']} to {m['to']} on {_time(m['at'])} (competence "
                f"{m['competence']:.0f}, implication {m['implication']:.0f}): {m['recommended_action']}"]  # fmt: skip

    def _leader(self, m: dict) -> list[str]:
        if m.get("change") != "entered":
            return []
        self.leaders += 1
        told = m["topic"] not in self.leader_topics and len(self.leader_topics) < LEADERS_TOLD
        self.leader_topics.add(m["topic"])
        if not told:
            return []
        return [f"  leader   {m['customer_id']} now leads {m['topic']} as {m['kind']} (#{m['rank']}, score "
                f"{m['score']:.2f}: what they know {m['what']:.2f}, whom they know {m['whom']:.2f})"]  # fmt: skip

    def _alert(self, m: dict) -> list[str]:
        subject = f"{m['subject_kind']} {m['subject']}"
        if m.get("status") == "ended":
            reason = END_REASONS.get(m.get("end_reason") or "", m.get("end_reason") or "")
            return [f"  alert    ended for {subject} on {_time(m.get('ended_at'))} ({reason})"]
        self.alerts += 1
        verb = "fell" if m["direction"] == "negative" else "rose"
        evidence = ", ".join((m.get("evidence_event_ids") or [])[:3])
        return [f"  ALERT    sentiment of {subject} {verb} from {m['baseline']:+.2f} to {m['level']:+.2f} "
                f"({abs(m['magnitude_sd']):.1f} standard deviations), change began about {_time(m['started_at'])}, "
                f"raised {_time(m['detected_at'])} after {m['events_since_change']} opinions",
                f"           evidence, its strongest opinions since the change: {evidence}"]  # fmt: skip

    def summary(self) -> str:
        # "so far": moves and rankings at event-time points the data has not yet passed come
        # with the next events (the sample, in the demo)
        return (f"so far {self.moves:,} moves between cells, {self.leaders:,} leaders entering in "
                f"{len(self.leader_topics)} topics, {self.alerts} sentiment alert{'s' if self.alerts != 1 else ''} "
                "raised")  # fmt: skip
