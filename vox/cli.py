"""The `vox` command. Every failure a user can fix ends in one line that says what to fix."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path
from typing import Callable, NoReturn

from vox import __version__
from vox.errors import VoxError
from vox.settings import Settings, load_settings


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of usage + error
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _kafka(args: argparse.Namespace, settings: Settings) -> int:
    from vox.local.broker import LocalKafka

    broker = LocalKafka(settings)
    if args.action == "install":
        LocalKafka.install()
        print("Kafka broker installed in deploy/kafka/dist")
    elif args.action == "start":
        state = broker.start()
        print(f"Kafka broker serving at {state.bootstrap} (pid {state.pid}, data in {broker.dir})")
    elif args.action == "stop":
        print("Kafka broker stopped" if broker.stop() else "Kafka broker was not running")
    else:
        if settings.kafka_bootstrap:
            print(f"using KAFKA_BOOTSTRAP={settings.kafka_bootstrap} (no local broker)")
            return 0
        state = broker.state()
        if state and state.running:
            print(f"running at {state.bootstrap} (pid {state.pid})")
            return 0
        print("not running")
        return 3
    return 0


def _topics(args: argparse.Namespace, settings: Settings) -> int:
    from vox.kafka.topics import create_topics

    for topic, outcome in create_topics(settings).items():
        print(f"{topic}: {outcome}")
    return 0


def _db(args: argparse.Namespace, settings: Settings) -> int:
    from vox.clickhouse.migrations import MIGRATIONS, migrate
    from vox.clickhouse.store import open_store

    with open_store(settings.clickhouse) as store:
        report = migrate(store)
    for migration in report.applied:
        print(f"applied {migration.version}: {migration.name}")
    if report.restored:  # said, not hidden: their rows are gone (a replay brings them back)
        print(f"re-created missing {', '.join(report.restored)} (a re-created table holds only what "
              "other tables could refill: replay the input topics or `vox replay` a history file for the rest)")  # fmt: skip
    print(f"{settings.clickhouse.describe()}: schema at version {MIGRATIONS[-1].version}")
    return 0


def _sql(args: argparse.Namespace, settings: Settings) -> int:
    from vox.clickhouse.analyst import QueryLimits, analyst_output, checked_statement
    from vox.clickhouse.analyst_store import analyst_store
    from vox.clickhouse.formats import FORMATS

    query = _query_text(args)
    checked_statement(query)  # refuse before opening the store
    fmt = args.format or ("pretty" if sys.stdout.isatty() else "tsv")
    with analyst_store(settings) as store:
        output = analyst_output(store, query, QueryLimits(settings.query_max_seconds, settings.query_max_rows),
                                FORMATS[fmt])  # fmt: skip
    sys.stdout.buffer.write(output)
    sys.stdout.flush()
    return 0


def _query_text(args: argparse.Namespace) -> str:
    """The query: the argument, `--file FILE`, or standard input (`-` or `--file -`)."""
    if args.file is not None and args.query is not None:
        raise _ArgumentError("give the query as an argument or with --file, not both")
    source = args.file if args.file is not None else args.query
    if source is None:
        raise _ArgumentError("no query: give one as an argument, with --file FILE, or on standard input with -")
    if source == "-" or (args.file == "-"):
        return sys.stdin.read()
    if args.file is not None:
        try:
            return Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise VoxError(f"cannot read the query from {args.file}: {getattr(exc, 'strerror', None) or exc}") from None
    return source


class _ArgumentError(VoxError):
    """A wrong combination of arguments: exit 2, as argparse's own errors."""


