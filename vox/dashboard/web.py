"""The dashboard on the worker's web server: the page (`/`), its script and style, and the
read-only JSON it reads (`/api`, `/api/health`, `/api/NAME` for each of `data.ENDPOINTS`).

GET only (anything else: 405). The JSON comes from the analyst connection (read-only at the
engine level, bounded by VOX_QUERY_MAX_*) on the analyst thread, so a page refresh never delays
a write; pipeline health comes from the worker's own metrics."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import TYPE_CHECKING, Any, Callable

import faust

from vox.clickhouse.store import Store
from vox.dashboard import data
from vox.dashboard.pipeline import PipelineHealth
from vox.errors import VoxError

if TYPE_CHECKING:
    from vox.worker.app import Worker

STATIC = {"/": ("index.html", "text/html"), "/dashboard.js": ("dashboard.js", "application/javascript"),
          "/dashboard.css": ("dashboard.css", "text/css")}  # fmt: skip
HEALTH_SAMPLE_S = 5.0


def _static(name: str) -> bytes:
    return resources.files("vox.dashboard").joinpath("static", name).read_bytes()


def endpoint_index(web: str) -> dict[str, Any]:
    listed = {"/api/health": "this worker's pipeline health: events per second over the last minute, messages "
                             "behind, rejected messages, write errors, seconds since the last batch"}  # fmt: skip
    listed.update({f"/api/{name}": what for name, (what, _) in data.ENDPOINTS.items()})
    return {"dashboard": f"{web}/", "endpoints": {f"{web}{path}": what for path, what in listed.items()},
            "method": "GET only; every list is bounded (see vox/dashboard/data.py)"}  # fmt: skip


def add_dashboard(worker: "Worker", analyst: Store, executor: ThreadPoolExecutor) -> None:
    app, settings = worker.app, worker.settings
    pipeline = PipelineHealth(worker.metrics.registry)
    web = f"http://{settings.web_host}:{settings.web_port}"
    no_store = {"Cache-Control": "no-store"}

    for path, (name, kind) in STATIC.items():
        body = _static(name)  # read once: the package does not change under a running worker

        class Static(faust.web.View):
            async def get(self, request: faust.web.Request, _body: bytes = body, _kind: str = kind) -> faust.web.Response:
                return self.bytes(_body, headers={"Content-Type": f"{_kind}; charset=utf-8"})

        app.page(path, name=f"dashboard-{name}")(Static)

    class Index(faust.web.View):
        async def get(self, request: faust.web.Request) -> faust.web.Response:
            return self.json(endpoint_index(web), headers=no_store)

    app.page("/api", name="api-index")(Index)

    class Health(faust.web.View):
        async def get(self, request: faust.web.Request) -> faust.web.Response:
            now = time.monotonic()
            return self.json(pipeline.snapshot(now, time.time(), worker.health.verdict(now)), headers=no_store)

    app.page("/api/health", name="api-health")(Health)

    for name, (_, compute) in data.ENDPOINTS.items():

        class Endpoint(faust.web.View):
            async def get(self, request: faust.web.Request,
                          _compute: Callable[[Store], dict] = compute) -> faust.web.Response:  # fmt: skip
                try:
                    answer = await asyncio.get_running_loop().run_in_executor(executor, _compute, analyst)
                except VoxError as exc:
                    return self.json({"error": str(exc)}, status=503, headers=no_store)
                return self.json(answer, headers=no_store)

        app.page(f"/api/{name}", name=f"api-{name}")(Endpoint)

    @app.timer(interval=HEALTH_SAMPLE_S)
    async def sample_pipeline() -> None:  # events per second need samples between page loads
        pipeline.sample(time.monotonic())
