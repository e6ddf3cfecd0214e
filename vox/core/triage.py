"""Sort raw Kafka messages into valid events and rejections with a readable reason.

Pure: bytes in, events or reasons out. The worker, `vox replay` and the benchmarks share it, so
an event is accepted or rejected for the same reason everywhere.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Mapping, NamedTuple

from pydantic import ValidationError

from vox.schemas import EVENT_ADAPTER, FAMILIES, Event
from vox.schemas.events import ID_PATTERN, LABEL_PATTERN

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
    "invalid_field",  # a field has an out-of-range or malformed value
    "wrong_type",  # a field has the wrong JSON type (a boolean rating, a quoted number, a numeric time)
    "bad_characters",  # an id or label holds control, invisible or bidirectional-override characters
    "duplicate_key",  # the same key twice in one object: parsers disagree on which one counts
    "out_of_window",  # occurred_at before EARLIEST or further in the future than the clock skew allows
    "too_large",  # a text, id or list over its bound
    "wrong_topic",  # a valid event published to another family's topic
    "store_refused",  # valid, but ClickHouse refused to store it (the reason quotes the server)
)

#: No event is older than this: a time before it is a producer's zero or sentinel, not a fact,
#: and it is outside what ClickHouse's `DateTime` (the 18.16 server) can store.
EARLIEST = datetime(1970, 1, 2, tzinfo=timezone.utc)

_TOO_LARGE = {"string_too_long", "too_long"}
_WRONG_TYPE = {"int_type", "float_type", "bool_type", "string_type", "datetime_type", "list_type",
               "int_from_float", "literal_error_type"}  # fmt: skip
_HIDDEN = {ID_PATTERN, LABEL_PATTERN}


@dataclass(slots=True)
class Triage:
    accepted: list[tuple[Event, RawMessage]]
    rejected: list[Rejection]


def triage(messages: Iterable[RawMessage], family_of_topic: Mapping[str, str], latest: datetime | None = None) -> Triage:
    """Validate every message; `family_of_topic` maps an input topic to the family it carries.
    `latest` is the latest `occurred_at` accepted: the ingestion time plus the allowed clock skew
    (every ingesting caller passes it; None only where the input is known history)."""
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
        if (duplicated := duplicate_key(raw, event)) is not None:
            rejected.append(Rejection(message, "duplicate_key", f"key {duplicated!r} appears twice in one object: "
                                      "send each field once"))  # fmt: skip
            continue
        if event.occurred_at < EARLIEST or (latest is not None and event.occurred_at > latest):
            rejected.append(Rejection(message, "out_of_window", _window_reason(event.occurred_at, latest)))
            continue
        expected = family_of_topic.get(message.topic)
        if expected is not None and event.type != expected:
            reason = f"a {event.type} event was published to {message.topic}, which carries {expected} events only"
            rejected.append(Rejection(message, "wrong_topic", reason))
            continue
        accepted.append((event, message))
    return Triage(accepted, rejected)


_KEY_END = re.compile(rb'"\s+:')  # a key's closing quote, white space, then its colon


def duplicate_key(raw: bytes, event: Event) -> str | None:
    """The first key that appears twice in one object of `raw`, or None.

    pydantic-core keeps the last of two equal keys without a word, while other parsers keep the
    first: a producer's validator and vox would then read different events. Parsing every
    message a second time would cost as much as validating it, so a cheap count comes first:
    in valid JSON a quote followed by a colon closes a key (a string *value* is never followed
    by a colon; a quote inside a string is escaped and can only add to the count). When there
    are no more of those than known fields the event set, no key can repeat; otherwise (unknown
    fields, nested objects, or spaces before a colon) the text is parsed again, exactly."""
    if raw.count(b'":') <= len(event.model_fields_set) and not _KEY_END.search(raw):
        return None
    found: list[str] = []

    def pairs(items: list[tuple[str, object]]) -> dict:
        keys = [key for key, _ in items]
        if len(set(keys)) < len(keys) and not found:
            seen: set[str] = set()
            found.append(next(key for key in keys if key in seen or seen.add(key)))  # type: ignore[func-returns-value]
        return dict(items)

    json.loads(raw, object_pairs_hook=pairs)
    return found[0] if found else None


def _window_reason(occurred_at: datetime, latest: datetime | None) -> str:
    shown = occurred_at.isoformat().replace("+00:00", "Z")
    if occurred_at < EARLIEST:
        return f"occurred_at: {shown} is before {EARLIEST.date()}: send the time the event happened"
    assert latest is not None
    return (f"occurred_at: {shown} is in the future (later than {latest.isoformat(timespec='seconds').replace('+00:00', 'Z')}, "
            "the ingestion time plus VOX_MAX_CLOCK_SKEW_S): check the producer's clock")  # fmt: skip


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
    elif kinds & _WRONG_TYPE:
        reason_class = "wrong_type"
    elif any(error.get("ctx", {}).get("pattern") in _HIDDEN for error in errors):
        reason_class = "bad_characters"
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
    message = error["msg"][:1].lower() + error["msg"][1:]  # the rest may quote a pattern
    if error["type"] in _TOO_LARGE:
        size = len(error["input"]) if hasattr(error.get("input"), "__len__") else "?"
        return f"{path}: {message} (got {size})"
    if error.get("ctx", {}).get("pattern") in _HIDDEN:
        spaces = " or white space" if error["ctx"]["pattern"] == ID_PATTERN else ""
        message = f"holds a control, invisible or bidirectional-override character{spaces}"
    return f"{path}: {message} (got {shown})"


def _json_kind(raw: bytes) -> str:
    head = raw.lstrip()[:1]
    return {b"[": "an array", b'"': "a string", b"n": "null", b"t": "a boolean", b"f": "a boolean"}.get(head, "a number")
