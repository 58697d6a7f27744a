"""Regenerate the result tables of README.md and docs/ from the committed JSON under
benchmarks/results/.

Each table sits between `<!-- table: NAME -->` and `<!-- /table: NAME -->` in a document and is
rewritten from its JSON file; a table whose JSON is missing is left as it is.

    .venv/bin/python -m benchmarks.readme_tables           # rewrite the documents
    .venv/bin/python -m benchmarks.readme_tables --check   # exit 1 if one is stale
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sociallearn.apps.demo import COLUMNS as DEMO_COLUMNS
from sociallearn.apps.demo import demo_rows as demo_table
from sociallearn.apps.demo import verdict
from sociallearn.experiments.harness import CellResult
from sociallearn.experiments.report import PAPER, TEST_PARTS, read_json
from sociallearn.experiments.runner import (
    ExperimentResult,
    gap_on_runs,
    p_values_against,
    p_values_against_extended,
    paired_p_value,
)
from sociallearn.experiments.stats import mean_interval, recovered_gap

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BAR_METHODS = ("zero_shot", "original_examples")
COLUMNS = {
    "zero_shot": "0-shot",
    "manual_prompt": "manual prompt",
    "original_examples": "original",
    "instructions": "instructions",
    "synthetic_examples+random": "synthetic, random",
    "synthetic_examples+voting": "synthetic, voting",
    "synthetic_examples+random+balanced": "synthetic, balanced",
    "synthetic_examples+voting+balanced": "synthetic, voting + balanced",
    "synthetic_examples+random+checked": "synthetic, checked",
    "synthetic_examples+dp": "synthetic, DP voting",
    "public_examples+random": "public drafts, random",
    "public_examples+dp_choice": "public drafts, private choice",
    "synthetic_examples+dp_choice": "synthetic, private choice",
    "instructions+refined": "instructions, refined",
    "instructions+voting": "instructions, voting",
    "instructions+merge": "instructions, merge",
    "instructions+voting+refined": "instructions, voting + refined",
    "synthetic_examples+random+refined": "synthetic, random + refined",
}


def percent(summary: dict[str, Any] | None, *, gap: bool = True) -> str:
    """'73.3 [55.9, 90.8]* (+0.61)†': mean, 95% interval over runs, * if p < 0.05 against
    the original examples, the recovered gap, † if p < 0.05 against 0-shot."""
    if summary is None:
        return ""
    interval = summary["interval"]
    text = f"{100 * interval['mean']:.1f}"
    if interval["low"] is not None and interval["low"] == interval["low"]:  # one run: no interval
        text += f" [{100 * interval['low']:.1f}, {100 * interval['high']:.1f}]"
    text += "*" if summary.get("significant") else ""
    if (
        gap
        and summary.get("recovered_gap") is not None
        and summary["method"]
        not in (
            "zero_shot",
            "original_examples",
        )
    ):
        text += f" ({summary['recovered_gap']:+.2f})"
        p_zero = summary.get("p_vs_zero_shot")
        text += "†" if p_zero is not None and p_zero < 0.05 else ""
    return text


def with_cell_statistics(experiment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The experiment's summaries by method, each with its p-value against 0-shot and its
    recovered gap computed from the cells (on the runs the method has, so that a method part-way
    through its runs is measured against the same runs' bars; files written before the
    summaries carried the p-value have it too)."""
    cells = [CellResult.model_validate(cell) for cell in experiment["cells"]]
    by_method: dict[str, list[CellResult]] = {}
    for cell in cells:
        by_method.setdefault(cell.method, []).append(cell)
    spec = experiment["spec"]
    p_values = p_values_against(
        cells, "zero_shot", permutations=spec["permutations"], seed=spec.get("seed", 0)
    )
    return {
        s["method"]: {
            **s,
            "p_vs_zero_shot": p_values.get(s["method"]),
            "recovered_gap": gap_on_runs(by_method[s["method"]], by_method),
        }
        for s in experiment["summaries"]
    }


def experiment_rows(path: Path) -> list[str]:
    """One row per experiment (task, teacher → student, test × runs), the paper's under it."""
    experiments = json.loads(path.read_text())["experiments"]
    methods = [
        m for m in COLUMNS if any(s["method"] == m for e in experiments for s in e["summaries"])
    ]
    lines = [
        "| task (teacher → student, test × runs) | "
        + " | ".join(COLUMNS[m] for m in methods)
        + " |",
        "|---|" + "---|" * len(methods),
    ]
    shown: set[str] = set()
    for experiment in experiments:
        if not experiment["summaries"]:
            continue  # a table whose runs have not started yet (time budget)
        spec = experiment["spec"]
        summaries = with_cell_statistics(experiment)
        counts = sorted({s["runs"] for s in summaries.values()})
        runs = f"{counts[0]}–{counts[-1]} runs" if len(counts) > 1 else f"{counts[0]}"
        pair = f"{spec['teacher_model']} → {spec['student_model']}"
        shown_pair = "" if pair in spec["name"] else f"{pair}, "  # a name may give it already
        lines.append(
            f"| {spec['name']} ({shown_pair}{experiment['test_size']} × {runs}) | "
            + " | ".join(percent(summaries.get(m)) for m in methods)
            + " |"
        )
        paper = PAPER.get(spec["task"], {})
        values = [paper.get(m.removesuffix("+random")) for m in methods]
        if any(v is not None for v in values) and spec["task"] not in shown:
            shown.add(spec["task"])
            lines.append(
                "| paper (PaLM 2-S) | "
                + " | ".join("" if v is None else f"{v}" for v in values)
                + " |"
            )
    return lines


def check_minus_test(cell: dict[str, Any]) -> float | None:
    """A refined cell's held-back check minus its test accuracy, in points: per teacher the
    accuracy the loop last judged its lessons by (the acceptance check where it ran, else its
    best round), averaged over teachers; None for a cell that did not refine."""
    rounds, acceptance = cell.get("held_out_accuracy") or {}, cell.get("acceptance") or {}
    if not rounds:
        return None
    checks = []
    for teacher, accuracies in rounds.items():
        accepted = acceptance.get(teacher)
        if accepted:
            checks.append(accepted["refined"] if accepted["adopted"] else accepted["first"])
        else:
            checks.append(max(accuracies))
    return 100 * (sum(checks) / len(checks) - cell["accuracy"])


