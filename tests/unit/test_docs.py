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


DOCS = [Path(__file__).resolve().parents[2] / "README.md",
        *sorted((Path(__file__).resolve().parents[2] / "docs").glob("*.md"))]  # fmt: skip


def _cells(row: str) -> int:
    """Columns of a Markdown table row: pipes outside code spans and not escaped."""
    import re

    return len(re.findall(r"(?<!\\)\|", re.sub(r"`[^`]*`", "``", row.strip()))) - 1


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_table_row_has_its_header_s_columns(doc: Path) -> None:
    """A `|` inside a cell (a default like `a|b`) used to split one settings row in two."""
    broken, header = [], None
    for number, line in enumerate(doc.read_text().splitlines(), 1):
        if not line.startswith("|"):
            header = None
        elif header is None:
            header = _cells(line)
        elif _cells(line) != header:
            broken.append(f"line {number}: {_cells(line)} columns, header {header}")
    assert broken == []


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_docs_are_self_contained(doc: Path) -> None:
    """No pointer to files outside the repository (the project's brief, its data folder)."""
    text = doc.read_text()
    assert "DOMAIN.md" not in text and "seeds/" not in text
