"""`vox replay` and `vox explain` against real ClickHouse (chDB and the 18.16 server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import MemoryTables
from vox.explain import explain_customer
from vox.clickhouse.tables import VoxTables
from vox.replay import replay_file
from vox.settings import Settings
from vox.simulator.generate import SimConfig
from vox.simulator.run import write_simulation
from vox.core.typology import CELL_NAMES


@pytest.fixture(scope="module")
def small_stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("replay")
    write_simulation(SimConfig(customers=120, days=20, seed=9, invalid_rate=0.01), out, progress=False)
    return out / "events.jsonl"


def test_replay_writes_scores_views_and_is_idempotent(store, small_stream: Path) -> None:
    config = Settings().scoring
    report = replay_file(small_stream, VoxTables(store), Settings(scoring=config), batch_events=500, progress=False)
    db = store.database
    assert report.invalid > 0 and report.resent > 0 and report.stored == report.events
    scores = store.query(f"SELECT customer_id, competence, implication, cell FROM {db}.customer_scores FINAL")
    assert len(scores) == report.customers
    assert all(0 <= float(c) <= 100 and 0 <= float(i) <= 100 and cell in CELL_NAMES for _, c, i, cell in scores)
    matrix = store.query(f"SELECT cell, customers FROM {db}.typology_matrix")
    staff = int(store.scalar(f"SELECT count() FROM {db}.customer_scores FINAL WHERE is_staff = 1"))
    assert sum(int(n) for _, n in matrix) == report.customers - staff
    assert int(store.scalar(f"SELECT count() FROM {db}.dead_letters")) == report.invalid
    flows = store.query(f"SELECT sum(moves) FROM {db}.segment_flows")
    assert int(flows[0][0] or 0) == report.transitions

    again = replay_file(small_stream, VoxTables(store), Settings(scoring=config), batch_events=500, progress=False)
    assert again.stored == 0  # the interactions were there already
    assert sorted(store.query(f"SELECT customer_id, competence, implication, cell FROM {db}.customer_scores FINAL")) \
        == sorted(scores)  # fmt: skip


def test_explain_in_plain_words(store, small_stream: Path) -> None:
    replay_file(small_stream, VoxTables(store), Settings(), batch_events=500, progress=False)
    customer = store.scalar(f"SELECT customer_id FROM {store.database}.customer_scores FINAL "
                            "WHERE is_staff = 0 ORDER BY version DESC LIMIT 1")  # fmt: skip
    text = explain_customer(store, customer)
    assert text.startswith(f"Customer {customer}: cell ")
    for words in ("Competence", "Implication", "learning: share of their visits", "visit depth", "Economic value",
                  "Role:", "Recommended action:", "Recent moves:"):  # fmt: skip
        assert words in text
    # the evidence each axis rests on, as stored
    signals, amount, days = store.query(f"SELECT signals, competence_evidence_amount, observed_days FROM "
                                        f"{store.database}.customer_scores FINAL WHERE customer_id = '{customer}'")[0]  # fmt: skip
    assert f"Evidence: {int(signals)} signals so far" in text
    assert f"rests on {float(amount):.1f} pieces of evidence" in text and "since their first action" in text
    # plain words: no research jargon, no "1 days"
    assert "démarche" not in text and " 1 days" not in text and "decayed spend" not in text
    for line in text.splitlines():
        if line.strip().startswith("strongest:"):
            strongest, weakest = (part.split(": ", 1)[1] for part in line.strip().split("; "))
            assert strongest != weakest


def test_explain_marks_the_components_left_out_of_the_score(store, small_stream: Path) -> None:
    replay_file(small_stream, VoxTables(store), Settings(), batch_events=500, progress=False)
    customer, left_out = store.query(f"SELECT customer_id, left_out FROM {store.database}.customer_scores FINAL "
                                     "WHERE has(left_out, 'c_depth') ORDER BY customer_id LIMIT 1")[0]  # fmt: skip
    text = explain_customer(store, customer)
    depth = next(line for line in text.splitlines() if "depth: how detailed" in line)
    assert "left out of the score" in depth and "#" not in depth
    weakest = next(line for line in text.splitlines() if line.strip().startswith("strongest:"))
    assert "depth" not in weakest  # a prior is never called their strongest or weakest point
    assert text.count("left out of the score") == len(left_out)


def test_replay_into_the_in_memory_tables_writes_what_clickhouse_gets(store, small_stream: Path) -> None:
    """The fake of the unit tests and the ClickHouse adapter take the same rows from a replay."""
    memory = MemoryTables()
    report = replay_file(small_stream, memory, Settings(), batch_events=500, progress=False)
    assert report.stored == report.events == len(memory.interactions) and len(memory.dead_letters) == report.invalid
    assert replay_file(small_stream, memory, Settings(), batch_events=500, progress=False).stored == 0
    replay_file(small_stream, VoxTables(store), Settings(), batch_events=500, progress=False)
    in_clickhouse = store.query(f"SELECT customer_id, competence, implication, cell FROM {store.database}.customer_scores FINAL")
    in_memory = [(r[0], r[3], r[4], r[5]) for r in memory.latest("customer_scores").values()]
    assert len(in_memory) == report.customers == len(in_clickhouse)
    expected = {c: (float(x), float(y), cell) for c, x, y, cell in in_clickhouse}
    for customer, x, y, cell in in_memory:  # (the server keeps Float32)
        assert (x, y, cell) == (pytest.approx(expected[customer][0], abs=1e-3),
                                pytest.approx(expected[customer][1], abs=1e-3), expected[customer][2])  # fmt: skip
