"""Rows of `customer_scores`, `customer_score_history` and `segment_transitions`, and the
`vox.segments` message: pure functions of placements and transitions."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone

from vox.core.customers.config import COMPETENCE_COMPONENTS, IMPLICATION_COMPONENTS
from vox.core.customers.engine import Placement, Transition
from vox.core.typology import ACTIONS, LEVELS_OF_CELL

SCORE_COLUMNS = (
    "customer_id", "version", "updated_at", "competence", "implication", "cell", "competence_level",
    "implication_level", "role", "actor_role", "is_staff", "value", "rfm_recency_days", "rfm_frequency",
    "rfm_monetary", "days_since_active", "action",
    *(f"c_{name}" for name in COMPETENCE_COMPONENTS), *(f"i_{name}" for name in IMPLICATION_COMPONENTS),
    "left_out", "competence_evidence", "implication_evidence", "not_observed", "signals",
    "competence_evidence_amount", "observed_days",
)  # fmt: skip
TRANSITION_COLUMNS = ("customer_id", "from_cell", "to_cell", "at", "competence", "implication", "action")


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def score_row(p: Placement, version: int | None = None) -> tuple:
    """`version`: what makes the latest row win (the sweep point's time; signals applied when
    placed outside sweeps)."""
    s = p.scores
    c_level, i_level = LEVELS_OF_CELL[p.cell]
    recency = s.recency_days if math.isfinite(s.recency_days) else -1.0  # -1: never bought
    return (
        p.customer_id, p.signals if version is None else version, at(s.as_of), round(s.competence, 4), round(s.implication, 4), p.cell, c_level,
        i_level, s.role, p.role, int(p.staff), round(s.value, 4), round(recency, 3), round(s.frequency, 4),
        round(s.monetary, 4), round(s.days_since_active, 3), ACTIONS[p.cell],
        *(round(s.competence_parts[name], 4) for name in COMPETENCE_COMPONENTS),
        *(round(s.implication_parts[name], 4) for name in IMPLICATION_COMPONENTS),
        list(s.left_out), s.competence_level_evidence, s.implication_level_evidence, list(s.not_observed),
        p.signals, round(s.competence_evidence, 3), round(s.observed_days, 3),
    )  # fmt: skip


def transition_row(t: Transition) -> tuple:
    return (t.customer_id, t.from_cell, t.to_cell, at(t.at), round(t.competence, 4), round(t.implication, 4), t.action)


def segment_message(t: Transition) -> bytes:
    """What `vox.segments` carries for a CRM: one JSON object per move, keyed by customer."""
    return json.dumps({
        "customer_id": t.customer_id, "from": t.from_cell, "to": t.to_cell,
        "at": at(t.at).isoformat().replace("+00:00", "Z"), "competence": round(t.competence, 2),
        "implication": round(t.implication, 2), "recommended_action": t.action,
    }, ensure_ascii=False).encode()  # fmt: skip
