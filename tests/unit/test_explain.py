"""`vox explain`'s words: strongest and weakest only among components with evidence, never the
same one; days in words."""

from __future__ import annotations

from vox.explain import _days, strongest_and_weakest


def test_strongest_and_weakest_are_two_different_components() -> None:
    assert strongest_and_weakest({"c_breadth": 0.7, "c_quality": 0.2, "c_depth": 0.5}) == \
        "strongest: breadth of experience; weakest: contribution quality"  # fmt: skip


def test_one_measured_component_is_not_both_strongest_and_weakest() -> None:
    assert strongest_and_weakest({"c_breadth": 0.4}) == "only one component has evidence: breadth of experience"


def test_equal_components_are_said_equal() -> None:
    assert strongest_and_weakest({"i_frequency": 0.5, "i_purchases": 0.5}) == \
        "every component with evidence stands at 0.50"  # fmt: skip
    assert strongest_and_weakest({}) == "no component has evidence yet"


def test_days_in_words() -> None:
    assert [_days(0.4), _days(1.2), _days(12)] == ["less than a day", "1 day", "12 days"]
