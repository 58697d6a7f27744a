"""What checking synthetic examples' answers costs: the capable tables' taught examples, re-filtered.

The synthetic examples that the capable GSM8K and Random Insertion tables taught
(`paper_tables_capable.json`; their filter checked questions only) are checked again against
every teacher silo of their cell (rebuilt from the cell's settings and seed; no model runs), in
two ways, side by side:
- as free text: the answer through the whole filter (`check`), as a question is checked;
- as an answer (`check_answer`, what the filter does now): canaries, leak instructions, rare
  private numbers the answer introduces, and names, places and addresses redacted.
An example counts as dropped or changed when the filter of any teacher that could have taught it
(whose check passes its question) would drop it or change its answer: an upper bound, as the
lesson does not record its teacher. Writes
benchmarks/results/answer_check.json.

    .venv/bin/python -m benchmarks.answer_check
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.specs import paper_specs
from sociallearn.experiments.harness import cell_settings
from sociallearn.experiments.report import read_json
from sociallearn.experiments.spec import ExperimentSpec, MethodSpec
from sociallearn.privacy.filter import check, check_answer
from sociallearn.tasks import Example
from sociallearn.teaching.resources import Resources
from sociallearn.teaching.sharing import check_example, filter_settings

RESULTS = Path(__file__).parent / "results"
TABLES = ("gsm8k", "random_insertion")
console = Console()


def taught_examples(spec: ExperimentSpec, cells: list[Any]) -> list[tuple[Any, Example]]:
    """(cell, example) for every synthetic example the table's cells taught."""
    task = Resources(cell_settings(spec, MethodSpec.parse("zero_shot"), 0, "unused")).task
    prefix = f"{task.input_field}: "
    found = []
    for cell in cells:
        if cell.method.startswith("synthetic_examples"):
            for lesson in cell.lessons:
                example = task.parse_generated(lesson.removeprefix(prefix))
                if lesson.startswith(prefix) and example is not None:
                    found.append((cell, example))
    return found


def measure(spec: ExperimentSpec, cells: list[Any]) -> dict[str, Any]:
    """How many of the table's taught examples each way of checking answers drops or changes."""
    free_text: Counter[str] = Counter()
    as_answer: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    seconds = {"free_text": 0.0, "as_answer": 0.0}
    checks = 0
    examples = taught_examples(spec, cells)
    with tempfile.TemporaryDirectory() as library:
        for cell, example in examples:
            method = MethodSpec.parse(cell.method)
            resources = Resources(cell_settings(spec, method, int(cell.seed), library))
            settings = filter_settings(resources.settings)
            dropped = changed = answer_dropped = answer_changed = False
            for silo in resources.split.silos.values():
                private, records = silo.private_texts(), silo.private_records()
                question, shared = check(example.input, private, settings, number_texts=records)
                if not question.passed:
                    continue  # this silo's teacher could not have taught the example
                checks += 1
                begun = time.perf_counter()
                verdict, _ = check(example.output, (), settings, number_texts=records)
                seconds["free_text"] += time.perf_counter() - begun
                dropped |= not verdict.passed
                changed |= bool(verdict.redactions)
                begun = time.perf_counter()
                answer, _ = check_answer(example.output, shared, settings, number_texts=records)
                seconds["as_answer"] += time.perf_counter() - begun
                verdict, _ = check_example(
                    example, private, settings, records=records, labels=resources.task.labels
                )
                if not verdict.passed:
                    reasons.update(reason.split(":")[0] for reason in verdict.reasons)
                answer_dropped |= not verdict.passed
                answer_changed |= bool(answer.redactions)
            free_text.update(dropped=dropped, changed=changed and not dropped)
            as_answer.update(dropped=answer_dropped, changed=answer_changed and not answer_dropped)
    return {
        "table": spec.name,
        "task": spec.task,
        "examples": len(examples),
        "free_text": dict(free_text),
        "as_answer": dict(as_answer),
        "as_answer_reasons": dict(reasons),
        "checks": checks,  # (example, candidate teacher) pairs
        "seconds": seconds,  # checking the answers alone
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS / "paper_tables_capable.json")
    parser.add_argument("--out", type=Path, default=RESULTS / "answer_check.json")
    args = parser.parse_args()
    taught = {result.spec.name: result.cells for result in read_json(args.results)}
    specs = [s for s in paper_specs("capable") if s.task in TABLES and s.name in taught]
    rows = [measure(spec, taught[spec.name]) for spec in specs]
    args.out.write_text(json.dumps({"source": args.results.name, "tables": rows}, indent=1) + "\n")
    table = Table(title="Taught synthetic examples whose answers a check would drop / change")
    for column in ("table", "examples", "as free text", "as an answer", "reasons"):
        table.add_column(column)
    for row in rows:
        cells = [
            f"{row[way].get('dropped', 0)} / {row[way].get('changed', 0)}"
            for way in ("free_text", "as_answer")
        ]
        table.add_row(
            row["table"], str(row["examples"]), *cells, json.dumps(row["as_answer_reasons"])
        )
    console.print(table)
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
