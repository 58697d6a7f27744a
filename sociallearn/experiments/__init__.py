"""Experiments that reproduce the paper's tables: baselines, methods, runs and significance."""
