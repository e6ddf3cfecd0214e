"""The 3 x 3 customer typology of DOMAIN.md section 2: competence (rows) x implication (columns).

Seven cells are named by the research; the two it leaves unnamed get names here so they are
never dropped: `spectateurs` (low competence, low implication: not involved, not developing)
and `enthousiastes` (low competence, high implication: involved, not developing competence).
"""

from __future__ import annotations

LEVELS = ("low", "medium", "high")

#: (competence level, implication level) -> cell name
CELLS: dict[tuple[str, str], str] = {
    ("high", "low"): "referents",
    ("high", "medium"): "controleurs",
    ("high", "high"): "experts",
    ("medium", "low"): "potentiels_1",
    ("medium", "medium"): "coeur",
    ("medium", "high"): "communautaires",
    ("low", "low"): "spectateurs",
    ("low", "medium"): "potentiels_2",
    ("low", "high"): "enthousiastes",
}
CELL_NAMES = tuple(CELLS.values())
LEVELS_OF_CELL = {name: levels for levels, name in CELLS.items()}


def cell_of(competence_level: str, implication_level: str) -> str:
    return CELLS[(competence_level, implication_level)]
