"""Benchmarks: each module measures one study side by side in one run and writes its JSON to
benchmarks/results/ (`readme_tables` renders the docs' tables from them).

Run one from the repository root: `.venv/bin/python -m benchmarks.locked --budget-minutes 60`.
"""
