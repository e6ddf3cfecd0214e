"""Every SQL example of the README and the docs runs, read-only, and returns rows on the data a
new user has: the bundled sample (what `vox demo` loads) and the simulator's default output.
Dates are relative to the data, so the examples keep working on a sample dated in the past."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import fresh_database
from vox.clickhouse.analyst import QueryLimits, run_analyst_query
from vox.clickhouse.migrations import migrate
from vox.clickhouse.store import open_store
from vox.clickhouse.tables import VoxTables
from vox.local.demo import SAMPLE
from vox.replay import replay_file
from vox.settings import Settings, parse_clickhouse_url

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LIMITS = QueryLimits(max_seconds=30, max_rows=100_000)

# (dataset, words of the statement) that cannot return rows there, by construction
EMPTY_BY_CONSTRUCTION = {
    ("sample", "open_alerts"): "the sample's 126 reviews are too few for the detector's minimum volume",
    ("simulated", "dead_letters"): "the simulator's default writes no invalid message (--invalid-rate 0)",
}


def statements() -> list[tuple[str, str]]:
    """(where, statement) of every ```sql block, split at `;`."""
    found = []
    for doc in DOCS:
        for block in re.findall(r"```sql\n(.*?)```", doc.read_text(), re.S):
            for number, part in enumerate(block.split(";\n")):
                code = "\n".join(line for line in part.splitlines() if not line.strip().startswith("--")).strip()
                if code.rstrip(";"):
                    found.append((f"{doc.name}:{number}", part.strip().rstrip(";")))
    return found


STATEMENTS = statements()


def replayed(url: str, events: Path) -> str:
    with open_store(parse_clickhouse_url(url)) as store:
        migrate(store)
        report = replay_file(events, VoxTables(store), Settings(), progress=False)
        assert report.events > 0
    return url


@pytest.fixture(scope="module")
def datasets(chdb_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from vox.simulator.generate import SimConfig
    from vox.simulator.run import write_simulation

    out = tmp_path_factory.mktemp("default-simulation")
    write_simulation(SimConfig(), out, progress=False)  # `vox simulate --out DIR`, every default
    return {"sample": replayed(f"chdb://{chdb_dir}?database={fresh_database()}", SAMPLE),
            "simulated": replayed(f"chdb://{chdb_dir}?database={fresh_database()}", out / "events.jsonl")}


def test_the_docs_hold_sql_examples() -> None:
    assert len(STATEMENTS) >= 8 and any(where.startswith("README") for where, _ in STATEMENTS)


@pytest.mark.parametrize("dataset", ["sample", "simulated"])
@pytest.mark.parametrize("where, statement", STATEMENTS, ids=[where for where, _ in STATEMENTS])
def test_every_example_returns_rows(where: str, statement: str, dataset: str, datasets: dict[str, str]) -> None:
    # the docs name the default database; the analyst connection's current database is the test's
    with open_store(parse_clickhouse_url(datasets[dataset])) as store:
        rows = run_analyst_query(store, re.sub(r"\bvox\.", "", statement), LIMITS)
    exempt = next((why for (name, words), why in EMPTY_BY_CONSTRUCTION.items()
                   if name == dataset and words in statement), None)  # fmt: skip
    if exempt:  # still true? once the data can hold rows, the example must show them
        assert not rows, f"{where}: drop the exemption ({exempt}), the {dataset} data now has rows"
    else:
        assert rows, f"{where} returns no row on the {dataset} data:\n{statement}"
