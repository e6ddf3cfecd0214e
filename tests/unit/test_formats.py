"""Versioned formats: what an older vox wrote to the changelog and to `vox.signals` is read
exactly (fixtures written by vox before the formats were versioned), and a newer format is
refused with a reason instead of being misread."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vox.core.customers import signals as S
from vox.core.customers.config import ScoringConfig
from vox.core.customers.scores import score
from vox.core import held as held_module
from vox.core.customers.state import HEADER, HELD_CHUNK, HELD_OUT, STATE_FORMAT, STATE_MAGIC, WEEK, CustomerState
from vox.core.held import HELD_CHUNKS_MAX, HELD_IN_STATE_MAX
from vox.errors import VoxError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "format-v1-expected.json").read_text())
# the weights of the vox that wrote the fixtures (recognition weighs 0.15 since)
THEN = ScoringConfig(competence_weights={**ScoringConfig().competence_weights, "recognition": 0.05})


def test_a_state_of_format_1_reads_as_it_was_written_and_scores_the_same() -> None:
    state = CustomerState.from_bytes((FIXTURES / "customer-state-v1.bin").read_bytes())
    expected = EXPECTED["state"]
    assert (state.signals, state.applied_offset, state.latest) == (expected["signals"], expected["applied_offset"],
                                                                    expected["latest"])  # fmt: skip
    assert list(state.positions) == expected["positions"]
    scores = score(state, state.latest, THEN)
    assert (scores.competence, scores.implication) == (expected["competence"], expected["implication"])


def test_a_state_survives_the_current_format_and_older_states_grow_new_accumulators_as_zero() -> None:
    old = CustomerState.from_bytes((FIXTURES / "customer-state-v1.bin").read_bytes())
    again = CustomerState.from_bytes(old.to_bytes())
    assert again.to_bytes() == old.to_bytes() and again.to_bytes().startswith(STATE_MAGIC)
    # a state written when there was one accumulator fewer: the missing (last) one reads as 0
    data = bytearray(old.to_bytes())
    count_at = len(STATE_MAGIC) + 1
    n_acc = int.from_bytes(data[count_at : count_at + 2], "little")
    header_end = count_at + 2 + HEADER.size
    last_acc = header_end + 8 * (n_acc - 1)
    shorter = bytes(data[:count_at]) + (n_acc - 1).to_bytes(2, "little") + bytes(data[count_at + 2 : last_acc]) + \
        bytes(data[last_acc + 8 :])  # fmt: skip
    grown = CustomerState.from_bytes(shorter)
    assert list(grown.acc[:-1]) == list(old.acc[:-1]) and grown.acc[-1] == 0.0
    assert list(grown.positions) == list(old.positions)


def test_a_state_of_format_2_reads_as_written_and_knows_at_the_latest_when_the_customer_was_first_seen() -> None:
    # written by vox before format 3 (first_seen, the deployment's feeds)
    state = CustomerState.from_bytes((FIXTURES / "customer-state-v2.bin").read_bytes())
    expected = json.loads((FIXTURES / "format-v2-expected.json").read_text())
    assert (state.signals, state.latest, state.weeks, state.week_anchor) == (
        expected["signals"], expected["latest"], expected["weeks"], expected["week_anchor"])  # fmt: skip
    scores = score(state, state.latest, THEN)
    assert (scores.competence, scores.implication) == (expected["competence"], expected["implication"])
    # its first signal was in the oldest active week remembered: first seen no later than that week's start
    assert state.first_seen == (expected["week_anchor"] - 4) * WEEK
    assert CustomerState.from_bytes(state.to_bytes()).first_seen == state.first_seen


def test_a_state_of_a_newer_format_is_refused() -> None:
    newer = STATE_MAGIC + bytes([STATE_FORMAT + 1]) + CustomerState().to_bytes()[len(STATE_MAGIC) + 1 :]
    with pytest.raises(VoxError, match=f"format {STATE_FORMAT + 1}, newer than this vox reads"):
        CustomerState.from_bytes(newer)


def _held_signal(n: int) -> S.Signal:
    return S.Signal("c1", "post", 1_700_000_000.0 + n, a=f"post-{n}", domain="mics", sid=n)


def test_held_signals_are_stored_each_once_in_chunks_and_read_back_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(held_module, "HELD_IN_STATE_MAX", 0)  # every held signal out of the state
    # (generation, number) -> bytes, as the stage keeps them under keys of their own
    table: dict[tuple[int, int], bytes] = {}
    written = 0

    def write(state: CustomerState) -> bytes:
        nonlocal written
        chunks, dropped = state.held_writes()
        for at, chunk in chunks:
            assert at not in table or at[1] >= counted(stored)  # never a chunk the stored state counts
            table[at] = chunk
            written += len(S.unpack(chunk))
        data = state.to_bytes()
        for at in dropped:
            del table[at]
        return data

    def counted(data: bytes) -> int:
        return CustomerState.from_bytes(data).held_out.chunks if data else 0

    def read(data: bytes) -> CustomerState:
        state = CustomerState.from_bytes(data)
        state.held_out.read_back(state.held, lambda generation, i: table[(generation, i)], S.unpack)
        return state

    state, stored = CustomerState(), b""
    writes = 3 * HELD_CHUNKS_MAX + 2
    for n in range(writes):  # a busy customer: written at every batch, a signal more each time
        state.held.append(_held_signal(n))
        data = stored = write(state)
    # each write stores its new signal, and every HELD_CHUNKS_MAX writes all of them once: not all each time
    assert writes <= written < 3 * writes and len(table) == state.held_out.chunks <= HELD_CHUNKS_MAX
    assert len(data) < 1024  # the state itself: no held signal in it
    again = read(data)
    assert again.held == state.held == [_held_signal(n) for n in range(writes)]
    before = written
    assert write(again) == data and written == before  # read back as stored: nothing written again
    again.held.append(_held_signal(99))
    assert read(write(again)).held == [*state.held, _held_signal(99)] and written == before + 1
    # a sweep releases some: the rest are written afresh, the chunks no longer counted deleted
    state = again
    state.held = state.held[5:]
    assert read(write(state)).held == [*(_held_signal(n) for n in range(5, writes)), _held_signal(99)]
    assert sorted(table) == [(state.held_out.generation, i) for i in range(state.held_out.chunks)]
    state.held = []
    assert read(write(state)).held == [] and table == {}


def test_a_few_held_signals_stay_in_the_state_and_move_out_past_the_bound_and_back_once_swept() -> None:
    state = CustomerState()
    state.held.extend(_held_signal(n) for n in range(HELD_IN_STATE_MAX))
    assert state.held_writes() == ([], [])  # nothing apart: in the state
    assert CustomerState.from_bytes(state.to_bytes()).held == state.held
    state.held.append(_held_signal(HELD_IN_STATE_MAX))
    chunks, dropped = state.held_writes()  # past the bound: all of them out
    assert [at for at, _ in chunks] == [(0, 0)] and dropped == [] and S.unpack(chunks[0][1]) == state.held
    assert CustomerState.from_bytes(state.to_bytes()).held == []  # the stage reads them from their keys
    state.held = state.held[-10:]  # a sweep took the rest: back in the state, the chunk deleted after it
    assert state.held_writes() == ([], [(0, 0)]) and state.held_out.chunks == 0
    assert CustomerState.from_bytes(state.to_bytes()).held == state.held


def test_a_state_of_format_4_or_5_reads_its_held_signals_and_writes_them_as_format_6() -> None:
    held = [_held_signal(n) for n in range(3)]
    fields = CustomerState().to_bytes()[len(STATE_MAGIC) + 1 : -HELD_OUT.size]  # format 6 ends with its chunks
    record = S.pack(held)
    format_4 = STATE_MAGIC + bytes([4]) + fields + record  # every held signal as one record, to the end
    format_5 = STATE_MAGIC + bytes([5]) + fields + HELD_CHUNK.pack(len(record)) + record  # chunks inline
    for data in (format_4, format_5):
        state = CustomerState.from_bytes(data)
        assert state.held == held and state.held_out.chunks == 0
        assert state.held_writes() == ([], [])  # few: they stay in the state, now of format 6
        assert CustomerState.from_bytes(state.to_bytes()).held == held


def test_signals_of_format_1_read_as_written_and_the_current_format_names_its_fields() -> None:
    old = S.unpack((FIXTURES / "signals-v1.json").read_bytes())
    assert [s.fields() for s in old] == EXPECTED["signals"]
    packed = S.pack(old)
    assert json.loads(packed)["fields"] == list(S.FIELD_NAMES) == list(S.Signal.__dataclass_fields__)
    assert S.unpack(packed) == old
    # fields in another order (a writer that added one, say) are read by name
    reordered = json.dumps({"format": 2, "fields": list(reversed(S.FIELD_NAMES)),
                            "signals": [list(reversed(s.fields())) for s in old]}).encode()  # fmt: skip
    assert S.unpack(reordered) == old


@pytest.mark.parametrize("message, reason", [
    (b'{"format": 3, "fields": [], "signals": []}', "format 3"),
    (json.dumps({"format": 2, "fields": [*S.FIELD_NAMES, "weight"], "signals": []}).encode(), "weight"),
])  # fmt: skip
def test_signals_of_a_newer_format_are_refused(message: bytes, reason: str) -> None:
    with pytest.raises(VoxError, match=reason):
        S.unpack(message)
