"""Benchmarks of vox against a ceiling and a naive agent (see bench/run.py)."""
