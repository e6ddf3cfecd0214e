"""Sweeps (`vox.core.customers.sweeps`): scores and cells at fixed event-time points, one set of
cut points for the whole population, whatever the batches, the order or the partitions."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import encode, post
from tests.fakes import MemoryTables
from vox.core.customers.stage import CUSTOMERS
from vox.core.customers.state import CustomerState
from vox.core.forgotten import forget_key
from vox.core.customers.sweeps import PartitionSweeps, SweepClock
from vox.core.customers.signals import Signal, unpack
from vox.core.triage import RawMessage, triage
from vox.replay import InProcessStage, replay_file
from vox.settings import Settings
from vox.simulator.generate import SimConfig
from vox.simulator.run import write_simulation

T0 = datetime(2026, 3, 2, 8, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sweeps")
    write_simulation(SimConfig(customers=100, days=20, seed=4), out, progress=False)
    return out / "events.jsonl"


def replayed(path: Path, batch: int, settings: Settings | None = None) -> MemoryTables:
    tables = MemoryTables()
    replay_file(path, tables, settings or Settings(), batch_events=batch, progress=False)
    return tables


def test_the_rows_do_not_depend_on_batch_boundaries(stream: Path) -> None:
    small, large = replayed(stream, 37), replayed(stream, 5000)
    assert small.latest("customer_scores") == large.latest("customer_scores")  # as the table keeps it
    assert len(small.rows["customer_scores"]) > len(large.rows["customer_scores"])  # a batch writes each once
    for table in ("customer_score_history", "segment_transitions"):
        assert sorted(map(repr, small.rows[table])) == sorted(map(repr, large.rows[table])), table
    assert len(small.latest("customer_scores")) > 60
    cells = {row[5] for row in small.latest("customer_scores").values()}
    assert len(cells) >= 6  # adaptive cuts from the population, not the fixed fallback


def test_the_rows_do_not_depend_on_arrival_order_within_the_lateness(stream: Path, tmp_path: Path) -> None:
    lines = stream.read_bytes().splitlines()
    shuffled, rng = list(lines), random.Random(3)
    for i in range(0, len(shuffled) - 1, 2):  # neighbours swapped: seconds to minutes apart
        if rng.random() < 0.5:
            shuffled[i], shuffled[i + 1] = shuffled[i + 1], shuffled[i]
    other = tmp_path / "shuffled.jsonl"
    other.write_bytes(b"\n".join(shuffled) + b"\n")
    a, b = replayed(stream, 500), replayed(other, 500)
    assert a.latest("customer_scores") == b.latest("customer_scores")
    assert sorted(map(repr, a.rows["customer_score_history"])) == sorted(map(repr, b.rows["customer_score_history"]))


def test_a_silent_customer_s_implication_falls_as_sweep_points_pass(tmp_path: Path) -> None:
    events = [post(event_id=f"q{n}", customer_id="ann", kind="question", topic="t",
                   occurred_at=(T0 + timedelta(hours=n)).isoformat()) for n in range(5)]  # fmt: skip
    # someone else keeps the stream going for two weeks: event time passes for everyone
    events += [post(event_id=f"o{n}", customer_id="other", kind="question", topic="t",
                    occurred_at=(T0 + timedelta(hours=6 + 12 * n)).isoformat()) for n in range(28)]  # fmt: skip
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(encode(e) for e in events) + b"\n")
    tables = replayed(path, 10)
    ann = sorted((row for row in tables.rows["customer_scores"] if row[0] == "ann"), key=lambda row: row[1])
    implication = [row[4] for row in ann]
    assert len(ann) >= 5 and implication[-1] < implication[len(implication) // 2] < max(implication)
    days = [row[15] for row in ann]
    assert days == sorted(days) and days[-1] > 7  # days since active keeps counting in the rows
    span = (events[-1]["occurred_at"], events[0]["occurred_at"])
    assert days[-1] <= (datetime.fromisoformat(span[0]) - datetime.fromisoformat(span[1])).days + 1


def test_silent_customers_are_swept_1_2_4_8_days_after_their_last_signal() -> None:
    hourly, daily, weekly = SweepClock(3600, 600), SweepClock(86_400, 600), SweepClock(7 * 86_400, 600)
    days = [101, 102, 104, 108, 116, 132]
    # hourly points: a day of them, then 2, 4... days; weekly: at least a point
    for clock, expected in ((hourly, [124, 148, 196, 292, 484, 868]), (daily, days), (weekly, days)):
        last, points, after = 100, [], 100
        for _ in range(6):
            after = clock.silent_due(last, after)
            points.append(after)
        assert points == expected
    # listed after a restart, it resumes where it was
    assert SweepClock(3600, 600).silent_due(100, 150) == 196


def test_a_sweep_waits_for_the_population_s_cuts_and_uses_them_lagged() -> None:
    sweeps = PartitionSweeps(swept=10)
    fallback = ((33.3, 66.7), (33.3, 66.7))
    assert sweeps.cuts_for(11, 2, fallback) is None  # nothing from the population yet
    sweeps.receive([Signal("k", "cuts", 8.0, a=json.dumps([8, [[8, 1, 2, 3, 4], [9, 5, 6, 7, 8]]]))])
    assert sweeps.cuts_for(10, 2, fallback) == ((1, 2), (3, 4))
    assert sweeps.cuts_for(11, 2, fallback) == ((5, 6), (7, 8))
    assert sweeps.cuts_for(9, 2, fallback) == fallback  # before the population's first sweep
    assert sweeps.cuts_for(12, 2, fallback) is None
    again = PartitionSweeps.from_bytes(sweeps.to_bytes())
    assert (again.swept, again.known_from, again.cuts) == (10, 8, {8: ((1, 2), (3, 4)), 9: ((5, 6), (7, 8))})


def test_the_clock_waits_for_the_lateness() -> None:
    clock = SweepClock(3600, 600)
    assert clock.covering(7200) == 2 and clock.covering(7201) == 3
    assert clock.ready(7200 + 599) == 1 and clock.ready(7200 + 600) == 2
    assert clock.ready(float("-inf")) is None


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["ann", "bob", "cid"]), st.floats(0, 20 * 86_400),
                          st.sampled_from(["question", "answer"]), st.sampled_from(["", "ann", "bob"])),
                min_size=1, max_size=40))  # fmt: skip
def test_days_since_active_is_never_larger_than_the_span_of_the_data_seen(tmp_path: Path, posts: list) -> None:
    events = [post(event_id=f"p{n}", customer_id=who, kind=kind, topic="t", reply_to_customer_id=to or None,
                   mentions=[], occurred_at=(T0 + timedelta(seconds=at)).isoformat())
              for n, (who, at, kind, to) in enumerate(sorted(posts, key=lambda p: p[1]))]  # fmt: skip
    path = tmp_path / f"events-{random.random()}.jsonl"
    path.write_bytes(b"\n".join(encode(e) for e in events) + b"\n")
    first = T0.timestamp() + min(at for _, at, _, _ in posts)
    for row in replayed(path, 7).rows.get("customer_scores", []):
        seen_days = (row[2].timestamp() - first) / 86_400  # the data seen by the sweep point the row is as of
        assert row[15] == -1.0 or 0 <= row[15] <= seen_days + 5e-4, row  # the column is rounded to 3 places


def test_a_customer_holding_thousands_of_signals_stores_them_in_chunks_each_within_a_kafka_message() -> None:
    """A first batch with thousands of one customer's posts: its sweeps wait for the population's
    first cuts, so the signals are held, none applied before its sweep, in chunks beside the
    state (each far below Kafka's 1 MB message), the state itself small."""
    posts = [post(event_id=f"h{n}", customer_id="heavy", kind="answer", topic=f"topic-{n % 50}",
                  text="x" * 200, reply_to_customer_id=None, mentions=[],
                  occurred_at=(T0 + timedelta(seconds=20 * n)).isoformat()) for n in range(12_000)]  # fmt: skip
    messages = [RawMessage("test", 0, n, encode(p)) for n, p in enumerate(posts)]
    events = [event for event, _ in triage(messages, {}, T0 + timedelta(days=30)).accepted]
    stage = InProcessStage(CUSTOMERS, Settings())
    held = sum(s.customer_id == "heavy" for s in stage.router.records_of(events, [(-1, -1)] * len(events)))
    output = stage.run(events, watermark=max(e.occurred_at.timestamp() for e in events))
    state = CustomerState.from_bytes(output.states["heavy"])
    assert len(output.states["heavy"]) < 1024 and state.held_out.chunks > 1
    chunks = [output.states[stage.logic.held_key("heavy", state.held_out.generation, i)] for i in range(state.held_out.chunks)]
    assert all(len(chunk) < 512 * 1024 for chunk in chunks)
    state.held_out.read_back(state.held, lambda _, i: chunks[i], unpack)
    assert len(state.held) == held and state.signals == 0  # all held, none applied early
    # read back from the table as a worker taking the partition over would
    stage.logic.drop("heavy")
    assert len(stage.logic._state("heavy", stage.table[b"heavy"]).held) == held


def test_forgetting_a_customer_drops_the_chunks_of_its_held_signals_too() -> None:
    posts = [post(event_id=f"{who}{n}", customer_id=who, kind="answer", topic="t", text="x" * 200,
                  reply_to_customer_id=None, mentions=[], occurred_at=(T0 + timedelta(seconds=20 * n)).isoformat())
             for n in range(5000) for who in ("gone", "kept")]  # fmt: skip
    events = [event for event, _ in triage([RawMessage("test", 0, n, encode(p)) for n, p in enumerate(posts)], {},
                                           T0 + timedelta(days=30)).accepted]  # fmt: skip
    stage = InProcessStage(CUSTOMERS, Settings())
    stage.run(events, watermark=max(e.occurred_at.timestamp() for e in events))
    keys = {key.decode() for key in stage.table}
    assert sum(key.startswith("gone\x1f") for key in keys) > 1  # its held signals, in chunks
    forgotten = {forget_key("gone")}
    kept = {key for key in keys if stage.logic.redact(key, stage.table[key.encode()], forgotten) is not None}
    assert not any(key.startswith("gone") for key in kept)
    assert {key for key in keys if key.startswith("kept")} <= kept