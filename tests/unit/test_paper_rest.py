"""benchmarks/paper_rest.py: the paper's remaining settings as locked-part studies."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import paper_rest, readme_tables
from benchmarks.locked import RESULTS, study_specs
from sociallearn.engine import ModelPool
from sociallearn.experiments.report import finished_cells, write_json
from sociallearn.experiments.runner import run_experiment


def specs() -> list:
    return study_specs(paper_rest.STUDIES, paper_rest.SHARED, 5)


def test_every_study_is_a_final_evaluation_of_five_runs_in_the_paper_setting():
    every = specs()
    assert [spec.name.split(" (")[0] for spec in every] == list(paper_rest.STUDIES)
    assert all(spec.final and spec.runs == 5 for spec in every)
    by_name = {spec.name.split(" (")[0]: spec for spec in every}
    assert by_name["SMS+class"].task == "sms_spam_class"
    assert by_name["16 examples"].shots == by_name["16 examples"].lessons == 16
    assert by_name["smollm2 teachers"].teacher_model == "smollm2"
    assert by_name["smollm2 teachers"].student_model == "qwen1.5b"


def test_the_bars_the_paper_setting_measured_are_reused_not_evaluated_again():
    """The locked part is read once per configuration: 0-shot and the original examples of the
    `paper setting` study (locked.json) are the manual-prompt study's bars."""
    keys = {cell.key for cell in finished_cells(RESULTS / "locked.json")}
    manual = specs()[0]
    hits = {
        method.label: sum(manual.cell_key(method, manual.seed + run) in keys for run in range(5))
        for method in manual.methods
    }
    assert hits == {"zero_shot": 5, "manual_prompt": 0, "original_examples": 5}


def test_a_study_renders_beside_the_paper(larger_sms_file: Path, tmp_path: Path, scripted):
    spec = specs()[0].replace(
        data_path=str(larger_sms_file), test_size=4, runs=2, final=False, teachers=2, shots=2
    )
    result = run_experiment(
        spec, models=ModelPool.fixed(scripted(lambda p, n: " spam")), out_dir=tmp_path,
        progress=False,
    )  # fmt: skip
    write_json([result], tmp_path / "paper_rest.json")
    rows = readme_tables.paper_rest_rows(tmp_path / "paper_rest.json")
    manual = next(row for row in rows if "| manual prompt |" in row)
    assert manual.startswith("| manual prompt: SMS (qwen1.5b → qwen1.5b) | manual prompt |")
    assert "| 94.0 |" in manual  # the paper's number
    assert json.loads((tmp_path / "paper_rest.json").read_text())["experiments"][0]["cells"]


def test_a_student_of_small_teachers_is_compared_with_what_their_model_reaches_alone(
    larger_sms_file: Path, tmp_path: Path, scripted
):
    by_name = {spec.name.split(" (")[0]: spec for spec in specs()}
    models = ModelPool.fixed(scripted(lambda p, n: " spam"))
    small = {"data_path": str(larger_sms_file), "test_size": 4, "runs": 2, "final": False,
             "teachers": 2, "shots": 2, "samples": 2, "keep": 1, "lessons": 2}  # fmt: skip
    results = [
        run_experiment(
            by_name[name].replace(**small), models=models, out_dir=tmp_path, progress=False
        )
        for name in ("smollm2 teachers", "smollm2 alone")
    ]
    write_json(results, tmp_path / "paper_rest.json")
    rows = readme_tables.small_teacher_rows(tmp_path / "paper_rest.json")[2:]
    assert [row.split(" | ")[:2] for row in rows] == [
        ["| smollm2 teachers → qwen1.5b: instructions", "smollm2 alone: original"],
        ["| smollm2 teachers → qwen1.5b: synthetic, random", "smollm2 alone: original"],
    ]
    write_json(results[:1], tmp_path / "paper_rest.json")  # the teachers' own bar not run yet
    assert readme_tables.small_teacher_rows(tmp_path / "paper_rest.json")[2:] == []


def test_small_teachers_on_gsm8k_and_random_insertion_reuse_the_students_bars():
    """The qwen1.5b student's 0-shot and original examples on GSM8K and Random Insertion are
    the manual-prompt studies' cells; only what the small teachers teach is new."""
    keys = {cell.key for cell in finished_cells(RESULTS / "paper_rest.json")}
    by_name = {spec.name.split(" (")[0]: spec for spec in specs()}
    for task in ("GSM8K", "Random Insertion"):
        taught = by_name[f"smollm2 teachers: {task}"]
        assert (taught.teacher_model, taught.student_model) == ("smollm2", "qwen1.5b")
        assert by_name[f"gemma3 alone: {task}"].student_model == "gemma3"
        hits = {
            m.label: sum(taught.cell_key(m, taught.seed + run) in keys for run in range(5))
            for m in taught.methods
            if not m.teaches
        }
        assert hits == {"zero_shot": 5, "original_examples": 5}
