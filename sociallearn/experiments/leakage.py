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

Every (repetition, method) cell is recorded in the report (`records`: rank, copies, distances,
seconds), so a run cut short by its time budget resumes where it stopped when given the
report it wrote (`resume`): the finished repetitions are kept and the next one starts.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from tqdm import tqdm

from sociallearn.core.lm import require_likelihoods
from sociallearn.engine.pool import ModelPool
from sociallearn.experiments.harness import Taught, cell_settings, teach_cell
from sociallearn.experiments.spec import LABELS, MethodName, MethodSpec, PrivacyConfig
from sociallearn.privacy.adversarial import AdversarialReport, evaluate_filter, load_cases
from sociallearn.privacy.filter import FilterSettings, carries_secret
from sociallearn.privacy.metrics import LeakageSummary, summarise_leakage
from sociallearn.privacy.secret_sharer import (
    RankSummary,
    canary_rank,
    sample_secrets,
    summarise,
    template_for,
)
from sociallearn.teaching.methods import get_method


class CellRecord(BaseModel):
    """One method in one repetition: what the tallies are made of (and resumed from)."""

    repetition: int
    method: str
    canary: str  # the planted secret, as "name code"
    rank: int
    shared: int  # shared lessons (or shown examples)
    lessons: int  # those with text (what copies and distances are measured on)
    copies: int
    distances: list[float]
    canary_code_lessons: int
    dropped_teachers: int
    seconds: float


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
    records: list[CellRecord] = []  # every (repetition, method) cell, in order
    pieces: list[float] = []  # seconds of each budgeted piece the run was made in


def _shared(taught: Taught) -> list[tuple[str, str, str]]:
    """(teacher, shared text, whole lesson) of each lesson. An example's shared text is its
    input, which copies and distances compare with the private inputs; its whole lesson holds
    its answer too. For the original examples, each example shown."""
    settings = taught.resources.settings
    split = taught.resources.split
    if not get_method(settings.method).teaches:
        silo = split.silos["teacher-0"]
        return [
            ("teacher-0", e.input, split.task.format_example(e))
            for e in silo.shots(settings.shots, settings.seed)
        ]
    return [
        (x.teacher_id, x.input if x.kind == "example" and x.input else x.text, x.text)
        for x in taught.lessons
    ]


def _cell(method: MethodName) -> tuple[MethodSpec, FilterSettings]:
    """The harness method and the filter for a measured method (the filter blind to canaries)."""
    unfiltered = method == "synthetic_unfiltered"
    name = "synthetic_examples" if unfiltered else method
    return MethodSpec(method=name), FilterSettings(planted_canary=False, enabled=not unfiltered)


def _leakage(records: Sequence[CellRecord]) -> LeakageSummary:
    """The leakage summary of the cells' lessons (as summarise_leakage over all their pairs)."""
    return LeakageSummary.of(
        sum(r.lessons for r in records),
        sum(r.copies for r in records),
        [d for r in records for d in r.distances],
    )


@dataclass
class _Tally:
    """What the repetitions so far measured: one record per (repetition, method)."""

    config: PrivacyConfig
    filter: AdversarialReport
    started: float = field(default_factory=time.time)
    records: list[CellRecord] = field(default_factory=list)
    done: int = 0
    earlier_seconds: float = 0.0  # the resumed report's seconds
    pieces: list[float] = field(default_factory=list)

    def report(self) -> PrivacyReport:
        n = self.config.comparisons
        results = {}
        for method in self.config.measured:
            cells = [r for r in self.records if r.method == method]
            results[method] = MethodResult(
                method=method,
                label=LABELS[method],
                secret_sharer=summarise([r.rank for r in cells], n),
                leakage=_leakage(cells),
                canary_code_lessons=sum(r.canary_code_lessons for r in cells),
                lessons_per_run=sum(r.shared for r in cells) / self.done,
                dropped_teachers=sum(r.dropped_teachers for r in cells),
                seconds=round(sum(r.seconds for r in cells), 1),
            )
        piece = round(time.time() - self.started, 1)
        return PrivacyReport(
            config=self.config,
            completed=self.done,
            methods=results,
            filter=self.filter,
            seconds=round(self.earlier_seconds + piece, 1),
            cpu_count=os.cpu_count(),
            load_average=os.getloadavg() if hasattr(os, "getloadavg") else None,
            records=self.records,
            pieces=[*self.pieces, piece],
        )


