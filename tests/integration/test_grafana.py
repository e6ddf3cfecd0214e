"""Grafana as code (deploy/grafana) and the dashboard's JSON (vox.dashboard.data), on the demo's
data, on chDB and on the ClickHouse server. Grafana cannot run here: the dashboards' structure is
checked, and every panel's SQL runs with the plugin's macros expanded as the plugin expands them
(grafana-clickhouse-datasource's README), read-only, and must return correctly typed rows."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from tests.conftest import fresh_database
from tests.integration.test_docs_sql import replayed
from vox.clickhouse.analyst import QueryLimits, analyst_output
from vox.clickhouse.formats import FORMATS
from vox.clickhouse.store import open_store
from vox.dashboard import data
from vox.local.demo import TRAFFIC, traffic_file
from vox.metrics import WorkerMetrics
from vox.settings import Settings, parse_clickhouse_url

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = {path.stem: json.loads(path.read_text()) for path in sorted((GRAFANA / "dashboards").glob("*.json"))}
SOURCES = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "vox.yml").read_text())["datasources"]
SOURCE_TYPES = {source["uid"]: source["type"] for source in SOURCES}
LIMITS = QueryLimits(max_seconds=30, max_rows=100_000)
# the panels' time range: the demo's events and the replay's arrival times lie inside it
RANGE = (datetime(2025, 12, 1, tzinfo=timezone.utc), datetime.now(timezone.utc) + timedelta(days=1))
INTERVAL_S = 3600


def expand_macros(sql: str, start: datetime = RANGE[0], end: datetime = RANGE[1], interval_s: int = INTERVAL_S) -> str:
    """The macros of grafana-clickhouse-datasource, expanded as the plugin writes them."""
    a, b = int(start.timestamp()), int(end.timestamp())
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", rf"\1 >= toDateTime({a}) AND \1 <= toDateTime({b})", sql)
    sql = re.sub(r"\$__dateFilter\(([^)]+)\)",
                 rf"\1 >= toDate('{start.date()}') AND \1 <= toDate('{end.date()}')", sql)  # fmt: skip
    sql = sql.replace("$__fromTime", f"toDateTime({a})").replace("$__toTime", f"toDateTime({b})")
    sql = sql.replace("$__interval_s", str(interval_s))
    assert "$__" not in sql, f"a macro this test does not expand: {sql}"
    return sql


def queries() -> list[tuple[str, str, str, str]]:
    """(where, datasource uid, kind, query) of every panel target and annotation."""
    found = []
    for name, board in DASHBOARDS.items():
        for panel in board["panels"]:
            for target in panel["targets"]:
                query = target.get("rawSql") or target.get("expr")
                found.append((f"{name}:{panel['title']}", target["datasource"]["uid"], panel["type"], query))
        for annotation in board["annotations"]["list"]:
            if "target" in annotation:
                found.append((f"{name}:{annotation['name']}", annotation["datasource"]["uid"], "annotation",
                               annotation["target"]["rawSql"]))  # fmt: skip
    return found


QUERIES = queries()
SQL = [(where, kind, query) for where, uid, kind, query in QUERIES if SOURCE_TYPES[uid] == "grafana-clickhouse-datasource"]


def test_the_dashboards_are_provisioned_and_well_formed() -> None:
    assert set(DASHBOARDS) == {"typology", "leaders", "sentiment", "pipeline"}
    assert set(SOURCE_TYPES.values()) == {"grafana-clickhouse-datasource", "prometheus"}
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "vox.yml").read_text())["providers"][0]
    assert provider["type"] == "file" and provider["options"]["path"] == "/var/lib/grafana/dashboards"
    assert len({board["uid"] for board in DASHBOARDS.values()}) == len(DASHBOARDS)
    for name, board in DASHBOARDS.items():
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)) and board["title"].startswith("vox: "), name
        for panel in board["panels"]:
            assert panel["title"] and panel["description"] and set(panel["gridPos"]) == {"x", "y", "w", "h"}
            assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
            assert panel["datasource"]["uid"] in SOURCE_TYPES and panel["targets"]
            assert all(t["datasource"]["uid"] == panel["datasource"]["uid"] for t in panel["targets"])
    assert any(annotation.get("name") == "Sentiment alerts" for annotation in DASHBOARDS["sentiment"]["annotations"]["list"])


def test_every_prometheus_panel_reads_metrics_the_worker_exports() -> None:
    exported = {sample_name for family in WorkerMetrics().registry.collect() for sample_name in
                (family.name, family.name + "_total")}  # fmt: skip
    prometheus = [(where, query) for where, uid, _, query in QUERIES if SOURCE_TYPES[uid] == "prometheus"]
    assert prometheus
    for where, expr in prometheus:
        names = set(re.findall(r"\b(vox_[a-z_]+)", expr))
        assert names and names <= exported, (where, names - exported)


@pytest.fixture(scope="module")
def demo_data(chdb_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The demo's simulated traffic, to replay into a fresh database on chDB and on the server."""
    events = traffic_file(Settings(home=tmp_path_factory.mktemp("demo-traffic")), TRAFFIC)
    return {"events": str(events), "chdb": f"chdb://{chdb_dir}?database={fresh_database()}"}


