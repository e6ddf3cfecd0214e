"""Customer scores: competence, implication, value, role, typology (docs/glossary.md)."""
