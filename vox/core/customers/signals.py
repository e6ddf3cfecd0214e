"""Signals: what an event means for one customer, re-keyed to that customer.

An event gives its actor a signal (what they did) and gives signals to the customers it is
*about*: the author of voted content, the customer replied to, the customers mentioned. Reviews
also give their author an accuracy signal once the product's consensus is known
(`vox.core.customers.consensus`), and votes whose author the producer did not know are resolved from
content already seen (`vox.core.customers.content`). A customer's state is only ever changed by signals
keyed to that customer, so it lives in exactly one partition.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from pydantic_core import from_json, to_json

from vox.errors import VoxError
from vox.schemas import Click, Event, Post, Review, Vote

# Kinds of signal. Own actions:
CLICK = "click"  # a: page_type, b: action, key: product, domain: category, session, x: dwell s, y: order value
REVIEW = "review"  # key: product, domain: category, x: text length
POST = "post"  # a: kind, domain: topic, x: text length, y: mentions made
VOTE_CAST = "vote_cast"  # a: vote_type, b: target_kind
# Received from others (giver: who):
VOTE_RECEIVED = "vote_received"  # a: vote_type
REPLY_RECEIVED = "reply_received"
MENTION_RECEIVED = "mention_received"
# Derived from the product's consensus:
ACCURACY = "accuracy"  # x: |rating - consensus|

POSITIVE_VOTES = frozenset({"up", "helpful", "favourite", "accept"})
NEGATIVE_VOTES = frozenset({"down", "unhelpful"})


@dataclass(slots=True)
class Signal:
    customer_id: str
    kind: str
    at: float  # event time, seconds since the epoch
    role: str = "customer"  # actor_role, for own actions
    a: str = ""
    b: str = ""
    key: str = ""
    domain: str = ""
    session: str = ""
    giver: str = ""
    x: float = 0.0
    y: float = 0.0
    sid: int = 0  # a deterministic id (event, kind, customer): a resent signal is applied once
    # where the event that gave it sat in the input (streaming only; -1 in a replay): the input
    # partition's id (`source_id`) and a position (`at_position`). A batch re-sent after a crash
    # is recognised by it.
    source: int = -1
    position: int = -1

    def fields(self) -> list:
        """The values in `FIELD_NAMES` order."""
        return [self.customer_id, self.kind, self.at, self.role, self.a, self.b, self.key, self.domain,
                self.session, self.giver, self.x, self.y, self.sid, self.source, self.position]  # fmt: skip


# The keyed-record format of `vox.signals`: format 2 names its fields once per message, so a
# field added to `Signal` (at the end, with a default) is read as its default from older messages.
# Format 1 (what vox wrote until the formats were versioned) is a bare list of positional lists.
SIGNALS_FORMAT = 2
FIELD_NAMES = tuple(Signal.__dataclass_fields__)


def pack(signals: list[Signal]) -> bytes:
    """One message for many signals (of the customers of one partition): far fewer Kafka
    messages than signals, so the scoring stage pays the per-message cost rarely."""
    # pydantic-core's JSON (Rust) writes and reads these lists about 1.5 times as fast as `json`
    return to_json({"format": SIGNALS_FORMAT, "fields": FIELD_NAMES, "signals": [s.fields() for s in signals]})


def unpack(data: bytes) -> list[Signal]:
    """The signals of a message of any format this vox knows; a newer one is refused, not misread."""
    message = from_json(data)
    if isinstance(message, list):  # format 1
        return [Signal(*fields) for fields in message]
    if not isinstance(message, dict) or message.get("format") != SIGNALS_FORMAT:
        found = message.get("format") if isinstance(message, dict) else type(message).__name__
        raise VoxError(f"a vox.signals message is in format {found!r}; this vox reads 1 and {SIGNALS_FORMAT}")
    names = tuple(message["fields"])
    if names == FIELD_NAMES:
        return [Signal(*fields) for fields in message["signals"]]
    if unknown := set(names) - set(FIELD_NAMES):
        raise VoxError(f"a vox.signals message has fields this vox does not know ({', '.join(sorted(unknown))}): "
                       "it was written by a newer vox")  # fmt: skip
    return [Signal(**dict(zip(names, fields))) for fields in message["signals"]]


def by_customer(signals: list[Signal]) -> dict[str, list[Signal]]:
    """The signals of each customer, in their order."""
    grouped: dict[str, list[Signal]] = {}
    for signal in signals:
        grouped.setdefault(signal.customer_id, []).append(signal)
    return grouped


SIGNALS_PER_EVENT = 1 << 16


def at_position(signals: list[Signal], source: int, offset: int) -> list[Signal]:
    """Mark the signals of the event at `offset` of input partition `source`: positions that
    grow with the offset, then with the signal's rank in the event (an event gives one customer
    several signals at times: a review and its accuracy, votes released by their content)."""
    for rank, signal in enumerate(signals):
        signal.source, signal.position = source, offset * SIGNALS_PER_EVENT + min(rank, SIGNALS_PER_EVENT - 1)
    return signals


def signal_id(event_id: str, kind: str, customer_id: str) -> int:
    return zlib.crc32(f"{event_id}|{kind}|{customer_id}".encode())


def own_signal(event: Event) -> Signal:
    """What the event says about its actor."""
    at, who, role = event.occurred_at.timestamp(), event.customer_id, event.actor_role
    if isinstance(event, Click):
        return Signal(who, CLICK, at, role, a=event.page_type, b=event.action, key=event.product_id or "",
                      domain=event.category or "", session=event.session_id,
                      x=(event.dwell_ms or 0) / 1000, y=event.order_value or 0.0)  # fmt: skip
    if isinstance(event, Review):
        return Signal(who, REVIEW, at, role, key=event.product_id, domain=event.category, x=len(event.text))
    if isinstance(event, Post):
        return Signal(who, POST, at, role, a=event.kind, domain=event.topic, x=len(event.text), y=len(event.mentions))
    assert isinstance(event, Vote)
    return Signal(who, VOTE_CAST, at, role, a=event.vote_type, b=event.target_kind)


def received_signals(event: Event) -> list[Signal]:
    """What the event says about other customers (never about the actor themself)."""
    at, giver = event.occurred_at.timestamp(), event.customer_id
    out: list[Signal] = []
    if isinstance(event, Vote) and event.target_author_id and event.target_author_id != giver:
        out.append(Signal(event.target_author_id, VOTE_RECEIVED, at, a=event.vote_type, giver=giver))
    elif isinstance(event, Post):
        if event.reply_to_customer_id and event.reply_to_customer_id != giver:
            out.append(Signal(event.reply_to_customer_id, REPLY_RECEIVED, at, giver=giver))
        for mentioned in dict.fromkeys(event.mentions):
            if mentioned != giver:
                out.append(Signal(mentioned, MENTION_RECEIVED, at, giver=giver))
    return out


def with_ids(event_id: str, signals: list[Signal]) -> list[Signal]:
    for signal in signals:
        signal.sid = signal_id(event_id, signal.kind, signal.customer_id)
    return signals
