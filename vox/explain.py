"""`vox explain CUSTOMER_ID`: a customer's scores in plain words, from ClickHouse."""

from __future__ import annotations

from vox.errors import VoxError
from vox.core.customers.config import COMPETENCE_COMPONENTS, IMPLICATION_COMPONENTS
from vox.clickhouse.store import Store
from vox.clickhouse.tables import VoxTables
from vox.leaders_views import leader_lines

MEANING = {
    "c_breadth": "breadth of experience: categories, topics and products engaged",
    "c_quality": "contribution quality: approval of their content, accepted answers, answering vs asking",
    "c_depth": "depth: how detailed their reviews and answers are",
    "c_recognition": "peer recognition: distinct customers who replied to, mentioned or up-voted them",
    "c_learning": "learning: share of their visits on documentation and tutorials",
    "c_accuracy": "accuracy: how close their ratings are to each product's consensus",
    "i_frequency": "frequency and recency of what they do",
    "i_durability": "durability: distinct active weeks lately",
    "i_depth": "visit depth: pages per session and time per page",
    "i_co_creation": "co-creation: ideas submitted and votes cast",
    "i_community": "community participation: questions, answers, comments",
    "i_purchases": "purchases",
}
PROVISIONAL = {
    "Competence": "little evidence yet: contributions, votes received, rated reviews, page views",
    "Implication": "observed for less than the settled period: a start, not yet a habit",
}
ROLE_WORDS = {"executant": "exécutant (self-service tasks)", "assistant_marketing": "assistant marketing (rates, reviews)",
              "relais": "relais (shares, refers, promotes)", "apporteur_de_solutions": "apporteur de solutions "
              "(answers, ideas)"}  # fmt: skip


def _bar(value: float) -> str:
    filled = int(round(value * 10))
    return "#" * filled + "." * (10 - filled)


def explain_customer(store: Store, customer_id: str) -> str:
    tables = VoxTables(store)
    row = tables.explanation(customer_id)
    if row is None:
        raise VoxError(f"no scores for customer {customer_id!r}: not seen yet, or scored in another database")
    left_out, not_observed = set(row["left_out"] or ()), set(row["not_observed"] or ())
    cell, updated = row["cell"], row["toString(updated_at)"]
    lines = [f"Customer {customer_id}: {cell} (as of {updated} UTC)" + ("  [staff account]" if int(row["is_staff"]) else "")]
    for title, prefix, components in (("Competence", "c_", COMPETENCE_COMPONENTS),
                                      ("Implication", "i_", IMPLICATION_COMPONENTS)):  # fmt: skip
        evidence = row[f"{title.lower()}_evidence"] or "provisional"
        lines.append(f"{title} {float(row[title.lower()]):.1f} / 100, {evidence}" +
                     ("" if evidence == "established" else f" ({PROVISIONAL[title]})"))  # fmt: skip
        parts = {f"{prefix}{n}": float(row[f"{prefix}{n}"]) for n in components}
        for name, value in parts.items():
            if name in not_observed:
                lines.append(f"  {'-' * 10}   --   {MEANING[name]} (not observed here: nothing this deployment "
                             "sees can feed it, left out for everyone)")  # fmt: skip
            elif name in left_out:
                lines.append(f"  {'-' * 10}   --   {MEANING[name]} (no evidence yet: left out of the score)")
            else:
                lines.append(f"  {_bar(value)} {value:4.2f}  {MEANING[name]}")
        measured = {name: value for name, value in parts.items() if name not in left_out | not_observed} or parts
        strongest, weakest = max(measured, key=measured.get), min(measured, key=measured.get)
        lines.append(f"  strongest: {MEANING[strongest].split(':')[0]}; weakest: {MEANING[weakest].split(':')[0]}")
    recency = float(row["rfm_recency_days"])
    bought = "never bought" if recency < 0 else f"last purchase {recency:.0f} days before"
    lines.append(f"Value {float(row['value']):.2f} (decayed spend); {bought}; {float(row['rfm_frequency']):.1f} "
                 f"purchases (decayed), {float(row['rfm_monetary']):.2f} per purchase")  # fmt: skip
    lines.append(f"Role: {ROLE_WORDS.get(row['role'], row['role'])}")
    lines.append(f"Recommended action: {row['action']}")
    moves = tables.recent_moves(customer_id)
    lines.append("Recent moves: " + ("; ".join(f"{a} {f} -> {t}" for a, f, t in moves) if moves else "none"))
    lines.extend(leader_lines(store, customer_id))
    return "\n".join(lines)
