"""The README is the user's manual: every setting and every reason class must be in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from vox.settings import GROUPS, Settings, env_name
from vox.core.triage import REASON_CLASSES

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    names = [env_name(field) + ("__*" if field in GROUPS else "") for field in Settings.model_fields]
    missing = [name for name in names if f"`{name}`" not in README]
    assert not missing, f"README's configuration table lacks {missing}"


@pytest.mark.parametrize("group, doc", [("scoring", "scoring.md"), ("sentiment", "sentiment.md"), ("leaders", "leaders.md")])
def test_every_setting_of_a_group_is_documented_in_its_page(group: str, doc: str) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / doc).read_text()
    assert [name for name in GROUPS[group].model_fields if f"`{name}`" not in text] == []


def test_every_reason_class_is_documented() -> None:
    assert [c for c in REASON_CLASSES if f"`{c}`" not in README] == []


def test_readme_names_the_two_commands_ci_runs() -> None:
    ci = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert "`make test`" in README and "`make demo`" in README
    assert "make test" in ci
