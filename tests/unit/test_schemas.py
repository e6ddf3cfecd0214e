from __future__ import annotations

import json
from datetime import datetime, timezone

from vox.schemas import EVENT_ADAPTER, Review
from vox.schemas.export import JSON_DIR, rendered_schemas
from tests.factories import encode, post, review


def test_timestamps_are_normalised_to_utc() -> None:
    event = EVENT_ADAPTER.validate_json(encode(post(occurred_at="2026-03-01T11:00:00+01:00")))
    assert event.occurred_at == datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
    assert event.occurred_at.utcoffset().total_seconds() == 0


def test_unknown_fields_are_ignored_not_stored() -> None:
    event = EVENT_ADAPTER.validate_json(encode(review(campaign="spring", nested={"a": 1})))
    assert isinstance(event, Review)
    assert "campaign" not in event.model_dump()


def test_defaults_of_the_envelope() -> None:
    event = EVENT_ADAPTER.validate_json(encode(review()))
    assert event.actor_role == "customer" and event.schema_version == 1 and event.lang == "en"


def test_committed_json_schemas_are_up_to_date() -> None:
    """Fails when a model changed and `vox schemas export` was not run: producers would
    validate against a stale contract."""
    rendered = rendered_schemas()
    committed = {path.name for path in JSON_DIR.glob("*.json")}
    assert committed == set(rendered), "vox/schemas/json/ has missing or extra files: run `vox schemas export`"
    for name, text in rendered.items():
        assert (JSON_DIR / name).read_text(encoding="utf-8") == text, f"{name} is stale: run `vox schemas export`"


def test_json_schema_matches_the_model_on_required_fields() -> None:
    schema = json.loads((JSON_DIR / "review.schema.json").read_text())
    assert set(schema["required"]) == {"event_id", "customer_id", "occurred_at", "type", "review_id", "product_id",
                                       "category", "rating"}  # fmt: skip
    assert schema["properties"]["rating"]["minimum"] == 1 and schema["properties"]["rating"]["maximum"] == 5
