"""Where a run's time goes, stage by stage, against llama.cpp's floor for the same tokens.

One plain and one refined synthetic-examples cell (the locked study's spec: qwen1.5b teaches
qwen1.5b, domain calibration, m = 4, n = 8, k = 8, keep 4, 32 held back, K = 3; tested on the
tuning part), each run through the harness with every model call timed and attributed to the
library stage that made it (`STAGES`: the caller's function on the stack), and every
`llama_decode` counted: tokens evaluated in prompt-sized batches and generation steps. The
floor of a stage is the time llama.cpp needs for its tokens on this machine: its prompt tokens
at the measured prompt rate plus its steps at the measured step rate (`floor_rates`). What is
not inside a model call (the privacy filter, LangGraph, Chroma, Python) is its own row.

    .venv/bin/python -m benchmarks.stage_profile                 # about 40 minutes on 2 cores
    .venv/bin/python -m benchmarks.stage_profile --methods synthetic_examples+random --test-size 20
    .venv/bin/python -m benchmarks.stage_profile --preset paper --methods synthetic_examples+random
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import llama_cpp
from rich.console import Console
from rich.table import Table

from sociallearn.apps.presets import get_preset
from sociallearn.core.lm import LanguageModel
from sociallearn.engine import ModelPool
from sociallearn.engine.llama import LlamaEngine
from sociallearn.experiments.harness import run_cell
from sociallearn.experiments.spec import ExperimentSpec, MethodSpec

RESULTS = Path(__file__).parent / "results"
CHART = Path(__file__).parents[1] / "docs" / "images" / "stage-profile.png"
SPEC = {
    "name": "profile", "task": "sms_spam", "teacher_model": "qwen1.5b",
    "student_model": "qwen1.5b", "calibration": "domain", "teachers": 4, "shots": 8,
    "samples": 8, "keep": 4, "lessons": 8, "votes_held_out": 32, "refine_candidates": 3,
    "test_size": 100, "runs": 1,
}  # fmt: skip
# The stage of a model call: refinement's stages when refining (whatever they call), else the
# innermost of the others on the caller's stack.
REFINING = {
    "without_harmful": "refinement: leave-one-out",
    "self_check": "refinement: held-back checks",
    "correctness": "refinement: acceptance check",
    "revise_instruction": "refinement: revisions",
    "revise_examples": "refinement: revisions",
}
STAGES = {
    "_rank": "perplexity ranking",
    "sampled_examples": "sampling",
    "balanced_samples": "sampling",
    "helpful_on_held_out": "teacher check",
    "write_instruction": "instruction drafting",
    "scores_on": "voting checks",
    "evaluate": "student evaluation",
}
# Stages that own whatever they call (the teacher's own classifier evaluates its examples), below
# refinement's.
OWNING = {"labelled_as_taught": "label check"}
STEP = 16  # a llama_decode of at most this many tokens is a generation step
MODEL_CALLS = (
    "complete", "complete_batch", "instruct", "sample", "sample_scored", "score", "score_pairs", "rank",
)  # fmt: skip


@dataclass
class Stage:
    """What one stage spent: seconds inside model calls, calls, and what llama.cpp decoded."""

    seconds: float = 0.0
    calls: int = 0
    decodes: int = 0
    prompt_tokens: int = 0  # tokens of llama_decode batches larger than STEP
    step_tokens: int = 0
    steps: int = 0


def stage_of_stack() -> str:
    """The stage of the model call being made now, from its callers' function names."""
    frame: FrameType | None = sys._getframe(2)
    inner = owner = None
    while frame is not None:
        name = frame.f_code.co_name
        if name in REFINING:
            return REFINING[name]
        owner = owner or OWNING.get(name)
        if inner is None and name in STAGES:
            inner = STAGES[name]
        frame = frame.f_back
    return owner or inner or "other model calls"


