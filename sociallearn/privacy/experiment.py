"""Leakage of each teaching method, side by side in one run: Secret Sharer, copies, distances.

Every repetition samples a new canary and N−1 comparison strings, plants the canary in every
teacher's data (so new silos), and teaches the student once per method:

- original_examples: the student's prompt is one teacher's n private examples (leaks by design);
- instructions, synthetic_examples: social learning with the privacy filter;
- synthetic_unfiltered: social learning with the filter switched off.

The filter is run blind to the canary (`planted_canary=False`): it must protect the canary with
its general layers (copies, PII), not because it was told the answer. Lessons go to a throw-away
Chroma library (the unfiltered ones may hold private text). The adversarial filter set is
evaluated in the same run.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from tqdm import tqdm

from sociallearn.engine import Engine, get_engine
from sociallearn.graphs.context import Context
from sociallearn.nodes.resources import split_of
from sociallearn.nodes.student import build_prompt, prompt_from_lessons
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
from sociallearn.stores.silo import DataSplit
from sociallearn.tasks import Example

MethodName = Literal[
    "original_examples", "instructions", "synthetic_examples", "synthetic_unfiltered"
]
METHODS: tuple[MethodName, ...] = (
    "original_examples",
    "instructions",
    "synthetic_examples",
    "synthetic_unfiltered",
)
LABELS = {
    "original_examples": "original examples",
    "instructions": "instructions (filter)",
    "synthetic_examples": "synthetic examples (filter)",
    "synthetic_unfiltered": "synthetic examples (no filter)",
}


class PrivacyConfig(BaseModel):
    """Settings of a privacy experiment (T repetitions, N strings per Secret Sharer test)."""

    task: str = "sms_spam"
    data_path: str | None = None
    teacher_model: str = "smollm2"
    student_model: str = "smollm2"
    repetitions: int = Field(default=100, ge=1)  # T
    comparisons: int = Field(default=1000, ge=2)  # N: the canary and N−1 comparison strings
    teachers: int = Field(default=4, ge=1)
    shots: int = Field(default=8, ge=1)
    samples: int = Field(default=16, ge=1)
    keep: int = Field(default=8, ge=1)
    lessons: int = Field(default=8, ge=1)
    test_size: int = 200
    seed: int = 0
    methods: list[MethodName] = Field(default_factory=lambda: list(METHODS))


PRESETS: dict[str, PrivacyConfig] = {
    # The paper's scale: T = 100 social-learning runs per method with the default run settings.
    "full": PrivacyConfig(),
    # The committed benchmark: smaller teaching runs and T = 20 so that it fits 2 CPU cores.
    "results": PrivacyConfig(repetitions=20, teachers=2, samples=8, keep=4, lessons=4),
    # A minute-scale check of the whole pipeline (tests).
    "smoke": PrivacyConfig(
        repetitions=2,
        comparisons=50,
        teachers=1,
        shots=4,
        samples=3,
        keep=2,
        lessons=2,
        test_size=20,
    ),
}


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


def _shared_content(lesson_kind: str, text: str, source: str | None) -> str:
    return source if lesson_kind == "example" and source else text


def _teach_method(
    method: MethodName, context: Context, split: DataSplit
) -> tuple[str, list[tuple[str, str]], int]:
    """The student's prompt, the (teacher, shared text) of each lesson, and dropped teachers."""
    task = split.task
    if method == "original_examples":
        shots = split.silos["teacher-0"].shots(context.shots, context.seed)
        prompt = build_prompt(task, examples=[task.format_example(e) for e in shots])
        return prompt, [("teacher-0", e.input) for e in shots], 0
    from sociallearn.teaching import teach

    if method == "synthetic_unfiltered":
        context = replace(
            context, method="synthetic_examples", privacy=replace(context.privacy, enabled=False)
        )
    else:
        context = replace(context, method=method)
    state = teach(context)
    lessons = state.get("lessons", [])
    shared = [(x.teacher_id, _shared_content(x.kind, x.text, x.input)) for x in lessons]
    return prompt_from_lessons(task, lessons), shared, len(state.get("dropped", []))


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
            for method in self.config.methods
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


def run_experiment(
    config: PrivacyConfig,
    *,
    progress: bool = True,
    budget_s: float | None = None,
    on_repetition: Callable[[PrivacyReport], object] | None = None,
) -> PrivacyReport:
    """Run every method T times on fresh canaries; summarise ranks, copies and distances.

    With `budget_s`, no repetition starts after that many seconds (the report says how many
    were completed). `on_repetition` receives the report so far after each repetition.
    """
    tally = _Tally(config, evaluate_filter(load_cases()))
    template = template_for(config.task)
    engine: Engine = get_engine(config.student_model)
    steps = tqdm(
        total=config.repetitions * len(config.methods), desc="privacy", disable=not progress
    )
    with tempfile.TemporaryDirectory(prefix="sociallearn-privacy-") as library:
        for t in range(config.repetitions):
            if budget_s is not None and t and time.time() - tally.started > budget_s:
                break
            secrets = sample_secrets(random.Random(f"{config.seed}:{t}"), config.comparisons)
            canary = template.fill(secrets[0])
            context = _context(config, library, t, canary)
            split = split_of(context)
            drawn = {
                tid: silo.shots(context.shots, context.seed) for tid, silo in split.silos.items()
            }
            code = str(secrets[0].code)
            for method in config.methods:
                begun = time.time()
                prompt, shared, lost = _teach_method(method, context, split)
                rank = canary_rank(engine, prompt, split.task, secrets, template)
                tally.ranks[method].append(rank)
                for teacher_id, text in shared:
                    tally.pairs[method].append((text, [e.input for e in drawn[teacher_id]]))
                    tally.code_lessons[method] += any(code in run for run in digit_runs(text))
                tally.dropped[method] += lost
                tally.seconds[method] += time.time() - begun
                steps.update()
                steps.set_postfix(method=method, rank=rank)
            tally.done += 1
            if on_repetition is not None:
                on_repetition(tally.report())
    steps.close()
    return tally.report()


