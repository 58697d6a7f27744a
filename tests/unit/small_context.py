"""The small settings that the graph's unit tests run with (a tiny SMS file, few teachers)."""

from __future__ import annotations

from pathlib import Path

from sociallearn.core.lm import LanguageModel
from sociallearn.engine import ModelPool
from sociallearn.teaching.context import Context
from sociallearn.teaching.resources import Resources
from sociallearn.teaching.settings import Settings


def small_settings(sms_file: Path, tmp_path: Path, **overrides: object) -> Settings:
    values: dict = {
        "data_path": str(sms_file),
        "library": str(tmp_path / "library"),
        "test_size": 4,
        "teachers": 2,
        "shots": 4,
        "samples": 2,
        "keep": 2,
        "lessons": 4,
    }
    values.update(overrides)
    return Settings(**values)


def small_context(
    sms_file: Path, tmp_path: Path, model: LanguageModel, **overrides: object
) -> Context:
    """Small settings, with `model` as every model of the run."""
    settings = small_settings(sms_file, tmp_path, **overrides)
    return Context(settings=settings, resources=Resources(settings, models=ModelPool.fixed(model)))
