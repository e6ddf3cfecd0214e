"""`vox explain CUSTOMER_ID`: a customer's scores in plain words, from ClickHouse."""

from __future__ import annotations

from vox.errors import VoxError
from vox.core.customers.config import COMPETENCE_COMPONENTS, IMPLICATION_COMPONENTS, ScoringConfig
from vox.core.typology import LEVELS_OF_CELL
from vox.clickhouse.store import Store
from vox.clickhouse.tables import VoxTables, require_tables
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
ROLE_WORDS = {"executant": "does self-service tasks (client exécutant)",
              "assistant_marketing": "rates, reviews and tests products (assistant marketing)",
              "relais": "shares, refers and promotes (relais)",
              "apporteur_de_solutions": "brings solutions: answers, ideas, creative content (apporteur de solutions)"}


def _bar(value: float) -> str:
    filled = int(round(value * 10))
    return "#" * filled + "." * (10 - filled)


def _days(n: float) -> str:
    """`n` days in words: "less than a day", "1 day", "12 days"."""
    if n < 1:
        return "less than a day"
    return f"{n:.0f} day" + ("" if round(n) == 1 else "s")


def _minute(timestamp: str) -> str:
    return timestamp[:16]  # 2026-03-03 00:00:00.000 -> 2026-03-03 00:00


def strongest_and_weakest(measured: dict[str, float]) -> str:
    """Among the components with evidence only; never the same one twice."""
    if not measured:
        return "no component has evidence yet"
    if len(measured) == 1:
        (name,) = measured
        return f"only one component has evidence: {_short(name)}"
    ranked = sorted(measured, key=lambda name: (-measured[name], name))
    strongest, weakest = ranked[0], ranked[-1]
    if measured[strongest] == measured[weakest]:
        return f"every component with evidence stands at {measured[strongest]:.2f}"
    return f"strongest: {_short(strongest)}; weakest: {_short(weakest)}"


def _short(name: str) -> str:
    return MEANING[name].split(":")[0]


def _evidence_line(title: str, row: dict, config: ScoringConfig) -> str:
    level = row[f"{title.lower()}_evidence"] or "provisional"
    if title == "Competence":
        amount, needed = float(row["competence_evidence_amount"]), config.established_competence_evidence
        basis = (f"rests on {amount:.1f} pieces of evidence (contributions, votes received, rated reviews; a page view "
                 f"counts a tenth; recent ones weigh more), {needed:g} make it established")  # fmt: skip
    else:
        days, needed = float(row["observed_days"]), config.established_implication_days
        basis = f"observed for {_days(days)} since their first action, {needed:g} days make it established"
    return f"{title} {float(row[title.lower()]):.1f} / 100, {level}: {basis}"


def explain_customer(store: Store, customer_id: str, config: ScoringConfig | None = None) -> str:
    config = config or ScoringConfig()
    require_tables(store, "customer scores", "customer_explanation", "segment_transitions")
    tables = VoxTables(store)
    row = tables.explanation(customer_id)
    if row is None:
        raise VoxError(f"no scores for customer {customer_id!r}: not seen yet, or scored in another database")
    left_out, not_observed = set(row["left_out"] or ()), set(row["not_observed"] or ())
    cell = row["cell"]
    c_level, i_level = LEVELS_OF_CELL.get(cell, ("?", "?"))
    lines = [f"Customer {customer_id}: cell {cell} ({c_level} competence, {i_level} implication), as of "
             f"{_minute(row['toString(updated_at)'])} UTC" + ("  [staff account: scored, never segmented]"
                                                              if int(row["is_staff"]) else ""),
             f"Evidence: {int(row['signals'])} signals so far (their own actions and others' reactions to them); last active "
             f"{_days(float(row['days_since_active']))} before"]  # fmt: skip
    for title, prefix, components in (("Competence", "c_", COMPETENCE_COMPONENTS),
                                      ("Implication", "i_", IMPLICATION_COMPONENTS)):  # fmt: skip
        lines.append(_evidence_line(title, row, config))
        parts = {f"{prefix}{n}": float(row[f"{prefix}{n}"]) for n in components}
        for name, value in parts.items():
            if name in not_observed:
                lines.append(f"  {'-' * 10}   --   {MEANING[name]} (not observed here: nothing this deployment "
                             "sees can feed it, left out for everyone)")  # fmt: skip
            elif name in left_out:
                lines.append(f"  {'-' * 10}   --   {MEANING[name]} (no evidence yet: left out of the score)")
            else:
                lines.append(f"  {_bar(value)} {value:4.2f}  {MEANING[name]}")
        lines.append("  " + strongest_and_weakest({n: v for n, v in parts.items() if n not in left_out | not_observed}))
    recency = float(row["rfm_recency_days"])
    bought = "never bought" if recency < 0 else f"last purchase {_days(recency)} before"
    lines.append(f"Economic value {float(row['value']):,.2f}: their spend, recent purchases weighing more "
                 f"(half-life {config.value_half_life_days:g} days); {bought}; about {float(row['rfm_frequency']):.1f} "
                 f"recent purchases of {float(row['rfm_monetary']):,.2f} on average")  # fmt: skip
    lines.append(f"Role: {ROLE_WORDS.get(row['role'], row['role'])}")
    lines.append(f"Recommended action: {row['action']}")
    moves = tables.recent_moves(customer_id)
    lines.append("Recent moves: " + ("; ".join(f"{_minute(a)} {f} -> {t}" for a, f, t in moves) if moves else "none"))
    lines.extend(leader_lines(store, customer_id))
    return "\n".join(lines)
