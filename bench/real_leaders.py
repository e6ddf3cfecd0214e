"""Do vox's leaders lead on a real community? The Stack Exchange sample in ../shared/data
(quantumcomputing, 2018-03 to 2018-09; a question's first tag is its thread's topic), split in
time: vox computes the leaders of each tag from the part before `SPLIT` (through `vox replay`'s
own stages, default settings but `top_k` 10), and they are judged on the part after it: who
gives accepted and upvoted answers in that tag then.

* Truth, per tag: the users whose answers in the tag, in the second part, received at least one
  up vote or acceptance in the second part; they are ordered by those votes (an acceptance
  counts as one), and the truth set is all of them.
* Precision at 10 of each ranking computed on the first part: vox (its leaders by rank, then
  its other candidates by score, so that every method names 10), the same keeping only those of
  kind expert (those vox says lead by what they know), and three baselines on the
  same first part: answer count in the tag, in-degree (distinct users with an interaction towards
  them in the tag: answered, replied to, mentioned, voted for or accepted by a known user), and
  the z-score of Zhang, Ackerman and Adamic (2007), (a - q) / sqrt(a + q) over answers and
  questions in the tag. Staff accounts (the Community bot) are left out of every ranking.
* Tags: those with at least 10 users in the truth set (smaller ones cannot fill a top 10).

`python -m bench.real_leaders` (`make real-leaders`) prints the figures and writes
bench/real_leaders.json. These data are for checking, not fitting: no setting was chosen on them.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from vox.core.leaders.config import LeadersConfig
from vox.importers import stackexchange
from vox.replay import replay_file
from vox.schemas import EVENT_ADAPTER, Post, Vote
from vox.settings import Settings

DUMP = Path(__file__).resolve().parents[2] / "shared" / "data" / "stackexchange-quantumcomputing-2018"
OUT = Path(__file__).with_name("real_leaders.json")
SPLIT = datetime(2018, 7, 1, tzinfo=timezone.utc)  # about 2/3 of the sample's time before, 1/3 after
K = 10
MIN_TRUTH = 10


class LatestLeaders:
    """Where the replay writes: each (topic, customer)'s latest `opinion_leaders` row."""

    def __init__(self) -> None:
        self.latest: dict[tuple[str, str], dict] = {}

    def forgotten_keys(self) -> set[str]:
        return set()

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
        if table != "opinion_leaders":
            return
        for row in rows:
            record = dict(zip(columns, row))
            key = (record["topic"], record["customer_id"])
            known = self.latest.get(key)
            if known is None or record["version"] >= known["version"]:
                self.latest[key] = record


def vox_rankings(first_part: Path) -> dict[str, dict[str, list[str]]]:
    tables = LatestLeaders()
    settings = Settings(stages="vox.core.customers.stage:CONTENT,leaders", leaders=LeadersConfig(top_k=K))
    replay_file(first_part, tables, settings, progress=False, write_interactions=False)  # type: ignore[arg-type]
    by_topic: dict[str, list[dict]] = defaultdict(list)
    for (topic, _), row in tables.latest.items():
        by_topic[topic].append(row)
    rankings: dict[str, dict[str, list[str]]] = {"vox": {}, "vox experts": {}}
    for topic, rows in by_topic.items():
        leaders = sorted((r for r in rows if r["is_leader"]), key=lambda r: r["rank"])
        others = sorted((r for r in rows if not r["is_leader"] and r["candidate"]), key=lambda r: (-r["score"], r["customer_id"]))
        rankings["vox"][topic] = [r["customer_id"] for r in leaders + others]
        # the same, experts only: vox's answer to "who will give accepted and upvoted answers"
        rankings["vox experts"][topic] = [r["customer_id"] for r in leaders + others if r["kind"] == "expert"]
    return rankings