def _context(config: PrivacyConfig, library: str, repetition: int, canary: Example) -> Context:
    return Context(
        task=config.task,
        data_path=config.data_path,
        teachers=config.teachers,
        shots=config.shots,
        samples=config.samples,
        keep=config.keep,
        lessons=config.lessons,
        teacher_model=config.teacher_model,
        student_model=config.student_model,
        library=library,
        collection="privacy",
        test_size=config.test_size,
        seed=config.seed + repetition,
        canary=canary.input,
        canary_answer=canary.answer,
        privacy=FilterSettings(planted_canary=False),
    )


def markdown(report: PrivacyReport) -> str:
    """The Secret Sharer, copy and filter tables as Markdown."""
    config = report.config
    n = config.comparisons
    lines = [
        f"Task `{config.task}`, teacher `{config.teacher_model}`, "
        f"student `{config.student_model}`; "
        f"T = {report.completed} repetitions, N = {n} strings; m = {config.teachers} teachers, "
        f"n = {config.shots} shots, k = {config.samples} samples, {config.lessons} lessons.",
        "",
        "| method | mean rank [95% CI] | rank 0 | mean exposure | copy rate | "
        "norm. distance mean (median) | lessons with the canary code |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in report.methods.values():
        ss, leak = result.secret_sharer, result.leakage
        interval = f" [{ss.ci95[0]:.0f}, {ss.ci95[1]:.0f}]" if ss.ci95 else ""
        distance = (
            f"{leak.distance_mean:.3f} ({leak.distance_median:.3f})"
            if leak.distance_mean is not None
            else "–"
        )
        lines.append(
            f"| {result.label} | {ss.mean_rank:.1f}{interval} | "
            f"{ss.rank0_count}/{ss.repetitions} | {ss.mean_exposure:.2f} | "
            f"{leak.copies}/{leak.lessons} ({100 * leak.copy_rate:.1f}%) | "
            f"{distance} | {result.canary_code_lessons} |"
        )
    any_result = next(iter(report.methods.values()))
    expected = any_result.secret_sharer
    lines.append(
        f"| *no memorisation (expected)* | {expected.expected_mean_rank:.1f} | "
        f"{report.completed / n:.2f}/{report.completed} | "
        f"{expected.expected_exposure:.2f} | | | |"
    )
    f = report.filter
    lines += [
        "",
        "Privacy filter on the adversarial set (`sociallearn/data/privacy_adversarial.jsonl`):",
        "",
        "| attacks caught | clean lessons rejected | clean lessons redacted |",
        "|---|---|---|",
        f"| {f.caught}/{f.attacks} ({100 * f.catch_rate:.1f}%) | {f.falsely_rejected}/{f.clean} "
        f"({100 * f.false_rejection_rate:.1f}%) | {f.clean_altered}/{f.clean} "
        f"({100 * f.clean_altered_rate:.1f}%) |",
        "",
        "Catch rate by attack: "
        + ", ".join(f"{kind} {100 * rate:.0f}%" for kind, rate in f.catch_rate_by_kind.items())
        + (f"; missed: {', '.join(f.missed)}" if f.missed else ""),
    ]
    return "\n".join(lines) + "\n"


def plot(report: PrivacyReport, path: Path) -> None:
    """Canary ranks and normalised distances per method, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = list(report.methods.values())
    labels = [r.label.replace(" (", "\n(") for r in results]
    n = report.config.comparisons
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    rng = random.Random(0)
    for i, result in enumerate(results):
        ranks = result.secret_sharer.ranks
        left.scatter([i + rng.uniform(-0.15, 0.15) for _ in ranks], ranks, s=14, alpha=0.6)
        left.scatter([i], [result.secret_sharer.mean_rank], marker="_", s=600, color="black")
    left.axhline((n - 1) / 2, linestyle="--", color="grey", label="expected without memorisation")
    left.set_yscale("symlog", linthresh=1)
    left.set_ylim(-0.5, n)
    left.set_xticks(range(len(results)), labels, fontsize=8)
    left.set_ylabel(f"canary rank among N = {n} (0 = most likely)")
    left.set_title("Secret Sharer: canary rank per repetition (bar: mean)")
    left.legend(fontsize=8, loc="lower right")
    right.boxplot([r.leakage.distances or [float("nan")] for r in results])
    right.set_xticks(range(1, len(results) + 1), labels, fontsize=8)
    right.set_ylabel("normalised edit distance to the private examples")
    right.set_title("Lessons vs. the private examples they were drawn from")
    right.set_ylim(-0.02, 1.02)
    config = report.config
    figure.suptitle(
        f"{config.task}: teacher {config.teacher_model}, student {config.student_model}, "
        f"T = {report.completed}, N = {n}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_outputs(report: PrivacyReport, folder: Path, stem: str = "privacy") -> list[Path]:
    """`<stem>.json`, `<stem>.md` and `<stem>.png` in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}.{ext}" for ext in ("json", "md", "png")]
    paths[0].write_text(json.dumps(report.model_dump(mode="json"), indent=2) + "\n")
    paths[1].write_text(markdown(report))
    plot(report, paths[2])
    return paths
