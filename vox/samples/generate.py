"""Writes `sample-events.jsonl`, the small bundled file `vox demo` publishes.

A hand-sized community (a music-gear shop with a forum) over two weeks, all four families, and a
few deliberately broken events so the demo shows the dead-letter path. Deterministic; the
simulator (`vox simulate`) is the tool for realistic volumes.
Run: python -m vox.samples.generate
"""

from __future__ import annotations

from typing import Callable

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

OUT = Path(__file__).with_name("sample-events.jsonl")
START = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
BRANDS = {"Fender": "guitars", "Yamaha": "keyboards", "Roland": "keyboards", "Shure": "microphones", "Boss": "pedals"}
PRAISE = ["Great sound, solid build.", "Excellent value, I use it every day.", "Superbe qualité, je recommande."]
BLAME = ["Broke after a week, poor quality.", "Too expensive for what it is.", "Déçu, le son grésille."]
TOPICS = ["setup", "recording", "maintenance"]


def events(rng: random.Random) -> list[dict]:
    customers = [f"c{n:03d}" for n in range(40)]
    products = [(f"p-{brand.lower()}-{n}", brand, cat) for brand, cat in BRANDS.items() for n in range(3)]
    out: list[dict] = []
    seq = 0

    def base(kind: str, customer: str, at: datetime) -> dict:
        nonlocal seq
        seq += 1
        return {"type": kind, "event_id": f"sample-{seq:05d}", "customer_id": customer,
                "occurred_at": at.isoformat().replace("+00:00", "Z")}  # fmt: skip

    posts: list[tuple[str, str]] = []
    for step in range(360):
        at = START + timedelta(minutes=step * 56 + rng.randint(0, 50))
        customer = customers[int(rng.paretovariate(1.2)) % len(customers)]  # a few very active customers
        roll = rng.random()
        if roll < 0.3:
            pid, brand, cat = rng.choice(products)
            rating = rng.choice([4, 5, 5, 3]) if brand != "Boss" or step < 200 else rng.choice([1, 2, 2, 3])
            text = rng.choice(PRAISE if rating >= 4 else BLAME)
            out.append(base("review", customer, at) | {
                "review_id": f"r{seq}", "product_id": pid, "brand": brand, "category": cat, "rating": rating,
                "title": text.split(",")[0][:40], "text": text, "lang": "fr" if "é" in text else "en",
                "verified_purchase": rng.random() < 0.7})  # fmt: skip
        elif roll < 0.55:
            kind = "question" if not posts or rng.random() < 0.4 else rng.choice(["answer", "comment", "idea"])
            event = base("post", customer, at)
            post_id = f"t{seq}"
            if kind == "question" or kind == "idea":
                thread, parent, author = post_id, None, None
            else:
                thread, author = rng.choice(posts)
                parent = thread
            event |= {"post_id": post_id, "thread_id": thread, "kind": kind, "topic": rng.choice(TOPICS),
                      "text": f"{kind} about {rng.choice(list(BRANDS))} gear"}  # fmt: skip
            if parent:
                event |= {"parent_post_id": parent, "reply_to_customer_id": author}
            if kind in ("question", "idea"):
                posts.append((post_id, customer))
            out.append(event)
        elif roll < 0.7 and posts:
            target, author = rng.choice(posts)
            out.append(base("vote", customer, at) | {"target_kind": "post", "target_id": target,
                       "target_author_id": author, "vote_type": rng.choice(["up", "up", "helpful", "down"])})  # fmt: skip
        else:
            out.append(_click(rng, base("click", customer, at), products))
    # The same event sent twice (a producer retry): counted once.
    out.append(dict(out[10]))
    return out + _broken(base)


def _click(rng: random.Random, event: dict, products: list[tuple[str, str, str]]) -> dict:
    pid, brand, cat = rng.choice(products)
    action = rng.choice(["view", "view", "click", "add_to_cart", "purchase"])
    at = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
    event |= {"session_id": f"s{event['customer_id']}-{at:%j}",
              "page_type": rng.choice(["product", "docs", "tutorial", "community"]), "action": action,
              "product_id": pid, "brand": brand, "category": cat, "dwell_ms": rng.randint(500, 90_000)}  # fmt: skip
    if action == "purchase":
        event |= {"page_type": "checkout", "order_value": round(rng.uniform(20, 900), 2)}
    return event


def _broken(base: Callable[[str, str, datetime], dict]) -> list[dict]:
    """Broken events: each goes to the dead-letter topic with its reason."""
    return [
        base("review", "c001", START) | {"review_id": "rx1", "product_id": "p-fender-0", "brand": "Fender",
                                         "category": "guitars", "rating": 6},
        base("click", "c002", START) | {"session_id": "s", "page_type": "product", "action": "view",
                                        "occurred_at": "2026-03-02T09:00:00"},
        base("vote", "c003", START) | {"target_kind": "post", "target_id": "t1"},
    ]  # fmt: skip


def main() -> None:
    rows = events(random.Random(7))
    OUT.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    print(f"wrote {len(rows)} events to {OUT}")


if __name__ == "__main__":
    main()
