"""The README is the user's manual: every setting and every reason class must be in it."""

from __future__ import annotations

from pathlib import Path

from vox.settings import Settings, env_name
from vox.triage import REASON_CLASSES

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [env_name(field) for field in Settings.model_fields if f"`{env_name(field)}`" not in README]
    assert not missing, f"README's configuration table lacks {missing}"


def test_every_reason_class_is_documented() -> None:
    assert [c for c in REASON_CLASSES if f"`{c}`" not in README] == []


def test_readme_names_the_two_commands_ci_runs() -> None:
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "`make test`" in README and "`make demo`" in README
    assert "make test" in ci
