"""`vox worker`: check what the worker needs, then run the Faust app until stopped."""

from __future__ import annotations

import socket
import sys

import faust

from vox.worker.app import build_app
from vox import heap
from vox.metrics import WorkerMetrics
from vox.clickhouse.migrations import migrate
from vox.errors import VoxError
from vox.settings import Settings
from vox.stages import declared_stages
from vox.clickhouse.store import open_store
from vox.kafka.topics import admin_client, bootstrap, create_topics

FAUST_LOG_LEVELS = {"debug": "debug", "info": "info", "warn": "warn", "error": "error"}


def preflight(settings: Settings) -> None:
    """Fail fast, with a one-line reason, before Faust would retry an unreachable broker forever
    or die on a port in use with a traceback."""
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VoxError(f"cannot use VOX_HOME={settings.home} ({exc.strerror}): set it to a directory vox may "
                       "create") from None  # fmt: skip
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.web_host, settings.web_port))
        except OSError as exc:
            raise VoxError(f"cannot serve /metrics on {settings.web_host}:{settings.web_port} ({exc.strerror}): "
                           "another worker there? set VOX_WEB_PORT (or VOX_WEB_HOST)") from None  # fmt: skip
    admin_client(bootstrap(settings), settings.kafka_timeout_s).close()
    create_topics(settings)  # idempotent: only the missing ones


def run_worker(settings: Settings) -> None:
    preflight(settings)
    store = open_store(settings.clickhouse)
    # a second connection, read-only, for analysts' queries (/sql): on chDB no other process can
    # open the data while the worker runs
    analyst = open_store(settings.clickhouse)
    analyst.make_read_only(settings.query_max_seconds, settings.query_max_rows)
    try:
        migrate(store, declared_stages(settings))
        app = build_app(settings, store, WorkerMetrics(), analyst)
        heap.settle()
        worker = faust.Worker(app, loglevel=FAUST_LOG_LEVELS[settings.log_level], quiet=True)
        if not sys.stdout.isatty():  # Faust's start-up spinner writes cursor escape codes to any file
            worker.spinner = None
        web = f"http://{settings.web_host}:{settings.web_port}"
        print(f"vox worker: {settings.topic_prefix}* on {bootstrap(settings)} -> {settings.clickhouse.describe()}; "
              f"dashboard {web}/, metrics {web}/metrics, health {web}/healthz, analysts' SQL {web}/sql", flush=True)  # fmt: skip
        try:
            worker.execute_from_commandline()
        except SystemExit:
            pass
        finally:
            app.vox_worker.patient.close()  # type: ignore[attr-defined] - stops the shared ClickHouse thread
        if app.vox_worker.failure is not None:  # type: ignore[attr-defined]
            raise VoxError(f"the worker stopped: {app.vox_worker.failure}")  # type: ignore[attr-defined]
    finally:
        analyst.close()
        store.close()