def _forget(args: argparse.Namespace, settings: Settings) -> int:
    from vox.schemas.events import ID_PATTERN, MAX_ID_CHARS
    from vox.forget import forget_customer, tombstone_states
    from vox.clickhouse.migrations import migrate
    from vox.clickhouse.store import open_store
    from vox.kafka.topics import bootstrap

    if not re.fullmatch(ID_PATTERN, args.customer_id) or len(args.customer_id) > MAX_ID_CHARS:
        raise VoxError(f"{args.customer_id!r} is not a customer id (1-{MAX_ID_CHARS} characters, no white space "
                       "or control characters)")  # fmt: skip
    with open_store(settings.clickhouse) as store:
        migrate(store)
        found, content = forget_customer(store, args.customer_id)
    changelog = f"{settings.consumer_group}-vox-customers-changelog"
    tombstoned = tombstone_states(bootstrap(settings), changelog, [args.customer_id], settings.kafka_timeout_s)
    # who wrote their content: the content stage's states of it (a running worker also strips
    # them from the votes waiting elsewhere, and every worker does at its start)
    tombstone_states(bootstrap(settings), f"{settings.consumer_group}-vox-content-changelog", content,
                     settings.kafka_timeout_s)  # fmt: skip
    held = ", ".join(f"{n} {what}" for what, n in found.items() if n) or "no row"
    print(f"forgot {args.customer_id!r}: erased {held}; "
          + ("their state tombstoned in " + changelog if tombstoned else "no scoring changelog yet")
          + "; future and replayed events of theirs are dropped at ingest")
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from vox.worker.run import run_worker

    run_worker(settings)
    return 0


def _produce(args: argparse.Namespace, settings: Settings) -> int:
    from vox.kafka.produce import produce_file

    if Path(args.file).is_file() and Path(args.file).stat().st_size == 0:
        raise VoxError(f"nothing to publish: {args.file} is empty")
    report = produce_file(Path(args.file), settings, fallback_topic=args.topic, progress=_shows_progress(args))
    if not report.published and not report.unroutable and not report.failed:
        raise VoxError(f"nothing published: {args.file} holds no line")
    print(report.summary())
    return 1 if report.unroutable or report.failed or not report.published else 0


def _schemas(args: argparse.Namespace, settings: Settings) -> int:
    from vox.schemas.export import JSON_DIR, rendered_schemas, write_schemas

    if args.check:
        stale = [name for name, text in rendered_schemas().items() if not (JSON_DIR / name).is_file()
                 or (JSON_DIR / name).read_text(encoding="utf-8") != text]  # fmt: skip
        if stale:
            raise VoxError(f"stale JSON Schema files: {', '.join(stale)}; run `vox schemas export`")
        print("JSON Schema files are up to date")
        return 0
    for path in write_schemas():
        print(f"wrote {path}")
    return 0


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from vox.simulator.generate import SimConfig
    from vox.simulator.run import publish_simulation, write_simulation

    config = SimConfig(customers=args.customers, days=args.days, seed=args.seed, staff=args.staff,
                       invalid_rate=args.invalid_rate, duplicate_rate=args.duplicate_rate,
                       late_rate=args.late_rate, shifts=args.shifts)  # fmt: skip
    if args.rate is not None:
        counts = publish_simulation(config, settings, args.rate, progress=_shows_progress(args))
        print(f"published {counts['published']} messages ({counts['events']} events, {counts['duplicates']} "
              f"resent, {counts['late']} late, {counts['invalid']} invalid)")  # fmt: skip
        return 0
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VoxError(f"--out {out}: {exc.strerror}; give a directory for events.jsonl and truth.json") from None
    truth = write_simulation(config, out, progress=_shows_progress(args))
    counts = truth["counts"]
    print(f"wrote {Path(args.out) / 'events.jsonl'}: {counts['events']} events, {counts['duplicates']} resent, "
          f"{counts['late']} late, {counts['invalid']} invalid; ground truth in {Path(args.out) / 'truth.json'}")  # fmt: skip
    print("customers per cell: " + ", ".join(f"{cell} {n}" for cell, n in truth["cells"].items()))
    return 0


def _shows_progress(args: argparse.Namespace) -> bool:
    """Progress bars only on a terminal: in a log or a pipe they are carriage returns and noise."""
    return not args.no_progress and sys.stderr.isatty()


def _writable(out: Path) -> None:
    """Before hours of reading: the output's folder must be there."""
    if not out.resolve().parent.is_dir():
        raise VoxError(f"cannot write {out}: {out.resolve().parent} is not a directory")


