"""A peer side by side: DSPy on the same task, model, private examples and test examples as ours.

For each run (seed) the data split is the one our experiments make for that seed
(`sociallearn.experiments.harness`): the same unseen, label-balanced test messages, and the
same n private examples that `original_examples` shows and that one teacher writes its
instruction from. DSPy talks to the same llama.cpp model in this process through a small
`dspy.BaseLM` (`benchmarks/dspy_peer.py`); nothing is downloaded and DSPy's cache is off.

- `predict`: `dspy.Predict` 0-shot, with the task's own 0-shot instruction. Sees no data.
- `bootstrap`: `BootstrapFewShot` on the n private examples; its demos (the private examples,
  verbatim) go into the student's prompt, as with `original_examples`.
- `copro`: COPRO, DSPy's instruction optimizer that runs offline (MIPROv2 needs far more calls
  and a validation set): the prompt model (our teacher model) proposes instructions, each scored
  by the student on the n private examples; only the best instruction reaches the student.

Every program answers in DSPy's own format (ChatAdapter, JSON fallback) and is parsed by DSPy;
an answer it cannot parse counts as wrong and is counted (`unparsed`). Each taught program's
prompt (instruction and demos) is also given to our student, which scores the labels
(`ours_scored`), so the optimizer can be told apart from the answer format.

    .venv/bin/python -m benchmarks.peers --student gemma3 --runs 3 --budget-minutes 10
    .venv/bin/python -m benchmarks.peers --markdown-only        # the table from the JSON

Finished cells are kept (`--out`) and reused; the results go to benchmarks/results/peers.json
(the table is printed). With `--compare EXPERIMENT.json` (an experiment's JSON, e.g. refined.json) the
table puts our methods beside DSPy's and tests each DSPy method against `original_examples`,
and each of our methods against each DSPy method, with the same paired permutation test, on
the same (run, test example) pairs. Every committed peers report's cells are reused, so a new
experiment is set beside DSPy without running DSPy again:

    .venv/bin/python -m benchmarks.peers --student qwen1.5b --markdown-only \
        --compare benchmarks/results/refined_qwen1.5b_student-qwen1.5b_k3_h32_revision-redraft_calibration-domain_separate-feedback.json \
        --results .sociallearn/peers-redraft   # a report kept out of benchmarks/results
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from benchmarks import dspy_peer
from sociallearn.engine import ModelPool
from sociallearn.experiments.harness import cell_settings
from sociallearn.experiments.report import output_paths
from sociallearn.experiments.spec import ExperimentSpec, MethodSpec
from sociallearn.experiments.stats import (
    Interval,
    mean_interval,
    permutation_p_value,
)
from sociallearn.teaching.evaluate import evaluate
from sociallearn.teaching.resources import Resources
from sociallearn.teaching.student import Student, build_prompt

RESULTS = Path(__file__).parent / "results"
PEER_METHODS = ("predict", "bootstrap", "copro")
SEES = {
    "predict": "the task's 0-shot instruction only; no data",
    "bootstrap": "the n private examples; they reach the student verbatim as demos (leaks them, "
    "as original_examples)",
    "copro": "the n private examples, to score candidate instructions with the student's model "
    "(the prompt model sees instructions and scores only); only the instruction reaches the "
    "student",
}
SIGNIFICANCE = 0.05


class PeerSettings(BaseModel):
    """What a DSPy cell depends on (its key)."""

    task: str = "sms_spam"
    data_path: str | None = None  # default: the shared datasets
    student_model: str = "gemma3"
    prompt_model: str = "smollm2"  # COPRO's instruction writer: our teacher model
    shots: int = 8
    test_size: int = 100
    answer_tokens: int = 24
    copro_breadth: int = 4
    copro_depth: int = 2
    copro_temperature: float = 1.0

    def key(self, method: str, seed: int) -> str:
        used = self.model_dump(exclude={"data_path"} if self.data_path is None else set())
        if method != "copro":
            used = {k: v for k, v in used.items() if not k.startswith(("copro", "prompt"))}
        payload = json.dumps(
            {**used, "method": method, "seed": seed, "dspy": _dspy_version()}
            | {"adapter": dspy_peer.ADAPTER_VERSION}
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


class PeerPrediction(BaseModel):
    input: str
    gold: str
    answer: str | None  # None: DSPy could not parse the reply
    correct: bool


class PeerCell(BaseModel):
    """One DSPy method on one run: every prediction, what it taught, and what it cost."""

    method: str
    seed: int
    key: str
    settings: PeerSettings
    accuracy: float
    n: int
    unparsed: int
    compile_seconds: float
    eval_seconds: float
    lm_calls: int  # calls to the student model (compile and evaluation)
    prompt_lm_calls: int = 0  # calls to the prompt model (COPRO)
    instruction: str
    demos: list[tuple[str, str]] = Field(default_factory=list)
    compile_error: str | None = None  # the optimizer failed; the student got the start program
    predictions: list[PeerPrediction]
    ours_scored: float | None = None  # our student (label scoring) on the program's prompt
    ours_predictions: list[bool] = Field(default_factory=list)


class PeerSummary(BaseModel):
    method: str
    student_model: str
    prompt_model: str | None
    runs: int
    accuracies: list[float]
    interval: Interval
    unparsed: list[int]
    ours_scored: Interval | None = None
    compile_seconds: float  # mean per run
    eval_seconds: float  # mean per run
    p_value: float | None = None  # paired permutation test against original_examples
    sees: str


def _dspy_version() -> str:
    from importlib.metadata import version

    return version("dspy")


def run_cell(
    settings: PeerSettings,
    method: str,
    seed: int,
    models: ModelPool,
    start: PeerCell | None = None,
) -> PeerCell:
    """Teach (compile) and evaluate one DSPy method on run `seed`, on our split of that seed.

    `start`: the `predict` cell of this run; when COPRO fails, the student holds that very
    program, so its (greedy, deterministic) answers are taken from there, not computed again.
    """
    import dspy

    spec = ExperimentSpec(
        task=settings.task,
        data_path=settings.data_path,
        shots=settings.shots,
        test_size=settings.test_size,
        student_model=settings.student_model,
        teacher_model=settings.prompt_model,
        seed=seed,
    )
    # The split and private examples of `original_examples` on this run (one teacher's silo).
    ours = cell_settings(spec, MethodSpec.parse("original_examples"), seed, "unused-library")
    resources = Resources(ours, models=models)
    task, split = resources.task, resources.split
    shots = split.silos["teacher-0"].shots(settings.shots, seed)
    student_model = resources.student_model
    lm = dspy_peer.engine_lm(student_model, max_tokens=settings.answer_tokens, seed=seed)
    dspy.configure(lm=lm)
    program = dspy.Predict(dspy_peer.classify_signature(task))
    trainset = dspy_peer.to_dspy(shots)
    prompt_lm = None
    compile_error: str | None = None
    started = time.time()
    if method == "bootstrap":
        optimizer = dspy.BootstrapFewShot(metric=dspy_peer.exact_label)
        program = optimizer.compile(program, trainset=trainset)
    elif method == "copro":
        prompt_lm = dspy_peer.engine_lm(
            models.get(settings.prompt_model), max_tokens=256, seed=seed
        )
        optimizer = dspy.COPRO(
            prompt_model=prompt_lm,
            metric=dspy_peer.exact_label,
            breadth=settings.copro_breadth,
            depth=settings.copro_depth,
            init_temperature=settings.copro_temperature,
        )
        from dspy.utils.exceptions import AdapterParseError

        try:
            program = optimizer.compile(
                program,
                trainset=trainset,
                eval_kwargs={"num_threads": 1, "display_progress": False, "display_table": 0},
            )
        except AdapterParseError as exc:
            # The prompt model wrote no proposal DSPy could read (in its format or as JSON):
            # COPRO stops, and the student keeps the program it started from (0-shot).
            compile_error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
    elif method != "predict":
        raise ValueError(f"unknown peer method {method!r}; known: {', '.join(PEER_METHODS)}")
    compiled = time.time()
    if compile_error and start is not None and start.method == "predict" and start.seed == seed:
        result = dspy_peer.PeerEvaluation(
            [dspy_peer.PeerPrediction(**p.model_dump()) for p in start.predictions]
        )
    else:
        result = dspy_peer.evaluate_program(program, split.test)
    evaluated = time.time()
    instruction, demos = dspy_peer.program_prompt(program)
    cell = PeerCell(
        method=method,
        seed=seed,
        key=settings.key(method, seed),
        settings=settings,
        accuracy=result.accuracy,
        n=len(result.predictions),
        unparsed=result.unparsed,
        compile_seconds=compiled - started,
        eval_seconds=evaluated - compiled,
        lm_calls=lm.calls,
        prompt_lm_calls=prompt_lm.calls if prompt_lm is not None else 0,
        instruction=instruction,
        demos=demos,
        compile_error=compile_error,
        predictions=[PeerPrediction(**vars(p)) for p in result.predictions],
    )
    if method != "predict":  # predict's prompt is our 0-shot prompt
        extra = [instruction] if instruction.strip() != task.zero_shot_instruction else []
        preamble = build_prompt(
            task,
            instructions=extra,
            examples=[f"{task.format_query(text)} {label}" for text, label in demos],
        )
        ours_eval = evaluate(Student.for_settings(student_model, task, spec), preamble, split.test)
        cell.ours_scored = ours_eval.accuracy
        cell.ours_predictions = [p.correct for p in ours_eval.predictions]
    return cell


# ------------------------------------------------------------------------------ reports
def dspy_groups(cells: list[PeerCell]) -> dict[str, list[PeerCell]]:
    """One student's cells grouped by DSPy method (COPRO by its prompt model too), named as the
    reports name them, in PEER_METHODS order."""
    groups: dict[str, list[PeerCell]] = {}
    order = {method: index for index, method in enumerate(PEER_METHODS)}
    for cell in sorted(
        cells, key=lambda c: (order.get(c.method, 99), c.settings.prompt_model, c.seed)
    ):
        prompt = f" (prompt model {cell.settings.prompt_model})" if cell.method == "copro" else ""
        groups.setdefault(f"{cell.method}{prompt}", []).append(cell)
    return groups


def summarise(
    groups: dict[str, list[PeerCell]], original: dict[int, list[tuple[str, bool]]] | None
) -> list[PeerSummary]:
    """One summary per DSPy method (`dspy_groups`), tested against `original` where given."""
    summaries = []
    for group in groups.values():
        first = group[0]
        scored = [c.ours_scored for c in group if c.ours_scored is not None]
        summary = PeerSummary(
            method=first.method,
            student_model=first.settings.student_model,
            prompt_model=first.settings.prompt_model if first.method == "copro" else None,
            runs=len(group),
            accuracies=[c.accuracy for c in group],
            interval=mean_interval([c.accuracy for c in group], bounds=(0.0, 1.0)),
            unparsed=[c.unparsed for c in group],
            ours_scored=mean_interval(scored, bounds=(0.0, 1.0)) if scored else None,
            compile_seconds=sum(c.compile_seconds for c in group) / len(group),
            eval_seconds=sum(c.eval_seconds for c in group) / len(group),
            sees=SEES[first.method],
        )
        if original:
            summary.p_value = p_against(group, original)
        summaries.append(summary)
    return summaries


def p_against(group: list[PeerCell], reference: dict[int, list[tuple[str, bool]]]) -> float | None:
    """The paired permutation test of a DSPy method against one of our methods (`reference`:
    its (input, correct) per seed), on the (run, test example) pairs both have."""
    ours: list[float] = []
    theirs: list[float] = []
    for cell in group:
        answers = reference.get(cell.seed)
        if answers is None:
            continue
        if [p.input for p in cell.predictions] != [text for text, _ in answers]:
            raise ValueError(f"DSPy {cell.method} and our method saw different tests")
        ours += [float(p.correct) for p in cell.predictions]
        theirs += [float(correct) for _, correct in answers]
    return permutation_p_value(ours, theirs) if ours else None


def method_cells(
    experiment: dict[str, Any], student: str, method: str = "original_examples"
) -> dict[int, list[tuple[str, bool]]]:
    """One of our methods' (input, correct) per seed in an experiment JSON, for this student."""
    found: dict[int, list[tuple[str, bool]]] = {}
    for entry in experiment.get("experiments", []):
        if entry["spec"]["student_model"] != student:
            continue
        for cell in entry["cells"]:
            if cell["method"] == method:
                found[cell["seed"]] = [(p["input"], p["correct"]) for p in cell["predictions"]]
    return found


