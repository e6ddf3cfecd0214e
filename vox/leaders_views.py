"""`vox leaders [TOPIC]` and the leader lines of `vox explain`: what the leaders stage wrote, in
words. Read-only and bounded like `vox sql`."""

from __future__ import annotations

from vox.clickhouse.store import Store, quote
from vox.clickhouse.tables import has_tables, require_tables
from vox.errors import VoxError

KIND_WORDS = {"expert": "expert (leads by what they know)",
              "communicator": "communicator (leads by whom they know and how they engage)"}  # fmt: skip
COMPONENT_WORDS = {
    "active_weeks": "active weeks in the topic", "regularity": "regularity (active weeks over their span)",
    "responses_drawn": "responses their posts draw", "accepted": "answers accepted (decayed)",
    "positive_votes": "positive votes received (decayed)", "answer_share": "answering rather than asking",
    "interlocutors": "distinct interlocutors", "seekers": "distinct customers who sought them out",
    "centrality": "centrality in the topic's graph (PageRank)",
}  # fmt: skip


def _require_tables(store: Store) -> None:
    require_tables(store, "leader tables", "opinion_leaders", stage="leaders")


def leaders_report(store: Store, topic: str | None = None, limit: int = 200) -> str:
    _require_tables(store)
    db = store.database
    where = f"AND topic = {quote(topic)}" if topic else ""
    rows = store.query(f"""
        SELECT topic, rank, customer_id, kind, score, who, what, whom, credibility, flags, toString(ranked_at)
        FROM {db}.opinion_leaders FINAL WHERE is_leader = 1 {where}
        ORDER BY topic, rank LIMIT {int(limit)}
    """)  # fmt: skip
    if not rows:
        if topic:
            known = store.query(f"SELECT DISTINCT topic FROM {db}.opinion_leaders ORDER BY topic LIMIT 20")
            raise VoxError(f"no leaders in topic {topic!r}" + (f" (topics with standings: {', '.join(t for (t,) in known)})"
                                                               if known else ": no topic has standings yet"))  # fmt: skip
        raise VoxError("no leaders yet: no topic has customers with the evidence to lead (VOX_LEADERS__MIN_CONTRIBUTIONS)")
    lines = ["Opinion leaders per topic (score 0..1 = credibility x the three dimensions; each dimension 0..1)", ""]
    current = None
    for topic_name, rank, customer, kind, score, who, what, whom, cred, flags, ranked in rows:
        if topic_name != current:
            current = topic_name
            lines += ["" if len(lines) > 2 else "", f"{topic_name} (as of {ranked[:16]} UTC)",
                      f"  {'#':>2}  {'customer':<24} {'kind':<13} {'score':>5}  {'who one is':>10}  "
                      f"{'what one knows':>14}  {'whom one knows':>14}  {'credibility':>11}"]  # fmt: skip
        note = f"  [{', '.join(flags)}]" if flags else ""
        lines.append(f"  {int(rank):>2}  {customer[:24]:<24} {kind:<13} {float(score):5.2f}  {float(who):>10.2f}  "
                     f"{float(what):>14.2f}  {float(whom):>14.2f}  {float(cred):>11.2f}{note}")  # fmt: skip
    return "\n".join(line for n, line in enumerate(lines) if line or (n and lines[n - 1]))


def leader_lines(store: Store, customer_id: str, limit: int = 5) -> list[str]:
    """The topics where the customer leads, and why: for `vox explain`."""
    if not has_tables(store, "opinion_leaders"):
        return []
    columns = ["topic", "rank", "kind", "score", "who", "what", "whom", "credibility", *COMPONENT_WORDS,
               *(f"{c}_part" for c in COMPONENT_WORDS)]  # fmt: skip
    found_rows = store.query(f"""
        SELECT {', '.join(columns)} FROM {store.database}.opinion_leaders FINAL
        WHERE customer_id = {quote(customer_id)} AND is_leader = 1 ORDER BY score DESC LIMIT {int(limit)}
    """)  # fmt: skip
    rows = [dict(zip(columns, r)) for r in found_rows]
    if not rows:
        return ["Leads no topic"]
    lines = []
    for r in rows:
        parts = {c: float(r[f"{c}_part"]) for c in COMPONENT_WORDS}
        best = sorted(parts, key=lambda c: -parts[c])[:2]
        lines.append(f"Leads {r['topic']} (#{int(r['rank'])}, {KIND_WORDS.get(r['kind'], r['kind'])}): score "
                     f"{float(r['score']):.2f}; who one is {float(r['who']):.2f}, what one knows {float(r['what']):.2f}, "
                     f"whom one knows {float(r['whom']):.2f}, credibility {float(r['credibility']):.2f}; strongest: "
                     + " and ".join(f"{COMPONENT_WORDS[c]} ({r[c]:.4g})" for c in best))  # fmt: skip
    return lines
