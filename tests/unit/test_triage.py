"""Every kind of bad input gets a reason class and a reason a platform engineer can act on."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from tests.factories import FACTORIES, click, encode, post, review, vote
from vox.core.triage import REASON_CLASSES, RawMessage, triage

TOPICS = {"vox.reviews": "review", "vox.votes": "vote", "vox.posts": "post", "vox.clicks": "click"}
TOPIC_OF = {family: topic for topic, family in TOPICS.items()}


def topic_for(value: bytes | None) -> str:
    """The topic a producer would have used: its family's, when the payload names one."""
    try:
        family = json.loads(value or b"").get("type")
    except (ValueError, AttributeError):
        family = None
    return TOPIC_OF.get(family, "vox.reviews")


#: the latest occurred_at accepted in these tests: as if ingested on 2026-03-02 with a day's skew
LATEST = datetime(2026, 3, 3, tzinfo=timezone.utc)


def one(value: bytes | None, topic: str = "vox.reviews"):
    return triage([RawMessage(topic, 0, 7, value)], TOPICS, LATEST)


def rejected(value: bytes | None, topic: str = "vox.reviews"):
    result = one(value, topic)
    assert not result.accepted, "expected a rejection"
    (rejection,) = result.rejected
    assert rejection.reason_class in REASON_CLASSES
    return rejection


@pytest.mark.parametrize("family", sorted(FACTORIES))
def test_every_family_is_accepted_on_its_topic(family: str) -> None:
    result = one(encode(FACTORIES[family]()), TOPIC_OF[family])
    assert not result.rejected
    (event, message), = result.accepted
    assert event.type == family and message.offset == 7


BAD_INPUTS = [
    ("empty message", b"", "empty", "empty message"),
    ("tombstone", None, "empty", "empty message"),
    ("not JSON", b"hello world", "not_json", "not valid JSON"),
    ("truncated JSON", b'{"type": "review", ', "not_json", "not valid JSON"),
    ("invalid UTF-8", b'{"type": "review", "text": "\xff\xfe"}', "not_utf8", "invalid byte 0xff at position 28"),
    ("JSON array", b"[1, 2]", "not_object", "got an array"),
    ("JSON string", b'"review"', "not_object", "got a string"),
    ("JSON number", b"42", "not_object", "got a number"),
    ("JSON null", b"null", "not_object", "got null"),
    ("no family", encode({k: v for k, v in review().items() if k != "type"}), "missing_field", "missing field 'type'"),
    ("unknown family", encode(review(type="purchase")), "unknown_family", "'purchase'"),
    ("missing field", encode({k: v for k, v in review().items() if k != "product_id"}), "missing_field",
     "missing field 'product_id'"),
    ("wrong-typed rating", encode(review(rating="five")), "wrong_type", "rating: input should be a valid integer"),
    ("wrong-typed verified", encode(review(verified_purchase="maybe")), "wrong_type", "verified_purchase"),
    # strict types: what lax parsing used to turn into a score
    ("boolean rating", encode(review(rating=True)), "wrong_type", "rating: input should be a valid integer (got True)"),
    ("quoted rating", encode(review(rating="5")), "wrong_type", "rating: input should be a valid integer (got '5')"),
    ("fractional rating", encode(review(rating=4.0)), "wrong_type", "rating"),
    ("numeric timestamp", encode(review(occurred_at=0)), "wrong_type", "occurred_at: input should be a valid datetime"),
    ("quoted boolean", encode(review(verified_purchase="true")), "wrong_type", "verified_purchase"),
    ("quoted dwell", encode(click(dwell_ms="4000")), "wrong_type", "dwell_ms"),
    *((f"{what} with {character}", encode(make(**{field: value})), "bad_characters", words)
      for what, character, make, field, value, words in (
          ("id", "NUL", review, "customer_id", "a\x00b", "customer_id: holds a control"),
          ("id", "a control", review, "event_id", "x\x01y", "event_id"),
          ("id", "a right-to-left override", vote, "target_id", "abc\u202edcba", "target_id"),
          ("id", "a zero-width space", review, "product_id", "p\u200b1", "product_id"),
          ("brand", "a bidi isolate", review, "brand", "Ac\u2067me", "brand"),
          ("mention", "a control", post, "mentions", ["ok", "b\x1bad"], "mentions.1"))),
    ("duplicate key", b'{"type": "review", "event_id": "e1", "event_id": "e2", "customer_id": "c", '
     b'"occurred_at": "2026-03-01T10:00:00Z", "review_id": "r", "product_id": "p", "brand": "b", "category": "c", '
     b'"rating": 4}', "duplicate_key", "key 'event_id' appears twice"),
    ("duplicate key with spaces", b'{"type": "vote", "event_id": "e1", "customer_id" : "c", "customer_id" : "d", '
     b'"occurred_at": "2026-03-01T10:00:00Z", "target_kind": "post", "target_id": "t", "vote_type": "up"}',
     "duplicate_key", "'customer_id'"),
    ("duplicate key beside an unknown field", encode(click(extra={"a": 1}))[:-1] + b', "action": "view"}',
     "duplicate_key", "'action'"),
    *((f"occurred at {at}", encode(review(occurred_at=at)), "out_of_window", words) for at, words in (
        ("0001-01-01T00:00:00Z", "before 1970-01-02"), ("1969-12-31T23:59:59Z", "before 1970-01-02"),
        ("1900-01-01T00:00:00Z", "before 1970-01-02"), ("2027-03-02T10:00:00Z", "in the future"),
        ("2106-03-01T00:00:00Z", "in the future"), ("9999-12-31T23:59:59Z", "in the future"))),
    ("rating 0", encode(review(rating=0)), "invalid_field", "rating: input should be greater than or equal to 1 (got 0)"),
    ("rating 6", encode(review(rating=6)), "invalid_field", "rating: input should be less than or equal to 5 (got 6)"),
    ("naive timestamp", encode(review(occurred_at="2026-03-01T10:00:00")), "invalid_field",
     "occurred_at: input should have timezone info"),
    ("not a timestamp", encode(review(occurred_at="yesterday")), "invalid_field", "occurred_at"),
    ("oversized text", encode(review(text="x" * 20_001)), "too_large", "text: string should have at most 20000 characters (got 20001)"),
    ("oversized id", encode(review(customer_id="c" * 129)), "too_large", "customer_id"),
    ("id with spaces", encode(review(customer_id="a b")), "bad_characters", "customer_id: holds a control, invisible "
     "or bidirectional-override character or white space (got 'a b')"),
    ("too many mentions", encode(post(mentions=[f"u{i}" for i in range(51)])), "too_large", "mentions"),
    ("unknown vote type", encode(vote(vote_type="love")), "invalid_field", "vote_type"),
    ("negative order", encode(click(order_value=-3)), "invalid_field", "order_value"),
    ("bad actor role", encode(review(actor_role="robot")), "invalid_field", "actor_role"),
    ("future schema", encode(review(schema_version=2)), "invalid_field", "schema_version"),
]


