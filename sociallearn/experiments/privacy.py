"""Leakage of each teaching method, side by side in one run: Secret Sharer, copies, distances.

Every repetition samples a new canary and N−1 comparison strings, plants the canary in every
teacher's data (so new silos), and teaches the student once per method through the harness
(`harness.teach_cell`); the canary is then ranked under the taught prompt:

- original_examples: the student's prompt is one teacher's n private examples (leaks by design);
- instructions, synthetic_examples: social learning with the privacy filter;
- synthetic_unfiltered: social learning with the filter switched off.

The filter is run blind to the canary (`planted_canary=False`): it must protect the canary with
its general layers (copies, PII), not because it was told the answer. Lessons go to a throw-away
Chroma library (the unfiltered ones may hold private text). The adversarial filter set is
evaluated in the same run.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel
from tqdm import tqdm

from sociallearn.engine.pool import ModelPool
from sociallearn.experiments.harness import Taught, cell_settings, teach_cell
from sociallearn.experiments.spec import LABELS, MethodName, MethodSpec, PrivacyConfig
from sociallearn.methods import get_method
from sociallearn.privacy.adversarial import AdversarialReport, evaluate_filter, load_cases
from sociallearn.privacy.filter import FilterSettings, digit_runs
from sociallearn.privacy.metrics import LeakageSummary, summarise_leakage
from sociallearn.privacy.secret_sharer import (
    RankSummary,
    canary_rank,
    sample_secrets,
    summarise,
    template_for,
)


class MethodResult(BaseModel):
    method: str
    label: str
    secret_sharer: RankSummary
    leakage: LeakageSummary
    canary_code_lessons: int  # shared lessons that carry the canary's secret code
    lessons_per_run: float
    dropped_teachers: int
    seconds: float


class PrivacyReport(BaseModel):
    config: PrivacyConfig
    completed: int  # repetitions completed (fewer than config.repetitions if out of time)
    methods: dict[MethodName, MethodResult]
    filter: AdversarialReport
    seconds: float
    cpu_count: int | None
    load_average: tuple[float, float, float] | None  # at the end of the run (shared machine)


def _shared(taught: Taught) -> list[tuple[str, str]]:
    """(teacher, shared text) of each lesson; for the original examples, each example shown."""
    settings = taught.resources.settings
    if not get_method(settings.method).teaches:
        silo = taught.resources.split.silos["teacher-0"]
        return [("teacher-0", e.input) for e in silo.shots(settings.shots, settings.seed)]
    return [
        (x.teacher_id, x.input if x.kind == "example" and x.input else x.text)
        for x in taught.lessons
    ]


def _cell(method: MethodName) -> tuple[MethodSpec, FilterSettings]:
    """The harness method and the filter for a measured method (the filter blind to canaries)."""
    unfiltered = method == "synthetic_unfiltered"
    name = "synthetic_examples" if unfiltered else method
    return MethodSpec(method=name), FilterSettings(planted_canary=False, enabled=not unfiltered)


@dataclass
class _Tally:
    """What the repetitions so far measured, per method."""

    config: PrivacyConfig
    filter: AdversarialReport
    started: float = field(default_factory=time.time)
    ranks: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    pairs: dict[str, list[tuple[str, Sequence[str]]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    code_lessons: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    done: int = 0

    def report(self) -> PrivacyReport:
        n = self.config.comparisons
        results = {
            method: MethodResult(
                method=method,
                label=LABELS[method],
                secret_sharer=summarise(self.ranks[method], n),
                leakage=summarise_leakage(self.pairs[method]),
                canary_code_lessons=self.code_lessons[method],
                lessons_per_run=len(self.pairs[method]) / self.done,
                dropped_teachers=self.dropped[method],
                seconds=round(self.seconds[method], 1),
            )
            for method in self.config.measured
        }
        return PrivacyReport(
            config=self.config,
            completed=self.done,
            methods=results,
            filter=self.filter,
            seconds=round(time.time() - self.started, 1),
            cpu_count=os.cpu_count(),
            load_average=os.getloadavg() if hasattr(os, "getloadavg") else None,
        )


def measure_privacy(
    config: PrivacyConfig,
    *,
    models: ModelPool | None = None,
    progress: bool = True,
    budget_s: float | None = None,
    on_repetition: Callable[[PrivacyReport], object] | None = None,
) -> PrivacyReport:
    """Run every method T times on fresh canaries; summarise ranks, copies and distances.

    With `budget_s`, no repetition starts after that many seconds (the report says how many
    were completed). `on_repetition` receives the report so far after each repetition.
    """
    models = models or ModelPool(n_gpu_layers=config.n_gpu_layers)
    tally = _Tally(config, evaluate_filter(load_cases()))
    template = template_for(config.task)
    student = models.get(config.student_model)
    steps = tqdm(
        total=config.repetitions * len(config.measured), desc="privacy", disable=not progress
    )
    with tempfile.TemporaryDirectory(prefix="sociallearn-privacy-") as library:
        for t in range(config.repetitions):
            if budget_s is not None and t and time.time() - tally.started > budget_s:
                break
            secrets = sample_secrets(random.Random(f"{config.seed}:{t}"), config.comparisons)
            canary = template.fill(secrets[0])
            code = str(secrets[0].code)
            for method in config.measured:
                begun = time.time()
                spec, filter_settings = _cell(method)
                settings = cell_settings(
                    config,
                    spec,
                    config.seed + t,
                    library,
                    canary=canary.input,
                    canary_answer=canary.answer,
                    privacy=filter_settings,
                )
                taught = teach_cell(settings, models)
                split = taught.resources.split
                rank = canary_rank(student, taught.preamble, split.task, secrets, template)
                tally.ranks[method].append(rank)
                for teacher_id, text in _shared(taught):
                    drawn = split.silos[teacher_id].shots(settings.shots, settings.seed)
                    tally.pairs[method].append((text, [e.input for e in drawn]))
                    tally.code_lessons[method] += any(code in run for run in digit_runs(text))
                tally.dropped[method] += taught.teachers_dropped
                tally.seconds[method] += time.time() - begun
                steps.update()
                steps.set_postfix(method=method, rank=rank)
            tally.done += 1
            if on_repetition is not None:
                on_repetition(tally.report())
    steps.close()
    return tally.report()
