"""Versioned ClickHouse schema, applied idempotently (`vox db migrate`, and at worker start).

Each migration is a list of statements that are themselves idempotent (IF NOT EXISTS), so a
migration interrupted half-way is simply applied again. `{db}`, `{ts}` and `{label}` are filled
in by the store's dialect, so the same text runs on chDB (26.x) and the 18.16 server.

Deduplication: tables whose rows come from Kafka messages are ReplacingMergeTree with the
deterministic key of the message as the tail of their sorting key. The worker also skips keys
already stored before it inserts (see `vox/worker/sink.py`), so a replayed event never shows up
twice in a plain query; the engine is the safety net for the rare race (two workers during a
rebalance), and `FINAL` gives a guaranteed answer at query time.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

from dataclasses import dataclass

from vox.clickhouse.comments import apply_comments
from vox.clickhouse.store import Store

if TYPE_CHECKING:
    from vox.core.stage import KeyedStage


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    # (table, column, type) added before the statements run, each only if missing: the 18.16
    # server has no ADD COLUMN IF NOT EXISTS, and a migration must survive being run twice
    columns: tuple[tuple[str, str, str], ...] = ()


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "interactions and dead letters",
        (
            # One row per valid event. Sorting key: analysts first pick a family (reviews and
            # clicks are different analyses), then look at customers over time; the dedup
            # look-up of the worker also goes by family and customer. Month partitions keep
            # time-range scans and retention (DROP PARTITION) cheap.
            """
            CREATE TABLE IF NOT EXISTS {db}.interactions (
                event_id String,
                event_type {label},
                customer_id String,
                actor_role {label},
                occurred_at {ts},
                ingested_at {ts},
                product_id String,
                brand {label},
                category {label},
                topic {label},
                rating Nullable(UInt8),
                kind {label},
                action {label},
                page_type {label},
                vote_type {label},
                target_kind {label},
                target_id String,
                target_author_id String,
                content_id String,
                thread_id String,
                parent_post_id String,
                reply_to_customer_id String,
                session_id String,
                mentions Array(String),
                title String,
                text String,
                text_length UInt32,
                lang {label},
                verified_purchase UInt8,
                accepted Nullable(UInt8),
                dwell_ms Nullable(UInt32),
                order_value Nullable(Float64),
                source_topic {label},
                source_partition Int32,
                source_offset Int64
            ) ENGINE = ReplacingMergeTree
            PARTITION BY toYYYYMM(occurred_at)
            ORDER BY (event_type, customer_id, occurred_at, event_id)
            """,
            # Every rejected message, with where it came from and why. Keyed by its position in
            # Kafka (topic, partition, offset), which is what a replay repeats; partitioned by the
            # Kafka record time, which a replay repeats too (the arrival time would not).
            """
            CREATE TABLE IF NOT EXISTS {db}.dead_letters (
                source_topic String,
                source_partition Int32,
                source_offset Int64,
                message_timestamp {ts},
                received_at {ts},
                reason_class {label},
                reason String,
                message_key String,
                payload_size UInt32,
                payload_preview String,
                payload_base64 String
            ) ENGINE = ReplacingMergeTree
            PARTITION BY toYYYYMM(message_timestamp)
            ORDER BY (source_topic, source_partition, source_offset)
            """,
        ),
    ),
)


def explanation_view(*added: str) -> str:
    """The one-row explanation of a customer; a later migration re-creates it with added columns."""
    return f"""
            CREATE VIEW IF NOT EXISTS {{db}}.customer_explanation AS
            SELECT customer_id, cell, competence, implication, role, value, updated_at, action,
                   c_breadth, c_quality, c_depth, c_recognition, c_learning, c_accuracy,
                   i_frequency, i_durability, i_depth, i_co_creation, i_community, i_purchases,
                   {"".join(f"{column}, " for column in added)}rfm_recency_days, rfm_frequency, rfm_monetary,
                   days_since_active, is_staff, version
            FROM {{db}}.customer_scores FINAL
            """


SCORE_COLUMNS_SQL = """
                customer_id String,
                version UInt64,
                updated_at {ts},
                competence Float32,
                implication Float32,
                cell {label},
                competence_level {label},
                implication_level {label},
                role {label},
                actor_role {label},
                is_staff UInt8,
                value Float64,
                rfm_recency_days Float32,
                rfm_frequency Float32,
                rfm_monetary Float32,
                days_since_active Float32,
                action String,
                c_breadth Float32, c_quality Float32, c_depth Float32, c_recognition Float32,
                c_learning Float32, c_accuracy Float32,
                i_frequency Float32, i_durability Float32, i_depth Float32, i_co_creation Float32,
                i_community Float32, i_purchases Float32
