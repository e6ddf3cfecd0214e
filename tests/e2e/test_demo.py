"""The README's main command, as a user runs it: a fresh home, a broker of its own, a real worker,
the story told as it happens."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.integration.test_cli import vox
from vox.local.demo import SAMPLE, TRAFFIC

pytestmark = pytest.mark.e2e


def test_demo_tells_the_story_and_cleans_up(tmp_path: Path) -> None:
    env = {"VOX_HOME": str(tmp_path), "KAFKA_BOOTSTRAP": "", "CLICKHOUSE_URL": ""}
    done = vox("demo", env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"open the dashboard at http://127\.0\.0\.1:\d+/ ", out)
    # what the worker announced, as it happened: moves, leaders, the planted shifts' alerts
    assert re.search(r"^  move     \S+ went from \w+ to \w+ on ", out, re.M)
    assert re.search(r"^  leader   \S+ now leads \S+ as (expert|communicator) ", out, re.M)
    truth = json.loads(next((tmp_path / "demo").glob("sim-*/truth.json")).read_text())
    alerted = set(re.findall(r"^  ALERT    sentiment of brand (\S+) (?:fell|rose)", out, re.M))
    assert alerted and alerted <= {shift["subject"] for shift in truth["shifts"]}, out
    assert f"{TRAFFIC.shifts} planted sentiment shifts" in out
    lines = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    assert f"the worker has written all {len(lines)} messages" in out
    # the sample's three broken messages and the simulation's invalid ones that name their family
    # (`vox produce` reports and skips lines it cannot route: not JSON, not UTF-8, no family)
    routed = [bad for bad in truth["invalid"] if bad["reason_class"] in ("invalid_field", "missing_field", "too_large")]
    assert f"dead letters: {3 + len(routed)}" in out
    cells = dict(re.findall(r"^    (\w+) +(\d+)  \(mean competence", out, re.M))
    assert sum(int(n) for n in cells.values()) > TRAFFIC.customers // 2 and "coeur" in cells
    status = vox("kafka", "status", env=env)
    assert status.returncode == 3 and status.stdout.strip() == "not running"
