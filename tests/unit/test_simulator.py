"""The simulator's stream agrees with its ground truth, and behaviour follows the latents."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest

from vox.simulator.generate import SimConfig, Simulation
from vox.simulator.run import write_simulation
from vox.kafka.topics import INPUT_TOPICS
from vox.core.triage import RawMessage, triage
from vox.core.typology import CELL_NAMES

TOPIC_OF = {family: f"vox.{suffix}" for suffix, family in INPUT_TOPICS.items()}
FAMILY_OF = {topic: family for family, topic in TOPIC_OF.items()}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[bytes], dict]:
    out = tmp_path_factory.mktemp("sim")
    truth = write_simulation(SimConfig(customers=1500, days=45, seed=11, invalid_rate=0.002), out, progress=False)
    lines = (out / "events.jsonl").read_bytes().split(b"\n")[:-1]
    return lines, truth


@pytest.fixture(scope="module")
def events(simulated) -> list[dict]:
    lines, truth = simulated
    invalid = {item["line"] for item in truth["invalid"]}
    return [json.loads(line) for number, line in enumerate(lines, start=1) if number not in invalid]


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    config = dict(customers=150, days=10, invalid_rate=0.01)
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        write_simulation(SimConfig(seed=seed, **config), tmp_path / name, progress=False)
    for file in ("events.jsonl", "truth.json"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    assert (tmp_path / "a" / "events.jsonl").read_bytes() != (tmp_path / "c" / "events.jsonl").read_bytes()


def test_valid_events_pass_and_planted_invalid_ones_are_rejected(simulated) -> None:
    lines, truth = simulated
    expected = {item["line"]: item for item in truth["invalid"]}
    assert {item["reason_class"] for item in truth["invalid"]} == {
        "not_json", "not_utf8", "not_object", "unknown_family", "missing_field", "invalid_field", "too_large"}  # fmt: skip
    messages = []
    for number, line in enumerate(lines, start=1):
        family = expected[number]["topic_family"] if number in expected else json.loads(line)["type"]
        messages.append(RawMessage(TOPIC_OF[family], 0, number, line))
    result = triage(messages, FAMILY_OF)
    assert {message.offset for _, message in result.accepted} == set(range(1, len(lines) + 1)) - set(expected)
    assert {r.message.offset: r.reason_class for r in result.rejected} == {
        number: item["reason_class"] for number, item in expected.items()}  # fmt: skip


def test_live_stream_also_plants_empty_messages() -> None:
    sim = Simulation(SimConfig(customers=100, days=5, invalid_rate=0.2), live=True)
    assert b"" in [message.line for message in sim.events() if message.expected_reason]


def test_every_cell_is_populated_and_active(simulated, events) -> None:
    _, truth = simulated
    assert set(truth["cells"]) == set(CELL_NAMES) and min(truth["cells"].values()) > 0
    active_cells = {truth["customers"][e["customer_id"]]["cell"] for e in events}
    assert active_cells == set(CELL_NAMES)


def test_activity_is_heavy_tailed(simulated) -> None:
    stats = simulated[1]["events_per_customer"]
    assert stats["top_10pct_share"] > 0.4
    assert stats["p99"] > 10 * stats["p50"]


def test_duplicates_and_late_events_are_there_and_bounded(events, simulated) -> None:
    ids = [e["event_id"] for e in events]
    assert len(ids) - len(set(ids)) == simulated[1]["counts"]["duplicates"] > 0
    latest, late = None, 0
    seen: set[str] = set()
    for event in events:
        if event["event_id"] in seen:
            continue  # a resend can come up to an hour later
        seen.add(event["event_id"])
        at = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
        if latest and at < latest:
            late += 1
            assert (latest - at).total_seconds() <= 600 + 1
        latest = max(latest or at, at)
    assert late > 0


def test_planted_leaders_draw_the_most_distinct_repliers_in_their_topic(events, simulated) -> None:
    truth = simulated[1]
    repliers: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for e in events:
        target = e.get("reply_to_customer_id") if e["type"] == "post" else None
        if target and target != e["customer_id"]:
            repliers[e["topic"]][target].add(e["customer_id"])
    staff = set(truth["staff"])
    for topic, leaders in truth["leaders"].items():
        reach = {who: len(people) for who, people in repliers[topic].items() if who not in staff}
        top = max(reach, key=reach.get)
        assert top in leaders, (topic, top, reach[top])
        regulars = [n for who, n in reach.items() if truth["customers"][who]["persona"] == "regular"]
        assert min(reach.get(leader, 0) for leader in leaders) > max(regulars), topic


def test_staff_are_very_active_and_flagged(events, simulated) -> None:
    staff = set(simulated[1]["staff"])
    per_customer = defaultdict(int)
    for e in events:
        per_customer[e["customer_id"]] += 1
        assert (e.get("actor_role") == "staff") == (e["customer_id"] in staff)
    busiest = sorted(per_customer, key=per_customer.get, reverse=True)[:20]
    assert staff <= set(busiest)


def test_planted_shifts_move_the_mean_rating_of_their_subject(events, simulated) -> None:
    truth = simulated[1]
    for shift in truth["shifts"]:
        start = shift["start"].replace("+00:00", "Z")
        key = "brand" if shift["subject_kind"] == "brand" else "product_id"
        before = [e["rating"] for e in events if e["type"] == "review" and e[key] == shift["subject"] and e["occurred_at"] < start]
        after = [e["rating"] for e in events if e["type"] == "review" and e[key] == shift["subject"] and e["occurred_at"] >= start]
        assert len(before) >= 10 and len(after) >= 10, shift
        moved = statistics.mean(after) - statistics.mean(before)
        assert moved * shift["magnitude"] > 0 and abs(moved) > abs(shift["magnitude"]) / 3, (shift, moved)


def by_level(events, truth, trait: str, measure) -> tuple[float, float]:
    """Mean of a per-customer measure for the lowest and highest third of a latent trait."""
    per_customer = defaultdict(list)
    for e in events:
        value = measure(e)
        if value is not None:
            per_customer[e["customer_id"]].append(value)
    low, high = [], []
    for who, values in per_customer.items():
        level = truth["customers"][who][trait]
        (low if level < 1 / 3 else high if level > 2 / 3 else []).append(statistics.mean(values))
    return statistics.mean(low), statistics.mean(high)


def test_competence_drives_accuracy_detail_answers_and_learning(events, simulated) -> None:
    truth = simulated[1]
    quality = {pid: p["quality"] for pid, p in truth["products"].items()}
    shifted = {s["subject"] for s in truth["shifts"]}

    def error(e):
        if e["type"] == "review" and e["brand"] not in shifted and e["product_id"] not in shifted:
            return abs(e["rating"] - quality[e["product_id"]])
        return None

    low, high = by_level(events, truth, "competence", error)
    assert high < low * 0.75
    low, high = by_level(events, truth, "competence", lambda e: len(e["text"]) if e["type"] == "review" else None)
    assert high > 1.5 * low
    low, high = by_level(events, truth, "competence",
                         lambda e: e["kind"] == "answer" if e["type"] == "post" and e["kind"] != "idea" else None)  # fmt: skip
    assert high > 2 * low
    low, high = by_level(events, truth, "competence",
                         lambda e: e["page_type"] in ("docs", "tutorial") if e["type"] == "click" else None)  # fmt: skip
    assert high > 2 * low


def test_implication_drives_frequency_depth_and_durability(events, simulated) -> None:
    truth = simulated[1]
    count, weeks = defaultdict(int), defaultdict(set)
    for e in events:
        count[e["customer_id"]] += 1
        weeks[e["customer_id"]].add(e["occurred_at"][:10])
    low = [n for who, n in count.items() if truth["customers"][who]["implication"] < 1 / 3]
    high = [n for who, n in count.items() if truth["customers"][who]["implication"] > 2 / 3]
    assert statistics.median(high) > 5 * statistics.median(low)
    low_days = [len(d) for who, d in weeks.items() if truth["customers"][who]["implication"] < 1 / 3]
    high_days = [len(d) for who, d in weeks.items() if truth["customers"][who]["implication"] > 2 / 3]
    assert statistics.mean(high_days) > 3 * statistics.mean(low_days)


def test_daily_seasonality(events) -> None:
    per_hour = defaultdict(int)
    for e in events:
        per_hour[int(e["occurred_at"][11:13])] += 1
    assert per_hour[20] > 4 * per_hour[3]


def test_reviews_are_in_english_and_french_with_matching_tone(events) -> None:
    reviews = [e for e in events if e["type"] == "review"]
    assert {"en", "fr"} == {e["lang"] for e in reviews}
    good = [e["text"] for e in reviews if e["rating"] == 5 and e["lang"] == "en"]
    bad = [e["text"] for e in reviews if e["rating"] == 1 and e["lang"] == "fr"]
    assert sum(("Excellent" in t or "Love" in t or "Great" in t or "Superb" in t or "perfectly" in t) for t in good) > 0.9 * len(good)
    assert sum(("Déçu" in t or "Mauvaise" in t or "Nul" in t or "mauvaise" in t or "décevant" in t) for t in bad) > 0.9 * len(bad)
