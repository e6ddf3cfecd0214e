"""The README is the user's manual: every setting and every reason class must be in it."""

from __future__ import annotations

from pathlib import Path

from vox.settings import GROUPS, Settings, env_name
from vox.core.triage import REASON_CLASSES

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    names = [env_name(field) + ("__*" if field in GROUPS else "") for field in Settings.model_fields]
    missing = [name for name in names if f"`{name}`" not in README]
    assert not missing, f"README's configuration table lacks {missing}"


def test_every_scoring_setting_is_documented() -> None:
    from vox.core.customers.config import ScoringConfig

    scoring = (Path(__file__).resolve().parents[2] / "docs" / "scoring.md").read_text()
    assert [name for name in ScoringConfig.model_fields if f"`{name}`" not in scoring] == []


def test_every_sentiment_setting_is_documented() -> None:
    from vox.core.sentiment.config import SentimentConfig

    sentiment = (Path(__file__).resolve().parents[2] / "docs" / "sentiment.md").read_text()
    assert [name for name in SentimentConfig.model_fields if f"`{name}`" not in sentiment] == []


def test_every_reason_class_is_documented() -> None:
    assert [c for c in REASON_CLASSES if f"`{c}`" not in README] == []


def test_readme_names_the_two_commands_ci_runs() -> None:
    ci = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert "`make test`" in README and "`make demo`" in README
    assert "make test" in ci