"""

MIGRATIONS = MIGRATIONS + (
    Migration(
        2,
        "customer scores, history, transitions and analyst views",
        (
            # Latest scores per customer: the highest version (signals applied) wins at merge
            # time; FINAL (or the views below) gives the latest row at query time.
            "CREATE TABLE IF NOT EXISTS {db}.customer_scores (" + SCORE_COLUMNS_SQL + ") "
            "ENGINE = ReplacingMergeTree(version) ORDER BY customer_id",
            # A snapshot whenever a score moved 2 points or the cell changed: bounded by how much
            # customers change, not by how much they do. Month partitions for retention.
            "CREATE TABLE IF NOT EXISTS {db}.customer_score_history (" + SCORE_COLUMNS_SQL + ") "
            "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(updated_at) ORDER BY (customer_id, version)",
            """
            CREATE TABLE IF NOT EXISTS {db}.segment_transitions (
                customer_id String,
                from_cell {label},
                to_cell {label},
                at {ts},
                competence Float32,
                implication Float32,
                action String
            ) ENGINE = ReplacingMergeTree
            PARTITION BY toYYYYMM(at)
            ORDER BY (customer_id, at, from_cell, to_cell)
            """,
            # Customers per cell (staff excluded: they are scored, not segmented).
            """
            CREATE VIEW IF NOT EXISTS {db}.typology_matrix AS
            SELECT competence_level, implication_level, cell, count() AS customers,
                   round(avg(competence), 1) AS mean_competence, round(avg(implication), 1) AS mean_implication
            FROM {db}.customer_scores FINAL
            WHERE is_staff = 0
            GROUP BY competence_level, implication_level, cell
            """,
            # Moves between cells per day.
            """
            CREATE VIEW IF NOT EXISTS {db}.segment_flows AS
            SELECT toDate(at) AS day, from_cell, to_cell, count() AS moves
            FROM {db}.segment_transitions FINAL
            GROUP BY day, from_cell, to_cell
            """,
            # One row per customer that says why they are where they are.
            explanation_view(),
        ),
    ),
)


MIGRATIONS = MIGRATIONS + (
    Migration(
        3,
        "ingest progress",
        (
            # Per consumer group and partition, the next offset a stage has not processed, with
            # nothing missing below it (see vox/core/continuity.py). One row per batch; merges keep
            # the highest, and readers take max() anyway.
            "CREATE TABLE IF NOT EXISTS {db}.ingest_progress (consumer_group String, topic String, partition Int32, "
            "next_offset UInt64, updated_at {ts}) ENGINE = ReplacingMergeTree(next_offset) "
            "ORDER BY (consumer_group, topic, partition)",
        ),
    ),
)
MIGRATIONS = MIGRATIONS + (
    # Migration 4 made `interaction_keys`, a dedup look-up table sorted by event day; migration 6
    # replaced it (a resent copy with another day went unseen) and drops it. Kept empty, so that
    # a new database does not build a table only to drop it, and a database at 4 or 5 goes on.
    Migration(4, "interaction keys (superseded by migration 6)", ()),
)
MIGRATIONS = MIGRATIONS + (
    Migration(
        5,
        "components left out of the scores",
        (
            "DROP TABLE IF EXISTS {db}.customer_explanation",  # a view; 18.16 has no DROP VIEW
            explanation_view("left_out"),
        ),
        # The components a customer gave no evidence for (shown at their prior, not in the score):
        # without it an analyst would read a prior as a measure. Rows written before: empty.
        columns=(("customer_scores", "left_out", "Array(String)"), ("customer_score_history", "left_out", "Array(String)")),
    ),
)
MIGRATIONS = MIGRATIONS + (
    Migration(
        6,
        "event keys: deduplication by event id alone",
        (
            # The dedup look-up, by event id alone: whatever a resent copy says (another time,
            # customer or family), the first one stored wins. Sorted by the 64-bit hash; the id
            # is kept so a hash collision is told apart exactly, and the digest of what the first
            # copy said, so a resend with other content is counted (vox_events_resent_changed_total).
            # (interaction_keys, which it replaces, was sorted by event day: a copy with another
            # day went unseen.)
            """
            CREATE TABLE IF NOT EXISTS {db}.event_keys (
                key UInt64,
                event_id String,
                content_digest UInt64
            ) ENGINE = ReplacingMergeTree
            ORDER BY (key, event_id)
            SETTINGS index_granularity = 1024
            """,
            """
            CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.event_keys_mv TO {db}.event_keys AS
            SELECT halfMD5(event_id) AS key, event_id, content_digest FROM {db}.interactions
            """,
            "DROP TABLE IF EXISTS {db}.interaction_keys_mv",
            "DROP TABLE IF EXISTS {db}.interaction_keys",
            # the events stored before (digest 0: unknown; run again, it only adds copies)
            "INSERT INTO {db}.event_keys SELECT halfMD5(event_id), event_id, content_digest FROM {db}.interactions",
        ),
        columns=(("interactions", "content_digest", "UInt64"),),
    ),
)
MIGRATIONS = MIGRATIONS + (
    Migration(
        7,
        "forgotten customers",
        (
            # Customers erased by `vox forget`, by a SHA-256 of their id (not the id): every
            # ingest drops their events and strips their id from others', so a replay of the
            # input topics does not bring them back.
            """
            CREATE TABLE IF NOT EXISTS {db}.forgotten_customers (
                key String,
                forgotten_at DateTime
            ) ENGINE = ReplacingMergeTree
            ORDER BY key
            """,
        ),
    ),
)


def typology_view(name: str, where: str) -> str:
    """Customers per cell, with mean scores and how many are established on both axes."""
    return f"""
            CREATE VIEW IF NOT EXISTS {{db}}.{name} AS
            SELECT competence_level, implication_level, cell, count() AS customers,
                   round(avg(competence), 1) AS mean_competence, round(avg(implication), 1) AS mean_implication,
                   countIf(competence_evidence = 'established' AND implication_evidence = 'established') AS established
            FROM {{db}}.customer_scores FINAL
            WHERE {where}
            GROUP BY competence_level, implication_level, cell
            """


MIGRATIONS = MIGRATIONS + (
    Migration(
        8,
        "evidence per axis, components not observed here",
        (
            "DROP TABLE IF EXISTS {db}.customer_explanation",
            explanation_view("left_out", "competence_evidence", "implication_evidence", "not_observed"),
            # the typology, and the same for placements established on both axes: the cells an
            # analyst can act on (a provisional placement rests mostly on priors or a few days)
            "DROP TABLE IF EXISTS {db}.typology_matrix",
            typology_view("typology_matrix", "is_staff = 0"),
            typology_view("typology_matrix_established", "is_staff = 0 AND competence_evidence = 'established' "
                          "AND implication_evidence = 'established'"),
        ),
        # Each axis's evidence level ('provisional' | 'established', see docs/scoring.md) and the
        # components nothing the deployment sees can feed (out of everyone's scores). Rows written
        # before: empty strings and arrays.
        columns=tuple((table, column, kind) for table in ("customer_scores", "customer_score_history")
                      for column, kind in (("competence_evidence", "String"),
                                           ("implication_evidence", "String"),
                                           ("not_observed", "Array(String)"))),  # fmt: skip
    ),
)
MIGRATIONS = MIGRATIONS + (
    Migration(
        9,
        "text sentiment per event",
        (),
        # What a review's or a post's text says, -1 (negative) .. 1 (positive), and the language
        # it was read in (the producer's `lang`, else detected): NULL where there is no text, and
        # sentiment NULL where the language has no lexicon or no opinion word was found
        # (vox/core/sentiment/text.py). Rows written before: NULL.
        columns=(("interactions", "sentiment", "Nullable(Float32)"), ("interactions", "sentiment_lang", "Nullable(String)")),
    ),
)

def _sentiment_tables() -> tuple[str, ...]:
    from vox.core.sentiment.stage import DDL

    return DDL


def _leaders_tables() -> tuple[str, ...]:
    from vox.core.leaders.stage import DDL

    return DDL


MIGRATIONS = MIGRATIONS + (
    Migration(10, "sentiment windows and alerts per subject", _sentiment_tables()),
    Migration(11, "opinion leaders per topic", _leaders_tables()),
    Migration(
        12,
        "how much evidence each placement rests on",
        (
            "DROP TABLE IF EXISTS {db}.customer_explanation",
            explanation_view("left_out", "competence_evidence", "implication_evidence", "not_observed", "signals",
                             "competence_evidence_amount", "observed_days"),
        ),
        # What `vox explain` and analysts read the evidence level from: signals applied, the
        # competence evidence (contributions, votes received, rated reviews, a tenth of page
        # views; decayed) and the days since the first signal. Rows written before: 0.
        columns=tuple((table, column, kind) for table in ("customer_scores", "customer_score_history")
                      for column, kind in (("signals", "UInt64"), ("competence_evidence_amount", "Float32"),
                                           ("observed_days", "Float32"))),  # fmt: skip
    ),
)
LEDGER = """
CREATE TABLE IF NOT EXISTS {db}.schema_migrations (
    version UInt32,
    name String,
    applied_at DateTime
) ENGINE = ReplacingMergeTree ORDER BY version
"""


def applied_versions(store: Store) -> set[int]:
    store.execute(store.render(LEDGER))
    return {int(row[0]) for row in store.query(f"SELECT DISTINCT version FROM {store.database}.schema_migrations")}


@dataclass(frozen=True)
class MigrationReport:
    applied: list[Migration]  # migrations applied now
    restored: list[str]  # tables and views re-created because they were missing (their rows are gone)


def migrate(store: Store, stages: Sequence["KeyedStage"] = ()) -> MigrationReport:
    """Apply the migrations not yet recorded, re-create what the schema should hold and does
    not (`restore_missing`), then create the tables of these keyed stages that do not exist yet
    (their own `CREATE TABLE IF NOT EXISTS`)."""
    done = applied_versions(store)
    applied = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        _add_columns(store, migration)
        for statement in migration.statements:
            store.execute(store.render(statement))
        store.execute(
            f"INSERT INTO {store.database}.schema_migrations (version, name, applied_at) "
            f"SELECT {migration.version}, '{migration.name}', now()"
        )
        applied.append(migration)
    restored = restore_missing(store)
    for stage in stages:
        for statement in stage.ddl:
            store.execute(store.render(statement))
    apply_comments(store)
    return MigrationReport(applied, restored)


_CREATED = re.compile(r"CREATE\s+(?:MATERIALIZED\s+)?(?:TABLE|VIEW)\s+IF\s+NOT\s+EXISTS\s+\{db\}\.(\w+)", re.I)
_FILLED = re.compile(r"^\s*INSERT\s+INTO\s+\{db\}\.(\w+)", re.I)  # a backfill from other tables
_DROPPED = re.compile(r"DROP\s+TABLE\s+IF\s+EXISTS\s+\{db\}\.(\w+)", re.I)


def schema_objects() -> list[str]:
    """The tables and views the migrations leave, in the order they create them."""
    objects: dict[str, None] = {}
    for migration in MIGRATIONS:
        for statement in migration.statements:
            if dropped := _DROPPED.search(statement):
                objects.pop(dropped.group(1), None)
            elif created := _CREATED.search(statement):
                objects[created.group(1)] = None
    return list(objects)


def restore_missing(store: Store) -> list[str]:
    """Re-create the tables and views a recorded migration made and someone dropped since (a
    version number alone would say the schema is complete): each with the statement that made
    it and its backfill (event_keys from interactions), then the columns later migrations added.
    Returns what was re-created (rows no backfill can bring back are gone)."""
    present = {name for (name,) in store.query(f"SELECT name FROM system.tables WHERE database = '{store.database}'")}
    missing = [name for name in schema_objects() if name not in present]
    if not missing:
        return []
    for migration in MIGRATIONS:
        _add_columns(store, migration)
        for statement in migration.statements:
            target = _CREATED.search(statement) or _FILLED.search(statement)
            if target and target.group(1) in missing:
                store.execute(store.render(statement))
    return missing


def _add_columns(store: Store, migration: Migration) -> None:
    for table, column, kind in migration.columns:
        exists = store.scalar(f"SELECT count() FROM system.tables WHERE database = '{store.database}' "
                              f"AND name = '{table}'")  # fmt: skip
        if int(exists or 0) and not store.scalar(f"SELECT count() FROM system.columns WHERE database = "
                                                 f"'{store.database}' AND table = '{table}' AND name = '{column}'"):  # fmt: skip
            store.execute(f"ALTER TABLE {store.database}.{table} ADD COLUMN {column} {kind}")
