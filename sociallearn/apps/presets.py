"""Presets: measured configurations by name, kept as data (`data/presets.toml`).

A preset is a set of run settings with a description and where its measured numbers come from.
`--preset NAME` applies it to `teach`, `demo`, `experiment` and `serve-teacher`; flags given
beside it override it. `sociallearn presets` lists every preset with its measured accuracy.
Without `--preset`, `teach` runs the most accurate preset whose models are installed and whose
run takes at most `TEACH_MINUTES` on 2 cores (the best accuracy for its time), and `demo` the
most accurate one whose 0-shot → original gap is wide enough to show learning
(`default_preset`). A preset that fell below 0-shot in any measured run is no default.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from sociallearn.core.models import EMBEDDED_MODELS, OPTIONAL_MODELS

PRESETS_FILE = Path(__file__).parents[1] / "data" / "presets.toml"
RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
NO_PRESET = "none"  # `--preset none`: the settings' own defaults
DEMO_GAP = 0.15  # the demo's preset: 0-shot at least this far below the original examples
TEACH_MINUTES = 20.0  # teach's preset: a measured run (teaching and 100 test messages) within this
DEMO_RUN_MINUTES = 5.0  # demo's preset: a run within this, so 3 runs of the demo fit 20 min


class Measured(BaseModel):
    """Where a preset's numbers come from: a results file, its experiment and method."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    results: str
    study: str
    method: str
    command: str


class Measurement(BaseModel):
    """A preset's measured accuracy over runs, the minutes a run took, and the two bars of the
    same experiment (0-shot and the original examples) where it has them."""

    accuracies: list[float]
    mean: float
    low: float
    high: float
    minutes_per_run: float
    test_part: str
    task: str
    zero_shot: float | None = None
    original: float | None = None
    zero_shot_runs: list[float] | None = None

    @property
    def worst_margin(self) -> float | None:
        """The smallest margin of a run over the same run's 0-shot (negative: below it)."""
        if not self.zero_shot_runs:
            return None
        return min(a - z for a, z in zip(self.accuracies, self.zero_shot_runs, strict=True))

    @property
    def holds(self) -> bool:
        """No measured run fell below its 0-shot."""
        return self.worst_margin is None or self.worst_margin >= 0

    @property
    def gap(self) -> float | None:
        """Original examples minus 0-shot: how much there is to learn."""
        if self.zero_shot is None or self.original is None:
            return None
        return self.original - self.zero_shot


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

    def experiment(self, results: Path = RESULTS) -> dict[str, Any] | None:
        """The committed experiment that measured it (None where there is none)."""
        if self.measured is None or not (results / self.measured.results).is_file():
            return None
        document = read_results(results / self.measured.results)
        for experiment in document.get("experiments", [document]):
            if experiment["spec"]["name"].startswith(self.measured.study):
                return experiment
        return None

    def measurement(self, results: Path = RESULTS) -> Measurement | None:
        """Its measured numbers, read from the committed results (None where there are none)."""
        experiment = self.experiment(results)
        if experiment is None or self.measured is None:
            return None
        means = {s["method"]: s["interval"]["mean"] for s in experiment["summaries"]}
        runs = {s["method"]: s["accuracies"] for s in experiment["summaries"]}
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
                    task=experiment["spec"]["task"],
                    zero_shot=means.get("zero_shot"),
                    original=means.get("original_examples"),
                    zero_shot_runs=runs.get("zero_shot"),
                )
        return None


def read_results(path: Path) -> dict[str, Any]:
    """A results file, parsed once per process and content."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest not in _PARSED:
        _PARSED[digest] = json.loads(data)
    return _PARSED[digest]


_PARSED: dict[str, dict[str, Any]] = {}  # results files by the hash of their bytes


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


def default_preset(
    purpose: Literal["teach", "demo"], results: Path = RESULTS, task: str | None = None
) -> tuple[Preset, str]:
    """The preset a command runs without `--preset`, and why: of the presets whose models are
    installed and whose numbers are committed, none of whose runs fell below its 0-shot (unless
    none holds), for `teach` the most accurate whose measured run took at most `TEACH_MINUTES`
    (the most accurate if none did), for `demo` the most accurate whose 0-shot stands at least
    `DEMO_GAP` below the original examples, so that there is something to learn, and whose run
    took at most `DEMO_RUN_MINUTES` (the most accurate if none does). `teach` on a `task`
    chooses among the presets measured on it; on a task none was measured on, whose run time is
    unknown, it runs the demo's (whose run is short)."""
    installed = [
        (preset, measurement)
        for preset in load_presets().values()
        if not preset.missing_models() and (measurement := preset.measurement(results))
    ]
    if not installed:
        raise ValueError("no preset with installed models and committed numbers: run setup.sh")
    holding_presets = [(p, m) for p, m in installed if m.holds]
    measured = holding_presets or installed
    holding = ", no run below its 0-shot," if holding_presets else ""
    if purpose == "teach" and task is not None:
        if not any(m.task == task for _, m in measured):
            preset, why = default_preset("demo", results)
            return preset, f"no preset was measured on {task}; the demo's, {why}"
        measured = [(p, m) for p, m in measured if m.task == task]
    if purpose == "demo":
        pool = [
            (p, m)
            for p, m in measured
            if m.gap is not None and m.gap >= DEMO_GAP and m.minutes_per_run <= DEMO_RUN_MINUTES
        ]
        condition = (
            f"{holding} with 0-shot at least {100 * DEMO_GAP:.0f} points below the original "
            f"examples and a run of at most {DEMO_RUN_MINUTES:.0f} minutes"
        )
    else:
        pool = [(p, m) for p, m in measured if m.minutes_per_run <= TEACH_MINUTES]
        condition = f"{holding} whose run takes at most {TEACH_MINUTES:.0f} minutes"
    preset, measurement = max(
        pool or measured, key=lambda pair: (pair[1].mean, -pair[1].minutes_per_run)
    )
    why = f"the most accurate installed preset{condition if pool else holding.rstrip(',')}"
    why += f": {100 * measurement.mean:.1f}% over {len(measurement.accuracies)} runs"
    if purpose == "demo" and pool:
        why += f", gap {100 * (measurement.gap or 0):.1f} points"
    else:
        why += f", {measurement.minutes_per_run:.0f} min a run"
    most = max(measured, key=lambda pair: pair[1].mean)
    if most[0] is not preset:
        why += f" ({most[0].name}: {100 * most[1].mean:.1f}%, {most[1].minutes_per_run:.0f} min)"
    return preset, why


def with_preset(
    values: dict[str, Any], name: str | None, fields: Collection[str]
) -> dict[str, Any]:
    """`values` (the flags given) over the settings of preset `name` that `fields` holds."""
    if name is None or name == NO_PRESET:
        return values
    return {**get_preset(name).values(fields), **values}
