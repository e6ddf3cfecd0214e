"""The pure core of offset continuity: which offsets a batch shows were never handed over."""

from __future__ import annotations

from vox.continuity import Hole, Watermarks, offsets_by_partition
from vox.triage import RawMessage

T = "vox.reviews"


def test_a_partition_nobody_processed_starts_at_its_first_offset() -> None:
    marks = Watermarks()
    assert marks.holes({(T, 0): [40, 41, 42]}) == []
    assert marks.advance({(T, 0): [40, 41, 42]}) == {(T, 0): 43}


def test_a_batch_starting_beyond_the_watermark_shows_the_missing_range() -> None:
    marks = Watermarks()
    marks.seed({(T, 0): 750, (T, 1): 10})
    holes = marks.holes({(T, 0): [759, 760, 761], (T, 1): [10, 11]})
    assert holes == [Hole(T, 0, 750, 759)] and holes[0].size == 9


def test_gaps_inside_a_batch_are_holes_too() -> None:
    marks = Watermarks()
    marks.seed({(T, 2): 5})
    assert marks.holes({(T, 2): [5, 6, 9, 10, 14]}) == [Hole(T, 2, 7, 9), Hole(T, 2, 11, 14)]


def test_a_replay_below_the_watermark_is_not_a_hole_and_does_not_move_it_back() -> None:
    marks = Watermarks()
    marks.seed({(T, 0): 100})
    assert marks.holes({(T, 0): [50, 51, 52]}) == []
    assert marks.advance({(T, 0): [50, 51, 52]}) == {}
    assert marks.next[(T, 0)] == 100
    # a replay that runs past the watermark with nothing missing: no hole, the mark moves on
    assert marks.holes({(T, 0): list(range(90, 120))}) == []
    assert marks.advance({(T, 0): list(range(90, 120))}) == {(T, 0): 120}


def test_a_forgotten_partition_is_read_back_from_the_store_and_seeds_never_lower_a_mark() -> None:
    marks = Watermarks()
    marks.advance({(T, 0): [1, 2, 3], (T, 1): [7]})
    marks.forget([(T, 0)])
    assert marks.unknown([(T, 0), (T, 1)]) == [(T, 0)]
    marks.seed({(T, 1): 2})
    assert marks.next[(T, 1)] == 8


def test_offsets_are_grouped_by_partition() -> None:
    records = [RawMessage(T, 0, 5, b""), RawMessage(T, 1, 3, b""), RawMessage(T, 0, 6, b"")]
    assert offsets_by_partition(records) == {(T, 0): [5, 6], (T, 1): [3]}