def _import(args: argparse.Namespace, settings: Settings) -> int:
    if args.source == "stackexchange":
        from vox.importers.stackexchange import import_stackexchange

        dump = Path(args.path)
        if not dump.is_dir():
            raise VoxError(f"{dump} is not a directory: give the folder holding Posts.xml, Votes.xml, ...")
        out = Path(args.out or f"{dump.resolve().name}.events.jsonl")
        _writable(out)
        report = import_stackexchange(dump, out, site=args.site, progress=_shows_progress(args))
    else:
        from vox.importers.amazon import import_amazon_reviews

        source = Path(args.path)
        out = Path(args.out or re.sub(r"(\.jsonl?|\.json)?(\.gz)?$", "", source.name) + ".events.jsonl")
        _writable(out)
        report = import_amazon_reviews(source, out, category=args.category, progress=_shows_progress(args))
    if not report.written:
        what = "the McAuley JSON-lines format (one review object per line)" if args.source != "stackexchange" \
            else "a Stack Exchange dump (Posts.xml, Users.xml, Votes.xml, Comments.xml)"  # fmt: skip
        out.unlink(missing_ok=True)  # an empty file would look like an import
        raise VoxError(f"{args.path}: no event imported ({report.summary()}): expected {what}")
    print(f"{report.summary()}\n-> {out} (publish with `vox produce {out}`)")
    return 0


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from vox.clickhouse.migrations import migrate
    from vox.stages import declared_stages
    from vox.clickhouse.tables import VoxTables
    from vox.replay import replay_file
    from vox.clickhouse.store import open_store

    path = Path(args.file)
    if not path.is_file():
        raise VoxError(f"no such file: {path}")
    from vox import heap

    with open_store(settings.clickhouse) as store:
        migrate(store, declared_stages(settings))
        heap.settle()
        report = replay_file(path, VoxTables(store), settings, progress=_shows_progress(args),
                             write_interactions=not args.scores_only)  # fmt: skip
    print(report.summary())
    if not report.events and not report.resent:
        reasons = ", ".join(f"{name} {count}" for name, count in sorted(report.reasons.items(), key=lambda kv: -kv[1])[:3])
        raise VoxError(f"{path} holds no valid event ({reasons or 'no line'}): "
                       "expected JSON lines of vox events (see `vox import`)")  # fmt: skip
    return 0


def _explain(args: argparse.Namespace, settings: Settings) -> int:
    from vox.explain import explain_customer
    from vox.clickhouse.analyst_store import analyst_store

    with analyst_store(settings) as store:
        print(explain_customer(store, args.customer_id, settings.scoring))
    return 0


def _sentiment(args: argparse.Namespace, settings: Settings) -> int:
    from vox.clickhouse.analyst_store import analyst_store
    from vox.sentiment_views import subject_timeline, subjects_overview

    with analyst_store(settings) as store:
        print(subject_timeline(store, args.subject) if args.subject else subjects_overview(store))
    return 0


def _leaders(args: argparse.Namespace, settings: Settings) -> int:
    from vox.clickhouse.analyst_store import analyst_store
    from vox.leaders_views import leaders_report

    with analyst_store(settings) as store:
        print(leaders_report(store, args.topic))
    return 0


def _alerts(args: argparse.Namespace, settings: Settings) -> int:
    from vox.clickhouse.analyst_store import analyst_store
    from vox.sentiment_views import alerts_report

    with analyst_store(settings) as store:
        print(alerts_report(store, include_ended=args.all))
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from vox.local.demo import run_demo

    return run_demo(settings, keep_running=args.keep_running)


def _number(kind: type, text: str, what: str):  # noqa: ANN205 - int or float
    """`text` as a number, or an argument error that says what was expected (argparse would
    name the converter function instead)."""
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what} (got {text!r})") from None


def _positive_int(text: str) -> int:
    value = _number(int, text, "a whole number of 1 or more")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {text})")
    return value


