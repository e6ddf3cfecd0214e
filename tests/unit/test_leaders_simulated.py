"""The simulator's planted leaders and communicators, found by `vox replay`'s leaders stage."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes import MemoryTables
from vox.core.leaders.stage import LEADER_COLUMNS
from vox.replay import replay_file
from vox.settings import Settings
from vox.simulator.generate import SimConfig, Simulation
from vox.simulator.run import write_simulation

COLUMN = {name: n for n, name in enumerate(LEADER_COLUMNS)}


def test_planted_leaders_lead_communicators_are_labelled_and_staff_never_ranked(tmp_path: Path) -> None:
    config = SimConfig(customers=800, days=50, seed=3)
    write_simulation(config, tmp_path, progress=False)
    world = Simulation(config).world
    tables = MemoryTables()
    settings = Settings(stages="vox.core.customers.stage:CONTENT,leaders")  # no need of the scores
    replay_file(tmp_path / "events.jsonl", tables, settings, progress=False, write_interactions=False)  # type: ignore[arg-type]
    latest: dict[tuple[str, str], tuple] = {}
    for row in tables.rows["opinion_leaders"]:
        key = (row[COLUMN["topic"]], row[COLUMN["customer_id"]])
        if key not in latest or row[COLUMN["version"]] >= latest[key][COLUMN["version"]]:
            latest[key] = row
    staff = {s.id for s in world.staff}
    assert not [key for key, row in latest.items() if row[COLUMN["is_leader"]] and key[1] in staff]
    assert {key[1] for key in latest} & staff  # staff were scored, not ranked
    kinds, whats = {}, {}
    for topic in world.topics:
        ranked = sorted((row for (t, _), row in latest.items() if t == topic and row[COLUMN["is_leader"]]),
                        key=lambda row: row[COLUMN["rank"]])  # fmt: skip
        planted = world.leaders[topic]
        top = [row[COLUMN["customer_id"]] for row in ranked[: len(planted)]]
        assert sum(c in planted for c in top) / len(planted) >= 0.9, (topic, top, planted)
        for customer in planted + world.communicators[topic]:
            if (topic, customer) in latest:
                kinds[customer] = latest[(topic, customer)][COLUMN["kind"]]
                whats[customer] = round(latest[(topic, customer)][COLUMN["what"]], 2)
    assert all(kinds[c] == "expert" for ls in world.leaders.values() for c in ls), whats
    communicators = [kinds[c] for cs in world.communicators.values() for c in cs if c in kinds]
    assert len(communicators) >= 8 and all(kind == "communicator" for kind in communicators)


def test_votes_that_name_their_topic_give_the_leaders_of_votes_that_do_not(tmp_path: Path) -> None:
    """A vote naming its target's author and topic goes to the leaders stage from ingest; one
    naming neither waits for the content stage to tell them: the leaders are the same."""
    write_simulation(SimConfig(customers=400, days=30, seed=5), tmp_path, progress=False)
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    # votes after their content, as producers send them (the simulator's clocks let a vote precede
    # it by hours; the content stage then counts it from its content's time, which ingest cannot)
    content_at = {e.get("review_id") or e["post_id"]: e["occurred_at"] for e in events if e["type"] in ("review", "post")}
    for event in events:
        if event["type"] == "vote" and event["target_id"] in content_at:
            event["occurred_at"] = max(event["occurred_at"], content_at[event["target_id"]])
    events.sort(key=lambda e: e["occurred_at"])
    named = [json.dumps(event) for event in events]
    unnamed = [json.dumps({k: v for k, v in event.items() if k != "target_topic"}) for event in events]
    assert sum('"target_topic"' in line for line in named) > 1000
    leaders = []
    for lines in (named, unnamed):
        path = tmp_path / "in.jsonl"
        path.write_text("\n".join(lines) + "\n")
        tables = MemoryTables()
        settings = Settings(stages="vox.core.customers.stage:CONTENT,leaders")
        replay_file(path, tables, settings, progress=False, write_interactions=False)  # type: ignore[arg-type]
        rows = tables.rows["opinion_leaders"]
        assert rows
        leaders.append(sorted(tuple(row[:COLUMN["ranked_at"]]) for row in rows))
    assert leaders[0] == leaders[1]
