"""Reports: the experiments' and the privacy measurement's tables (markdown), plots and JSON."""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from sociallearn.experiments.harness import CellResult
from sociallearn.experiments.leakage import PrivacyReport
from sociallearn.experiments.runner import ExperimentResult, MethodSummary

# The paper's numbers (PaLM 2-S teacher and student, n = 8) that this project has on record.
# The synthetic-examples figures are recorded without their aggregator.
PAPER: dict[str, dict[str, float]] = {
    "sms_spam": {
        "zero_shot": 14.2,
        "manual_prompt": 94.0,
        "original_examples": 96.0,
        "instructions": 92.9,
        "synthetic_examples": 86.5,
    },
    "sms_spam_class": {
        "zero_shot": 92.7,
        "original_examples": 96.8,
        "instructions": 93.4,
        "synthetic_examples": 91.5,
    },
    "gsm8k": {"manual_prompt": 15.6, "original_examples": 64.1, "synthetic_examples": 63.4},
    "random_insertion": {"manual_prompt": 34.9},
}
NAMES = {
    "zero_shot": "0-shot",
    "manual_prompt": "manual prompt",
    "original_examples": "original examples",
    "instructions": "instructions",
}
TABLE_1 = ("zero_shot", "original_examples", "instructions")
TEST_PARTS = {  # `ExperimentResult.test_part`, as a table says it
    "all": "all (before the locked split)",
    "tuning": "tuning part",
    "locked": "**locked part** (final)",
}


def method_name(label: str) -> str:
    """A column title: 'synthetic (voting, balanced)' for 'synthetic_examples+voting+balanced'."""
    if label in NAMES:
        return NAMES[label]
    base, *options = label.split("+")
    return f"{NAMES.get(base, 'synthetic')} ({', '.join(options)})"