@pytest.fixture(scope="module", params=["chdb", "server"])
def demo_url(request: pytest.FixtureRequest, demo_data: dict[str, str]) -> str:
    if request.param == "chdb":
        url = demo_data["chdb"]
    else:
        url = request.getfixturevalue("clickhouse_server").url(fresh_database())
    return replayed(url, Path(demo_data["events"]))


NUMBER = re.compile(r"^(Nullable\()?(U?Int\d+|Float\d+|Decimal)")
TIME = re.compile(r"^(Nullable\()?(DateTime|Date)")


def _typed(where: str, kind: str, answer: dict) -> None:
    """Rows, and the column types Grafana needs: a time first and numbers for a time series, a
    time, an end time and a text for an annotation (ClickHouse's own type names)."""
    assert answer["data"], f"{where}: no row on the demo's data"
    types = [column["type"] for column in answer["meta"]]
    if kind == "timeseries":
        assert TIME.match(types[0]), f"{where}: the first column must be the time, not {types[0]}"
        assert any(NUMBER.match(t) for t in types[1:]), f"{where}: no numeric column in {types}"
    elif kind == "annotation":
        assert TIME.match(types[0]) and TIME.match(types[1]) and "String" in types[2], (where, types)


@pytest.mark.parametrize("where, kind, query", SQL, ids=[where for where, _, _ in SQL])
def test_every_grafana_panel_returns_typed_rows(where: str, kind: str, query: str, demo_url: str) -> None:
    with open_store(parse_clickhouse_url(demo_url)) as store:
        written = analyst_output(store, re.sub(r"\bvox\.", "", expand_macros(query)), LIMITS, FORMATS["json"])
    _typed(where, kind, json.loads(written))


def test_the_dashboard_json_holds_the_demo_story_and_its_bounds(demo_url: str) -> None:
    with open_store(parse_clickhouse_url(demo_url)) as store:
        store.make_read_only(30, 100_000)
        typology, leaders, sentiment = data.typology(store), data.leaders(store), data.sentiment(store)
        letters = data.dead_letters(store)
        placed = store.scalar(f"SELECT count() FROM {store.database}.customer_scores FINAL WHERE is_staff = 0")
    assert typology["has_data"] and len(typology["cells"]) == 9
    assert sum(cell["customers"] for cell in typology["cells"]) == placed and len(typology["flows"]) <= data.MAX_FLOWS
    assert 0 < len(leaders["topics"]) <= data.MAX_TOPICS
    assert all(0 < len(t["leaders"]) <= data.LEADERS_PER_TOPIC for t in leaders["topics"])
    assert {a["subject"] for a in sentiment["open_alerts"]}, "the demo's planted shifts raise alerts"
    assert len(sentiment["subjects"]) <= data.MAX_SUBJECTS
    # subjects with an open alert come first, whatever their volume
    alerted = {(a["subject_kind"], a["subject"]) for a in sentiment["open_alerts"]}
    firsts = [(s["subject_kind"], s["subject"]) for s in sentiment["subjects"][: len(alerted)]]
    assert set(firsts) == alerted
    assert all(s["windows"] for s in sentiment["subjects"]), "every timeline shown has opinions"
    assert all(w["opinions"] > 0 and -1 <= w["mean"] <= 1 for s in sentiment["subjects"] for w in s["windows"])
    assert letters["total"] > 0 and len(letters["by_reason"]) <= data.MAX_REASONS
