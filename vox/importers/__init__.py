"""Importers of real community and review exports (see docs/bring-your-history.md)."""