def baselines(events: list, staff: set[str]) -> dict[str, dict[str, list[str]]]:
    posts = {e.post_id: e for e in events if isinstance(e, Post)}
    answers, questions = defaultdict(Counter), defaultdict(Counter)
    into: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for e in events:
        if isinstance(e, Post):
            if e.kind in ("answer", "question"):
                (answers if e.kind == "answer" else questions)[e.topic][e.customer_id] += 1
            if e.reply_to_customer_id and e.reply_to_customer_id != e.customer_id:
                if e.kind == "answer":
                    into[e.topic][e.customer_id].add(e.reply_to_customer_id)  # the asker sought the answerer
                else:
                    into[e.topic][e.reply_to_customer_id].add(e.customer_id)
            for mentioned in e.mentions:
                into[e.topic][mentioned].add(e.customer_id)
        elif isinstance(e, Vote) and e.actor_role != "anonymous" and e.vote_type in ("up", "accept", "favourite"):
            target = posts.get(e.target_id)
            if target is not None and e.target_author_id and e.target_author_id != e.customer_id:
                into[target.topic][e.target_author_id].add(e.customer_id)
    out: dict[str, dict[str, list[str]]] = {"answer count": {}, "in-degree": {}, "z-score": {}}
    for topic in set(answers) | set(questions) | set(into):
        users = (set(answers[topic]) | set(questions[topic]) | set(into[topic])) - staff

        def top(value) -> list[str]:  # noqa: ANN001
            return sorted(users, key=lambda u: (-value(u), u))

        out["answer count"][topic] = top(lambda u: answers[topic][u])
        out["in-degree"][topic] = top(lambda u: len(into[topic][u]))
        out["z-score"][topic] = top(lambda u: (answers[topic][u] - questions[topic][u]) /
                                    math.sqrt(answers[topic][u] + questions[topic][u] or 1))  # fmt: skip
    return out


def truth(all_events: list) -> dict[str, set[str]]:
    """Per tag: users whose answers got up votes or acceptances in the second part."""
    posts = {e.post_id: e for e in all_events if isinstance(e, Post)}
    credited: dict[str, Counter] = defaultdict(Counter)
    for e in all_events:
        if isinstance(e, Vote) and e.occurred_at >= SPLIT and e.vote_type in ("up", "accept"):
            target = posts.get(e.target_id)
            if target is not None and target.kind == "answer" and target.occurred_at >= SPLIT:
                credited[target.topic][target.customer_id] += 1
    return {topic: set(users) for topic, users in credited.items()}


def precision(ranking: list[str], relevant: set[str]) -> float:
    return sum(u in relevant for u in ranking[:K]) / K


def main() -> None:
    if not DUMP.exists():
        raise SystemExit(f"the Stack Exchange sample is not at {DUMP}")
    with tempfile.TemporaryDirectory() as work:
        everything, first = Path(work) / "all.jsonl", Path(work) / "first.jsonl"
        stackexchange.import_stackexchange(DUMP, everything, progress=False)
        lines = everything.read_bytes().splitlines()
        events = [EVENT_ADAPTER.validate_json(line) for line in lines]
        first.write_bytes(b"\n".join(line for line, e in zip(lines, events) if e.occurred_at < SPLIT) + b"\n")
        early = [e for e in events if e.occurred_at < SPLIT]
        staff = {e.customer_id for e in events if e.actor_role == "staff"}
        rankings = {**vox_rankings(first), **baselines(early, staff)}
    relevant = truth(events)
    tags = sorted(t for t, users in relevant.items() if len(users) >= MIN_TRUTH)
    per_tag = {t: {name: round(precision(r.get(t, []), relevant[t]), 2) for name, r in rankings.items()} for t in tags}
    mean = {name: round(sum(per_tag[t][name] for t in tags) / len(tags), 3) for name in rankings}
    result = {"split": SPLIT.isoformat(), "k": K, "tags": len(tags), "precision_at_10": mean,
              "vox_over_baseline": {name: round(mean["vox"] / mean[name] - 1, 3) if mean[name] else None
                                    for name in rankings if not name.startswith("vox")},
              "per_tag": per_tag, "truth_sizes": {t: len(relevant[t]) for t in tags}}  # fmt: skip
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"Stack Exchange quantumcomputing, split {SPLIT:%Y-%m-%d}: {len(tags)} tags with >= {MIN_TRUTH} users "
          "credited for answers after the split")  # fmt: skip
    for name, value in mean.items():
        gain = "" if name.startswith("vox") else f"   vox {result['vox_over_baseline'][name]:+.0%}"
        print(f"  precision at 10, {name:<13} {value:.3f}{gain}")
    print(f"-> {OUT}")


if __name__ == "__main__":
    main()