@pytest.mark.parametrize("value, reason_class, reason_part", [case[1:] for case in BAD_INPUTS],
                         ids=[case[0] for case in BAD_INPUTS])  # fmt: skip
def test_bad_input_is_rejected_with_a_readable_reason(value: bytes | None, reason_class: str, reason_part: str) -> None:
    rejection = rejected(value, topic_for(value))
    assert rejection.reason_class == reason_class
    assert reason_part in rejection.reason
    assert len(rejection.reason) < 400 and "\n" not in rejection.reason


def test_event_on_another_familys_topic_is_rejected() -> None:
    rejection = rejected(encode(vote()), "vox.reviews")
    assert rejection.reason_class == "wrong_topic"
    assert rejection.reason == "a vote event was published to vox.reviews, which carries review events only"


def test_several_errors_are_all_named() -> None:
    rejection = rejected(encode(review(rating=9, occurred_at="2026-01-01T00:00:00", brand="")))
    assert "rating" in rejection.reason and "occurred_at" in rejection.reason and "brand" in rejection.reason


def test_a_batch_keeps_its_good_events_around_bad_ones() -> None:
    messages = [RawMessage("vox.reviews", 0, offset, value)
                for offset, value in enumerate([encode(review()), b"junk", encode(review()), b"", encode(review())])]  # fmt: skip
    result = triage(messages, TOPICS)
    assert [message.offset for _, message in result.accepted] == [0, 2, 4]
    assert [r.message.offset for r in result.rejected] == [1, 3]


def test_the_window_and_unknown_fields_let_ordinary_events_through() -> None:
    """The window's edges are accepted, an unknown field is ignored and not mistaken for a
    repeated key, and a quote followed by a colon inside a text is not a key either."""
    edges = [review(occurred_at="1970-01-02T00:00:00Z"), review(occurred_at="2026-03-03T00:00:00Z"),
             click(extra={"action": "nested, not repeated", "b": [1]}), post(text='he wrote "a": b, "c": d'),
             review(title='"x":', text='\\":')]  # fmt: skip
    result = triage([RawMessage(TOPIC_OF[e["type"]], 0, n, encode(e)) for n, e in enumerate(edges)], TOPICS, LATEST)
    assert result.rejected == [] and len(result.accepted) == len(edges)
