"""Do the scores hold on real communities? The real sets in ../shared/data, replayed by `vox
replay` itself (default settings), each customer's latest row of `customer_scores` (as an analyst
reads it: as of the last sweep point the data reaches) against what each site says of its own
people, which vox never reads:

* Stack Exchange (quantumcomputing, 2018): each user's reputation, from `Users.xml`.
* Amazon reviews (musical instruments, half the 5-core file): helpful votes each reviewer
  received, from the file's `helpful` field. vox reads those votes as events too (approval,
  recognition), so this one is a consistency check more than an independent truth.

`python -m bench.real` (`make real`) prints the figures and writes bench/real.json: Spearman
(competence, truth) over users with 1+ and 5+ events of their own, the share of established
customers at each level of each axis against the configured shares, and the levels of the 20
most reputed. These sets are for checking, not fitting: no setting was chosen to suit them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Callable

from vox.core.customers.config import ScoringConfig
from vox.core.typology import LEVELS, LEVELS_OF_CELL
from vox.importers import amazon, stackexchange
from bench.latest import latest_scores
from vox.schemas import EVENT_ADAPTER

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SE_DUMP = SHARED_DATA / "stackexchange-quantumcomputing-2018"
AMAZON = SHARED_DATA / "amazon-musical-instruments-dev" / "reviews.jsonl.gz"


def ranks(values: list[float]) -> list[float]:
    """Average ranks (ties share their mean rank), for Spearman's correlation."""
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2
        i = j + 1
    return out