class Profile:
    """Stages by name, filled by `ProfiledModel` calls and `llama_decode`."""

    def __init__(self) -> None:
        self.stages: dict[str, Stage] = defaultdict(Stage)
        self.current = threading.local()
        self.lock = threading.Lock()

    def count_decode(self, n_tokens: int) -> None:
        stage = self.stages[getattr(self.current, "stage", None) or "other model calls"]
        with self.lock:
            stage.decodes += 1
            if n_tokens > STEP:
                stage.prompt_tokens += n_tokens
            else:
                stage.step_tokens += n_tokens
                stage.steps += 1

    def timed(self, call: Callable[..., Any]) -> Callable[..., Any]:
        """`call`, timed and attributed to the stage on its caller's stack."""

        def run(*args: Any, **kwargs: Any) -> Any:
            if getattr(self.current, "stage", None) is not None:  # a call inside a call
                return call(*args, **kwargs)
            self.current.stage = stage_of_stack()
            started = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                stage = self.stages[self.current.stage]
                with self.lock:
                    stage.seconds += time.perf_counter() - started
                    stage.calls += 1
                self.current.stage = None

        return run


class ProfiledModel:
    """A model whose calls `profile` times by stage."""

    def __init__(self, model: LanguageModel, profile: Profile) -> None:
        self.model = model
        self.name = model.name
        for call in MODEL_CALLS:
            if hasattr(model, call):  # `sample_scored` is optional
                setattr(self, call, profile.timed(getattr(model, call)))

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.model, attribute)


def counting_decodes(profile: Profile) -> Callable[[], None]:
    """Count every llama_decode into `profile` (the project's and llama-cpp-python's own);
    returns the undo."""
    modules: list[Any] = [llama_cpp, llama_cpp.llama_cpp]
    originals = [module.llama_decode for module in modules]

    def decode(ctx: Any, batch: Any) -> int:
        profile.count_decode(int(batch.n_tokens))
        return int(originals[0](ctx, batch))

    for module in modules:
        module.llama_decode = decode

    def undo() -> None:
        for module, original in zip(modules, originals, strict=True):
            module.llama_decode = original

    return undo


def floor_rates(engine: LlamaEngine, prompt_tokens: int = 512, steps: int = 64) -> dict[str, float]:
    """llama.cpp's rates on this machine: prompt tokens per second (one prompt of
    `prompt_tokens`) and generation steps per second (`steps` single-token decodes)."""
    llm = engine.llm
    tokens = (engine.tokenize("The quick brown fox jumps over the lazy dog. " * 60))[:prompt_tokens]
    llm.reset()
    started = time.perf_counter()
    llm.eval(tokens)
    prompt_rate = len(tokens) / (time.perf_counter() - started)
    started = time.perf_counter()
    for token in tokens[:steps]:
        llm.eval([token])
    step_rate = steps / (time.perf_counter() - started)
    llm.reset()
    return {"prompt_tokens_per_s": prompt_rate, "steps_per_s": step_rate}


def profile_cell(
    spec: ExperimentSpec,
    method: MethodSpec,
    seed: int,
    out_dir: Path,
    rates: dict[str, float],
    engines: dict[str, LanguageModel],
) -> dict[str, Any]:
    """One cell, run with its model calls profiled (on `engines`, loaded once for all cells):
    accuracy, wall time, the stages."""
    profile = Profile()

    def load(name: str, n_gpu_layers: int | None) -> LanguageModel:
        if name not in engines:
            engines[name] = LlamaEngine(name, n_gpu_layers=n_gpu_layers)
        return ProfiledModel(engines[name], profile)

    undo = counting_decodes(profile)
    started = time.perf_counter()
    try:
        cell = run_cell(spec, method, seed, ModelPool(load), out_dir=out_dir)
    finally:
        undo()
    wall = time.perf_counter() - started
    stages = {name: asdict(stage) for name, stage in profile.stages.items()}
    for stage in stages.values():
        stage["floor_seconds"] = (
            stage["prompt_tokens"] / rates["prompt_tokens_per_s"]
            + stage["steps"] / rates["steps_per_s"]
        )
    inside = sum(stage["seconds"] for stage in stages.values())
    stages["outside model calls"] = {"seconds": wall - inside, "calls": 0, "floor_seconds": 0.0}
    return {"method": method.label, "seed": seed, "accuracy": cell.accuracy,
            "seconds": wall, "stages": stages}  # fmt: skip


