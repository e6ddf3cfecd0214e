"""The dashboard in a real browser (Debian's Chromium, headless) against a running worker: what
the page shows equals what ClickHouse holds; with no data it says so; its JSON is read-only and
bounded. A screenshot is written to build/test-artefacts/dashboard.png."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.e2e.test_e2e import settings_for_test
from tests.e2e.test_worker_web import running_worker, status_of
from vox.clickhouse.analyst_store import analyst_store
from vox.clickhouse.migrations import migrate
from vox.clickhouse.store import open_store
from vox.clickhouse.tables import VoxTables
from vox.dashboard import data
from vox.local.demo import TRAFFIC, traffic_file
from vox.replay import replay_file

pytestmark = pytest.mark.e2e

ARTEFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artefacts"


class Page(HTMLParser):
    """The attributes of every element of a rendered page (the dashboard marks its numbers with data-*)."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.elements.append((tag, {key: value or "" for key, value in attrs}))

    def with_attribute(self, name: str) -> list[dict[str, str]]:
        return [attrs for _, attrs in self.elements if name in attrs]

    def by_id(self, name: str) -> dict[str, str]:
        return next(attrs for _, attrs in self.elements if attrs.get("id") == name)


def rendered(url: str, screenshot: Path | None = None) -> Page:
    """The page after its script ran (virtual time lets its fetches finish), as Chromium saw it."""
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed (deploy/setup.sh test installs it)"
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1366,2400",
             "--virtual-time-budget=8000"]  # fmt: skip
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([*flags, f"--screenshot={screenshot}", url], capture_output=True, timeout=120, check=True)
    done = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True)
    page = Page()
    page.feed(done.stdout)
    return page


@pytest.fixture(scope="module")
def demo_home(kafka_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """The demo's simulated traffic, replayed into chDB (replay computes what the stream does)."""
    home = tmp_path_factory.mktemp("dashboard")
    settings = settings_for_test(kafka_home, f"chdb://{home}/chdb", home)
    with open_store(settings.clickhouse) as store:
        migrate(store)
        replay_file(traffic_file(settings, TRAFFIC), VoxTables(store), settings, progress=False)
    return settings


def test_the_dashboard_shows_what_clickhouse_holds(demo_home) -> None:  # noqa: ANN001
    settings = demo_home
    with running_worker(settings) as worker:
        web = worker.metrics_url.removesuffix("/metrics")
        page = rendered(f"{web}/", ARTEFACTS / "dashboard.png")
        with analyst_store(settings.model_copy(update={"web_port": worker.port})) as store:
            cells = dict(store.query("SELECT cell, customers FROM typology_matrix"))
            leaders = store.query(f"SELECT topic, customer_id FROM current_leaders WHERE rank <= {data.LEADERS_PER_TOPIC}")
            open_alerts = {alert_id for (alert_id,) in store.query("SELECT alert_id FROM open_alerts")}
        assert page.by_id("no-data").get("hidden") is not None
        shown_cells = {attrs["data-cell"]: int(attrs["data-customers"]) for attrs in page.with_attribute("data-customers")}
        assert len(shown_cells) == 9 and sum(shown_cells.values()) > 0
        assert shown_cells == {cell: int(cells.get(cell, 0)) for cell in shown_cells}
        shown_leaders = {(attrs["data-topic"], attrs["data-customer"]) for attrs in page.with_attribute("data-customer")}
        assert shown_leaders and shown_leaders <= {tuple(row) for row in leaders}
        shown_alerts = {attrs["data-alert-id"] for _, attrs in page.elements
                        if "data-alert-id" in attrs and "alert" in attrs.get("class", "").split()}  # fmt: skip
        assert open_alerts and shown_alerts == open_alerts  # the demo's planted shifts, open at the end
        assert (ARTEFACTS / "dashboard.png").stat().st_size > 10_000

        # its JSON: reads only, every list bounded, the index lists every endpoint
        index = json.loads(urllib.request.urlopen(f"{web}/api", timeout=5).read())
        assert set(index["endpoints"]) == {f"{web}/api/{name}" for name in [*data.ENDPOINTS, "health"]}
        for path in index["endpoints"]:
            assert status_of(urllib.request.Request(path, data=b"{}", method="POST")) == 405
            assert status_of(urllib.request.Request(path, method="DELETE")) == 405
        sentiment = json.loads(urllib.request.urlopen(f"{web}/api/sentiment", timeout=5).read())
        assert 0 < len(sentiment["subjects"]) <= data.MAX_SUBJECTS
        topics = json.loads(urllib.request.urlopen(f"{web}/api/leaders", timeout=5).read())["topics"]
        assert 0 < len(topics) <= data.MAX_TOPICS and all(len(t["leaders"]) <= data.LEADERS_PER_TOPIC for t in topics)


def test_the_dashboard_with_no_data_says_so(kafka_home: Path, tmp_path: Path) -> None:
    with running_worker(settings_for_test(kafka_home, f"chdb://{tmp_path}/chdb", tmp_path)) as worker:
        page = rendered(worker.metrics_url.removesuffix("/metrics") + "/")
    body = next(attrs for tag, attrs in page.elements if tag == "body")
    assert body.get("data-state") == "empty"
    assert page.by_id("no-data").get("hidden") is None  # the notice is shown ...
    assert next(attrs for tag, attrs in page.elements if tag == "main").get("hidden") is not None  # ... charts are not
    assert page.by_id("unreachable").get("hidden") is not None and not page.with_attribute("data-cell")
