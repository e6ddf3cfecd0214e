"""Sort raw Kafka messages into valid events and rejections with a readable reason.

Pure: bytes in, events or reasons out. The worker, `vox replay` and the benchmarks share it, so
an event is accepted or rejected for the same reason everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, NamedTuple

from pydantic import ValidationError

from schemas import EVENT_ADAPTER, FAMILIES, Event

FAMILY_NAMES = ", ".join(FAMILIES)


class RawMessage(NamedTuple):
    """One Kafka record as it arrived: where it sat, and its untouched bytes. (A named tuple:
    one is made per message, and a frozen dataclass costs several times as much to build.)"""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = None
    timestamp_ms: int = 0


@dataclass(frozen=True, slots=True)
class Rejection:
    message: RawMessage
    reason_class: str
    reason: str


# Reason classes, bounded so that they can label a metric. Each says what a producer must fix.
REASON_CLASSES = (
    "empty",  # no bytes at all (or a tombstone)
    "not_utf8",  # the bytes are not UTF-8 text
    "not_json",  # text, but not JSON
    "not_object",  # JSON, but an array, string or number
    "unknown_family",  # `type` is not one of the four families
    "missing_field",  # a required field is absent
    "invalid_field",  # a field has the wrong type or an out-of-range value
    "too_large",  # a text, id or list over its bound
    "wrong_topic",  # a valid event published to another family's topic
)

_TOO_LARGE = {"string_too_long", "too_long"}


@dataclass(slots=True)
class Triage:
    accepted: list[tuple[Event, RawMessage]]
    rejected: list[Rejection]


def triage(messages: Iterable[RawMessage], family_of_topic: Mapping[str, str]) -> Triage:
    """Validate every message; `family_of_topic` maps an input topic to the family it carries."""
    accepted: list[tuple[Event, RawMessage]] = []
    rejected: list[Rejection] = []
    validate = EVENT_ADAPTER.validate_json
    for message in messages:
        raw = message.value
        if not raw:
            rejected.append(Rejection(message, "empty", "empty message: expected one JSON object per message"))
            continue
        try:
            event = validate(raw)
        except ValidationError as exc:
            rejected.append(Rejection(message, *explain(exc, raw)))
            continue
        expected = family_of_topic.get(message.topic)
        if expected is not None and event.type != expected:
            reason = f"a {event.type} event was published to {message.topic}, which carries {expected} events only"
            rejected.append(Rejection(message, "wrong_topic", reason))
            continue
        accepted.append((event, message))
    return Triage(accepted, rejected)


def explain(exc: ValidationError, raw: bytes) -> tuple[str, str]:
    """(reason class, reason) for a validation error, in the words a platform engineer needs."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    kind = first["type"]
    if kind == "json_invalid":
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            return "not_utf8", f"not UTF-8 text: invalid byte 0x{raw[bad.start]:02x} at position {bad.start}"
        return "not_json", f"not valid JSON: {first['msg'].removeprefix('Invalid JSON: ')}"
    if kind in ("dict_type", "model_type", "model_attributes_type") and not first["loc"]:
        return "not_object", "expected a JSON object (an event), got " + _json_kind(raw)
    if kind == "union_tag_not_found":
        return "missing_field", f"missing field 'type': the event family, one of {FAMILY_NAMES}"
    if kind == "union_tag_invalid":
        tag = first.get("ctx", {}).get("tag", "?")
        return "unknown_family", f"unknown event family 'type'={tag!r}: expected one of {FAMILY_NAMES}"
    parts = [_describe(error) for error in errors[:3]]
    if len(errors) > 3:
        parts.append(f"and {len(errors) - 3} more")
    kinds = {error["type"] for error in errors}
    if kinds <= {"missing"}:
        reason_class = "missing_field"
    elif kinds & _TOO_LARGE:
        reason_class = "too_large"
    else:
        reason_class = "invalid_field"
    return reason_class, "; ".join(parts)


def _describe(error: dict) -> str:
    # The first element of a location is the family (the union tag): the field path follows it.
    path = ".".join(str(part) for part in error["loc"][1:]) or "event"
    if error["type"] == "missing":
        return f"missing field '{path}'"
    shown = repr(error.get("input"))
    if len(shown) > 60:
        shown = shown[:57] + "..."
    if error["type"] in _TOO_LARGE:
        size = len(error["input"]) if hasattr(error.get("input"), "__len__") else "?"
        return f"{path}: {error['msg'].lower()} (got {size})"
    return f"{path}: {error['msg'].lower()} (got {shown})"


def _json_kind(raw: bytes) -> str:
    head = raw.lstrip()[:1]
    return {b"[": "an array", b'"': "a string", b"n": "null", b"t": "a boolean", b"f": "a boolean"}.get(head, "a number")
