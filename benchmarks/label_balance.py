"""Where synthetic SMS examples lose their spam: label counts at each stage of teaching.

The teachers of a capable SMS table (`paper_specs("capable")`; qwen1.5b) draft synthetic examples
as in its `synthetic_examples+random` cells (the same silos, shots and seeds; the first attempt).
For each teacher: its n private shots, the k examples it samples at τ (likeliest first; samples
without a label or repeated are dropped), the `keep` likeliest, and those that pass the privacy
filter, with the filter's reasons. No student is involved. Prints the spam share at each stage
and writes benchmarks/results/label_balance.json.

    flock /tmp/sociallearn-model.lock .venv/bin/python -m benchmarks.label_balance --seeds 0 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.specs import paper_specs
from sociallearn.engine import ModelPool
from sociallearn.experiments.harness import cell_settings
from sociallearn.experiments.spec import ExperimentSpec, MethodSpec
from sociallearn.teaching.drafting import sampled_examples
from sociallearn.teaching.resources import Resources
from sociallearn.teaching.sharing import filter_drafts
from sociallearn.teaching.workspace import Draft

RESULTS = Path(__file__).parent / "results"
STAGES = ("shots", "sampled", "kept", "passed")
console = Console()


def label_of(draft: Draft) -> str:
    assert draft.example is not None  # synthetic examples always carry theirs
    return draft.example.answer


def teacher_stages(resources: Resources, teacher_id: str, run_id: str) -> dict[str, Any]:
    """One teacher's labels at each stage of drafting and filtering, with the filter's reasons."""
    settings = resources.settings
    workspace = resources.workspace(run_id, teacher_id)
    ranked = sampled_examples(workspace, settings.seed * 1000)  # the drafting node's first seed
    kept = ranked[: settings.keep]
    accepted, reasons = filter_drafts(workspace, kept, run_id)
    return {
        "teacher": teacher_id,
        "shots": [e.answer for e in workspace.shots()],
        "sampled": [label_of(d) for d in ranked],
        "sampled_mean_logprob": [d.mean_logprob for d in ranked],
        "kept": [label_of(d) for d in kept],
        "passed": [lesson.answer for lesson in accepted],
        "redacted": sum(bool(lesson.verdict.redactions) for lesson in accepted),
        "filter_reasons": dict(reasons),
    }


def summary(teachers: list[dict[str, Any]], label: str) -> dict[str, Any]:
    """Per stage, how many examples there are and what share of them has `label`."""
    out: dict[str, Any] = {}
    for stage in STAGES:
        labels = [x for t in teachers for x in t[stage]]
        out[stage] = {"examples": len(labels), label: labels.count(label)}
    by_label: dict[str, list[float]] = {}
    for t in teachers:
        for name, score in zip(t["sampled"], t["sampled_mean_logprob"], strict=True):
            by_label.setdefault(name, []).append(score)
    out["mean_logprob_by_label"] = {k: statistics.fmean(v) for k, v in by_label.items()}
    out["redacted"] = sum(t["redacted"] for t in teachers)
    out["filter_reasons"] = dict(sum((Counter(t["filter_reasons"]) for t in teachers), Counter()))
    return out


def measure(
    spec: ExperimentSpec, seeds: list[int], models: ModelPool, label: str
) -> dict[str, Any]:
    """Every teacher's stages in the `synthetic_examples+random` cells of `spec` on `seeds`."""
    method = MethodSpec.parse("synthetic_examples+random")
    started = time.perf_counter()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as library:
        for seed in seeds:
            resources = Resources(cell_settings(spec, method, seed, library), models=models)
            teachers = [
                teacher_stages(resources, teacher_id, f"label-balance-{seed}")
                for teacher_id in resources.teacher_ids()
            ]
            runs.append({"seed": seed, "teachers": teachers, "summary": summary(teachers, label)})
            console.print(f"seed {seed}: {time.perf_counter() - started:.0f} s")
    return {
        "table": spec.name,
        "teacher_model": spec.teacher_model,
        "settings": {
            k: getattr(spec, k) for k in ("teachers", "shots", "samples", "keep", "temperature")
        },
        "label": label,
        "runs": runs,
        "summary": summary([t for run in runs for t in run["teachers"]], label),
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="sms_spam, student qwen1.5b")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--label", default="spam", help="the label whose share is counted")
    parser.add_argument("--out", type=Path, default=RESULTS / "label_balance.json")
    args = parser.parse_args()
    spec = next((s for s in paper_specs("capable") if s.name == args.table), None)
    if spec is None:
        parser.error(f"--table: no capable table named {args.table!r}")
    report = measure(spec, args.seeds, ModelPool(), args.label)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    table = Table(title=f"{spec.name}: {args.label} among the teachers' examples, by stage")
    for column in ("seed", *STAGES, "redacted", "filter reasons"):
        table.add_column(column)
    for run in [*report["runs"], {"seed": "all", "summary": report["summary"]}]:
        s = run["summary"]
        cells = [f"{s[stage][args.label]}/{s[stage]['examples']}" for stage in STAGES]
        table.add_row(str(run["seed"]), *cells, str(s["redacted"]), json.dumps(s["filter_reasons"]))
    console.print(table)
    console.print(f"mean log-probability by label: {report['summary']['mean_logprob_by_label']}")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