def _resumable(
    config: PrivacyConfig, earlier: PrivacyReport, written: dict[str, Any] | None = None
) -> None:
    """Refuse to resume a report made with other settings (the planned T may change).

    `written`: the settings as a file wrote them, so that a setting added since (which reading
    the file fills with today's default) counts as changed.
    """
    mine = config.model_dump(mode="json", exclude={"repetitions"})
    theirs = written if written is not None else earlier.config.model_dump(mode="json")
    theirs = {k: v for k, v in theirs.items() if k != "repetitions"}
    if mine != theirs:
        changed = sorted(k for k in mine if mine[k] != theirs.get(k))
        raise ValueError(f"cannot resume a privacy run made with other settings: {changed}")
    if earlier.completed and not earlier.records:
        raise ValueError("cannot resume a report without per-repetition records (older format)")


def saved_report(path: Path, config: PrivacyConfig) -> PrivacyReport | None:
    """The report an earlier piece of this run wrote to `path`, to resume (None if none).

    Raises ValueError naming the file when it is not a privacy report or was made with other
    settings: the caller must not overwrite it silently.
    """
    if not path.exists():
        return None
    text = path.read_text()
    try:
        earlier = PrivacyReport.model_validate_json(text)
    except ValidationError as exc:
        raise ValueError(f"{path}: not a privacy report ({exc.errors()[0]['msg']})") from exc
    try:
        _resumable(config, earlier, json.loads(text)["config"])
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    return earlier


def measure_privacy(
    config: PrivacyConfig,
    *,
    models: ModelPool | None = None,
    progress: bool = True,
    budget_s: float | None = None,
    on_repetition: Callable[[PrivacyReport], object] | None = None,
    resume: PrivacyReport | None = None,
) -> PrivacyReport:
    """Run every method T times on fresh canaries; summarise ranks, copies and distances.

    With `budget_s`, no repetition starts after that many seconds (the report says how many
    were completed). `on_repetition` receives the report so far after each repetition. With
    `resume` (a report of an earlier piece of the same run), its repetitions are kept and the
    run goes on from the next one; repetition t is the same whichever piece runs it.
    """
    models = models or ModelPool(n_gpu_layers=config.n_gpu_layers, served=config.served_options())
    tally = _Tally(config, evaluate_filter(load_cases()))
    if resume is not None:
        _resumable(config, resume)
        tally.records = list(resume.records)
        tally.done = resume.completed
        tally.earlier_seconds = resume.seconds
        tally.pieces = list(resume.pieces) or [resume.seconds]
    template = template_for(config.task)
    student = models.get(config.student_model)
    require_likelihoods(student, "student model (it ranks the canaries)")
    steps = tqdm(
        total=(config.repetitions - tally.done) * len(config.measured),
        desc="privacy",
        disable=not progress,
    )
    with tempfile.TemporaryDirectory(prefix="sociallearn-privacy-") as library:
        first = tally.done
        for t in range(first, config.repetitions):
            if budget_s is not None and t > first and time.time() - tally.started > budget_s:
                break
            secrets = sample_secrets(random.Random(f"{config.seed}:{t}"), config.comparisons)
            canary = template.fill(secrets[0])
            numbers = {str(secrets[0].code), str(secrets[0].code + template.offset)}
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
                pairs = []
                code_lessons = 0
                for teacher_id, text, whole in _shared(taught):
                    drawn = split.silos[teacher_id].shots(settings.shots, settings.seed)
                    pairs.append((text, [e.input for e in drawn]))
                    code_lessons += carries_secret(whole, numbers)
                leakage = summarise_leakage(pairs)
                tally.records.append(
                    CellRecord(
                        repetition=t,
                        method=method,
                        canary=f"{secrets[0].name} {secrets[0].code}",
                        rank=rank,
                        shared=len(pairs),
                        lessons=leakage.lessons,
                        copies=leakage.copies,
                        distances=leakage.distances,
                        canary_code_lessons=code_lessons,
                        dropped_teachers=taught.teachers_dropped,
                        seconds=round(time.time() - begun, 2),
                    )
                )
                steps.update()
                steps.set_postfix(method=method, rank=rank)
            tally.done += 1
            if on_repetition is not None:
                on_repetition(tally.report())
    steps.close()
    return tally.report()