def _non_negative_float(text: str) -> float:
    value = _number(float, text, "a number of 0 or more")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more (got {text})")
    return value


def _fraction(text: str) -> float:
    value = _number(float, text, "a share between 0 and 1")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (got {text})")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vox",
        description="Streaming voice of the customer: Kafka events in, customer insight in ClickHouse out. "
        "Settings come from the environment (see README.md, 'Configuration').",
    )
    parser.add_argument("--version", action="version", version=f"vox {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, required=True)

    def command(name: str, handler: Callable, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    command(
        "demo", _demo,
        "The main job on embedded defaults: start the local broker, create topics, run the worker, "
        "publish the bundled sample, and show what landed in ClickHouse.",
    ).add_argument("--keep-running", action="store_true", help="keep the worker (its dashboard) and the broker running until Ctrl-C")  # fmt: skip
    _simulate_arguments(command("simulate", _simulate, "Generate customer traffic from a population with hidden "
                                "traits, with a ground-truth file; or publish it live to Kafka."))
    _import_arguments(command("import", _import, "Turn exported history into vox events (JSON lines, time order)."))
    replay = command("replay", _replay, "Score a JSON-lines file in-process (backfill, what-if) and write "
                     "interactions and customer scores to ClickHouse, as the worker would.")
    replay.add_argument("file", help="JSON-lines file of events (from `vox import` or `vox simulate`)")
    replay.add_argument("--scores-only", action="store_true", help="do not write interactions (a what-if run)")
    replay.add_argument("--no-progress", action="store_true", help="no progress bar")
    explain = command("explain", _explain, "Explain a customer's scores, components, cell, role, value and "
                      "recent transitions in plain words.")
    explain.add_argument("customer_id", help="the customer's id")
    sentiment = command("sentiment", _sentiment, "Sentiment per brand, product, category and topic: the busiest "
                        "subjects of the last 7 days of data, or one subject's timeline.")
    sentiment.add_argument("subject", nargs="?", help="brand:NAME, product:ID, category:NAME or topic:NAME (or the "
                           "name alone when only one kind has it)")
    leaders = command("leaders", _leaders, "Opinion leaders of each topic: rank, kind, score and the three "
                      "dimensions (who one is, what one knows, whom one knows) with credibility.")
    leaders.add_argument("topic", nargs="?", help="one topic (a post's topic, a review's category)")
    alerts = command("alerts", _alerts, "Sentiment shift alerts: the open ones, with their evidence.")
    alerts.add_argument("--all", action="store_true", help="the ended alerts too")
    forget = command("forget", _forget, "Erase a customer from ClickHouse and the scoring state, and drop their "
                     "events at every later ingest (a replay included). On chDB, stop the worker first.")
    forget.add_argument("customer_id", help="the customer's id")
    command("worker", _worker, "Run the streaming worker: validate, write to ClickHouse, reject to the DLQ.")
    kafka = command("kafka", _kafka, "Manage the local single-node Kafka broker (unused when KAFKA_BOOTSTRAP is set).")
    kafka.add_argument("action", choices=["install", "start", "stop", "status"], help="what to do")
    topics = command("topics", _topics, "Create vox's topics if missing (partitions, replication from settings).")
    topics.add_argument("action", choices=["create"], help="what to do")
    db = command("db", _db, "Apply ClickHouse migrations (idempotent; the worker also does it at start).")
    db.add_argument("action", choices=["migrate"], help="what to do")
    sql = command("sql", _sql, "Run one read-only, bounded query on vox's ClickHouse and print the result "
                  "(through the worker while it holds the embedded chDB).")
    sql.add_argument("query", nargs="?", help="a SELECT / WITH / SHOW / DESCRIBE statement; - reads it from "
                     "standard input")  # fmt: skip
    sql.add_argument("--file", "-f", help="read the query from this file (- for standard input)")
    sql.add_argument("--format", choices=["pretty", "tsv", "csv", "jsonl"], help="output: a table (default on a "
                     "terminal), TSV with a header line (default otherwise), CSV with a header, or JSON lines; "
                     "values escaped by ClickHouse's formats (TSV: \\N for NULL, \\t and \\n inside values)")  # fmt: skip
    produce = command("produce", _produce, "Publish a JSON-lines file of events, each to its family's topic.")
    produce.add_argument("file", help="JSON-lines file, one event per line")
    produce.add_argument("--topic", help="publish lines with no recognisable family here instead of skipping them")
    produce.add_argument("--no-progress", action="store_true", help="no progress bar")
    schemas = command("schemas", _schemas, "Write the JSON Schema files of the events to vox/schemas/json/.")
    schemas.add_argument("action", choices=["export"], help="what to do")
    schemas.add_argument("--check", action="store_true", help="only check that the files are up to date")
    return parser


def _simulate_arguments(simulate: argparse.ArgumentParser) -> None:
    simulate.add_argument("--customers", type=_positive_int, default=2000, help="customers (default 2000)")
    simulate.add_argument("--days", type=_positive_int, default=60, help="days of activity (default 60)")
    simulate.add_argument("--seed", type=int, default=1, help="random seed: same seed, same bytes (default 1)")
    # one of the two, said by argparse itself (exit 2, an argument error)
    where = simulate.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="directory for events.jsonl and truth.json")
    where.add_argument("--rate", type=_non_negative_float, help="publish live at this many messages/s (0: unthrottled)")
    simulate.add_argument("--staff", type=int, default=3, help="very active staff accounts (default 3)")
    simulate.add_argument("--shifts", type=int, default=4, help="planted sentiment shifts (default 4)")
    simulate.add_argument("--invalid-rate", type=_fraction, default=0.0, help="share of invalid messages (default 0)")
    simulate.add_argument("--duplicate-rate", type=_fraction, default=0.01, help="share resent (default 0.01)")
    simulate.add_argument("--late-rate", type=_fraction, default=0.02, help="share arriving late (default 0.02)")
    simulate.add_argument("--no-progress", action="store_true", help="no progress bar")


def _import_arguments(importer: argparse.ArgumentParser) -> None:
    sources = importer.add_subparsers(dest="source", metavar="SOURCE", parser_class=_Parser, required=True)
    stackexchange = sources.add_parser("stackexchange", help="a Stack Exchange data dump folder (Posts, Users, "
                                       "Votes, Comments XML)", description="Import a Stack Exchange data dump.")  # fmt: skip
    stackexchange.add_argument("path", metavar="DUMP_DIR", help="folder holding Posts.xml, Votes.xml, ...")
    stackexchange.add_argument("--site", help="id prefix (default: from the folder name)")
    amazon = sources.add_parser("amazon-reviews", help="reviews in the McAuley JSON-lines format (plain or gzip)",
                                description="Import an Amazon review file (McAuley format).")  # fmt: skip
    amazon.add_argument("path", metavar="FILE", help="reviews file (.json, .jsonl, optionally .gz)")
    amazon.add_argument("--category", help="category of the products (default: from the file or folder name)")
    for source in (stackexchange, amazon):
        source.add_argument("--out", help="output JSON-lines file (default: NAME.events.jsonl here)")
        source.add_argument("--no-progress", action="store_true", help="no progress bar")


def _quiet_client_libraries() -> None:
    """Kafka and ClickHouse clients log every failed connection with a traceback; vox turns
    those failures into one-line errors itself, so their own chatter is only noise here."""
    for name in ("clickhouse_driver", "kafka", "aiokafka"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "worker":  # the worker's log should show its connection trouble
        _quiet_client_libraries()
    try:
        settings = load_settings()
        return args.handler(args, settings)
    except _ArgumentError as exc:
        print(f"vox {args.command}: {exc} (see `vox {args.command} --help`)", file=sys.stderr)
        return 2
    except VoxError as exc:
        print(f"vox: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a path the user gave (VOX_HOME, --out, a chDB directory) is not usable
        where = f": {exc.filename}" if exc.filename else ""
        print(f"vox: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
