"""benchmarks.method_check: the same seeds before and after a change, compared message by message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import method_check, readme_tables
from sociallearn.experiments.harness import CellResult
from sociallearn.teaching.evaluate import Prediction

METHOD = "synthetic_examples+random"


def cell(seed: int, right: list[bool], seconds: float, inputs: str = "m") -> CellResult:
    predictions = [
        Prediction(input=f"{inputs}{i}", gold="spam", predicted="spam" if ok else "ham", correct=ok)
        for i, ok in enumerate(right)
    ]
    return CellResult(
        task="sms_spam", method=METHOD, seed=seed, key="k", accuracy=sum(right) / len(right),
        n=len(right), seconds=seconds, cpu_seconds=seconds, predictions=predictions,
    )  # fmt: skip


def test_cells_from_a_results_file_and_a_cell_folder_compare_seed_by_seed(tmp_path: Path):
    results = tmp_path / "demo.json"
    before = [cell(0, [True, True, False, False], 300.0), cell(1, [True] * 4, 280.0)]
    results.write_text(json.dumps({"cells": [json.loads(c.model_dump_json()) for c in before]}))
    folder = tmp_path / "cells" / "sms_spam"
    folder.mkdir(parents=True)
    after = [cell(0, [True, True, True, False], 200.0), cell(1, [True] * 4, 220.0)]
    for c in [*after, cell(2, [True] * 4, 1.0)]:  # seed 2 ran on one side only
        (folder / f"seed{c.seed}.json").write_text(c.model_dump_json())
    report = method_check.compare(
        method_check.load_cells([results], METHOD),
        method_check.load_cells([tmp_path / "cells"], METHOD),
    )
    assert [run["seed"] for run in report["runs"]] == [0, 1]
    assert [run["same_predictions"] for run in report["runs"]] == [3, 4]
    assert report["same_predictions"] == 7 and report["predictions"] == 8
    assert report["p_value"] == 1.0  # one differing message: both arrangements as extreme
    assert report["seconds_before"] == 290.0 and report["seconds_after"] == 210.0
    assert report["summary"]["after"]["mean"] == pytest.approx(0.875)
    path = tmp_path / "check.json"
    path.write_text(json.dumps({"method": METHOD, "change": "c", "setting": "s", **report}))
    rows = readme_tables.method_check_rows(path)
    assert rows[-1].startswith("| mean [95% interval] | 75.0 [")
    assert "7 of 8 (paired p = 1)" in rows[-1]


def test_seeds_tested_on_other_messages_are_refused():
    with pytest.raises(SystemExit, match="seed 0 tested other messages"):
        method_check.compare({0: cell(0, [True], 1.0)}, {0: cell(0, [True], 1.0, inputs="x")})
