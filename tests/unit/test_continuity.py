"""The pure core of offset continuity: which offsets a batch shows were never handed over."""

from __future__ import annotations

from vox.core.continuity import Hole, Watermarks, offsets_by_partition
from vox.core.triage import RawMessage

T = "vox.reviews"


def test_a_partition_nobody_processed_starts_at_its_first_offset() -> None:
    marks = Watermarks()
    assert marks.holes({(T, 0): [40, 41, 42]}) == []
    assert marks.advance({(T, 0): [40, 41, 42]}) == {(T, 0): 43}


def test_a_batch_starting_beyond_the_watermark_shows_the_missing_range() -> None:
    marks = Watermarks()
    marks.seed([(T, 0), (T, 1)], {(T, 0): 750, (T, 1): 10})
    holes = marks.holes({(T, 0): [759, 760, 761], (T, 1): [10, 11]})
    assert holes == [Hole(T, 0, 750, 759)] and holes[0].size == 9


def test_gaps_inside_a_batch_are_holes_too() -> None:
    marks = Watermarks()
    marks.seed([(T, 2)], {(T, 2): 5})
    assert marks.holes({(T, 2): [5, 6, 9, 10, 14]}) == [Hole(T, 2, 7, 9), Hole(T, 2, 11, 14)]


def test_a_replay_below_the_watermark_is_not_a_hole_and_does_not_move_the_stored_mark_back() -> None:
    marks = Watermarks()
    marks.seed([(T, 0)], {(T, 0): 100})
    assert marks.holes({(T, 0): [50, 51, 52]}) == []
    assert marks.advance({(T, 0): [50, 51, 52]}) == {}
    assert marks.stored[(T, 0)] == 100
    # the replay goes on past the watermark with nothing missing: no hole, the mark moves on
    assert marks.holes({(T, 0): list(range(53, 120))}) == []
    assert marks.advance({(T, 0): list(range(53, 120))}) == {(T, 0): 120}


def test_offsets_skipped_inside_a_replay_are_a_hole_too() -> None:
    marks = Watermarks()
    marks.seed([(T, 0)], {(T, 0): 100})
    marks.advance({(T, 0): [50, 51, 52]})
    assert marks.holes({(T, 0): [60, 61]}) == [Hole(T, 0, 53, 60)]


def test_a_partition_that_comes_back_keeps_its_cursor_unless_another_worker_moved_it() -> None:
    marks = Watermarks()
    marks.seed([(T, 0), (T, 1)], {(T, 0): 100, (T, 1): 100})
    marks.advance({(T, 0): [50, 51], (T, 1): [50, 51]})  # a replay below the stored marks
    marks.forget([(T, 0), (T, 1)])
    assert marks.unknown([(T, 0), (T, 1), (T, 2)]) == [(T, 0), (T, 1), (T, 2)]
    # (T, 0): nobody stored anything since: the replay's cursor stands, a skip in it is a hole
    # (T, 1): another worker took it on to 130 meanwhile: its mark is where to start
    marks.seed([(T, 0), (T, 1), (T, 2)], {(T, 0): 100, (T, 1): 130})
    assert marks.unknown([(T, 0), (T, 1)]) == []
    assert marks.holes({(T, 0): [60], (T, 1): [130]}) == [Hole(T, 0, 52, 60)]
    assert marks.stored == {(T, 0): 100, (T, 1): 130}


def test_offsets_are_grouped_by_partition() -> None:
    records = [RawMessage(T, 0, 5, b""), RawMessage(T, 1, 3, b""), RawMessage(T, 0, 6, b"")]
    assert offsets_by_partition(records) == {(T, 0): [5, 6], (T, 1): [3]}
