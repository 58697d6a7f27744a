"""Presets: measured configurations by name, kept as data (`data/presets.toml`).

A preset is a set of run settings with a description and where its measured numbers come from.
`--preset NAME` applies it to `teach`, `demo`, `experiment` and `serve-teacher`; flags given
beside it override it. `sociallearn presets` lists every preset with its measured accuracy.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from sociallearn.models import EMBEDDED_MODELS, OPTIONAL_MODELS

PRESETS_FILE = Path(__file__).parent / "data" / "presets.toml"
RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


class Measured(BaseModel):
    """Where a preset's numbers come from: a results file, its experiment and method."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    results: str
    study: str
    method: str
    command: str


class Measurement(BaseModel):
    """A preset's measured accuracy over runs, and the minutes a run took."""

    accuracies: list[float]
    mean: float
    low: float
    high: float
    minutes_per_run: float
    test_part: str


class Preset(BaseModel):
    """Run settings by name, with a description and where they were measured."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    settings: dict[str, Any]
    measured: Measured | None = None

    def values(self, fields: Collection[str]) -> dict[str, Any]:
        """The preset's settings that a model with `fields` has."""
        return {name: value for name, value in self.settings.items() if name in fields}

    def missing_models(self) -> list[str]:
        """The models it needs that are not installed here."""
        wanted = {self.settings.get("teacher_model"), self.settings.get("student_model")}
        return sorted(m for m in wanted if m in OPTIONAL_MODELS and m not in EMBEDDED_MODELS)

    def measurement(self, results: Path = RESULTS) -> Measurement | None:
        """Its measured numbers, read from the committed results (None where there are none)."""
        if self.measured is None or not (results / self.measured.results).is_file():
            return None
        document = json.loads((results / self.measured.results).read_text(encoding="utf-8"))
        for experiment in document.get("experiments", [document]):
            if not experiment["spec"]["name"].startswith(self.measured.study):
                continue
            for summary in experiment["summaries"]:
                if summary["method"] == self.measured.method:
                    interval = summary["interval"]
                    return Measurement(
                        accuracies=summary["accuracies"],
                        mean=interval["mean"],
                        low=interval["low"],
                        high=interval["high"],
                        minutes_per_run=summary["seconds"] / 60 / summary["runs"],
                        test_part=experiment.get("test_part", "all"),
                    )
        return None


def load_presets(path: Path = PRESETS_FILE) -> dict[str, Preset]:
    """Every preset of `path`, by name."""
    tables = tomllib.loads(path.read_text(encoding="utf-8"))
    presets = {}
    for name, table in tables.items():
        settings = {k: v for k, v in table.items() if k not in ("description", "measured")}
        presets[name] = Preset(
            name=name,
            description=table.get("description", ""),
            settings=settings,
            measured=table.get("measured"),
        )
    return presets


def get_preset(name: str) -> Preset:
    """The preset called `name`; a ValueError naming the known ones otherwise, or the command
    that installs a model it needs."""
    presets = load_presets()
    if name not in presets:
        raise ValueError(f"--preset: unknown preset {name!r}; known: {', '.join(presets)}")
    preset = presets[name]
    if missing := preset.missing_models():
        raise ValueError(
            f"--preset {name}: needs {', '.join(missing)}, which is not installed: "
            "run bash scripts/setup.sh"
        )
    return preset


def with_preset(
    values: dict[str, Any], name: str | None, fields: Collection[str]
) -> dict[str, Any]:
    """`values` (the flags given) over the settings of preset `name` that `fields` holds."""
    if name is None:
        return values
    return {**get_preset(name).values(fields), **values}