def _percent(interval: Interval | None, accuracies: list[float] | None = None) -> str:
    if interval is None:
        return ""
    if interval.low != interval.low:  # one run: no interval
        return f"{100 * interval.mean:.1f}"
    return f"{100 * interval.mean:.1f} [{100 * interval.low:.1f}, {100 * interval.high:.1f}]"


def to_markdown(report: dict[str, Any]) -> str:
    summaries = [PeerSummary.model_validate(s) for s in report["summaries"]]
    lines = [
        "# DSPy beside social learning",
        "",
        f"Task {report['task']}, {report['test_size']} unseen label-balanced test examples per "
        f"run (the same per seed for every row), n = {report['shots']} private examples, "
        f"DSPy {report['dspy']} in-process on our llama.cpp models, {report['cpu_count']} CPU "
        "cores. Accuracy (%): mean over runs [95% interval over runs]; `*` p < 0.05 against "
        "our original_examples (paired permutation test on the same (run, test example) pairs; "
        "each of our rows also tested against each DSPy method). "
        "DSPy answers in its own format (ChatAdapter, JSON fallback); `unparsed`: answers DSPy "
        "could not read (counted wrong). `our student on its prompt`: the DSPy program's "
        "instruction and demos given to our student, which scores the labels. Seconds per run: "
        "DSPy compile + evaluation; ours, teaching + evaluation (one number).",
        "",
        "| method | student | runs | accuracy | per run | unparsed | our student on its prompt "
        "| s per run | sees |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        star = "*" if s.p_value is not None and s.p_value < SIGNIFICANCE else ""
        name = f"DSPy {s.method}" + (f" (prompt model {s.prompt_model})" if s.prompt_model else "")
        lines.append(
            f"| {name} | {s.student_model} | {s.runs} | {_percent(s.interval)}{star} | "
            f"{', '.join(f'{100 * a:.0f}' for a in s.accuracies)} | "
            f"{', '.join(map(str, s.unparsed))} | {_percent(s.ours_scored)} | "
            f"{s.compile_seconds:.0f} + {s.eval_seconds:.0f} | {s.sees} |"
        )
    for row in report.get("ours", []):
        star = "*" if row.get("p_value") is not None and row["p_value"] < SIGNIFICANCE else ""
        interval = Interval.model_validate(row["interval"])
        lines.append(
            f"| ours: {row['method']} (teacher {row['teacher_model']}) | {row['student_model']} | "
            f"{row['runs']} | {_percent(interval)}{star}{against_dspy(row)} | "
            f"{', '.join(f'{100 * a:.0f}' for a in row['accuracies'])} | — | — | "
            f"{row['seconds_per_run']:.0f} | {row['sees']} |"
        )
    lines += ["", "Instructions COPRO chose (per run):", ""]
    cells = [PeerCell.model_validate(c) for c in report["cells"]]
    for cell in cells:
        if cell.method == "copro":
            outcome = (
                f"COPRO failed ({cell.compile_error}); the student kept the 0-shot program "
                "(its answers are predict's of this run, not computed again)"
                if cell.compile_error
                else repr(cell.instruction)
            )
            lines.append(
                f"- seed {cell.seed}, student {cell.settings.student_model}, prompt model "
                f"{cell.settings.prompt_model}: {outcome}"
            )
    return "\n".join(lines) + "\n"


def against_dspy(row: dict[str, Any]) -> str:
    """' (p against DSPy predict 0.012, ...)' for one of our rows, '' where none was tested."""
    tested = row.get("p_against_dspy") or {}
    return (
        " (p against DSPy " + ", ".join(f"{m} {p:.3f}" for m, p in tested.items()) + ")"
        if tested
        else ""
    )


OUR_SEES = {
    "zero_shot": "the task's 0-shot instruction only; no data",
    "original_examples": "n private examples, verbatim (the upper bar; leaks them)",
    "instructions": "an instruction one teacher wrote from n private examples",
    "instructions+refined": "an instruction one teacher wrote from n private examples and "
    "revised with a local copy of the student on its held-back examples",
    "instructions+voting": "one of m teachers' instructions, chosen by the teachers' vote on "
    "their held-back examples",
    "instructions+merge": "one of m teachers' instructions or their merge, chosen by the "
    "teachers' vote on their held-back examples",
    "synthetic_examples+random": "synthetic examples m teachers wrote from their private "
    "examples, drawn at random",
    "synthetic_examples+random+refined": "synthetic examples m teachers wrote from their "
    "private examples and revised with a local copy of the student on their held-back examples",
}


def our_rows(experiment: dict[str, Any], student: str) -> list[dict[str, Any]]:
    rows = []
    for entry in experiment.get("experiments", []):
        spec = entry["spec"]
        if spec["student_model"] != student:
            continue
        for s in entry["summaries"]:
            rows.append(
                {
                    "method": s["method"],
                    "teacher_model": spec["teacher_model"],
                    "student_model": student,
                    "runs": s["runs"],
                    "accuracies": s["accuracies"],
                    "interval": s["interval"],
                    "p_value": s.get("p_value"),
                    "seconds_per_run": s["seconds"] / max(s["runs"], 1),
                    "sees": OUR_SEES.get(
                        s["method"],
                        "synthetic examples written by teachers from their private examples",
                    ),
                }
            )
    return rows


def write_report(cells: list[PeerCell], stem: Path, compare: Path | None) -> Path:
    """`stem`.json: DSPy's summaries and cells, beside the experiment `compare` if given."""
    experiment = json.loads(compare.read_text()) if compare and compare.is_file() else {}
    if experiment:  # beside an experiment: its students' cells only
        compared = {entry["spec"]["student_model"] for entry in experiment["experiments"]}
        cells = [c for c in cells if c.settings.student_model in compared]
    students = sorted({c.settings.student_model for c in cells})
    summaries: list[PeerSummary] = []
    ours: list[dict[str, Any]] = []
    for student in students:
        groups = dspy_groups([c for c in cells if c.settings.student_model == student])
        summaries += summarise(groups, method_cells(experiment, student) or None)
        for row in our_rows(experiment, student):
            answers = method_cells(experiment, student, row["method"])
            tested = {name: p_against(g, answers) for name, g in groups.items()}
            row["p_against_dspy"] = {name: p for name, p in tested.items() if p is not None}
            ours.append(row)
    first = cells[0].settings if cells else PeerSettings()
    report = {
        "task": first.task,
        "test_size": first.test_size,
        "shots": first.shots,
        "dspy": _dspy_version(),
        "cpu_count": os.cpu_count(),
        "compared_with": str(compare) if compare else None,
        "summaries": [s.model_dump() for s in summaries],
        "ours": ours,
        "cells": [c.model_dump() for c in cells],
    }
    stem.parent.mkdir(parents=True, exist_ok=True)
    json_path = output_paths(stem)[0]
    json_path.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return json_path


def load_cells(folder: Path) -> list[PeerCell]:
    return [PeerCell.model_validate_json(p.read_text()) for p in sorted(folder.glob("*.json"))]


def cell_path(folder: Path, student: str, method: str, seed: int, key: str) -> Path:
    return folder / f"{student}-{method}-seed{seed}-{key}.json"


def restore_cells(folder: Path, reports: list[Path]) -> None:
    """Put the cells of committed reports in `folder` where it lacks them: a fresh clone
    reuses them (and reports them beside a new experiment) instead of running them again."""
    for report in reports:
        if not report.is_file():
            continue
        for values in json.loads(report.read_text(encoding="utf-8")).get("cells", []):
            cell = PeerCell.model_validate(values)
            path = cell_path(folder, cell.settings.student_model, cell.method, cell.seed, cell.key)
            if not path.is_file():
                path.write_text(cell.model_dump_json(indent=1), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student", default="gemma3", help="the student's model")
    parser.add_argument("--prompt-model", default="smollm2", help="COPRO's instruction writer")
    parser.add_argument("--methods", default=",".join(PEER_METHODS))
    parser.add_argument("--runs", type=int, default=3, help="runs: seeds seed, seed + 1, ...")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-size", type=int, default=100)
    parser.add_argument("--shots", type=int, default=8)
    parser.add_argument("--copro-breadth", type=int, default=4)
    parser.add_argument("--copro-depth", type=int, default=2)
    parser.add_argument("--budget-minutes", type=float, default=None, help="start no cell after")
    parser.add_argument("--out", type=Path, default=Path(".sociallearn/peers"))
    parser.add_argument("--results", type=Path, default=RESULTS / "peers", help="output stem")
    parser.add_argument("--compare", type=Path, default=None, help="an experiment's JSON")
    parser.add_argument(
        "--markdown-only", action="store_true", help="run no DSPy cell: rewrite the report only"
    )
    args = parser.parse_args()
    cells_dir = args.out / "cells"
    cells_dir.mkdir(parents=True, exist_ok=True)
    restore_cells(cells_dir, [output_paths(args.results)[0], *sorted(RESULTS.glob("peers*.json"))])
    if not args.markdown_only:
        dspy_peer.configure_offline(str(args.out / "dspy-cache"))
        dspy_peer.disable_cache()
        settings = PeerSettings(
            student_model=args.student,
            prompt_model=args.prompt_model,
            shots=args.shots,
            test_size=args.test_size,
            copro_breadth=args.copro_breadth,
            copro_depth=args.copro_depth,
        )
        deadline = (
            time.time() + 60 * args.budget_minutes if args.budget_minutes is not None else None
        )
        models = ModelPool()
        for seed in range(args.seed, args.seed + args.runs):  # whole runs first
            for method in args.methods.split(","):
                key = settings.key(method, seed)
                path = cell_path(cells_dir, args.student, method, seed, key)
                if path.is_file():
                    continue
                if deadline is not None and time.time() > deadline:
                    continue
                start = next(
                    (
                        PeerCell.model_validate_json(path.read_text())
                        for path in cells_dir.glob(f"{args.student}-predict-seed{seed}-*.json")
                        if path.name.endswith(f"{settings.key('predict', seed)}.json")
                    ),
                    None,
                )
                cell = run_cell(settings, method, seed, models, start)
                path.write_text(cell.model_dump_json(indent=1), encoding="utf-8")
                print(
                    f"{args.student} {method} seed {seed}: {100 * cell.accuracy:.0f}% "
                    f"(unparsed {cell.unparsed}, ours on its prompt {cell.ours_scored}), "
                    f"compile {cell.compile_seconds:.0f}s, eval {cell.eval_seconds:.0f}s",
                    flush=True,
                )
    path = write_report(load_cells(cells_dir), args.results, args.compare)
    print(to_markdown(json.loads(path.read_text(encoding="utf-8"))))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
