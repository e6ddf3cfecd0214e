"""The README's main command, as a user runs it: a fresh home, a broker of its own, a real worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_cli import vox
from vox.local.demo import SAMPLE

pytestmark = pytest.mark.e2e


def test_demo_runs_the_whole_pipeline_and_cleans_up(tmp_path: Path) -> None:
    env = {"VOX_HOME": str(tmp_path), "KAFKA_BOOTSTRAP": "", "CLICKHOUSE_URL": ""}
    done = vox("demo", env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    assert f"the worker has written all {len(lines)} messages" in done.stdout
    # the sample holds one resent event and three broken ones
    distinct_valid = len({line["event_id"] for line in lines}) - 3
    families = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] in ("click", "post", "review", "vote") and parts[2] == "events":
            families[parts[0]] = int(parts[1])
    assert sum(families.values()) == distinct_valid
    assert "dead letters: 3" in done.stdout
    assert "rating: input should be less than or equal to 5 (got 6)" in done.stdout
    status = vox("kafka", "status", env=env)
    assert status.returncode == 3 and status.stdout.strip() == "not running"
