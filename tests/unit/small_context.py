"""The small settings that the graph's unit tests run with (a tiny SMS file, few teachers)."""

from __future__ import annotations

from pathlib import Path

from sociallearn.graphs.context import Context


def small_context(sms_file: Path, tmp_path: Path, **overrides: object) -> Context:
    settings: dict = {
        "data_path": str(sms_file),
        "library": str(tmp_path / "library"),
        "test_size": 4,
        "teachers": 2,
        "shots": 4,
        "samples": 2,
        "keep": 2,
        "lessons": 4,
    }
    settings.update(overrides)
    return Context(**settings)
