"""The main job: teach a student with both methods and show its accuracy, over several seeds.

One experiment through the harness: 0-shot, the original examples (the upper bar, which leaks
them), instructions and synthetic examples, each on the same held-out examples in every run,
with the mean and a 95% interval over runs. llama.cpp's CPU arithmetic differs between
machines, so one seed's numbers do not carry over: the interval is the result.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sociallearn.engine.pool import ModelPool
from sociallearn.experiments.runner import ExperimentResult, run_experiment
from sociallearn.experiments.spec import ExperimentSpec, MethodSpec
from sociallearn.settings import Settings, TeachSettings

console = Console(soft_wrap=True)
PAPER = {  # PaLM 2-S, SMS spam (Mohtashami et al., Table 1-2)
    "zero_shot": 14.2,
    "original_examples": 96.0,
    "instructions": 92.9,
    "synthetic_examples": 86.5,
}


def demo_spec(settings: Settings, *, runs: int, eval_size: int) -> ExperimentSpec:
    """The demo's experiment: the run settings, both baselines and both methods."""
    methods = [
        MethodSpec.parse(label)
        for label in ("zero_shot", "original_examples", "instructions", "synthetic_examples")
    ]
    methods[-1] = MethodSpec.model_validate(
        {
            "method": "synthetic_examples",
            "aggregator": "random" if settings.aggregator == "random" else "voting",
            "balanced": settings.balanced_generation or settings.aggregator == "balanced_voting",
            "checked": settings.teacher_check,
        }
    )
    shared = settings.model_dump(include=set(TeachSettings.model_fields))
    shared["test_size"] = eval_size
    return ExperimentSpec.model_validate(
        {**shared, "name": "demo", "methods": methods, "runs": runs}
    )


def run_demo(
    settings: Settings, *, runs: int = 3, eval_size: int = 200, json_path: Path | None = None
) -> ExperimentResult:
    """Run the demo experiment (cells resume from `<library>/../demo`) and print its table."""
    spec = demo_spec(settings, runs=runs, eval_size=eval_size)
    console.print(
        f"task {spec.task}; teacher {spec.teacher_model}, student {spec.student_model}; "
        f"m={spec.teachers} teachers, n={spec.shots} shots; {runs} runs (seeds {spec.seeds}), "
        f"{eval_size} held-out examples each"
    )
    out_dir = Path(settings.library).parent / "demo"
    result = run_experiment(spec, models=ModelPool(n_gpu_layers=spec.n_gpu_layers), out_dir=out_dir)
    table = Table(
        "method", "accuracy, mean [95% interval]", "runs", "paper (PaLM 2-S)",
        title=f"Student accuracy on {spec.task} ({eval_size} held-out examples per run)",
    )  # fmt: skip
    for summary in result.summaries:
        interval = summary.interval
        runs_text = ", ".join(f"{100 * a:.1f}" for a in summary.accuracies)
        low_high = f" [{100 * interval.low:.1f}, {100 * interval.high:.1f}]" if runs > 1 else ""
        paper = PAPER.get(summary.method.split("+")[0])
        table.add_row(
            summary.method, f"{100 * interval.mean:.1f}%{low_high}", runs_text,
            "" if paper is None or spec.task != "sms_spam" else f"{paper}",
        )  # fmt: skip
    console.print(table)
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(json.loads(result.model_dump_json()), indent=1))
    return result
