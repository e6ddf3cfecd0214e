"""A tiny run of the benchmark harness, so that it never rots (the full run is not a test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from vox.local.broker import LocalKafka
from vox.settings import Settings

pytestmark = pytest.mark.e2e


def test_benchmark_smoke_run_reports_every_figure(kafka_home: Path, tmp_path: Path) -> None:
    state = LocalKafka(Settings(home=kafka_home)).state()
    assert state is not None
    out = tmp_path / "results.json"
    env = {**os.environ, "KAFKA_BOOTSTRAP": state.bootstrap}
    done = subprocess.run([sys.executable, "-m", "bench.run", "--smoke", "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["machine"]["cores"] and report["machine"]["cpu"] and report["events"] == 600
    for name in ("ceiling", "framework", "naive", "vox", "vox (server)"):
        figures = report["throughput"][name]
        assert figures["events_per_s"] > 0 and figures["cpu_s_per_1000"] >= 0 and figures["peak_rss_bytes"] > 0
        assert "ratio_to_ceiling" in figures
    cost = report["stage_cost"]  # leaders, on and off
    assert all(v > 0 for v in cost["median_cpu_s_per_1000"].values()) and -1 < cost["cpu_cost"] < 1
    assert cost["cpu_counts_broker"] is False  # the test's broker is not the bench's own
    assert len(cost["round_ratios"]) == len(cost["round_cpu_ratios"]) == cost["rounds"] > 0
    assert all(r > 0 for r in cost["round_ratios"] + cost["round_cpu_ratios"])
    assert "each round, with it over without: throughput" in done.stdout
    fresh = report["freshness"]
    assert fresh["seen"] == fresh["events"] > 0 and 0 < fresh["p50_s"] <= fresh["p99_s"]
    assert 0 < report["state_per_customer"]["serialised_bytes"] < 1024
    for store in ("chdb", "server"):
        assert report["analyst_queries"][store]["interactions"] > 1000
        assert set(report["analyst_queries"][store]["median_s"]) >= {"typology matrix", "segment flows",
                                                                     "one customer's explanation"}  # fmt: skip
    assert "vox benchmark: 600 events" in done.stdout
