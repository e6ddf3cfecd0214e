"""The alert rules in deploy/prometheus/rules.yml, unit-tested by promtool (Debian's prometheus
package, installed by `deploy/setup.sh test`): each rule fires on the series it is for and stays
quiet on the ones it is not (deploy/prometheus/rules_test.yml)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: run deploy/setup.sh test"
    return subprocess.run([tool, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120)


def test_the_rules_are_valid_and_loaded_by_prometheus() -> None:
    checked = promtool("check", "rules", "rules.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "rules.yml" in yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())["rule_files"]


def test_every_rule_fires_where_it_should_and_only_there() -> None:
    tested = promtool("test", "rules", "rules_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    rules = {rule["alert"] for group in yaml.safe_load((PROMETHEUS / "rules.yml").read_text())["groups"]
             for rule in group["rules"]}  # fmt: skip
    cases = {case["alertname"] for test in yaml.safe_load((PROMETHEUS / "rules_test.yml").read_text())["tests"]
             for case in test["alert_rule_test"]}  # fmt: skip
    assert rules == cases  # none untested
