"""Ten SIGKILLs in one stream: every event stored once, and every customer's scores and cell
equal `vox replay` of the same file: votes that named no author (a quarter of the simulator's)
are resolved by the content stage at one position whatever the kills, and customers are placed
at fixed event-time sweep points against the whole population's cuts (`vox.core.customers.sweeps`),
not at batch ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_e2e import kill_mid_stream, replayed_into, settle, stream_simulation
from vox.clickhouse.store import open_store
from vox.settings import parse_clickhouse_url

pytestmark = pytest.mark.e2e
KILLS = 10


def scores_and_cells(url: str) -> dict[str, tuple]:
    with open_store(parse_clickhouse_url(url)) as store:
        rows = store.query(f"SELECT customer_id, competence, implication, value, cell FROM {store.database}.customer_scores FINAL")
    return {row[0]: row[1:] for row in rows}


def history(url: str) -> set[tuple]:
    """The score history as the table keeps it: (customer, sweep point, cell, scores). A kill
    that re-runs a sweep writes its rows again under the same key (customer, sweep point)."""
    with open_store(parse_clickhouse_url(url)) as store:
        kept = store.query(f"SELECT customer_id, version, cell, competence, implication "
                           f"FROM {store.database}.customer_score_history FINAL")  # fmt: skip
    return {tuple(row) for row in kept}


def counts(url: str) -> tuple[int, int]:
    with open_store(parse_clickhouse_url(url)) as store:
        rows, distinct = store.query(f"SELECT count(), uniqExact(event_id) FROM {store.database}.interactions")[0]
    return int(rows), int(distinct)


def test_ten_kills_lose_and_double_nothing_and_scores_equal_replay(kafka_home: Path, chdb_dir: Path,
                                                                   tmp_path: Path) -> None:  # fmt: skip
    events_file, lines, settings, url = stream_simulation(kafka_home, chdb_dir, tmp_path, days=30, seed=9)
    for _ in range(KILLS):  # each life reads a fourteenth of the stream or more, then dies
        kill_mid_stream(settings, len(lines) // 14)
    settle(settings, timeout_s=240)
    streamed = scores_and_cells(url)
    replay_url, report = replayed_into(chdb_dir, events_file, settings)
    replayed = scores_and_cells(replay_url)

    assert counts(url) == (report.events, report.events)  # every valid event once, after ten kills
    assert set(streamed) == set(replayed) and len(streamed) > 200
    worst = 0.0
    for customer, expected in replayed.items():
        got = streamed[customer]
        assert got[:3] == pytest.approx(expected[:3], abs=1e-4), customer
        worst = max(worst, *(abs(a - b) for a, b in zip(got[:3], expected[:3])))
    other_cell = sum(streamed[c][3] != replayed[c][3] for c in replayed)
    print(f"\n{KILLS} kills: {report.events} events stored once; {len(replayed)} customers, scores within "
          f"{worst:.1e} of replay; {other_cell} in another cell than replay")
    assert other_cell == 0
    streamed_history = history(url)  # a row per change, the same changes as replay's
    assert streamed_history == history(replay_url) and len(streamed_history) > len(replayed)
