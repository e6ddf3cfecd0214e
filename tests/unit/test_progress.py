"""Event-time progress (`vox.core.progress`): the watermark a stage partition trusts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vox.core.progress import NOTHING_YET, Mark, Progress, decode, encode, header_of


def test_a_source_behind_holds_the_watermark_and_caught_up_sources_do_not() -> None:
    progress = Progress()
    progress.merge({1: Mark(10, 500.0, False), 2: Mark(4, 200.0, False)})
    assert progress.watermark() == 200.0  # source 2 is behind: what it has not sent yet is not late
    progress.merge({2: Mark(9, 300.0, True)})  # read to its end: it holds nothing back any more
    assert progress.watermark() == 500.0
    progress.merge({1: Mark(12, 800.0, True)})
    assert progress.watermark() == 800.0 and progress.caught_up()


def test_a_source_known_but_not_heard_from_holds_it_at_the_beginning() -> None:
    progress = Progress()
    progress.expect([7])  # an upstream stage's partition
    progress.merge({1: Mark(10, 500.0, True), 3: None})  # 3: another worker reads it
    assert progress.watermark() == NOTHING_YET and not progress.caught_up()
    progress.merge({7: Mark(1, 400.0, True), 3: Mark(2, 450.0, False)})
    assert progress.watermark() == 450.0


def test_the_latest_report_of_a_source_wins_but_its_event_time_never_goes_back() -> None:
    progress = Progress({1: Mark(10, 500.0, True)})
    progress.merge({1: Mark(8, 300.0, False)})  # an older report (the previous owner's, late)
    assert progress.marks[1] == Mark(10, 500.0, True)
    progress.merge({1: Mark(11, 300.0, False)})  # the new owner re-reads a tail
    assert progress.marks[1] == Mark(11, 500.0, False)


marks = st.dictionaries(st.integers(0, 2**32 - 1), st.none() | st.builds(
    Mark, st.integers(0, 2**40), st.floats(-1e10, 1e10) | st.just(NOTHING_YET), st.booleans()), max_size=20)


@given(marks)
def test_marks_travel_unchanged(sent: dict) -> None:
    assert decode(encode(sent)) == sent
    assert header_of([("other", b"x"), ("vox-progress", encode(sent))]) == encode(sent)
    assert Progress.from_bytes(Progress(sent).to_bytes()).marks == sent


@given(st.lists(marks, max_size=8))
def test_the_watermark_never_goes_back_as_reports_of_the_same_sources_arrive(reports: list) -> None:
    progress, before = Progress(), NOTHING_YET
    sources = {s for report in reports for s in report}
    progress.expect(sources)
    for report in reports:
        # each source's reports in offset order, as one owner sends them
        progress.merge({s: Mark(max(m.offset, (progress.marks.get(s) or m).offset), m.latest, False) if m else None
                        for s, m in report.items()})  # fmt: skip
        now = progress.watermark()
        assert now >= before
        before = now
