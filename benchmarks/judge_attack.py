"""What a coordinator learns from a teacher service's judge answers: a membership attack.

The service judges student prompts on its owner's held-back examples and answers with their
mean scores. An attacker who holds a message and its label asks, for each target message, for
the scores of two prompts: the 0-shot prompt, and the same prompt with the target as an example.
If the target is one of the examples the service judges on, the second prompt lets the model
copy its label and that example's score jumps, moving the mean by about the jump / n; if not,
the two scores differ by a general effect only. The attacker calls a target a member when the
difference, averaged over its repeated requests, exceeds a threshold it sets on messages it
knows are not members (its own: the 90th percentile of their differences, so about 10% false
alarms). Measured side by side, on the real service code and a real model, for exact answers
and ε-differentially private ones (`serve-teacher --judge-epsilon`), against requests per target;
with `--max-requests B` the attack gets B requests in all. Each judge request goes through
`TeacherService.judge` (the owner's bounds, noise from the OS, the journal); the model's scores
of a (prompt, example) pair are computed once and remembered, since only the noise differs
between repeated requests.

    .venv/bin/python -m benchmarks.judge_attack --model smollm2 --targets 16

It keeps each model's report in judge_attack.json and draws them all in docs/images.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from sociallearn.core.lm import LanguageModel, MemoisedScores
from sociallearn.engine import ModelPool
from sociallearn.stores.silo import own_silo, partition
from sociallearn.tasks import Example, Task, get_task
from sociallearn.teaching.judging import judging_examples
from sociallearn.teaching.service import TeacherService
from sociallearn.teaching.settings import ServiceConfig, Settings
from sociallearn.teaching.student import build_prompt

RESULTS = Path(__file__).parent / "results"
PLOT = Path(__file__).parent.parent / "docs" / "images" / "judge-attack.png"
EPSILONS: tuple[float | None, ...] = (None, 10.0, 1.0, 0.1)  # None: exact answers
REPEATS = (1, 2, 4, 8, 16)
FALSE_ALARMS = 0.1  # the attacker's threshold: this quantile of its non-members' differences


def answers(
    service: TeacherService,
    task: Task,
    groups: Mapping[str, Sequence[Example]],
    repeats: int,
    held: int,
) -> dict[str, np.ndarray]:
    """Per group, (targets × repeats) score differences, each from one judge request of the
    attacker, which asks about every target once before it asks about any again (so that a
    request budget spreads over all of them)."""
    base = build_prompt(task)
    public = Settings(task=task.name, votes_held_out=held).public()
    found = {name: np.full((len(targets), repeats), np.nan) for name, targets in groups.items()}
    for repeat in range(repeats):
        for name, targets in groups.items():
            for row, target in enumerate(targets):
                with_target = build_prompt(task, examples=[task.format_example(target)])
                answer = service.judge("teacher-0", public, [base, with_target], "attacker")
                if "scores" in answer:  # else refused: over the attacker's budget
                    found[name][row, repeat] = answer["scores"][1] - answer["scores"][0]
    return found


def accuracy_after(
    members: np.ndarray, outsiders: np.ndarray, own: np.ndarray, repeats: int
) -> dict[str, float]:
    """The attack's balanced accuracy when it averages each target's first `repeats` answers
    (answers it was refused count as missing; a target with none is called a non-member)."""

    def averaged(rows: np.ndarray) -> np.ndarray:
        first = rows[:, :repeats]
        counts = np.sum(~np.isnan(first), axis=1)
        return np.where(counts > 0, np.nansum(first, axis=1) / np.maximum(counts, 1), -np.inf)

    threshold = float(np.quantile(averaged(own), 1 - FALSE_ALARMS))
    found = float(np.mean(averaged(members) > threshold))
    false = float(np.mean(averaged(outsiders) > threshold))
    return {"tpr": found, "fpr": false, "accuracy": (found + 1 - false) / 2}


def run(model: LanguageModel, args: argparse.Namespace) -> dict[str, Any]:
    task = get_task("sms_spam")
    tuning, _ = partition(task, task.load(args.data_path))
    owner = tuning[: 4 * args.held]  # the owner's file: its first quarter is held back
    judged = judging_examples(task, own_silo("teacher-0", owner), args.held)
    others = [example for example in tuning[4 * args.held :] if example not in owner]
    members = judged[: args.targets]
    outsiders, own = others[: args.targets], others[args.targets : 2 * args.targets]
    remembered = MemoisedScores(model)
    settings = []
    with tempfile.TemporaryDirectory() as folder:
        data = task.write(owner, Path(folder) / "owner.tsv")
        for budget in (None, args.budget):
            for epsilon in EPSILONS if budget is None else EPSILONS[:1]:
                journal = Path(folder) / f"journal-{epsilon}-{budget}.jsonl"
                config = ServiceConfig(
                    data=str(data), journal=str(journal), judge_epsilon=epsilon,
                    max_held_out=args.held, max_requests=budget,
                )  # fmt: skip
                service = TeacherService(config)
                service.models = ModelPool.fixed(remembered)
                started = time.time()
                groups = {"own": own, "members": members, "outsiders": outsiders}
                rows = answers(service, task, groups, max(REPEATS), args.held)
                by_repeats = [
                    {"repeats": r, "requests": r * 3 * args.targets,
                     **accuracy_after(rows["members"], rows["outsiders"], rows["own"], r)}
                    for r in REPEATS
                ]  # fmt: skip
                settings.append({
                    "epsilon": epsilon, "max_requests": budget, "results": by_repeats,
                    "refused": int(sum(np.isnan(v).sum() for v in rows.values())),
                    "seconds": round(time.time() - started, 1),
                })  # fmt: skip
    return {
        "model": model.name, "task": task.name, "held_back": args.held,
        "targets": args.targets, "false_alarm_quantile": FALSE_ALARMS,
        "budget": args.budget, "settings": settings, "cpu_count": os.cpu_count(),
    }  # fmt: skip


def plot(reports: Mapping[str, dict[str, Any]], path: Path) -> None:
    """Balanced accuracy against judge requests per target, a line per kind of answer (the
    budgeted run dashed), a panel per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        1, len(reports), figsize=(4.6 * len(reports), 3.6), sharey=True, squeeze=False
    )
    for ax, (model, report) in zip(axes[0], reports.items(), strict=True):
        for setting in report["settings"]:
            label = "exact" if setting["epsilon"] is None else f"ε = {setting['epsilon']:g}"
            if setting["max_requests"]:
                label += f", {setting['max_requests']} requests in all"
            results = setting["results"]
            ax.plot(
                [r["repeats"] for r in results],
                [100 * r["accuracy"] for r in results],
                marker="o",
                linestyle="--" if setting["max_requests"] else "-",
                label=label,
            )
        ax.axhline(50, color="grey", linewidth=0.8)
        ax.set(title=model, xscale="log", xlabel="judge requests per target", ylim=(0, 100))
        ax.set_xticks(REPEATS, [str(r) for r in REPEATS])
        ax.minorticks_off()
    axes[0][0].set_ylabel("balanced accuracy (%)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize="small")
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--targets", type=int, default=16, help="members, and as many outsiders")
    parser.add_argument("--held", type=int, default=32, help="held-back examples judged on")
    parser.add_argument("--budget", type=int, default=48, help="--max-requests of the last run")
    parser.add_argument("--data-path", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS / "judge_attack.json")
    parser.add_argument("--plot", type=Path, default=PLOT)
    args = parser.parse_args()
    report = run(ModelPool().get(args.model), args)
    table = Table("answers", "max requests", *(f"{r} per target" for r in REPEATS),
                  title="Membership attack through judge requests: balanced accuracy")  # fmt: skip
    for setting in report["settings"]:
        epsilon = "exact" if setting["epsilon"] is None else f"ε = {setting['epsilon']:g}"
        cells = [f"{100 * r['accuracy']:.0f}%" for r in setting["results"]]
        table.add_row(epsilon, str(setting["max_requests"] or "none"), *cells)
    Console().print(table)
    reports = json.loads(args.out.read_text())["models"] if args.out.exists() else {}
    reports[report["model"]] = report
    args.out.write_text(json.dumps({"models": reports}, indent=1) + "\n", encoding="utf-8")
    plot(reports, args.plot)
    print(f"wrote {args.out} and {args.plot}")


if __name__ == "__main__":
    main()
