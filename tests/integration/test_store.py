"""The ClickHouse layer on both engines: chDB (26.x) and the Debian server (18.16)."""

from __future__ import annotations

from datetime import datetime, timezone

from vox.core.interactions import INTERACTION_COLUMNS, interaction_row
from vox.clickhouse.migrations import MIGRATIONS, MigrationReport, migrate, schema_objects
from vox.core.triage import RawMessage
from vox.schemas import EVENT_ADAPTER
from tests.factories import encode, review


def test_migrations_are_idempotent(store) -> None:
    assert migrate(store) == MigrationReport([], [])  # the fixture applied them already
    versions = store.query(f"SELECT version FROM {store.database}.schema_migrations")
    assert sorted(int(v) for (v,) in versions) == [m.version for m in MIGRATIONS]
    tables = {name for (name,) in store.query(f"SELECT name FROM system.tables WHERE database = '{store.database}'")}
    assert {"interactions", "dead_letters", "schema_migrations"} <= tables


def test_migrate_re_creates_what_was_dropped(store) -> None:
    """A version number alone said "schema at version N" with a table gone: the dropped objects
    come back (event_keys refilled from interactions), and the worker's inserts work again."""
    db = store.database
    row = interaction_row(EVENT_ADAPTER.validate_json(encode(review(event_id="kept"))),
                          RawMessage("vox.reviews", 0, 1, None, b""), datetime.now(timezone.utc))  # fmt: skip
    store.insert("interactions", INTERACTION_COLUMNS, [row])
    for name in ("event_keys", "typology_matrix", "segment_transitions"):
        store.execute(f"DROP TABLE {db}.{name}")
    report = migrate(store)
    assert report.applied == [] and sorted(report.restored) == ["event_keys", "segment_transitions", "typology_matrix"]
    tables = {name for (name,) in store.query(f"SELECT name FROM system.tables WHERE database = '{db}'")}
    assert set(schema_objects()) <= tables
    assert store.query(f"SELECT event_id FROM {db}.event_keys") == [("kept",)]
    store.insert("interactions", INTERACTION_COLUMNS, [row])  # through event_keys_mv, into event_keys again
    assert migrate(store) == MigrationReport([], [])


def test_dialect_follows_the_server_version(store) -> None:
    column_type = store.scalar(
        f"SELECT type FROM system.columns WHERE database = '{store.database}' "
        "AND table = 'interactions' AND name = 'occurred_at'"
    )
    if store.dialect.version >= (20, 1):
        assert column_type == "DateTime64(3, 'UTC')"
    else:
        assert store.dialect.version[:2] == (18, 16) and column_type == "DateTime('UTC')"


def test_an_interaction_round_trips(store) -> None:
    event = EVENT_ADAPTER.validate_json(encode(review(text="Très bien, l'accordeur est \"précis\"\\", rating=5, lang="fr")))
    now = datetime(2026, 3, 1, 10, 0, 1, tzinfo=timezone.utc)
    store.insert("interactions", INTERACTION_COLUMNS, [interaction_row(event, RawMessage("vox.reviews", 2, 41, b""), now)])
    (row,) = store.query(
        f"SELECT event_id, customer_id, rating, text, text_length, brand, source_partition, source_offset, "
        f"toString(occurred_at), accepted, sentiment, sentiment_lang FROM {store.database}.interactions"
    )
    assert row[0] == event.event_id and row[1] == "alice" and int(row[2]) == 5
    assert row[3] == event.text and int(row[4]) == len(event.text) and row[5] == "Acme"
    assert (int(row[6]), int(row[7])) == (2, 41)
    assert row[8].startswith("2026-03-01 10:00:00") and row[9] is None
    assert row[10] > 0 and row[11] == "fr"  # the text's sentiment, in the language it was read in


def test_every_table_and_column_says_what_it_means(store) -> None:
    """`DESCRIBE TABLE` answers an analyst's "what is this?": every column of every table has a
    comment (a new column must come with one in vox/clickhouse/comments.py), and on servers that
    keep table comments, every table and view has one."""
    from vox.clickhouse.comments import COMMENTS

    db = store.database
    kinds = dict(store.query(f"SELECT name, engine FROM system.tables WHERE database = '{db}'"))
    assert set(kinds) - {"event_keys_mv"} <= set(COMMENTS), "a table without an entry in COMMENTS"
    silent = store.query(f"SELECT table, name FROM system.columns WHERE database = '{db}' AND comment = '' "
                         "AND table NOT IN ('event_keys_mv')")  # fmt: skip
    assert [(t, c) for t, c in silent if not kinds[t].endswith("View")] == []
    if store.dialect.version >= (21, 6):
        described = dict(store.query(f"SELECT name, comment FROM system.tables WHERE database = '{db}'"))
        assert all(described[name] == COMMENTS[name][0] for name in kinds if name != "event_keys_mv")
