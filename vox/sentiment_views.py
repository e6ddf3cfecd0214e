"""`vox sentiment [SUBJECT]` and `vox alerts`: what the sentiment stage wrote, in words.

Read-only and bounded like `vox sql` (the connection is made read-only first). Periods are
relative to the latest window in the data, not to today: a replayed history reads the same."""

from __future__ import annotations

from vox.clickhouse.tables import require_tables
from vox.clickhouse.store import Store, quote
from vox.core.sentiment.subjects import END_REASONS, SUBJECT_KINDS
from vox.errors import VoxError

RECENT_DAYS = 7
TIMELINE_WINDOWS = 48


def _bar(mean: float) -> str:
    """-1..1 as a bar around a centre mark: negative to the left, positive to the right."""
    filled = int(round(abs(mean) * 10))
    return (" " * (10 - filled) + "-" * filled + "|" + " " * 10) if mean < 0 else (" " * 10 + "|" + "+" * filled + " " * (10 - filled))


def _require_tables(store: Store) -> None:
    require_tables(store, "sentiment tables", "sentiment_windows", "sentiment_alerts", stage="sentiment")


def subjects_overview(store: Store, limit: int = 30) -> str:
    _require_tables(store)
    db = store.database
    latest = store.scalar(f"SELECT toString(max(window_start)) FROM {db}.sentiment_windows")
    if not latest or latest.startswith("1970"):
        raise VoxError("no sentiment yet: no review or post with an opinion has reached the sentiment stage")
    rows = store.query(f"""
        SELECT w.subject_kind, w.subject, sum(w.opinions) AS n, sum(w.mean * w.opinions) / n AS mean,
               sum(w.share_negative * w.opinions) / n AS negative, a.open
        FROM {db}.sentiment_windows AS w FINAL
        LEFT JOIN (SELECT subject_kind, subject, count() AS open FROM {db}.sentiment_alerts FINAL
                   WHERE status = 'open' GROUP BY subject_kind, subject) AS a
               ON w.subject_kind = a.subject_kind AND w.subject = a.subject
        WHERE w.window_start > toDateTime({quote(latest[:19])}, 'UTC') - INTERVAL {RECENT_DAYS} DAY
        GROUP BY w.subject_kind, w.subject, a.open
        ORDER BY n DESC, w.subject_kind, w.subject
        LIMIT {int(limit)}
    """)  # fmt: skip
    lines = [f"Sentiment of the {len(rows)} subjects with the most opinions in the {RECENT_DAYS} days to {latest[:16]} UTC",
             "(mean opinion from -1, negative, to 1, positive; reviews blend stars and text)", "",
             f"{'subject':<32} {'opinions':>8}  {'mean':>5}  {'negative':>8}  {'':21}  alert"]  # fmt: skip
    for kind, name, n, mean, negative, open_alerts in rows:
        flag = "OPEN" if open_alerts else ""
        lines.append(f"{(kind + ': ' + name)[:32]:<32} {int(n):>8}  {float(mean):+.2f}  {float(negative):>7.0%}   "
                     f"{_bar(float(mean))}  {flag}")  # fmt: skip
    return "\n".join(lines)


def subject_timeline(store: Store, subject: str) -> str:
    _require_tables(store)
    db = store.database
    kind, sep, name = subject.partition(":")
    where = f"subject_kind = {quote(kind)} AND subject = {quote(name)}" if sep and kind in SUBJECT_KINDS \
        else f"subject = {quote(subject)}"  # fmt: skip
    found = store.query(f"SELECT DISTINCT subject_kind, subject FROM {db}.sentiment_windows WHERE {where} LIMIT 5")
    if not found:
        raise VoxError(f"no sentiment for {subject!r}: name it as brand:NAME, product:ID, category:NAME or topic:NAME "
                       "(`vox sentiment` lists the busiest)")  # fmt: skip
    if len(found) > 1:
        raise VoxError(f"{subject!r} names several subjects ({', '.join(f'{k}:{n}' for k, n in found)}): say which")
    kind, name = found[0]
    where = f"subject_kind = {quote(kind)} AND subject = {quote(name)}"
    windows = store.query(f"""
        SELECT toString(window_start), opinions, mean, share_negative, share_positive
        FROM {db}.sentiment_windows FINAL WHERE {where}
        ORDER BY window_start DESC LIMIT {TIMELINE_WINDOWS}
    """)  # fmt: skip
    alerts = store.query(f"""
        SELECT status, direction, baseline, level, magnitude, toString(started_at), toString(detected_at)
        FROM {db}.sentiment_alerts FINAL WHERE {where} ORDER BY detected_at DESC LIMIT 5
    """)  # fmt: skip
    lines = [f"Sentiment of {kind} {name}: its latest {len(windows)} windows (mean opinion -1..1)", "",
             f"{'window (UTC)':<17} {'opinions':>8}  {'mean':>5}  {'negative':>8}  {'positive':>8}"]  # fmt: skip
    for start, n, mean, negative, positive in reversed(windows):
        lines.append(f"{start[:16]:<17} {int(n):>8}  {float(mean):+.2f}  {float(negative):>8.0%}  {float(positive):>8.0%}  "
                     f"{_bar(float(mean))}")  # fmt: skip
    if alerts:
        lines += ["", "Alerts:"]
        for status, direction, baseline, level, magnitude, started, detected in alerts:
            lines.append(f"  {status:<5} {direction} shift from {float(baseline):+.2f} to {float(level):+.2f} "
                         f"({float(magnitude):+.1f} standard deviations), began about {started[:16]}, "
                         f"detected {detected[:16]}")  # fmt: skip
    return "\n".join(lines)


def alerts_report(store: Store, include_ended: bool = False, limit: int = 50) -> str:
    _require_tables(store)
    db = store.database
    where = "" if include_ended else "WHERE status = 'open'"
    rows = store.query(f"""
        SELECT status, subject_kind, subject, direction, baseline, level, magnitude, toString(started_at),
               toString(detected_at), events_since_change, evidence, end_reason, toString(ended_at)
        FROM {db}.sentiment_alerts FINAL {where}
        ORDER BY status = 'open' DESC, detected_at DESC LIMIT {int(limit)}
    """)  # fmt: skip
    if not rows:
        return "no open sentiment alert" + ("" if include_ended else " (`vox alerts --all` lists the ended ones too)")
    lines = []
    for status, kind, name, direction, baseline, level, magnitude, started, detected, since, evidence, reason, ended in rows:
        head = f"{'OPEN ' if status == 'open' else 'ended'} {kind} {name}: {direction} shift, {float(baseline):+.2f} -> " \
               f"{float(level):+.2f} ({float(magnitude):+.1f} sd), began about {started[:16]}, detected {detected[:16]} " \
               f"after {int(since)} opinions"  # fmt: skip
        if status != "open":
            head += f"; ended {ended[:16]} ({END_REASONS.get(reason, reason)})"
        lines += [head, f"      evidence: {', '.join(evidence)}"]
    return "\n".join(lines)
