"""Where an analyst's queries go: the database itself, or the worker that holds it.

chDB lets one process open a directory. While a worker runs on the embedded default it holds
the data, and serves read-only SQL for analysts on its web server (`/sql`, on a connection of its
own that is read-only at the engine level, `vox.worker.app.add_pages`). `vox sql`, `vox explain`,
`vox leaders`, `vox sentiment` and `vox alerts` then go through it; otherwise (chDB free, or a
ClickHouse server) straight to the database, read-only and bounded the same way.
"""

from __future__ import annotations

import fcntl
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from vox.clickhouse.formats import FORMATS
from vox.clickhouse.store import Dialect, Store, open_store, parse_version
from vox.errors import UnreachableError, VoxError
from vox.settings import ClickHouseTarget, Settings

#: the header with which the worker says which database it serves
DATABASE_HEADER = "X-Vox-ClickHouse"
MAX_QUERY_BYTES = 100_000  # what /sql reads of a request: far above any hand-written query


def chdb_held(path: Path) -> bool:
    """Whether another process has the chDB directory open: its engine holds an exclusive lock
    on `status` while open. Probed without loading chDB (which would print its own error)."""
    try:
        fd = os.open(path / "status", os.O_RDONLY)
    except OSError:
        return False  # no status file: nobody has it open
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases the probe's own lock


class WorkerStore(Store):
    """Read-only queries through a running worker's `/sql` (its connection is read-only and
    bounded by its own VOX_QUERY_MAX_* settings)."""

    def __init__(self, target: ClickHouseTarget, web: str, timeout_s: float):
        self.target, self.web, self.timeout_s = target, web, timeout_s
        self.dialect = Dialect(parse_version(str(self.scalar("SELECT version()"))))

    def query_formatted(self, sql: str, fmt: str) -> bytes:
        short = next((name for name, full in FORMATS.items() if full == fmt), fmt)
        request = urllib.request.Request(f"{self.web}/sql?{urllib.parse.urlencode({'format': short})}",
                                         data=sql.encode("utf-8"), method="POST")  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                served = response.headers.get(DATABASE_HEADER, "")
                if served != self.target.describe():
                    raise VoxError(f"the worker at {self.web} serves {served or 'another database'}, not "
                                   f"{self.target.describe()}: set VOX_WEB_PORT to this database's worker")  # fmt: skip
                return response.read()
        except urllib.error.HTTPError as exc:  # the worker refused the query: its reason, one line
            raise VoxError(exc.read().decode("utf-8", errors="replace").strip() or f"HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise UnreachableError(f"{self.target.describe()} is held by another process, and no vox worker answers "
                                   f"at {self.web} ({getattr(exc, 'reason', exc)}): stop that process, or set "
                                   "VOX_WEB_HOST / VOX_WEB_PORT to the worker's address") from None  # fmt: skip

    def query(self, sql: str) -> list[tuple]:
        return [tuple(row) for row in json.loads(self.query_formatted(sql, FORMATS["json"]))["data"]]

    def execute(self, sql: str) -> None:
        raise VoxError("the worker's /sql is read-only")

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        raise VoxError("the worker's /sql is read-only")

    def make_read_only(self, max_seconds: float, max_rows: int) -> None:
        pass  # the worker's connection is read-only and bounded already

    def close(self) -> None:
        pass


def web_address(settings: Settings) -> str:
    host = settings.web_host if settings.web_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    return f"http://{host}:{settings.web_port}"


@contextmanager
def analyst_store(settings: Settings) -> Iterator[Store]:
    """A read-only, bounded store for what analysts run: through the worker when it holds chDB."""
    target = settings.clickhouse
    if target.kind == "chdb" and target.path is not None and chdb_held(target.path):
        yield WorkerStore(target, web_address(settings), settings.query_max_seconds + 10)
        return
    with open_store(target) as store:
        store.make_read_only(settings.query_max_seconds, settings.query_max_rows)
        yield store
