"""The sentiment alerts vox raises on real reviews: the Amazon review half in ../shared/data
(imported with `vox import amazon-reviews`, replayed by `vox replay` with the sentiment stage),
for the products with 40 or more reviews. Each alert with the reviews it gives as evidence, so
a reader can judge whether the shift is real. Nothing here was tuned on this file.

    python -m bench.real_alerts        # writes bench/real_alerts.json and prints the alerts
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Sequence

from bench.real import AMAZON
from vox.importers.amazon import import_amazon_reviews
from vox.replay import replay_file
from vox.settings import Settings

MIN_REVIEWS = 40


class Rows:
    """What the replay writes, kept in memory: the sentiment stage's rows."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {}

    def forgotten_keys(self) -> set[str]:
        return set()

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
        self.rows.setdefault(table, []).extend(dict(zip(columns, row)) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="Sentiment alerts on the real review half, with their evidence.")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("real_alerts.json"))
    args = parser.parse_args()
    if not AMAZON.is_file():
        raise SystemExit(f"bench.real_alerts: {AMAZON} is missing: the real sets sit beside the repository")
    with tempfile.TemporaryDirectory(prefix="vox-real-alerts-") as work:
        events = Path(work) / "events.jsonl"
        import_amazon_reviews(AMAZON, events, progress=False)
        reviews = {e["event_id"]: e for e in map(json.loads, events.read_text(encoding="utf-8").splitlines())
                   if e["type"] == "review"}  # fmt: skip
        tables = Rows()
        replay_file(events, tables, Settings(stages="sentiment"), progress=False, write_interactions=False)  # type: ignore[arg-type]
    per_product = Counter(e["product_id"] for e in reviews.values())
    busy = {p for p, n in per_product.items() if n >= MIN_REVIEWS}
    alerts: dict[str, dict] = {}
    for row in tables.rows.get("sentiment_alerts", []):
        alerts[row["alert_id"]] = row  # the ended row, when there is one, comes after the raised one
    raised = [a for a in alerts.values() if a["subject_kind"] == "product" and a["subject"] in busy]
    report = {"products_with_40_reviews": len(busy), "reviews_of_those": sum(per_product[p] for p in busy),
              "alerts": []}  # fmt: skip
    print(f"{len(busy)} products with {MIN_REVIEWS}+ reviews ({report['reviews_of_those']} reviews): {len(raised)} alerts")
    for a in sorted(raised, key=lambda a: (a["subject"], a["detected_at"])):
        evidence = [{"event_id": e, "stars": reviews[e]["rating"], "title": reviews[e]["title"],
                     "text": reviews[e]["text"][:200]} for e in a["evidence"] if e in reviews]  # fmt: skip
        entry = {"product": a["subject"], "reviews": per_product[a["subject"]], "direction": a["direction"],
                 "baseline": a["baseline"], "level": a["level"], "magnitude_sd": a["magnitude"],
                 "started_at": a["started_at"].isoformat(), "detected_at": a["detected_at"].isoformat(),
                 "opinions_since_change": a["events_since_change"], "status": a["status"],
                 "ended_at": a["ended_at"].isoformat() if a["ended_at"] else None, "end_reason": a["end_reason"],
                 "evidence": evidence}  # fmt: skip
        report["alerts"].append(entry)
        print(f"\n{entry['product']} ({entry['reviews']} reviews): {entry['direction']} shift {entry['baseline']:+.2f} -> "
              f"{entry['level']:+.2f} ({entry['magnitude_sd']:+.1f} sd), began {entry['started_at'][:10]}, detected "
              f"{entry['detected_at'][:10]} after {entry['opinions_since_change']} reviews; {entry['status']}"
              + (f" ({entry['end_reason']}, {entry['ended_at'][:10]})" if entry["ended_at"] else ""))  # fmt: skip
        for e in evidence:
            print(f"   {e['stars']}* {e['title'][:60]!r}: {e['text'][:100]!r}")
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"\n-> {args.out}")


if __name__ == "__main__":
    main()