def spearman(x: list[float], y: list[float]) -> float:
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return cov / (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5


def score_file(events: Path, config: ScoringConfig | None = None) -> tuple[list[dict], Counter]:
    """Every customer's latest `customer_scores` row after `vox replay` of the file, and how many
    events of their own each one has."""
    own: Counter = Counter()
    with open(events, "rb") as lines:
        for line in lines:
            own[EVENT_ADAPTER.validate_json(line).customer_id] += 1
    return list(latest_scores(events, config or ScoringConfig()).values()), own


def report(rows: list[dict], own: Counter, truth: dict[str, float], config: ScoringConfig) -> dict:
    scored = [r for r in rows if r["customer_id"] in truth]
    out: dict = {"customers": len(rows)}
    for minimum in (1, 5):
        some = [r for r in scored if own[r["customer_id"]] >= minimum]
        out[f"spearman_{minimum}_events"] = {
            "users": len(some), "rho": round(spearman([r["competence"] for r in some],
                                                       [truth[r["customer_id"]] for r in some]), 3)}  # fmt: skip
    for axis, name, shares in ((0, "competence", config.competence_shares),
                               (1, "implication", config.implication_shares)):  # fmt: skip
        customers = [r for r in rows if not r["is_staff"]]
        established = [r for r in customers if r[f"{name}_evidence"] == "established"]
        levels = Counter(LEVELS_OF_CELL[r["cell"]][axis] for r in established)
        wanted = {"low": shares[0], "medium": 1 - shares[0] - shares[1], "high": shares[1]}
        out[f"{name}_established"] = {
            "customers": len(established), "provisional": len(customers) - len(established),
            "shares": {level: round(levels[level] / max(1, len(established)), 3) for level in LEVELS},
            "configured": {level: round(share, 3) for level, share in wanted.items()}}  # fmt: skip
    top = sorted(scored, key=lambda r: -truth[r["customer_id"]])[:20]
    out["top_20"] = [{"customer": r["customer_id"], "truth": truth[r["customer_id"]], "events": own[r["customer_id"]],
                      "competence": round(r["competence"], 1), "level": LEVELS_OF_CELL[r["cell"]][0],
                      "evidence": r["competence_evidence"], "days_since_active": r["days_since_active"]}
                     for r in top]  # fmt: skip
    out["top_20_high"] = sum(row["level"] == "high" for row in out["top_20"])
    return out


def reputation(dump: Path, site: str) -> dict[str, float]:
    found = (re.search(r' Id="(-?\d+)".*? Reputation="(\d+)"', line)
             for line in (dump / "Users.xml").read_text(encoding="utf-8").splitlines())  # fmt: skip
    return {f"{site}:u{m.group(1)}": float(m.group(2)) for m in found if m}


def volume_or_rate(dump: Path, site: str) -> dict:
    """Does the site's reputation follow how much a user contributed and how it was received in
    all (volume), or how well each contribution was received (rate)? Spearman of reputation
    with the total score of a user's questions and answers, their score per post, and their
    number of posts. On a simulated population competence is a trait that volume does not
    raise; this says what a real community's own measure rewards."""
    import xml.etree.ElementTree as ET

    truth = reputation(dump, site)
    posts: Counter = Counter()
    score: Counter = Counter()
    for row in ET.parse(dump / "Posts.xml").getroot():
        owner = f"{site}:u{row.get('OwnerUserId')}"
        if row.get("OwnerUserId") and row.get("PostTypeId") in ("1", "2") and owner in truth:
            posts[owner] += 1
            score[owner] += int(row.get("Score", "0"))
    out = {}
    for minimum in (1, 5):
        users = sorted(u for u in posts if posts[u] >= minimum)
        wanted = [truth[u] for u in users]
        out[f"{minimum}+ posts"] = {
            "users": len(users),
            "total_score": round(spearman(wanted, [float(score[u]) for u in users]), 3),
            "score_per_post": round(spearman(wanted, [score[u] / posts[u] for u in users]), 3),
            "posts": round(spearman(wanted, [float(posts[u]) for u in users]), 3),
        }
    return out


def helpful_received(path: Path) -> dict[str, float]:
    """Helpful votes received per reviewer, as the importer names reviewers."""
    totals: Counter = Counter()
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            review = json.loads(line)
            totals[f"{amazon.SOURCE}:{review['reviewerID']}"] += (review.get("helpful") or [0])[0]
    return dict(totals)


def community(name: str, importer: Callable, feeds: tuple, source: Path, truth: dict[str, float], work: Path) -> dict:
    """Scored with the default settings and the feeds the source can show, as its deployment declares them."""
    events = work / f"{name}.jsonl"
    importer(source, events, progress=False)
    config = ScoringConfig(feeds=feeds)
    placements, own = score_file(events, config)
    return report(placements, own, truth, config)


def main() -> None:
    parser = argparse.ArgumentParser(description="The scores on the real sets of ../shared/data, against each site's own truth.")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("real.json"))
    args = parser.parse_args()
    if not args.out.parent.is_dir():  # said before the scoring, not after
        raise SystemExit(f"bench.real: --out {args.out}: no folder {args.out.parent} to write it in")
    results = {}
    with tempfile.TemporaryDirectory(prefix="vox-real-") as work:
        if SE_DUMP.exists():
            results["stackexchange"] = community("stackexchange", stackexchange.import_stackexchange,
                                                 stackexchange.FEEDS, SE_DUMP,
                                                 reputation(SE_DUMP, "quantumcomputing"), Path(work))  # fmt: skip
            results["stackexchange"]["reputation_follows"] = volume_or_rate(SE_DUMP, "quantumcomputing")
        if AMAZON.exists():
            results["amazon"] = community("amazon", amazon.import_amazon_reviews, amazon.FEEDS, AMAZON,
                                          helpful_received(AMAZON), Path(work))
    if not results:
        raise SystemExit(f"no real data found under {SHARED_DATA}: nothing measured")
    for name, r in results.items():
        print(f"\n== {name}: {r['customers']} customers scored ==")
        for minimum in (1, 5):
            s = r[f"spearman_{minimum}_events"]
            print(f"Spearman(competence, truth), {s['users']} users with {minimum}+ events: {s['rho']:.3f}")
        for axis in ("competence", "implication"):
            e = r[f"{axis}_established"]
            print(f"{axis}: {e['customers']} established ({e['provisional']} provisional); shares "
                  + ", ".join(f"{lv} {e['shares'][lv]:.0%} (configured {e['configured'][lv]:.0%})" for lv in LEVELS))
        print(f"20 with the most truth: {r['top_20_high']} at high competence; "
              + ", ".join(f"{row['level']}/{row['evidence'][:4]}" for row in r["top_20"]))
        for key, f in r.get("reputation_follows", {}).items():
            print(f"reputation against volume or rate, {f['users']} users with {key}: Spearman with "
                  f"total score {f['total_score']:.3f}, score per post {f['score_per_post']:.3f}, posts {f['posts']:.3f}")
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"\n-> {args.out}")


if __name__ == "__main__":
    main()
