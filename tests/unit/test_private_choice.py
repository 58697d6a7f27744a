"""benchmarks/private_choice.py: the private choice at ε = 1 beside its bars and its control."""

from __future__ import annotations

from pathlib import Path

from benchmarks import private_choice, readme_tables
from benchmarks.locked import RESULTS, study_specs
from sociallearn.engine import ModelPool
from sociallearn.experiments.report import finished_cells, write_json
from sociallearn.experiments.runner import run_experiment


def spec():
    (only,) = study_specs(private_choice.STUDIES, private_choice.SHARED)
    return only


def test_ten_final_runs_at_epsilon_one_in_the_paper_setting():
    study = spec()
    assert study.final and study.runs == 10 and study.dp_epsilon == 1.0
    assert (study.teachers, study.lessons, study.student_model) == (8, 8, "qwen1.5b")
    assert [m.label for m in study.methods] == [
        "zero_shot", "original_examples", "public_examples+random",
        "synthetic_examples+dp_choice", "public_examples+dp_choice",
    ]  # fmt: skip


def test_the_bars_of_the_paper_setting_are_reused_for_the_first_five_runs():
    keys = {cell.key for cell in finished_cells(RESULTS / "locked.json")}
    study = spec()
    hits = {
        m.label: sum(study.cell_key(m, study.seed + run) in keys for run in range(10))
        for m in study.methods
    }
    assert hits == {"zero_shot": 5, "original_examples": 5} | {
        label: 0 for label in [m.label for m in study.methods][2:]
    }


def test_the_comparison_renders_run_by_run(larger_sms_file: Path, tmp_path: Path, scripted):
    small = spec().replace(
        data_path=str(larger_sms_file), test_size=4, runs=2, final=False, teachers=2, shots=2,
        samples=4, keep=4, lessons=2, votes_held_out=2,
    )  # fmt: skip
    model = scripted(lambda prompt, n: f" draft {n}")
    result = run_experiment(small, models=ModelPool.fixed(model), out_dir=tmp_path, progress=False)
    write_json([result], tmp_path / "private_choice.json")
    rows = readme_tables.private_choice_rows(tmp_path / "private_choice.json")[2:]
    assert [row.split(" | ")[:2] for row in rows] == [
        ["| synthetic, private choice", "original"],
        ["| synthetic, private choice", "public drafts, random"],
        ["| public drafts, private choice", "original"],
        ["| public drafts, private choice", "public drafts, random"],
        ["| public drafts, random", "original"],
    ]
    runs = readme_tables.paper_rest_rows(tmp_path / "private_choice.json")
    assert any("| public drafts, private choice |" in row for row in runs)
