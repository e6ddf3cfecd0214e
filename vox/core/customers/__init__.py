"""Customer scores: competence, implication, value, role, typology (DOMAIN.md 1, 2, 4, 6)."""
