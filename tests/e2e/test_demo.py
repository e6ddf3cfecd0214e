"""The README's main command, as a user runs it: a fresh home, a broker of its own, a real worker,
the story told as it happens; `--keep-running` keeps the dashboard up until Ctrl-C, which stops
everything."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.integration.test_cli import ROOT, vox
from vox.local.demo import SAMPLE, TRAFFIC

pytestmark = pytest.mark.e2e


def test_demo_tells_the_story_keeps_running_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "VOX_HOME": str(tmp_path), "KAFKA_BOOTSTRAP": "", "CLICKHOUSE_URL": ""}
    # Ctrl-C as in a terminal, however the suite was started: a shell's background job inherits
    # SIGINT ignored, and Python then installs no KeyboardInterrupt handler (the test failed so)
    demo = subprocess.Popen([sys.executable, "-m", "vox", "demo", "--keep-running"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    lines: list[str] = []
    deadline = time.monotonic() + 300
    try:
        for line in demo.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if line.startswith("still running") or time.monotonic() > deadline:
                break
        out = "".join(lines)
        assert lines and lines[-1].startswith("still running"), out + demo.stderr.read()  # type: ignore[union-attr]
        dashboard = re.search(r"open the dashboard at (http://127\.0\.0\.1:\d+/) ", out).group(1)
        with urllib.request.urlopen(dashboard, timeout=5) as page:  # still served
            assert page.status == 200 and b"voice of the customer" in page.read()
        demo.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:  # the worker has 30 s to stop, then the broker 30 s
            rest, errors = demo.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            demo.send_signal(signal.SIGUSR1)  # the demo prints where each of its threads is
            time.sleep(2)
            demo.kill()
            rest, errors = demo.communicate()
            pytest.fail(f"the demo did not stop within 90 s of Ctrl-C; its threads:\n{errors[-6000:]}")
    finally:
        if demo.poll() is None:
            demo.kill()
        _kill_left_behind(tmp_path)
    assert demo.returncode == 0, errors
    assert "stopping the worker and the broker" in rest and "Traceback" not in errors
    # what the worker announced, as it happened: moves, leaders, the planted shifts' alerts
    assert re.search(r"^  move     \S+ went from \w+ to \w+ on ", out, re.M)
    assert re.search(r"^  leader   \S+ now leads \S+ as (expert|communicator) ", out, re.M)
    truth = json.loads(next((tmp_path / "demo").glob("sim-*/truth.json")).read_text())
    alerted = set(re.findall(r"^  ALERT    sentiment of brand (\S+) (?:fell|rose)", out, re.M))
    assert alerted == {shift["subject"] for shift in truth["shifts"]}, out  # each planted shift, and only they
    assert f"{TRAFFIC.shifts} planted sentiment shifts" in out
    sample = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    assert f"the worker has written all {len(sample)} messages" in out
    # the sample's three broken messages and the simulation's invalid ones that name their family
    # (`vox produce` reports and skips lines it cannot route: not JSON, not UTF-8, no family)
    routed = [bad for bad in truth["invalid"] if bad["reason_class"] in ("invalid_field", "missing_field", "too_large")]
    assert f"dead letters: {3 + len(routed)}" in out
    cells = dict(re.findall(r"^    (\w+) +(\d+)  \(mean competence", out, re.M))
    assert len(cells) == 9 and sum(int(n) for n in cells.values()) > TRAFFIC.customers // 2, out  # every cell filled
    status = vox("kafka", "status", env={"VOX_HOME": str(tmp_path), "KAFKA_BOOTSTRAP": ""})
    assert status.returncode == 3 and status.stdout.strip() == "not running"
    with pytest.raises(OSError):  # the worker is gone with its dashboard
        urllib.request.urlopen(dashboard, timeout=2)


def _kill_left_behind(home: Path) -> None:
    """The worker and broker of a demo that was killed: they must not outlive the test."""
    broker = home / "kafka" / "broker.json"
    if broker.is_file() and (pid := json.loads(broker.read_text()).get("pid")):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    for proc in Path("/proc").iterdir():  # the worker: a `vox worker` whose environment names this home
        try:
            if proc.name.isdigit() and f"VOX_HOME={home}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                os.kill(int(proc.name), signal.SIGKILL)
        except OSError:
            pass
