"""A small experiment end to end: real model, real SMS data, real Chroma; then resumed by the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from sociallearn.experiments.harness import cell_settings
from sociallearn.experiments.report import write_all
from sociallearn.experiments.runner import ExperimentResult, run_experiment
from sociallearn.experiments.spec import ExperimentSpec, parse_methods
from sociallearn.tasks import get_task
from sociallearn.teaching.resources import Resources

METHODS = [
    "zero_shot",
    "original_examples",
    "instructions",
    "synthetic_examples+random",
    "synthetic_examples+voting+checked",
]


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory, datasets: Path) -> dict:
    root = tmp_path_factory.mktemp("experiment")
    spec = ExperimentSpec(
        name="small",
        task="sms_spam",
        methods=parse_methods(METHODS),
        teachers=2,
        samples=4,
        keep=2,
        lessons=4,
        votes_held_out=4,
        test_size=20,
        runs=2,
        permutations=2000,
        teacher_model="gemma3",  # smollm2's instructions loop on one sentence: rejected
    )
    result = run_experiment(spec, out_dir=root / "out", progress=False)
    return {"root": root, "spec": spec, "result": result}


def test_every_cell_is_evaluated_on_the_same_test_examples(experiment: dict):
    result: ExperimentResult = experiment["result"]
    assert [s.method for s in result.summaries] == METHODS
    assert len(result.cells) == len(METHODS) * 2
    for seed in (0, 1):
        inputs = {tuple(p.input for p in c.predictions) for c in result.cells if c.seed == seed}
        assert len(inputs) == 1 and len(next(iter(inputs))) == 20
    assert all(p.predicted in {"spam", "ham"} for c in result.cells for p in c.predictions)
    taught = [c for c in result.cells if c.method not in {"zero_shot", "original_examples"}]
    assert all(c.lessons for c in taught), "a social-learning cell published no lesson"


def test_statistics_are_reported_against_both_bars(experiment: dict):
    result: ExperimentResult = experiment["result"]
    zero, original = result.summary("zero_shot"), result.summary("original_examples")
    assert zero is not None and original is not None
    # Seeing the private examples beats seeing nothing (the upper and lower bars).
    assert original.interval.mean > zero.interval.mean
    assert original.p_value is None and original.recovered_gap == pytest.approx(1.0)
    for summary in result.summaries:
        assert summary.interval.low <= summary.interval.mean <= summary.interval.high
        if summary.method != "original_examples":
            assert summary.p_value is not None and 0 < summary.p_value <= 1
            assert summary.significant == (summary.p_value < 0.05)


def test_results_hold_no_private_example(experiment: dict):
    spec: ExperimentSpec = experiment["spec"]
    root: Path = experiment["root"]
    result: ExperimentResult = experiment["result"]
    paths = write_all([result], root / "results" / "small", title="small")
    assert paths[2].stat().st_size > 10_000  # the plot
    # The SMS collection repeats some messages: only those may be both test and silo examples.
    repeats = Counter(e.input for e in get_task("sms_spam").load())
    checked = 0
    for cell in result.cells:  # each run deals the data anew: check a cell against its own run
        method = next(m for m in spec.methods if m.label == cell.method)
        settings = cell_settings(spec, method, cell.seed, root / "out" / "library")
        silos = Resources(settings).split.silos.values()
        private = {t for silo in silos for t in silo.private_texts()}
        overlap = {p.input for p in cell.predictions} & private
        assert all(repeats[text] > 1 for text in overlap)
        private = {t for t in private if len(t) >= 40}
        shared = "\n".join(cell.lessons)
        assert [text for text in private if text in shared] == []
        checked += len(private)
    assert checked > 1000
    assert json.loads(paths[0].read_text())["experiments"][0]["cells"] == [
        json.loads(cell.model_dump_json()) for cell in result.cells
    ]


def test_the_cli_resumes_without_redoing_finished_cells(experiment: dict):
    root: Path = experiment["root"]
    spec_file = root / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(experiment["spec"].model_dump(mode="json")))
    cells = sorted((root / "out" / "cells").rglob("*.json"))
    before = {path: path.stat().st_mtime_ns for path in cells}
    stem = root / "cli" / "table"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sociallearn.apps.cli",
            "experiment",
            "--spec",
            str(spec_file),
            "--out",
            str(root / "out"),
            "--results",
            str(stem),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert {path: path.stat().st_mtime_ns for path in cells} == before
    document = json.loads(stem.with_suffix(".json").read_text())
    accuracies = [c["accuracy"] for c in document["experiments"][0]["cells"]]
    assert accuracies == [c.accuracy for c in experiment["result"].cells]
    table = stem.with_suffix(".md").read_text()
    assert "| small (ours) |" in table and "Table 2" in table


def test_a_bad_spec_file_is_a_clear_cli_error(tmp_path: Path):
    spec_file = tmp_path / "bad.yaml"
    spec_file.write_text("task: sms_spam\nruns: 0\n")
    run = subprocess.run(
        [sys.executable, "-m", "sociallearn.apps.cli", "experiment", "--spec", str(spec_file)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "400"},
    )
    assert run.returncode == 2
    assert "bad.yaml, line 2: field 'runs'" in run.stderr.replace("\n", "")
