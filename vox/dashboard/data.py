"""What the dashboard shows, as JSON-ready dicts: one function per endpoint (`ENDPOINTS`).

Every number comes from ClickHouse through the analyst connection (read-only at the engine
level, bounded by VOX_QUERY_MAX_*), and every list here has its own bound besides, so a page
refresh costs the same whatever the population. Periods are relative to the latest data, not to
today, so a replayed history or the demo's sample read the same as a live stream.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from vox.clickhouse.store import Store, in_list, quote
from vox.clickhouse.tables import has_tables
from vox.core.typology import CELLS, LEVELS

MAX_TOPICS = 12  # topics shown with their leaders
LEADERS_PER_TOPIC = 5
MAX_SUBJECTS = 8  # sentiment timelines on the page
TIMELINE_DAYS = 7
BUCKET_HOURS = 3  # hourly windows taken in threes: a busy subject's hour holds a handful of opinions
# (buckets by integer division: toStartOfInterval is not in every ClickHouse vox supports)
MAX_ALERTS = 20
MAX_FLOWS = 30
MAX_REASONS = 20


def _latest(store: Store, sql: str) -> str | None:
    """The latest time in the data, as 'YYYY-MM-DD hh:mm:ss', or None when there is none."""
    value = store.scalar(sql)
    text = str(value) if value is not None else ""
    return None if not text or text.startswith(("1970", "1969")) else text[:19]


def typology(store: Store) -> dict[str, Any]:
    """The 3 x 3 matrix with each cell's population (staff excluded) and the latest day's moves."""
    db = store.database
    if not has_tables(store, "customer_scores"):
        return {"has_data": False, "cells": [], "flows": [], "day": None}
    found = {cell: {"customers": int(n), "mean_competence": float(c), "mean_implication": float(i)}
             for cell, n, c, i in store.query(
                 f"SELECT cell, customers, mean_competence, mean_implication FROM {db}.typology_matrix")}  # fmt: skip
    empty = {"customers": 0, "mean_competence": 0.0, "mean_implication": 0.0}
    cells = [{"cell": name, "competence_level": competence, "implication_level": implication, **found.get(name, empty)}
             for (competence, implication), name in CELLS.items()]  # fmt: skip
    day = _latest(store, f"SELECT toString(max(day)) FROM {db}.segment_flows")
    flows = [] if day is None else [
        {"from": a, "to": b, "moves": int(n)} for a, b, n in store.query(
            f"SELECT from_cell, to_cell, sum(moves) AS n FROM {db}.segment_flows WHERE day = toDate({quote(day[:10])}) "
            f"AND from_cell != '' GROUP BY from_cell, to_cell ORDER BY n DESC, from_cell, to_cell LIMIT {MAX_FLOWS}")]  # fmt: skip
    return {"has_data": any(c["customers"] for c in cells), "levels": list(LEVELS), "cells": cells,
            "day": None if day is None else day[:10], "flows": flows}  # fmt: skip


def leaders(store: Store) -> dict[str, Any]:
    """The current leaders of the busiest topics, with their kind and the three dimensions."""
    db = store.database
    if not has_tables(store, "opinion_leaders"):
        return {"has_data": False, "topics": []}
    rows = store.query(f"""
        SELECT topic, rank, customer_id, kind, score, who, what, whom, credibility
        FROM {db}.current_leaders
        WHERE topic IN (SELECT topic FROM {db}.current_leaders GROUP BY topic ORDER BY max(score) DESC, topic
                        LIMIT {MAX_TOPICS})
          AND rank <= {LEADERS_PER_TOPIC}
        ORDER BY topic, rank
    """)  # fmt: skip
    topics: dict[str, list] = {}
    for topic, rank, customer, kind, score, who, what, whom, credibility in rows:
        topics.setdefault(topic, []).append({
            "rank": int(rank), "customer_id": customer, "kind": kind, "score": round(float(score), 3),
            "who": round(float(who), 3), "what": round(float(what), 3), "whom": round(float(whom), 3),
            "credibility": round(float(credibility), 3)})  # fmt: skip
    return {"has_data": bool(topics), "topics": [{"topic": t, "leaders": ls} for t, ls in topics.items()]}


def _alert(row: tuple) -> dict[str, Any]:
    alert_id, kind, subject, status, direction, baseline, level, magnitude, started, detected, ended, n, evidence = row
    return {"alert_id": alert_id, "subject_kind": kind, "subject": subject, "status": status, "direction": direction,
            "baseline": round(float(baseline), 3), "level": round(float(level), 3),
            "magnitude_sd": round(float(magnitude), 2), "started_at": str(started)[:19],
            "detected_at": str(detected)[:19], "ended_at": None if ended is None else str(ended)[:19],
            "events_since_change": int(n), "evidence": list(evidence)[:5]}  # fmt: skip


_ALERT_COLUMNS = ("alert_id, subject_kind, subject, status, direction, baseline, level, magnitude, started_at, "
                  "detected_at, ended_at, events_since_change, evidence")  # fmt: skip


def sentiment(store: Store) -> dict[str, Any]:
    """The busiest subjects' timelines (hourly windows in BUCKET_HOURS buckets) over the latest days, their alerts as markers, and
    every open alert (those first)."""
    db = store.database
    if not has_tables(store, "sentiment_windows"):
        return {"has_data": False, "as_of": None, "subjects": [], "open_alerts": []}
    latest = _latest(store, f"SELECT toString(max(window_start)) FROM {db}.sentiment_windows")
    if latest is None:
        return {"has_data": False, "as_of": None, "subjects": [], "open_alerts": []}
    since = f"toDateTime({quote(latest)}, 'UTC') - INTERVAL {TIMELINE_DAYS} DAY"
    open_alerts = [_alert(row) for row in store.query(
        f"SELECT {_ALERT_COLUMNS} FROM {db}.sentiment_alerts FINAL WHERE status = 'open' "
        f"ORDER BY detected_at DESC LIMIT {MAX_ALERTS}")]  # fmt: skip
    # the subjects with open alerts first, then the busiest of the period
    busiest = store.query(f"""
        SELECT subject_kind, subject FROM {db}.sentiment_windows FINAL WHERE window_start > {since}
        GROUP BY subject_kind, subject ORDER BY sum(opinions) DESC, subject_kind, subject LIMIT {MAX_SUBJECTS}
    """)  # fmt: skip
    chosen: list[tuple[str, str]] = []
    for pair in [(a["subject_kind"], a["subject"]) for a in open_alerts] + [tuple(row) for row in busiest]:
        if pair not in chosen and len(chosen) < MAX_SUBJECTS:
            chosen.append(pair)
    # each timeline ends at its subject's own latest window, or half a span after its latest open
    # alert was raised: the change and the alert are in view, not a quiet week after them
    ends = {(kind, name): end for kind, name, end in store.query(
        f"SELECT subject_kind, subject, toString(max(window_start)) FROM {db}.sentiment_windows "
        f"WHERE subject IN {in_list(sorted({name for _, name in chosen}))} GROUP BY subject_kind, subject")
        if (kind, name) in chosen} if chosen else {}  # fmt: skip
    alerted = set()
    for a in open_alerts:  # newest first: the first of a subject is its latest
        pair = (a["subject_kind"], a["subject"])
        if pair not in alerted:
            alerted.add(pair)
            after_alert = datetime.fromisoformat(a["detected_at"]) + timedelta(days=TIMELINE_DAYS / 2)
            ends[pair] = min(ends.get(pair, latest)[:19], after_alert.isoformat(sep=" ")[:19])
    subjects = []
    for kind, name in chosen:
        where = f"subject_kind = {quote(kind)} AND subject = {quote(name)}"
        own = ends.get((kind, name), latest)[:19]
        since = f"toDateTime({quote(own)}, 'UTC') - INTERVAL {TIMELINE_DAYS} DAY"
        windows = [{"start": str(start)[:19], "opinions": int(n), "mean": round(float(mean), 3),
                    "share_negative": round(float(negative), 3)} for start, n, mean, negative in store.query(f"""
            SELECT toDateTime(intDiv(toUInt32(window_start), {BUCKET_HOURS * 3600}) * {BUCKET_HOURS * 3600}, 'UTC') AS start,
                   sum(opinions) AS n,
                   sum(mean * opinions) / n, sum(share_negative * opinions) / n
            FROM {db}.sentiment_timeline WHERE {where} AND window_start > {since}
            GROUP BY start ORDER BY start LIMIT {TIMELINE_DAYS * 24}
        """)]  # fmt: skip
        alerts = [_alert(row) for row in store.query(
            f"SELECT {_ALERT_COLUMNS} FROM {db}.sentiment_alerts FINAL WHERE {where} AND detected_at > {since} "
            f"ORDER BY detected_at LIMIT {MAX_ALERTS}")]  # fmt: skip
        subjects.append({"subject_kind": kind, "subject": name, "as_of": own, "windows": windows, "alerts": alerts})
    return {"has_data": bool(subjects), "as_of": latest, "days": TIMELINE_DAYS, "bucket_hours": BUCKET_HOURS,
            "subjects": subjects,
            "open_alerts": open_alerts}  # fmt: skip


def dead_letters(store: Store) -> dict[str, Any]:
    """Rejected messages by reason, from every worker (ClickHouse holds them all)."""
    db = store.database
    if not has_tables(store, "dead_letters"):
        return {"total": 0, "by_reason": []}
    rows = store.query(f"SELECT reason_class, source_topic, count() AS n FROM {db}.dead_letters "
                       f"GROUP BY reason_class, source_topic ORDER BY n DESC, reason_class LIMIT {MAX_REASONS}")  # fmt: skip
    by_reason = [{"reason_class": reason, "topic": topic, "messages": int(n)} for reason, topic, n in rows]
    total = int(store.scalar(f"SELECT count() FROM {db}.dead_letters") or 0)
    return {"total": total, "by_reason": by_reason}


#: endpoint name -> (what it answers, in words; the function). `/api/NAME` on the worker.
ENDPOINTS: dict[str, tuple[str, Callable[[Store], dict[str, Any]]]] = {
    "typology": ("customers per typology cell (staff excluded) and the latest day's moves between cells", typology),
    "leaders": (f"the current opinion leaders (top {LEADERS_PER_TOPIC}) of up to {MAX_TOPICS} topics", leaders),
    "sentiment": (f"sentiment per {BUCKET_HOURS} hours of up to {MAX_SUBJECTS} subjects over the latest {TIMELINE_DAYS} days, "
                  "their alerts, and the open alerts", sentiment),  # fmt: skip
    "dead-letters": ("rejected messages by reason and topic, from every worker", dead_letters),
}
