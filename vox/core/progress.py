"""Event-time progress: how far in event time every upstream source has come, and so up to when
a stage's partition has seen everything it will get (its watermark).

A *source* is a partition of an input topic (ingest reports it) or a partition of an upstream
stage's topic (that stage forwards its own watermark, after the records it sends). A report is a
`Mark`: the source's next offset, the latest event time it has shown, and whether it is caught up
(nothing left to read when it was sent). A stage partition merges the marks that reach it, in
the order of its topic (`Progress`), and trusts event time up to the watermark:

* the earliest latest-event-time among the sources still catching up: a source far behind (a
  backlog, a slow worker) holds everyone back, so a record it has not sent yet is not late;
* when every source is caught up, the latest event time any has shown: nothing is behind;
* a source known to exist but not heard from yet (an ingest report names every partition of the
  input topics; an upstream stage has a known number of partitions) holds it at the beginning.

Marks travel in a Kafka header (`HEADER`) of the stage topic's messages: a stage's record
format does not change, and a message may carry a mark and no record (a source with nothing
new still advances). `vox replay` reads one file, in order: its watermark is the latest event
time read so far. Stream and replay then cut event time at the same points for every record that
is not later than the allowed lateness behind its source.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterable, Mapping

HEADER = "vox-progress"
NOTHING_YET = float("-inf")  # a source that has shown no event time yet
_COUNT = struct.Struct("<H")
_MARK = struct.Struct("<IqdB")
_CAUGHT_UP, _KNOWN = 1, 2  # flags: caught up; a mark (not only "this source exists")


@dataclass(frozen=True, slots=True)
class Mark:
    offset: int  # the source's next offset when reported: the latest report of a source wins
    latest: float  # the latest event time (epoch seconds) the source has shown
    caught_up: bool

    def merged(self, newer: "Mark") -> "Mark":
        # the latest event time only grows: a source moving to a new owner after a rebalance
        # re-reads its tail and must not take the watermark back
        latest = max(self.latest, newer.latest)
        if newer.offset >= self.offset:
            return Mark(newer.offset, latest, newer.caught_up)
        return Mark(self.offset, latest, self.caught_up)


class Progress:
    """What one stage partition knows of its sources."""

    def __init__(self, marks: Mapping[int, Mark | None] | None = None):
        self.marks: dict[int, Mark | None] = dict(marks or {})

    def expect(self, sources: Iterable[int]) -> None:
        for source in sources:
            self.marks.setdefault(source, None)

    def merge(self, marks: Mapping[int, Mark | None]) -> None:
        for source, mark in marks.items():
            if mark is None:
                self.marks.setdefault(source, None)
                continue
            known = self.marks.get(source)
            self.marks[source] = mark if known is None else known.merged(mark)

    def watermark(self) -> float:
        if not self.marks or any(mark is None for mark in self.marks.values()):
            return NOTHING_YET
        marks = [mark for mark in self.marks.values() if mark is not None]
        behind = [mark.latest for mark in marks if not mark.caught_up]
        return min(behind) if behind else max(mark.latest for mark in marks)

    def caught_up(self) -> bool:
        return bool(self.marks) and all(mark is not None and mark.caught_up for mark in self.marks.values())

    def to_bytes(self) -> bytes:
        return encode(self.marks)

    @classmethod
    def from_bytes(cls, data: bytes | None) -> "Progress":
        return cls(decode(data) if data else {})


def encode(marks: Mapping[int, Mark | None]) -> bytes:
    parts = [_COUNT.pack(len(marks))]
    for source, mark in sorted(marks.items()):
        if mark is None:
            parts.append(_MARK.pack(source, 0, NOTHING_YET, 0))
        else:
            parts.append(_MARK.pack(source, mark.offset, mark.latest, _KNOWN | (_CAUGHT_UP if mark.caught_up else 0)))
    return b"".join(parts)


def decode(data: bytes) -> dict[int, Mark | None]:
    (count,) = _COUNT.unpack_from(data)
    if len(data) != _COUNT.size + count * _MARK.size:
        raise ValueError(f"a progress header of {len(data)} bytes does not hold {count} marks")
    marks: dict[int, Mark | None] = {}
    for i in range(count):
        source, offset, latest, flags = _MARK.unpack_from(data, _COUNT.size + i * _MARK.size)
        marks[source] = Mark(offset, latest, bool(flags & _CAUGHT_UP)) if flags & _KNOWN else None
    return marks


def header_of(headers) -> bytes | None:  # noqa: ANN001 - Kafka headers: a list of pairs or a mapping
    """The progress header of a message, if it has one."""
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        if name == HEADER:
            return bytes(value)
    return None