def summaries_once(
    path: Path,
) -> Iterator[tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]]:
    """(experiment, method summary, its cells) of a results file, each set of cells once, under
    the first experiment that has it (studies share the cells of their bars)."""
    shown: set[tuple[str, ...]] = set()
    for experiment in json.loads(path.read_text())["experiments"]:
        for summary in experiment["summaries"]:
            cells = [c for c in experiment["cells"] if c["method"] == summary["method"]]
            keys = tuple(sorted(c["key"] for c in cells))
            if keys not in shown:
                shown.add(keys)
                yield experiment, summary, cells


def locked_rows(path: Path) -> list[str]:
    """Final evaluations on the locked part (locked.json): per study and method (each set of
    cells once, under the first study that has it), the runs, the mean with its interval, the
    worst run and the worst difference from 0-shot on a run, the gap recovered, the test against the original examples, the minutes per run, and for
    refined methods how far the loop's own held-back check stood above the test accuracy."""
    lines = [
        "| study | method | per run (%) | mean [95% interval] | worst run | worst − 0-shot | gap "
        "| p vs original | min/run | check − test |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for experiment, summary, cells in summaries_once(path):
        study = experiment["spec"]["name"].split(" (")[0]
        zero_shot = {c["seed"]: c["accuracy"] for c in experiment["cells"]
                     if c["method"] == "zero_shot"}  # fmt: skip
        method = summary["method"]
        gaps = [g for c in cells if (g := check_minus_test(c)) is not None]
        below = [100 * (c["accuracy"] - zero_shot[c["seed"]])
                 for c in cells if c["seed"] in zero_shot]  # fmt: skip
        p = summary.get("p_value")
        gap = summary.get("recovered_gap")
        lines.append(
            f"| {study} | {COLUMNS.get(method, method)} | "
            + ", ".join(f"{100 * a:.0f}" for a in summary["accuracies"])
            + f" | {percent(summary, gap=False)} | {100 * min(summary['accuracies']):.0f} | "
            + (f"{min(below):+.0f}" if below and method != "zero_shot" else "")
            + " | "
            + ("" if gap is None or method in BAR_METHODS else f"{gap:+.2f}")
            + f" | {'' if p is None else f'{p:.3f}'} | "
            + f"{summary['seconds'] / 60 / summary['runs']:.1f} | "
            + (f"{sum(gaps) / len(gaps):+.1f}" if gaps else "")
            + " |"
        )  # fmt: skip
    return lines


def paper_rest_rows(path: Path) -> list[str]:
    """The paper's remaining settings on the locked part (paper_rest.json): per study and method,
    the runs, the mean with its interval, both permutation tests, the gap recovered, the paper's
    number and the minutes per run; each set of cells once, under the first study that has it
    (the bars studies share), so a study that has not started shows nothing."""
    from benchmarks.paper_rest import paper_numbers

    lines = [
        "| study | method | per run (%) | mean [95% interval] | p vs original | p vs 0-shot "
        "| gap | paper | min/run |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for experiment, summary, _ in summaries_once(path):
        study, rest = experiment["spec"]["name"].split(" (", 1)
        paper = paper_numbers(study)
        method, gap = summary["method"], summary.get("recovered_gap")
        p, p_zero = summary.get("p_value"), summary.get("p_vs_zero_shot")
        lines.append(
            f"| {study} ({rest.split(',')[0]}) | {COLUMNS.get(method, method)} | "
            + ", ".join(f"{100 * a:.0f}" for a in summary["accuracies"])
            + f" | {percent(summary, gap=False)} | {'' if p is None else f'{p:.3f}'} | "
            + f"{'' if p_zero is None else f'{p_zero:.3f}'} | "
            + ("" if gap is None or method in BAR_METHODS else f"{gap:+.2f}")
            + f" | {paper.get(method.removesuffix('+random'), '')} | {summary['seconds'] / 60 / summary['runs']:.1f} |"
        )  # fmt: skip
    return lines


COMPARED = (
    "| method | against | accuracy per run (%) | against's per run (%) | difference, points "
    "[95% interval] | runs better / level / worse | p |",
    "|---|---|---|---|---|---|---|",
)
SMALL_TEACHERS = ("smollm2", "gemma3")  # paper_rest's studies "<model> teachers", "<model> alone"
TAUGHT = ("instructions", "synthetic_examples+random")
# The tasks of those studies, as their names end: SMS spam, then ": GSM8K", ": Random Insertion".
SMALL_TEACHER_TASKS = ("", ": GSM8K", ": Random Insertion")


def small_teacher_rows(path: Path) -> list[str]:
    """The qwen1.5b student taught by small teachers against what the teachers' own model
    reaches with the original examples (paper_rest.json), per task, run by run, with the paired
    permutation test over every (run, test message)."""
    lines = list(COMPARED)
    results = {r.spec.name.split(" (")[0]: r for r in read_json(path)}
    for task, model in itertools.product(SMALL_TEACHER_TASKS, SMALL_TEACHERS):
        taught = results.get(f"{model} teachers{task}")
        alone = results.get(f"{model} alone{task}")
        if taught is None or alone is None:
            continue
        theirs = cells_of(alone, "original_examples")
        for method in TAUGHT:
            ours = cells_of(taught, method)
            p = paired_p_value(ours, theirs, taught.spec.permutations, taught.spec.seed)
            if p is not None:
                name = f"{model} teachers{task} → {taught.spec.student_model}: {COLUMNS[method]}"
                lines.append(compared_row(name, f"{model} alone: original", ours, theirs, p))
    return lines


def compared_row(
    method: str, against: str, ours: list[CellResult], theirs: list[CellResult], p: float
) -> str:
    """One method against another on the runs both have, run by run, with the p-value."""
    theirs_by_seed = {c.seed: c.accuracy for c in theirs}
    pairs = sorted(
        (c.seed, c.accuracy, theirs_by_seed[c.seed]) for c in ours if c.seed in theirs_by_seed
    )
    tally = [
        sum(a > b for _, a, b in pairs),
        sum(a == b for _, a, b in pairs),
        sum(a < b for _, a, b in pairs),
    ]
    difference = mean_interval([100 * (a - b) for _, a, b in pairs])
    return (
        f"| {method} | {against} | "
        + ", ".join(f"{100 * a:.0f}" for _, a, _ in pairs)
        + " | "
        + ", ".join(f"{100 * b:.0f}" for _, _, b in pairs)
        + f" | {difference.mean:+.1f}"
        + (f" [{difference.low:+.1f}, {difference.high:+.1f}]" if len(pairs) > 1 else "")
        + f" | {' / '.join(map(str, tally))} | {p:.3f} |"
    )


def private_choice_rows(path: Path) -> list[str]:
    """The private choices against the original examples (the goal: within 3 points) and
    against the public control, and the control against the original examples, run by run
    (private_choice.json), with the paired permutation test."""
    from benchmarks.private_choice import COMPARISONS

    lines = list(COMPARED)
    for result in read_json(path):
        for method, against in COMPARISONS:
            ours, theirs = cells_of(result, method), cells_of(result, against)
            p = paired_p_value(ours, theirs, result.spec.permutations, result.spec.seed)
            if p is not None:
                lines.append(compared_row(COLUMNS[method], COLUMNS[against], ours, theirs, p))
    return lines


def cells_of(result: ExperimentResult, method: str) -> list[CellResult]:
    return [c for c in result.cells if c.method == method]


def extension_rows(path: Path) -> list[str]:
    """Each method that extends another (refined, merged) against it, run by run, with the
    paired permutation test over every (run, test message), computed from the cells."""
    lines = list(COMPARED)
    for result in read_json(path):
        extends = {m.label: m.extends for m in result.spec.methods if m.extends}
        for method, p in p_values_against_extended(result.spec, result.cells).items():
            against = extends[method]
            lines.append(
                compared_row(
                    COLUMNS.get(method, method),
                    COLUMNS.get(against, against),
                    cells_of(result, method),
                    cells_of(result, against),
                    p,
                )
            )
    return lines


def demo_rows(path: Path) -> list[str]:
    result = ExperimentResult.model_validate_json(path.read_text())
    spec = result.spec
    lines = [
        f"{spec.teacher_model} teaching {spec.student_model}, m = {spec.teachers} teachers, "
        f"n = {spec.shots} shots, {spec.calibration} calibration, {result.test_size} held-out "
        f"messages, {TEST_PARTS[result.test_part]}, × {spec.runs} runs (seeds {spec.seed}–"
        f"{spec.seed + spec.runs - 1}), {result.seconds / 60:.0f} min on {result.cpu_count} "
        "CPU cores:",
        "",
        "| " + " | ".join(DEMO_COLUMNS) + " |",
        "|" + "---|" * len(DEMO_COLUMNS),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in demo_table(result)]
    return [*lines, "", verdict(result)]


def privacy_rows(path: Path) -> list[str]:
    report = json.loads(path.read_text())
    config = report["config"]
    pieces = report.get("pieces") or []
    planned = (
        f" of {config['repetitions']} planned"
        if report["completed"] < config["repetitions"]
        else ""
    )
    lines = [
        f"{config['task']}, teacher {config['teacher_model']}, student {config['student_model']}; "
        f"T = {report['completed']}{planned} repetitions, N = {config['comparisons']} strings "
        f"({report['seconds'] / 60:.0f} min on {report['cpu_count']} CPUs"
        f"{f' in {len(pieces)} pieces' if len(pieces) > 1 else ''}):",
        "",
        "| method | mean canary rank [95% CI] | rank 0 | exposure | copy rate | normalised distance "
        "| lessons with the code |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in report["methods"].values():
        ss, leak = result["secret_sharer"], result["leakage"]
        interval = f" [{ss['ci95'][0]:.0f}, {ss['ci95'][1]:.0f}]" if ss.get("ci95") else ""
        distance = "" if leak["distance_mean"] is None else f"{leak['distance_mean']:.3f}"
        lines.append(
            f"| {result['label']} | {ss['mean_rank']:.1f}{interval} | {ss['rank0_count']}/"
            f"{ss['repetitions']} | {ss['mean_exposure']:.2f} | {leak['copies']}/{leak['lessons']} "
            f"| {distance} | {result['canary_code_lessons']}/{leak['lessons']} |"
        )
    expected = next(iter(report["methods"].values()))["secret_sharer"]
    lines.append(
        f"| no memorisation (expected) | {expected['expected_mean_rank']:.1f} | "
        f"{report['completed'] / config['comparisons']:.2f}/{report['completed']} | "
        f"{expected['expected_exposure']:.2f} | | | |"
    )
    f = report["filter"]
    lines += [
        "",
        f"Adversarial set: {f['caught']}/{f['attacks']} attacks caught, {f['falsely_rejected']}/"
        f"{f['clean']} clean lessons rejected, {f['clean_altered']}/{f['clean']} redacted.",
    ]
    return lines


def filter_rows(path: Path) -> list[str]:
    report = json.loads(path.read_text())
    test = report["test"]
    systems = test["systems"]
    entities = list(next(iter(systems.values()))["recall"])
    lines = [
        f"Held-out synthetic set (Faker, seed {test['seed']}, {len(test['locales'])} locales): "
        f"{test['pii_sentences']} sentences with PII, {test['clean_sentences']} without.",
        "",
        "| system | " + " | ".join(entities) + " | structured | PII-free changed |",
        "|---|" + "---|" * (len(entities) + 2),
    ]
    for name, system in systems.items():
        recall = " | ".join(f"{100 * system['recall'][e]:.1f}" for e in entities)
        lines.append(
            f"| {name} | {recall} | {100 * system['structured_recall']:.1f} | "
            f"{100 * system['false_alarm_rate']:.1f}% |"
        )
    timing = report["timing"]
    lines += [
        "",
        f"Time: {timing['load_s']:.1f} s to load (once per process), "
        f"{timing['ms_per_lesson']:.0f} ms per lesson of {timing['lesson_chars']:.0f} characters; "
        f"in a default teach run ({timing['teach_run_s']:.0f} s) the filter took "
        f"{100 * timing['share_of_teach_run']:.1f}% of the time, its load included.",
    ]
    return lines


def gpu_rows(path: Path) -> list[str]:
    report = json.loads(path.read_text())
    summary = report["summary"]
    lines = [
        f"{report['nvidia_smi_gpu']}; SmolLM2-135M, {report['n_texts']} SMS label scorings, "
        f"llama-cpp-python {report['llama_cpp_version']} built with CUDA:",
        "",
        "| engine | scoring 100 texts (s) | greedy generation (tokens/s) | accuracy |",
        "|---|---|---|---|",
    ]
    for key, name in (("gpu", "GPU, all layers"), ("cpu_pure", "CPU only (same machine)")):
        lines.append(
            f"| {name} | {summary[f'{key}_score_100_s']:.2f} | "
            f"{summary[f'{key}_gen_tok_per_s']:.0f} | {100 * summary[f'{key}_accuracy']:.0f}% |"
        )
    agree = report["gpu_vs_cpu_pure"]
    streams = (
        "yes"
        if summary["gpu_streams_exact"]
        else "no (greedy `complete_batch` answers one at a time there)"
    )
    lines += [
        "",
        f"GPU vs CPU: largest label log-probability difference "
        f"{agree['max_abs_logprob_diff']:.2f} (the label flips on "
        f"{len(agree['argmax_disagreements'])} near-tied texts); batched KV streams exact on the "
        f"GPU: {streams}.",
    ]
    return lines


def ranking_rows(path: Path) -> list[str]:
    """The Secret Sharer's tree ranker against scoring every string (`ranking` in speed.json)."""
    ranking = json.loads(path.read_text()).get("ranking", {})
    if "cases" not in ranking:
        return [f"Not measured: {ranking.get('skipped', 'run speed.py --only ranking')}."]
    lines = [
        "| canary strings | canary in the lesson | tree ranker | score every string | ratio "
        "| ms per trie node after the prompt | ms per token, dense 512-token chunk |",
        "|---|---|---|---|---|---|---|",
    ]
    for case, r in ranking["cases"].items():
        task, shown = case.split(", canary ")
        tree = r["tree"]
        work = f"{tree['tokens_decoded']:,} tokens decoded, {tree['strings_skipped']} skipped"
        node_ms = 1000 * (tree["seconds"] - r["prompt_seconds"]) / tree["tokens_decoded"]
        lines.append(
            f"| {'SMS' if task == 'sms_spam' else 'GSM8K'} ({r['prompt_tokens']:,}-token lesson) "
            f"| {'yes' if shown == 'shown' else 'no'} | {tree['seconds']:.1f} s ({work}) "
            f"| {r['score_all']['seconds']:.1f} s | {r['speedup']:.2f}× "
            f"| {node_ms:.1f} | {r['dense_ms_per_token']:.1f} |"
        )
    return lines


def generation_rows(path: Path) -> list[str]:
    """The student's GSM8K answers, batched against one at a time (`generation` in speed.json)."""
    lines = [
        "| model | queries | batched | one at a time | ratio | batched path "
        "| dense 512-token chunk (ceiling) |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in json.loads(path.read_text()).get("generation", {}).values():
        ceiling = (
            f"{g['dense_tokens_per_second']:.0f} tokens/s, {g['batching_ceiling']:.1f}×"
            if "batching_ceiling" in g
            else "—"
        )
        path_ = g["batched_path"]
        if forced := g.get("forced_streams_diagnostic"):
            path_ += f" (streams forced anyway: {forced['speedup']:.2f}×)"
        lines.append(
            f"| {g['model']} | {g['queries']} | {g['seconds']['batched']:.1f} s "
            f"| {g['seconds']['one_at_a_time']:.1f} s | {g['speedup']:.2f}× | {path_} | {ceiling} |"
        )
    return lines


def sampling_rows(path: Path) -> list[str]:
    """A teacher's synthetic candidates, in KV streams against one at a time (`sampling` in
    speed.json)."""
    lines = headed(
        "",
        "model | prompts × samples | one at a time | streams | ratio | same texts | streams' "
        "logits against one-token decodes | parsed examples (loop / streams)",
    )[2:]
    for g in json.loads(path.read_text()).get("sampling", {}).values():
        probe, seconds = g["probe"], g["seconds"]
        largest = probe["largest_logit_difference"]
        exact = "bit-identical" if probe["exact"] else f"differ by up to {largest:.2g}"
        total = g["prompts"] * g["samples_per_prompt"]
        lines.append(
            f"| {g['model']} | {g['prompts']} × {g['samples_per_prompt']} | "
            f"{seconds['one_at_a_time']:.1f} s | {seconds.get('streams', 0):.1f} s | "
            f"{g.get('speedup', 0):.2f}× | {g.get('same_texts', 0)} of {total} | {exact} | "
            f"{g['parsed']['one_at_a_time']} / {g['parsed'].get('streams', 0)} |"
        )
    return lines


def serving_rows(path: Path) -> list[str]:
    """The student's evaluation and a teacher's sampling in-process against llama-server with
    parallel slots (`serving` in speed.json)."""
    lines = headed(
        "",
        "model | engine | slots | student: queries | seconds | ratio | same predictions | "
        "sampling: tokens/s | ratio",
    )[2:]
    for g in json.loads(path.read_text()).get("serving", {}).values():
        for row in g["rows"]:
            lines.append(
                f"| {g['model']} | {row['engine']} | {row['slots'] or ''} | {g['queries']} | "
                f"{row['student_seconds']:.1f} | {row['student_speedup']:.2f}× | "
                f"{row['same_predictions']} of {g['queries']} | "
                f"{row['sampling_tokens_per_second']:.1f} | {row['sampling_speedup']:.2f}× |"
            )
    return lines


def snapshot_rows(path: Path) -> list[str]:
    """Teachers taking turns, with saved KV states against the prefix cache alone
    (`snapshots` in speed.json)."""
    lines = headed(
        "",
        "model | teachers × rounds | prefix cache only | saved states | ratio | tokens restored "
        "| largest score difference (nats)",
    )[2:]
    for g in json.loads(path.read_text()).get("snapshots", {}).values():
        seconds = g["seconds"]
        lines.append(
            f"| {g['model']} | {g['teachers']} × {g['rounds']} | "
            f"{seconds['prefix cache only']:.1f} s | {seconds['saved states']:.1f} s | "
            f"{g['speedup']:.2f}× | {g['tokens_restored']:,} | "
            f"{g['largest_score_difference']:.2g} |"
        )
    return lines


def drafting_rows(path: Path) -> list[str]:
    """Teachers' candidates ranked by the scores read while sampling and label-checked by a
    classifier that continues the sampling prompt, against how drafting ran before
    (`drafting` in speed.json)."""
    lines = headed(
        "",
        "model | teachers × samples | before | now | ratio | scores within (nats a token) "
        "| same top 4 | same labels",
    )[2:]
    for g in json.loads(path.read_text()).get("drafting", {}).values():
        seconds = g["seconds"]
        lines.append(
            f"| {g['model']} | {g['teachers']} × {g['samples_per_teacher']} | "
            f"{seconds['before']:.1f} s | {seconds['now']:.1f} s | {g['speedup']:.2f}× | "
            f"{g['largest_score_difference']:.2g} | {g['same_top_4']} of {g['teachers']} | "
            f"{g['same_labels']} of {g['labels']} |"
        )
    return lines


def method_check_rows(path: Path) -> list[str]:
    """A change to how a method runs, on the same seeds before and after (method_check.py)."""
    report = json.loads(path.read_text())
    lines = headed(
        f"{report['setting']}; {report['method']}: {report['change']}",
        "seed | before (%) | after (%) | same predictions | seconds before | seconds after",
    )
    for run in report["runs"]:
        lines.append(
            f"| {run['seed']} | {100 * run['before']:.0f} | {100 * run['after']:.0f} | "
            f"{run['same_predictions']} of {run['n']} | {run['seconds_before']:.0f} | "
            f"{run['seconds_after']:.0f} |"
        )
    before, after = report["summary"]["before"], report["summary"]["after"]
    lines.append(
        f"| mean [95% interval] | {100 * before['mean']:.1f} [{100 * before['low']:.1f}, "
        f"{100 * before['high']:.1f}] | {100 * after['mean']:.1f} [{100 * after['low']:.1f}, "
        f"{100 * after['high']:.1f}] | {report['same_predictions']} of {report['predictions']} "
        f"(paired p = {report['p_value']:.2g}) | {report['seconds_before']:.0f} | "
        f"{report['seconds_after']:.0f} |"
    )
    return lines


def label_balance_rows(path: Path) -> list[str]:
    """A label's share at each stage of drafting synthetic examples (label_balance.json)."""
    report = json.loads(path.read_text())
    label, stages = report["label"], ("shots", "sampled", "kept", "passed")
    lines = [
        f"{report['table']}, teacher {report['teacher_model']}: {label} examples at each stage "
        f"(m = {report['settings']['teachers']}, n = {report['settings']['shots']}, "
        f"k = {report['settings']['samples']}, keep {report['settings']['keep']}):",
        "",
        "| run | private shots | sampled at τ | kept (likeliest) | passed the filter "
        f"| mean log-prob per token, {label} / other | filter: redacted; rejected for |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in [*report["runs"], {"seed": "all", "summary": report["summary"]}]:
        s = run["summary"]
        shares = [f"{s[stage][label]}/{s[stage]['examples']}" for stage in stages]
        others = [v for k, v in s["mean_logprob_by_label"].items() if k != label]
        logprob = f"{s['mean_logprob_by_label'].get(label, float('nan')):.2f} / " + (
            f"{others[0]:.2f}" if others else "—"
        )
        reasons = ", ".join(f"{k} {v}" for k, v in s["filter_reasons"].items()) or "nothing"
        lines.append(
            f"| {run['seed']} | {' | '.join(shares)} | {logprob} | {s['redacted']}; {reasons} |"
        )
    return lines


DRAFT_COLUMNS = {
    "zero_shot": "0-shot",
    "original_examples": "original",
    "greedy": "greedy draft",
    "mean_draft": "mean draft",
    "best_draft": "best draft",
    "greedy_without_opener": "greedy, opener removed",
}  # and "chosen_on_N": "chosen on N held back"


def instruction_drafts_rows(path: Path) -> list[str]:
    """Dev accuracy of the greedy instruction, of the draft a check would choose, of the mean
    and the best draft, and without the chat opener (instruction_drafts.json)."""
    report = json.loads(path.read_text())
    columns = [*report["mean"], "greedy_without_opener"]  # the benchmark's order
    titles = [
        DRAFT_COLUMNS.get(c, c.replace("chosen_on_", "chosen on ") + " held back") for c in columns
    ]
    lines = headed(
        f"{report['table']}: the student's accuracy (%) on {report['dev_examples']} other "
        f"held-back examples per run (the teacher's data, not the test messages), greedy draft "
        f"and {report['sampled']} sampled at τ:",
        " | ".join(["run", *titles]),
    )
    for run in report["runs"]:
        values = ["—" if run[c] is None else f"{100 * run[c]:.0f}" for c in columns]
        lines.append(f"| {run['seed']} | " + " | ".join(values) + " |")
    mean = [f"{100 * report['mean'][c]:.1f}" for c in columns[:-1]]
    opener = report["opener"]
    if not opener["runs"]:
        return [*lines, "| mean | " + " | ".join(mean) + " | — |", "", "No draft had an opener."]
    lines.append("| mean | " + " | ".join(mean) + f" | {100 * opener['without']:.1f} |")
    means = report["mean"]
    gaps = {
        name: recovered_gap(means[name], means["zero_shot"], means["original_examples"])
        for name in ("greedy", "best_draft")
    }
    lines += [
        "",
        "Recovered gap (on the mean dev accuracies): greedy draft "
        + ", best draft ".join("—" if g is None else f"{g:+.2f}" for g in gaps.values())
        + ".",
        "",
        f"Chat opener: the greedy draft with it {100 * opener['with']:.1f}%, without it "
        f"{100 * opener['without']:.1f}% ({opener['runs']} runs × {report['dev_examples']} "
        f"examples; paired permutation test p = {opener['p']:.4f}); "
        f"{report['seconds'] / 60:.0f} min on 2 cores.",
    ]
    return lines


def headed(caption: str, columns: str) -> list[str]:
    """A caption, then a Markdown table's header row ("a | b | c") and rule."""
    return [caption, "", f"| {columns} |", "|" + "---|" * (columns.count("|") + 1)]


def answer_check_rows(path: Path) -> list[str]:
    """Taught synthetic examples that checking their answers drops or changes (answer_check.json)."""
    report = json.loads(path.read_text())
    lines = headed(
        f"Synthetic examples taught in `{report['source']}`, their answers checked again "
        "(dropped / answer changed, by any teacher that could have taught them):",
        "table | examples | answer as free text | answer as an answer (today) "
        "| ms per answer, free text / as an answer",
    )
    for row in report["tables"]:
        ways = [
            f"{row[way].get('dropped', 0)} / {row[way].get('changed', 0)}"
            for way in ("free_text", "as_answer")
        ]
        ms = [
            f"{1000 * row['seconds'][way] / row['checks']:.0f}"
            for way in ("free_text", "as_answer")
        ]
        lines.append(
            f"| {row['table']} | {row['examples']} | {' | '.join(ways)} | {' / '.join(ms)} |"
        )
    return lines


def held_back_rows(path: Path) -> list[str]:
    """Each refined cell's held-back accuracy per round (each teacher's; the loop keeps the best
    drafts) against the student's accuracy on the unseen test messages: how much the loop's own
    check rose from the first drafts to the kept ones, and how much it flatters the kept ones."""
    lines = headed(
        "Held-back accuracy per round against the unseen test (%):",
        "method | run | held back, per round (per teacher) | kept − first (held back) "
        "| kept (held back) | test | kept − test",
    )
    for result in read_json(path):
        for method in (m.label for m in result.spec.methods if m.refined):
            cells = [c for c in cells_of(result, method) if c.held_out_accuracy]
            for cell in cells:
                rounds = "; ".join(
                    " → ".join(f"{100 * a:.0f}" for a in accuracies)
                    for accuracies in cell.held_out_accuracy.values()
                )
                no_lesson = "" if cell.lessons else " (no lesson passed the filter)"
                kept, first = held_back(cell)
                lines.append(
                    f"| {COLUMNS.get(method, method)} | {cell.seed}{no_lesson} | {rounds} "
                    f"| {round(100 * kept) - round(100 * first):+d} | {100 * kept:.0f} "
                    f"| {100 * cell.accuracy:.0f} | {round(100 * kept) - round(100 * cell.accuracy):+d} |"
                )
            if cells:
                kept, first = (
                    sum(values) / len(cells) for values in zip(*map(held_back, cells), strict=True)
                )
                test = sum(c.accuracy for c in cells) / len(cells)
                lines.append(
                    f"| {COLUMNS.get(method, method)} | mean of {len(cells)} | "
                    f"| {100 * (kept - first):+.1f} | {100 * kept:.1f} | {100 * test:.1f} "
                    f"| {100 * (kept - test):+.1f} |"
                )
    return lines


def held_back(cell: CellResult) -> tuple[float, float]:
    """The held-back accuracy of the drafts the loop kept and of the first drafts, averaged
    over the teachers."""
    teachers = cell.held_out_accuracy.values()
    return (
        sum(max(accuracies) for accuracies in teachers) / len(teachers),
        sum(accuracies[0] for accuracies in teachers) / len(teachers),
    )


def p_text(p_value: float | None) -> str:
    """A p-value to three places, or '—' where the two sides gave the same answers."""
    return "—" if p_value is None else f"{p_value:.3f}"


def calibration_rows(path: Path) -> list[str]:
    """Each instruction method's accuracy under no, content-free and domain calibration, with
    the spam answers it gives (calibration.json)."""
    lines = headed(
        "SMS spam, the committed lessons re-scored on the same test messages (100 per run, 50 "
        "spam); accuracy (%) mean [95% interval over runs], spam answers of all messages; "
        "p: domain against content-free, paired permutation test:",
        "student (results file) | method | runs | none | content-free (default) | domain | p",
    )
    for report in json.loads(path.read_text())["reports"]:
        for method, row in report["methods"].items():
            cells = [
                f"{percent(row[name], gap=False)}, {sum(row[name]['spam_answers'])} / "
                f"{sum(row[name]['test_messages'])} spam"
                for name in ("none", "content_free", "domain")
            ]
            lines.append(
                f"| {report['student_model']} (`{report['file']}`) "
                f"| {COLUMNS.get(method, method)} | {len(row['recorded'])} | {' | '.join(cells)} "
                f"| {p_text(row['domain']['p_vs_content_free'])} |"
            )
    return lines


def rare_numbers_rows(path: Path) -> list[str]:
    """Codes the private-numbers layer leaves unprotected, by its limit (rare_numbers.json)."""
    report = json.loads(path.read_text())
    lines = headed(
        f"The private-numbers layer's limit (today {report['default_limit']} texts), on the real "
        "datasets:",
        "task | limit (texts) | codes unprotected: one teacher, all data | half the data "
        "| new texts with a number redacted",
    )
    for task in report["tasks"]:
        for row in task["rows"]:
            shares = (
                row["unprotected_codes_whole"],
                row["unprotected_codes_half"],
                row["new_texts_redacted"],
            )
            lines.append(
                f"| {task['task']} ({task['texts']:,} texts) | {row['limit']} | "
                + " | ".join(f"{100 * share:.1f}%" for share in shares)
                + " |"
            )
    return lines


def federated_rows(path: Path) -> list[str]:
    report = json.loads(path.read_text())
    runs = report["runs"]
    lines = [
        f"m = {runs[0]['teachers']} teachers, {report['model']}, SMS spam, on one machine with "
        f"{report['machine']['cpu_count']} cores:",
        "",
        "| method | seed | same lessons | in-process (s) | m services (s) | services' overhead "
        "| a core each: one service (s) | two (s) | two / one |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        same = "yes" if run["identical_lessons"] else f"no ({run['differing_lessons']} differ)"
        lines.append(
            f"| {run['method']} | {run['seed']} | {same} | {run['in_process_wall_s']:.0f} | "
            f"{run['services_wall_s']:.0f} | {100 * run['overhead_share']:.1f}% | "
            f"{run['one_service_own_core_wall_s']:.1f} | {run['two_services_own_cores_wall_s']:.1f}"
            f" | {run['parallel_ratio']:.2f} |"
        )
    return lines


def judge_attack_rows(path: Path) -> list[str]:
    """The membership attack's balanced accuracy through judge answers, exact and private,
    by requests per target, a table per model (judge_attack.json)."""
    lines: list[str] = []
    for report in json.loads(path.read_text())["models"].values():
        lines += [""] * bool(lines) + judge_attack_model_rows(report)
    return lines


def judge_attack_model_rows(report: dict[str, Any]) -> list[str]:
    repeats = [r["repeats"] for r in report["settings"][0]["results"]]
    lines = headed(
        f"{report['model']} judging on {report['held_back']} held-back {report['task']} "
        f"examples; {report['targets']} members and {report['targets']} outsiders; balanced "
        "accuracy of calling a target a member (50% is chance), by judge requests per target:",
        " | ".join(["answers", "max requests", *(f"{r} per target" for r in repeats),
                    "refused", "s"]),
    )  # fmt: skip
    for setting in report["settings"]:
        epsilon = "exact" if setting["epsilon"] is None else f"ε = {setting['epsilon']:g}"
        cells = [f"{100 * r['accuracy']:.0f}%" for r in setting["results"]]
        budget = setting["max_requests"] or "none"
        lines.append(
            f"| {epsilon} | {budget} | {' | '.join(cells)} | {setting['refused']} | "
            f"{setting['seconds']:.0f} |"
        )
    return lines


def stage_profile_rows(path: Path) -> list[str]:
    """What each stage of a cell asked llama.cpp to decode, and the floor of that on this machine
    (stage_profile.json). Seconds per stage are not shown: teachers run in parallel threads, so
    their calls' clocks include waiting for the engine's lock."""
    lines: list[str] = []
    for cell in json.loads(path.read_text())["cells"]:
        spec, rates = cell["spec"], cell["rates"]
        stages = {n: st for n, st in cell["stages"].items() if st.get("calls")}
        floor = sum(stage["floor_seconds"] for stage in stages.values())
        caption = (
            (f"{cell['preset']} preset" if cell["preset"] else "the locked study's settings")
            + f", {COLUMNS.get(cell['method'], cell['method'])}"
            f", seed {cell['seed']}: {spec['teacher_model']} teaching {spec['student_model']}, "
            f"m = {spec['teachers']}, {spec['test_size']} test messages, {cell['cpu_count']} cores "
            f"({rates['prompt_tokens_per_s']:.0f} prompt tokens/s, {rates['steps_per_s']:.1f} "
            f"steps/s): {cell['seconds']:.0f} s wall against a floor of {floor:.0f} s"
            + (f" ({cell['seconds'] / floor:.1f}×)" if floor else "")
            + f", accuracy {100 * cell['accuracy']:.0f}%"
        )
        lines += ["", *headed(caption, "stage | calls | prompt tokens | steps | floor (s)")]
        for name, stage in sorted(stages.items(), key=lambda item: -item[1]["floor_seconds"]):
            lines.append(
                f"| {name} | {stage['calls']} | {stage['prompt_tokens']} | {stage['steps']} | "
                f"{stage['floor_seconds']:.0f} |"
            )
    return lines[1:]


def speed_goal_rows(path: Path) -> list[str]:
    """#45's goals against what the committed measurements give (stage_profile.json beside
    speed.json, drafting_check.json and locked.json): each with its side-by-side ratio and the
    floor that bounds it on this machine."""
    speed = json.loads(path.read_text())
    profile = {
        c["preset"]: c for c in json.loads((RESULTS / "stage_profile.json").read_text())["cells"]
    }
    check = json.loads((RESULTS / "drafting_check.json").read_text())
    refined, paper = profile["best"], profile["paper"]
    floor = {name: sum(st["floor_seconds"] for st in cell["stages"].values())
             for name, cell in profile.items()}  # fmt: skip
    before = next(
        cell["seconds"]
        for experiment in json.loads((RESULTS / "locked.json").read_text())["experiments"]
        for cell in experiment["cells"]
        if cell["method"] == refined["method"] and cell["seed"] == refined["seed"]
    )
    drafting = speed["drafting"]["qwen1.5b"]
    cases = speed["ranking"]["cases"]
    sms, gsm8k = cases["sms_spam, canary not shown"], cases["gsm8k, canary not shown"]
    lines = headed("", "goal | now | before → after | floor of the work on 2 cores | met")[2:]
    lines += [
        f"| refined synthetic run ≤ 10 min (≥ 4×) | {refined['seconds'] / 60:.1f} min (seed "
        f"{refined['seed']}) | {before / 60:.1f} → {refined['seconds'] / 60:.1f} min "
        f"({before / refined['seconds']:.2f}×; before: the locked cell of the same seed) | "
        f"{floor['best'] / 60:.1f} min | {yes(refined['seconds'] <= 600)} |",
        f"| plain synthetic ≥ 2× | {paper['seconds']:.0f} s a 20-message cell | teachers' "
        f"stages {drafting['seconds']['before']:.0f} → {drafting['seconds']['now']:.0f} s "
        f"({drafting['speedup']:.2f}×, side by side); cells {check['seconds_before']:.0f} → "
        f"{check['seconds_after']:.0f} s (seeds 0–4, accuracy p = {check['p_value']:.2f}) | "
        f"{floor['paper']:.0f} s for that cell ({paper['seconds'] / floor['paper']:.1f}× above) "
        f"| {yes(drafting['speedup'] >= 2)} |",
        f"| 1,000 canary strings ≤ 30 s | SMS {sms['tree']['seconds']:.1f} s, GSM8K "
        f"{gsm8k['tree']['seconds']:.1f} s | SMS {sms['score_all']['seconds']:.1f} → "
        f"{sms['tree']['seconds']:.1f} s ({sms['speedup']:.2f}×); GSM8K "
        f"{gsm8k['score_all']['seconds']:.1f} → {gsm8k['tree']['seconds']:.1f} s "
        f"({gsm8k['speedup']:.2f}×) | GSM8K's {gsm8k['tree']['tokens_decoded']:,} tree tokens: "
        f"{gsm8k['tree']['tokens_decoded'] * gsm8k['dense_ms_per_token'] / 1000:.1f} s as one "
        f"dense batch, but each KV stream attends over its own copy of the lesson | SMS "
        f"{yes(sms['tree']['seconds'] <= 30)}, GSM8K {yes(gsm8k['tree']['seconds'] <= 30)} |",
    ]
    return lines


def yes(met: bool) -> str:
    return "yes" if met else "no"


def significant(row: dict[str, Any]) -> dict[str, Any]:
    """A peers row as `percent` reads it: its interval, * if p < 0.05 against original."""
    p_value = row.get("p_value")
    return {"interval": row["interval"], "significant": p_value is not None and p_value < 0.05}


def peers_rows(path: Path) -> list[str]:
    report = json.loads(path.read_text())
    lines = [
        f"{report['task']}, {report['test_size']} unseen test messages per run, n = "
        f"{report['shots']}, DSPy {report['dspy']}; * p < 0.05 against original examples:",
        "",
        "| method | runs | accuracy | s per run | what it saw |",
        "|---|---|---|---|---|",
    ]
    for row in report["ours"]:
        tested = ", ".join(f"{m} {p:.3f}" for m, p in row.get("p_against_dspy", {}).items())
        against = f" (p against DSPy: {tested})" if tested else ""
        lines.append(
            f"| ours: {row['method']} ({row['teacher_model']} → {row['student_model']}) | "
            f"{row['runs']} | {percent(significant(row), gap=False)}{against} | "
            f"{row['seconds_per_run']:.0f} | {row['sees']} |"
        )
    for row in report["summaries"]:
        name = row["method"] + (
            f" (proposals: {row['prompt_model']})" if row["prompt_model"] else ""
        )
        seconds = row["compile_seconds"] + row["eval_seconds"]
        ours = (
            f"; our student on its prompt {100 * row['ours_scored']['mean']:.1f}"
            if row.get("ours_scored") is not None
            else ""
        )
        lines.append(
            f"| DSPy {name} ({row['student_model']}) | {row['runs']} | "
            f"{percent(significant(row), gap=False)} (unparsed: "
            f"{sum(row['unparsed'])}{ours}) | {seconds:.0f} | {row['sees']} |"
        )
    return lines


REDRAFT = (
    "refined_qwen1.5b_student-qwen1.5b_k3_h32_revision-redraft_calibration-domain_separate-feedback"
)
SYNTHETIC_REPLACE = "refined_qwen1.5b_student-qwen1.5b_k3_h32_calibration-domain_synthetic-replace"
TABLES: dict[str, tuple[str, Callable[[Path], list[str]]]] = {
    "demo": ("demo.json", demo_rows),
    "quick-demo": ("quick_demo.json", demo_rows),
    "locked": ("locked.json", locked_rows),
    "paper-rest": ("paper_rest.json", paper_rest_rows),
    "small-teachers": ("paper_rest.json", small_teacher_rows),
    "private-choice-runs": ("private_choice.json", paper_rest_rows),
    "private-choice": ("private_choice.json", private_choice_rows),
    "paper": ("paper_tables_full.json", experiment_rows),
    "capable": ("paper_tables_capable.json", experiment_rows),
    "privacy": ("privacy.json", privacy_rows),
    "privacy-t100-sms": ("privacy-t100-sms_spam.json", privacy_rows),
    "privacy-t100-sms-before-private-numbers": (
        "privacy-t100-sms_spam-before-private-numbers.json",
        privacy_rows,
    ),
    "privacy-t100-gsm8k": ("privacy-t100-gsm8k.json", privacy_rows),
    "privacy-t100-gsm8k-before-worked-answers": (
        "privacy-t100-gsm8k-before-worked-answers.json",
        privacy_rows,
    ),
    "privacy-t100-gsm8k-before-answer-numbers": (
        "privacy-t100-gsm8k-before-answer-numbers.json",
        privacy_rows,
    ),
    "filter": ("privacy_filter.json", filter_rows),
    "dp": ("dp_voting.json", experiment_rows),
    "gpu": ("gpu_check.json", gpu_rows),
    "ranking": ("speed.json", ranking_rows),
    "generation": ("speed.json", generation_rows),
    "sampling": ("speed.json", sampling_rows),
    "snapshots": ("speed.json", snapshot_rows),
    "serving": ("speed.json", serving_rows),
    "drafting": ("speed.json", drafting_rows),
    "drafting-check": ("drafting_check.json", method_check_rows),
    "judge-attack": ("judge_attack.json", judge_attack_rows),
    "stage-profile": ("stage_profile.json", stage_profile_rows),
    "speed-goals": ("speed.json", speed_goal_rows),
    "federated": ("federated.json", federated_rows),
    "label-balance": ("label_balance.json", label_balance_rows),
    "answer-check": ("answer_check.json", answer_check_rows),
    "rare-numbers": ("rare_numbers.json", rare_numbers_rows),
    "peers": ("peers.json", peers_rows),
    "calibration": ("calibration.json", calibration_rows),
    "refined-qwen-student-redraft": (f"{REDRAFT}.json", experiment_rows),
    "refined-qwen-student-redraft-held-back": (f"{REDRAFT}.json", held_back_rows),
    "refined-qwen-student-synthetic": (f"{SYNTHETIC_REPLACE}.json", experiment_rows),
    "refined-qwen-student-synthetic-extensions": (f"{SYNTHETIC_REPLACE}.json", extension_rows),
    "refined-qwen-student-synthetic-held-back": (f"{SYNTHETIC_REPLACE}.json", held_back_rows),
    "instruction-drafts": ("instruction_drafts.json", instruction_drafts_rows),
    "peers-qwen-student-domain": (
        "peers_qwen1.5b_student-qwen1.5b_calibration-domain.json",
        peers_rows,
    ),
    "model-roles": ("model_roles.json", experiment_rows),
}


def render(readme: str) -> str:
    """A document with every table whose JSON exists regenerated."""
    for name, (file, rows) in TABLES.items():
        path = RESULTS / file
        pattern = re.compile(rf"(<!-- table: {name} -->\n).*?(<!-- /table: {name} -->)", re.S)
        if path.is_file() and pattern.search(readme):
            body = "\n".join(rows(path))
            match = pattern.search(readme)
            assert match is not None
            readme = readme[: match.end(1)] + body + "\n" + readme[match.start(2) :]
    return readme


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a document is stale")
    args = parser.parse_args()
    stale = []
    for document in DOCUMENTS:
        current = document.read_text(encoding="utf-8")
        fresh = render(current)
        if fresh == current:
            continue
        stale.append(document)
        if not args.check:
            document.write_text(fresh, encoding="utf-8")
            print(f"wrote {document.relative_to(ROOT)}")
    if args.check and stale:
        names = ", ".join(str(d.relative_to(ROOT)) for d in stale)
        print(f"stale tables in {names}: run python -m benchmarks.readme_tables", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
