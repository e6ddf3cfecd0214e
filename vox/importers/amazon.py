"""`vox import amazon-reviews FILE`: review files in the McAuley JSON-lines format to vox events.

Each line (`reviewerID`, `asin`, `overall`, `summary`, `reviewText`, `unixReviewTime`,
`helpful` = [helpful votes, total votes]) becomes a `review`; its helpfulness counts become
`helpful` and `unhelpful` votes on it. What the format cannot give back, and what vox does:

* **who voted**: unknown. Each vote gets a voter id of its own, `amz:anon:REVIEWID:hN` /
  `...:uN`, so it counts as recognition from one distinct unknown customer and no invented
  customer accumulates votes; `actor_role: anonymous`: never scored or placed itself.
* **when they voted**: unknown. The votes are placed one second after the review (they cannot
  come before it); their timing carries no information.
* **brand, category**: not in review files (they are in the separate metadata file): the brand
  is left out (the file does not say it: no placeholder brand) and the category comes from `--category` (default: the file's name).
* **time of day**: `unixReviewTime` is a day; reviews are placed at midnight UTC.
* **language, verified purchase**: not given; left unset / false.

gzip or plain files are read as a stream; output goes through the same on-disk time sort as
every importer.
"""

from __future__ import annotations

import gzip
import json
import re
from datetime import datetime, timezone
from pathlib import Path

from vox.schemas.events import MAX_TEXT_CHARS, MAX_TITLE_CHARS
from vox.errors import VoxError
from vox.importers.common import EventSpill, ImportReport, write_events

SOURCE = "amz"
#: What a deployment fed by these reviews alone can show (`VOX_SCORING__FEEDS`): reviews and their
#: stars; the helpfulness votes are by unknown voters (no co-creation), no clickstream, no purchase.
FEEDS = ("contributions", "ratings")


def _timestamp(unix: int, plus_seconds: int = 0) -> str:
    return datetime.fromtimestamp(unix + plus_seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def default_category(path: Path) -> str:
    """`reviews_Musical_Instruments_5.json.gz` -> `musical-instruments`; a generic file name
    (`reviews.jsonl.gz`) takes its folder's (`amazon-musical-instruments-dev/`)."""

    def clean(name: str) -> str:
        name = re.sub(r"(\.jsonl?|\.json)?(\.gz)?$", "", name)
        name = re.sub(r"^(reviews_|amazon[-_])", "", name, flags=re.IGNORECASE)
        name = re.sub(r"[-_](\d+|5-?core|dev)$", "", name, flags=re.IGNORECASE)
        return re.sub(r"[_\s]+", "-", name).strip("-").lower()

    name = clean(path.name)
    if name in ("", "reviews", "review", "data"):
        name = clean(path.resolve().parent.name)
    return name or "reviews"


def review_events(line: dict, category: str) -> list[dict]:
    """The review and its helpful / unhelpful votes; raises KeyError / ValueError on a bad line."""
    reviewer, product = line["reviewerID"], line["asin"]
    review_id = f"{SOURCE}:{reviewer}:{product}"
    unix = int(line["unixReviewTime"])
    author = f"{SOURCE}:{reviewer}"
    events = [{
        "type": "review", "event_id": review_id, "customer_id": author, "occurred_at": _timestamp(unix),
        "review_id": review_id, "product_id": product, "category": category,
        "rating": int(float(line["overall"])), "title": str(line.get("summary") or "")[:MAX_TITLE_CHARS],
        "text": str(line.get("reviewText") or "")[:MAX_TEXT_CHARS],
    }]  # fmt: skip
    helpful, total = (int(n) for n in line.get("helpful") or (0, 0))
    if not 0 <= helpful <= total:
        raise ValueError(f"helpful {helpful} of {total}")
    for n in range(total):
        kind, mark = ("helpful", "h") if n < helpful else ("unhelpful", "u")
        events.append({
            "type": "vote", "event_id": f"{review_id}:{mark}{n}", "customer_id": f"{SOURCE}:anon:{reviewer}:{product}:{mark}{n}",
            "actor_role": "anonymous", "occurred_at": _timestamp(unix, 1), "target_kind": "review", "target_id": review_id,
            "target_author_id": author, "target_topic": category, "vote_type": kind,
        })  # fmt: skip
    return events


def import_amazon_reviews(path: Path, out: Path, category: str | None = None, progress: bool = True) -> ImportReport:
    from tqdm import tqdm

    if not path.is_file():
        raise VoxError(f"no such file: {path}")
    category = category or default_category(path)
    report = ImportReport()
    spill = EventSpill()
    try:
        with open(path, "rb") as raw, tqdm(total=path.stat().st_size, unit="B", unit_scale=True,
                                           desc=f"importing {path.name}", disable=not progress) as bar:  # fmt: skip
            magic = raw.read(2)
            raw.seek(0)
            lines = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw
            seen = 0
            for text in lines:
                if raw.tell() != seen:
                    bar.update(raw.tell() - seen)
                    seen = raw.tell()
                if not text.strip():
                    continue
                try:
                    for event in review_events(json.loads(text), category):
                        spill.add(event)
                except json.JSONDecodeError:
                    report.skip("lines that are not JSON")
                except KeyError:
                    report.skip("lines missing a field")
                except (ValueError, TypeError):
                    report.skip("lines with a bad value")
        write_events(spill, out, report)
    finally:
        spill.close()
    return report