def show(cells: Sequence[dict[str, Any]]) -> None:
    for cell in cells:
        table = Table("stage", "seconds", "share", "calls", "prompt tokens", "steps",
                      "floor (s)", "× floor",
                      title=f"{cell['method']}, seed {cell['seed']}: {cell['seconds'] / 60:.1f} "
                      f"min, accuracy {100 * cell['accuracy']:.0f}%")  # fmt: skip
        ordered = sorted(cell["stages"].items(), key=lambda item: -item[1]["seconds"])
        for name, stage in ordered:
            floor = stage["floor_seconds"]
            table.add_row(
                name, f"{stage['seconds']:.0f}", f"{stage['seconds'] / cell['seconds']:.0%}",
                str(stage["calls"]), str(stage.get("prompt_tokens", "")),
                str(stage.get("steps", "")), f"{floor:.0f}" if floor else "",
                f"{stage['seconds'] / floor:.1f}" if floor else "",
            )  # fmt: skip
        Console().print(table)


def plot(report: dict[str, Any], path: Path) -> None:
    """A bar per cell: each stage's floor stacked (what llama.cpp needs for its tokens), beside
    the cell's wall time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = report["cells"]
    names = sorted(
        {name for cell in cells for name, stage in cell["stages"].items() if stage.get("calls")},
        key=lambda name: (
            -max(cell["stages"].get(name, {}).get("floor_seconds", 0) for cell in cells)
        ),
    )
    figure, ax = plt.subplots(figsize=(8, 1.2 + 1.1 * len(cells)))
    rows = [f"{cell['preset'] or 'locked study'}: {cell['method']}" for cell in cells]
    left = [0.0] * len(cells)
    for name in names:
        widths = [cell["stages"].get(name, {}).get("floor_seconds", 0.0) / 60 for cell in cells]
        ax.barh(rows, widths, left=left, height=0.4, label=name)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.scatter([cell["seconds"] / 60 for cell in cells], rows, marker="D", color="black",
               label="wall time", zorder=3)  # fmt: skip
    ax.set(xlabel="minutes (bars: llama.cpp's floor for each stage's tokens)")
    ax.invert_yaxis()
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3)
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="synthetic_examples+random,"
                        "synthetic_examples+random+refined")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-size", type=int, default=SPEC["test_size"])
    parser.add_argument("--preset", help="profile this preset's settings instead of SPEC's")
    parser.add_argument("--out", type=Path, default=RESULTS / "stage_profile.json")
    parser.add_argument("--chart", type=Path, default=CHART, help="the chart drawn from --out")
    parser.add_argument("--chart-only", action="store_true", help="draw the chart, run nothing")
    args = parser.parse_args()
    if args.chart_only:
        plot(json.loads(args.out.read_text(encoding="utf-8")), args.chart)
        return
    methods = [MethodSpec.parse(label) for label in args.methods.split(",")]
    preset = get_preset(args.preset).values(ExperimentSpec.model_fields) if args.preset else {}
    spec = ExperimentSpec.model_validate(
        {**SPEC, **preset, "test_size": args.test_size, "methods": methods}
    )
    engine = LlamaEngine(spec.teacher_model)
    rates = floor_rates(engine)
    engines: dict[str, LanguageModel] = {spec.teacher_model: engine}
    setting = {"preset": args.preset, "spec": json.loads(spec.model_dump_json()), "rates": rates,
               "cpu_count": os.cpu_count(), "load_average": os.getloadavg()}  # fmt: skip
    cells = []
    for method in methods:
        folder = Path(".sociallearn/profile")
        cells.append({**setting, **profile_cell(spec, method, args.seed, folder, rates, engines)})
        show(cells[-1:])
        write_cells(args.out, cells)
    plot(json.loads(args.out.read_text(encoding="utf-8")), args.chart)
    print(f"wrote {args.out} and {args.chart}")


def write_cells(path: Path, cells: list[dict[str, Any]]) -> None:
    """Add `cells` to the profile in `path`, each replacing an earlier one of the same preset
    and method."""
    report = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"cells": []}
    new = {(cell["preset"], cell["method"]) for cell in cells}
    kept = [cell for cell in report["cells"] if (cell["preset"], cell["method"]) not in new]
    path.write_text(json.dumps({"cells": kept + cells}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