def write_text(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step: a run stopped while writing leaves the previous
    file whole (results are rewritten after every cell, and resumed from)."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def write_json(results: Sequence[ExperimentResult], path: Path) -> None:
    """Every setting, prediction and summary, as one JSON document."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"experiments": [json.loads(result.model_dump_json()) for result in results]}
    write_text(path, json.dumps(payload, indent=1) + "\n")


def read_json(path: Path) -> list[ExperimentResult]:
    """The results `write_json` wrote to `path`, with the settings they were computed with."""
    try:
        experiments = json.loads(path.read_text(encoding="utf-8"))["experiments"]
        return [ExperimentResult.model_validate(result) for result in experiments]
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(map(str, error["loc"]))
        raise ValueError(f"{path}: not experiment results ({where}: {error['msg']})") from exc
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not experiment results ({exc!r})") from exc


def finished_cells(path: Path) -> list[CellResult]:
    """Every readable cell of a results file (none when there is none yet), for
    `run_experiment(reuse=)`: a benchmark run on a fresh clone resumes from its committed
    results. Only the cells are read, so a file whose settings an older version wrote still
    gives its cells (reused where their keys match)."""
    if not path.is_file():
        return []
    try:
        experiments = json.loads(path.read_text(encoding="utf-8"))["experiments"]
        found = [cell for result in experiments for cell in result["cells"]]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not experiment results ({exc!r})") from exc
    cells = []
    for cell in found:
        try:
            cells.append(CellResult.model_validate(cell))
        except ValidationError:
            continue  # written by an older version: that cell is computed again
    return cells


def cell_text(summary: MethodSummary | None) -> str:
    """'62.5 [58.1, 66.9]*' : mean % and 95% interval over runs; * when p < 0.05 vs original."""
    if summary is None:
        return "—"
    interval = summary.interval
    text = f"{100 * interval.mean:.1f}"
    if not math.isnan(interval.low):
        text += f" [{100 * interval.low:.1f}, {100 * interval.high:.1f}]"
    return text + ("*" if summary.significant else "")


def to_markdown(results: Sequence[ExperimentResult], *, title: str = "Results") -> str:
    """Tables 1 (instructions) and 2 (synthetic examples) in the paper's layout, then details."""
    lines = [f"# {title}", ""]
    lines += [
        "Student accuracy (%) on held-out test examples: mean over runs (seeds) with its 95% "
        "Student-t interval over runs. `*`: significantly different from `original examples` "
        "(paired permutation test over every (run, test example), 10,000 reshuffles, p < 0.05). "
        "Each run draws a new split of the data, new teacher silos and new samples. Test data: "
        "the tuning part of the data, or the locked part that only final evaluations read.",
        "",
    ]
    lines += _settings_table(results)
    lines += ["", "## Table 1: learning from instructions", ""]
    manual = [label for label in ("manual_prompt",) if _has_method(results, label)]
    lines += _table(results, [*TABLE_1[:1], *manual, *TABLE_1[1:], *_instruction_labels(results)])
    synthetic = _synthetic_labels(results)
    if synthetic:
        lines += ["", "## Table 2: learning from synthetic examples of m teachers", ""]
        lines += _table(results, ["zero_shot", "original_examples", *synthetic])
    lines += ["", "## Every method: runs, p-values and the recovered gap", ""]
    lines += _details(results)
    lines += [
        "",
        "Recovered gap = (method − 0-shot) / (original − 0-shot), on mean accuracies over the "
        "runs the method has: 1 means the method does as well as seeing the private examples, "
        "0 as well as seeing nothing, below 0 worse than seeing nothing; '—' where the original "
        "examples do no better than 0-shot (no gap to recover).",
    ]
    tasks = sorted({r.spec.task for r in results} & PAPER.keys())
    if tasks:
        on_record = "; ".join(
            f"{task}: " + ", ".join(f"{method_name(m)} {v}" for m, v in PAPER[task].items())
            for task in tasks
        )
        lines += [
            "",
            f"Paper rows: PaLM 2-S as teacher and student, n = 8 ({on_record}). The synthetic "
            "figures are on record without their aggregator, so each is shown in every synthetic "
            "column; '—' marks a number not on record here.",
        ]
    return "\n".join(lines) + "\n"


def _has_method(results: Sequence[ExperimentResult], label: str) -> bool:
    return any(method.label == label for r in results for method in r.spec.methods)


def _instruction_labels(results: Sequence[ExperimentResult]) -> list[str]:
    """Instructions with options beyond the paper (refined, merged), in the specs' order."""
    labels: dict[str, None] = {}
    for result in results:
        for method in result.spec.methods:
            if method.method == "instructions" and method.label != "instructions":
                labels.setdefault(method.label, None)
    return list(labels)


def _synthetic_labels(results: Sequence[ExperimentResult]) -> list[str]:
    labels: dict[str, None] = {}
    for result in results:
        for method in result.spec.methods:
            if method.method == "synthetic_examples":
                labels.setdefault(method.label, None)
    return list(labels)


def _settings_table(results: Sequence[ExperimentResult]) -> list[str]:
    lines = [
        "| experiment | task | teacher → student | n | m | τ | k | keep | lessons | test data "
        "| test × runs | cells done | time (CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r.spec
        lines.append(
            f"| {s.name} | {s.task} | {s.teacher_model} → {s.student_model} | {s.shots} | "
            f"{s.teachers} | {s.temperature} | {s.samples} | {s.keep} | {s.lessons} | "
            f"{TEST_PARTS[r.test_part]} | {r.test_size} × {len({c.seed for c in r.cells})} | "
            f"{len(r.cells)} of {r.planned_cells} | {r.seconds / 60:.1f} min "
            f"({r.cpu_seconds / 60:.1f} min) |"
        )
    return lines


def _table(results: Sequence[ExperimentResult], labels: list[str]) -> list[str]:
    lines = [
        "| task | " + " | ".join(method_name(label) for label in labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    shown: set[str] = set()
    for r in results:
        lines.append(
            f"| {r.spec.name} (ours) | "
            + " | ".join(cell_text(r.summary(label)) for label in labels)
            + " |"
        )
        paper = PAPER.get(r.spec.task)
        if paper and r.spec.task not in shown:
            shown.add(r.spec.task)
            values = [paper.get(label.split("+")[0]) for label in labels]
            lines.append(
                f"| {r.spec.task} (paper) | "
                + " | ".join("—" if v is None else f"{v:.1f}" for v in values)
                + " |"
            )
    return lines


def _details(results: Sequence[ExperimentResult]) -> list[str]:
    lines = [
        "| experiment | method | accuracy per run (%) | mean [95% interval] | p vs original "
        "| p vs 0-shot | p vs the method it extends | recovered gap | time (CPU) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for s in r.summaries:
            runs = ", ".join(f"{100 * a:.1f}" for a in s.accuracies)
            p, p_zero = ("—" if p is None else f"{p:.4f}" for p in (s.p_value, s.p_vs_zero_shot))
            gap = "—" if s.recovered_gap is None else f"{s.recovered_gap:+.2f}"
            lines.append(
                f"| {r.spec.name} | {method_name(s.method)} | {runs} | {cell_text(s)} | {p} | "
                f"{p_zero} | {extension_text(s)} | {gap} | "
                f"{s.seconds / 60:.1f} min ({s.cpu_seconds / 60:.1f} min) |"
            )
    return lines


def extension_text(summary: MethodSummary) -> str:
    """'0.0010 (vs synthetic, random)': the p-value against the method this one extends."""
    if summary.extends is None or summary.p_vs_extended is None:
        return "—"
    return f"{summary.p_vs_extended:.4f} (vs {method_name(summary.extends)})"


def write_plot(results: Sequence[ExperimentResult], path: Path) -> None:
    """Accuracy per method with 95% intervals, one panel per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(results), figsize=(4.5 * len(results), 4.2), squeeze=False, sharey=False
    )
    for ax, r in zip(axes[0], results, strict=True):
        names = [method_name(s.method) for s in r.summaries]
        means = [100 * s.interval.mean for s in r.summaries]
        errors = [
            [
                0.0 if math.isnan(s.interval.low) else 100 * (s.interval.mean - s.interval.low)
                for s in r.summaries
            ],
            [
                0.0 if math.isnan(s.interval.high) else 100 * (s.interval.high - s.interval.mean)
                for s in r.summaries
            ],
        ]
        colours = [
            "#999999"
            if s.method == "zero_shot"
            else "#444444"
            if s.method == "original_examples"
            else "#d62728"
            if s.significant
            else "#1f77b4"
            for s in r.summaries
        ]
        ax.bar(range(len(names)), means, yerr=errors, capsize=3, color=colours)
        ax.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=8)
        ax.set_title(
            f"{r.spec.name}: {r.spec.teacher_model} → {r.spec.student_model}\n"
            f"{r.test_size} test × {len({c.seed for c in r.cells})} runs",
            fontsize=9,
        )
        ax.set_ylabel("student accuracy (%)")
        ax.set_ylim(0, max([100.0, *[m + e for m, e in zip(means, errors[1], strict=True)]]))
    fig.text(
        0.01,
        0.01,
        "bars: mean over runs, 95% interval; red: p < 0.05 vs original examples",
        fontsize=7,
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


OUTPUTS = (".json", ".md", ".png")


def output_paths(stem: Path) -> list[Path]:
    """`stem`.json, .md and .png. Dots in the name are kept ("refined_qwen1.5b_k3_h32"); a stem given
    as one of the outputs ("results.json") loses that suffix first."""
    if stem.suffix in OUTPUTS:
        stem = stem.with_suffix("")
    return [stem.parent / f"{stem.name}{suffix}" for suffix in OUTPUTS]


def write_all(results: Sequence[ExperimentResult], stem: Path, *, title: str) -> list[Path]:
    """`stem`.json, .md and .png (see output_paths); returns their paths."""
    paths = output_paths(stem)
    write_json(results, paths[0])
    write_text(paths[1], to_markdown(results, title=title))
    write_plot(results, paths[2])
    return paths


def privacy_markdown(report: PrivacyReport) -> str:
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


def privacy_plot(report: PrivacyReport, path: Path) -> None:
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


def write_privacy_json(report: PrivacyReport, path: Path) -> None:
    """The privacy report as one JSON document (the benchmark's results file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(report.model_dump(mode="json"), indent=2) + "\n")


def write_privacy(report: PrivacyReport, folder: Path, stem: str = "privacy") -> list[Path]:
    """`<stem>.json`, `<stem>.md` and `<stem>.png` in `folder`."""
    paths = output_paths(folder / stem)
    write_privacy_json(report, paths[0])
    write_text(paths[1], privacy_markdown(report))
    privacy_plot(report, paths[2])
    return paths
