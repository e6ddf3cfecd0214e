"""What `vox replay` writes to `customer_scores`, as an analyst reads it: each customer's latest
row. For the benchmarks that judge the scores (`bench.real`, `bench.population`): they measure
the rows vox shows, through the same sweeps, cuts and placements as the worker."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from vox.core.customers.config import ScoringConfig
from vox.replay import replay_file
from vox.settings import Settings


class LatestScores:
    """Where the replay writes: each customer's latest `customer_scores` row (by version, as the
    table's ReplacingMergeTree keeps it), as a dict of its columns; nothing else is kept."""

    def __init__(self) -> None:
        self.latest: dict[str, dict] = {}

    def forgotten_keys(self) -> set[str]:
        return set()

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
        if table != "customer_scores":
            return
        for row in rows:
            known = self.latest.get(row[0])
            if known is None or row[1] >= known["version"]:
                self.latest[row[0]] = dict(zip(columns, row))


def latest_scores(events: Path, config: ScoringConfig) -> dict[str, dict]:
    """customer id -> their latest `customer_scores` row after `vox replay` of the file."""
    tables = LatestScores()
    settings = Settings(scoring=config, stages="customers")  # the scores alone
    replay_file(events, tables, settings, progress=False, write_interactions=False)  # type: ignore[arg-type]
    return tables.latest
