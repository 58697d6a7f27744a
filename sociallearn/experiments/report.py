"""Write an experiment's results: JSON (everything), markdown (the paper's table layout), plot."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from sociallearn.experiments.runner import ExperimentResult, MethodSummary

# The paper's numbers (PaLM 2-S teacher and student, n = 8) that this project has on record.
# The synthetic-examples figures are recorded without their aggregator.
PAPER: dict[str, dict[str, float]] = {
    "sms_spam": {
        "zero_shot": 14.2,
        "original_examples": 96.0,
        "instructions": 92.9,
        "synthetic_examples": 86.5,
    },
    "gsm8k": {"original_examples": 64.1, "synthetic_examples": 63.4},
}
NAMES = {
    "zero_shot": "0-shot",
    "original_examples": "original examples",
    "instructions": "instructions",
}
TABLE_1 = ("zero_shot", "original_examples", "instructions")


def method_name(label: str) -> str:
    """A column title: 'synthetic (voting, balanced)' for 'synthetic_examples+voting+balanced'."""
    if label in NAMES:
        return NAMES[label]
    _, *options = label.split("+")
    return f"synthetic ({', '.join(options)})"


def write_json(results: Sequence[ExperimentResult], path: Path) -> None:
    """Every setting, prediction and summary, as one JSON document."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"experiments": [json.loads(result.model_dump_json()) for result in results]}
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")


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
        "Each run draws a new split of the data, new teacher silos and new samples.",
        "",
    ]
    lines += _settings_table(results)
    lines += ["", "## Table 1: learning from instructions", ""]
    lines += _table(results, list(TABLE_1))
    synthetic = _synthetic_labels(results)
    if synthetic:
        lines += ["", "## Table 2: learning from synthetic examples of m teachers", ""]
        lines += _table(results, ["zero_shot", "original_examples", *synthetic])
    lines += ["", "## Every method: runs, p-values and the recovered gap", ""]
    lines += _details(results)
    lines += [
        "",
        "Recovered gap = (method − 0-shot) / (original − 0-shot), on mean accuracies: 1 means the "
        "method does as well as seeing the private examples, 0 as well as seeing nothing, "
        "below 0 worse than seeing nothing; '—' where the original examples do no better "
        "than 0-shot (no gap to recover).",
    ]
    if any(r.spec.task in PAPER for r in results):
        lines += [
            "",
            "Paper rows: PaLM 2-S as teacher and student, n = 8 (SMS spam: 0-shot 14.2, original "
            "96.0, instructions 92.9, synthetic 86.5; GSM8K: original 64.1, synthetic 63.4). The "
            "synthetic figures are on record without their aggregator, so each is shown in every "
            "synthetic column; '—' marks a number not on record here (no Random Insertion row).",
        ]
    return "\n".join(lines) + "\n"


def _synthetic_labels(results: Sequence[ExperimentResult]) -> list[str]:
    labels: dict[str, None] = {}
    for result in results:
        for method in result.spec.methods:
            if method.method == "synthetic_examples":
                labels.setdefault(method.label, None)
    return list(labels)


def _settings_table(results: Sequence[ExperimentResult]) -> list[str]:
    lines = [
        "| experiment | task | teacher → student | n | m | τ | k | keep | lessons | test × runs "
        "| time (CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r.spec
        lines.append(
            f"| {s.name} | {s.task} | {s.teacher_model} → {s.student_model} | {s.shots} | "
            f"{s.teachers} | {s.temperature} | {s.samples} | {s.keep} | {s.lessons} | "
            f"{r.test_size} × {len({c.seed for c in r.cells})} | {r.seconds / 60:.1f} min "
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
        "| recovered gap | time (CPU) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for s in r.summaries:
            runs = ", ".join(f"{100 * a:.1f}" for a in s.accuracies)
            p = "—" if s.p_value is None else f"{s.p_value:.4f}"
            gap = "—" if s.recovered_gap is None else f"{s.recovered_gap:+.2f}"
            lines.append(
                f"| {r.spec.name} | {method_name(s.method)} | {runs} | {cell_text(s)} | {p} | "
                f"{gap} | {s.seconds / 60:.1f} min ({s.cpu_seconds / 60:.1f} min) |"
            )
    return lines


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
        ax.set_ylim(0, max(100.0, *[m + e for m, e in zip(means, errors[1], strict=True)]))
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


def write_all(results: Sequence[ExperimentResult], stem: Path, *, title: str) -> list[Path]:
    """`stem`.json, .md and .png; returns their paths."""
    paths = [stem.with_suffix(".json"), stem.with_suffix(".md"), stem.with_suffix(".png")]
    write_json(results, paths[0])
    paths[1].write_text(to_markdown(results, title=title), encoding="utf-8")
    write_plot(results, paths[2])
    return paths
