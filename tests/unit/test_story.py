"""What `vox demo` says of the worker's announcements (vox.local.story)."""

from __future__ import annotations

import json

from vox.local.story import LEADERS_TOLD, MOVES_TOLD, Story


def move(customer: str, source: str, target: str) -> bytes:
    return json.dumps({"customer_id": customer, "from": source, "to": target, "at": "2026-01-05T07:00:00Z",
                       "competence": 30.4, "implication": 40.6, "recommended_action": "do this"}).encode()  # fmt: skip


def leader(topic: str, customer: str, change: str = "entered") -> bytes:
    return json.dumps({"topic": topic, "customer_id": customer, "change": change, "rank": 1, "score": 0.5,
                       "kind": "expert", "who": 0.1, "what": 0.9, "whom": 0.3, "credibility": 0.8}).encode()  # fmt: skip


def alert(status: str, direction: str = "negative") -> bytes:
    return json.dumps({"alert_id": "a", "status": status, "subject_kind": "brand", "subject": "Acme",
                       "direction": direction, "baseline": 0.4, "level": -0.3, "magnitude_sd": -1.6,
                       "started_at": "2026-01-18T16:20:00Z", "detected_at": "2026-01-21T23:10:00Z",
                       "events_since_change": 12, "evidence_event_ids": ["e1", "e2", "e3", "e4"],
                       "ended_at": "2026-01-25T10:00:00Z", "end_reason": "returned"}).encode()  # fmt: skip


def test_first_placements_are_not_moves_and_only_the_first_moves_are_told() -> None:
    story = Story()
    assert story.tell("segments", move("c0", "", "coeur")) == []
    told = [story.tell("segments", move(f"c{n}", "spectateurs", "potentiels_2")) for n in range(1, 6)]
    assert [len(lines) for lines in told] == [1] * MOVES_TOLD + [0] * (5 - MOVES_TOLD)
    assert told[0] == ["  move     c1 went from spectateurs to potentiels_2 on 2026-01-05 07:00 (competence 30, "
                       "implication 41): do this"]  # fmt: skip
    assert story.moves == 5


def test_one_leader_per_topic_is_told_and_exits_are_not() -> None:
    story = Story()
    assert len(story.tell("leaders", leader("mixing", "u1"))) == 1
    assert story.tell("leaders", leader("mixing", "u2")) == []  # same topic: counted only
    assert story.tell("leaders", leader("mixing", "u1", "left")) == []
    told = [story.tell("leaders", leader(f"topic{n}", "u3")) for n in range(LEADERS_TOLD + 2)]
    assert sum(len(lines) for lines in told) == LEADERS_TOLD - 1
    assert story.leaders == 2 + LEADERS_TOLD + 2 and len(story.leader_topics) == 1 + LEADERS_TOLD + 2


def test_an_alert_is_told_with_its_evidence_and_its_end() -> None:
    story = Story()
    raised = story.tell("alerts", alert("open"))
    assert raised[0].startswith("  ALERT    sentiment of brand Acme fell from +0.40 to -0.30 (1.6 standard deviations)")
    assert "after 12 opinions" in raised[0] and raised[1].endswith("e1, e2, e3")
    assert "rose" in story.tell("alerts", alert("open", "positive"))[0]
    assert story.tell("alerts", alert("ended")) == ["  alert    ended for brand Acme on 2026-01-25 10:00 (back to its level)"]
    assert story.summary() == "so far 0 moves between cells, 0 leaders entering in 0 topics, 2 sentiment alerts raised"
