"""Event schemas: the contract between producers and vox (see `vox/schemas/events.py`)."""

from vox.schemas.events import (
    EVENT_ADAPTER,
    FAMILIES,
    SCHEMA_VERSION,
    Click,
    Envelope,
    Event,
    Post,
    Review,
    Vote,
)

__all__ = [
    "EVENT_ADAPTER",
    "FAMILIES",
    "SCHEMA_VERSION",
    "Click",
    "Envelope",
    "Event",
    "Post",
    "Review",
    "Vote",
]
