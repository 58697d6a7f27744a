"""Experiment harness: statistics on known cases, specs and their errors, voting, fake runs."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import pytest
from scipy import stats

from benchmarks import readme_tables
from sociallearn.apps.run import teach
from sociallearn.core.lm import Score
from sociallearn.core.schema import Lesson
from sociallearn.engine import ModelPool
from sociallearn.experiments.harness import CellResult, run_cell
from sociallearn.experiments.report import (
    finished_cells,
    output_paths,
    read_json,
    to_markdown,
    write_all,
    write_text,
)
from sociallearn.experiments.runner import (
    ExperimentResult,
    finished_so_far,
    gap_on_runs,
    p_values_against,
    run_experiment,
    summarise,
)
from sociallearn.experiments.spec import (
    REFINED_ROUNDS,
    ExperimentSpec,
    MethodSpec,
    SpecError,
    load_specs,
    parse_methods,
)
from sociallearn.experiments.stats import mean_interval, permutation_p_value, recovered_gap
from sociallearn.privacy.filter import FilterSettings
from sociallearn.teaching.aggregators.voting import elect, take_by_label
from sociallearn.teaching.evaluate import Prediction
from sociallearn.teaching.settings import Settings

# ---------------------------------------------------------------- statistics


def test_t_interval_matches_the_textbook_case():
    interval = mean_interval([1.0, 2.0, 3.0])
    half = 4.302653 * 1.0 / math.sqrt(3)  # t(0.975, 2) · s / √n
    assert interval.mean == pytest.approx(2.0)
    assert interval.low == pytest.approx(2.0 - half, abs=1e-5)
    assert interval.high == pytest.approx(2.0 + half, abs=1e-5)


def test_interval_edge_cases():
    flat = mean_interval([0.5, 0.5, 0.5])
    assert (flat.low, flat.high) == (0.5, 0.5)
    wide = mean_interval([0.1, 0.9], bounds=(0.0, 1.0))
    assert (wide.low, wide.high) == (0.0, 1.0) and wide.mean == pytest.approx(0.5)
    single = mean_interval([0.7])
    assert single.mean == 0.7 and math.isnan(single.low) and math.isnan(single.high)
    with pytest.raises(ValueError):
        mean_interval([])


def test_paired_permutation_test_is_exact_on_small_cases():
    # 5 pairs all favour a: 2 of the 2^5 sign patterns are as extreme → 2/32.
    assert permutation_p_value([1] * 5, [0] * 5) == pytest.approx(2 / 32)
    # Pairs that agree do not change the p-value.
    assert permutation_p_value([1] * 5 + [0, 1, 1], [0] * 5 + [0, 1, 1]) == pytest.approx(2 / 32)
    assert permutation_p_value([1, 0, 1], [1, 0, 1]) == 1.0
    # A single differing pair: both of its arrangements are as extreme → 2/2.
    assert permutation_p_value([1, 0, 0, 0], [0, 0, 0, 0]) == 1.0


def test_paired_permutation_test_equals_exact_mcnemar():
    # On 0/1 outcomes the paired test is the exact two-sided sign (McNemar) test.
    a = [1] * 9 + [0] + [1] * 30
    b = [0] * 9 + [1] + [1] * 30
    expected = stats.binomtest(9, 10, 0.5).pvalue
    assert permutation_p_value(a, b) == pytest.approx(expected, abs=1e-9)


def test_randomised_permutation_test_approximates_the_exact_one():
    a = [1] * 28 + [0] * 12  # 40 discordant pairs: too many to enumerate, so it resamples
    b = [0] * 28 + [1] * 12
    expected = stats.binomtest(28, 40, 0.5).pvalue
    assert permutation_p_value(a, b, n_resamples=10_000) == pytest.approx(expected, abs=0.006)


def test_unpaired_permutation_test_known_case():
    # 4 ones vs 4 zeros: 2 of the C(8, 4) = 70 deals are as extreme.
    assert permutation_p_value([1] * 4, [0] * 4, paired=False) == pytest.approx(2 / 70)
    with pytest.raises(ValueError, match="differ in size"):
        permutation_p_value([1, 0], [1])


def _cell(method: str, seed: int, correct: list[bool]) -> CellResult:
    predictions = [
        Prediction(input=f"q{i}", gold="a", predicted="a" if ok else "b", correct=ok)
        for i, ok in enumerate(correct)
    ]
    return CellResult(
        task="sms_spam", method=method, seed=seed, key=f"{method}{seed}", n=len(correct),
        accuracy=sum(correct) / len(correct), seconds=0.0, cpu_seconds=0.0,
        predictions=predictions,
    )  # fmt: skip


def test_p_values_against_a_reference_method_pair_runs_and_examples():
    # 0-shot right on 2 of 12, a method right on 11 of 12 in each of two runs: the 18 pairs
    # that differ all favour the method.
    zero = [_cell("zero_shot", seed, [i < 2 for i in range(12)]) for seed in (0, 1)]
    good = [_cell("instructions", seed, [i != 5 for i in range(12)]) for seed in (0, 1)]
    same = [_cell("synthetic_examples", seed, [i < 2 for i in range(12)]) for seed in (0, 1)]
    unpaired = [_cell("voting", 7, [True] * 12)]  # no run in common with 0-shot: no test
    p = p_values_against([*zero, *good, *same, *unpaired], "zero_shot", permutations=1000)
    assert set(p) == {"instructions", "synthetic_examples"}
    assert p["instructions"] < 0.01 and p["synthetic_examples"] == 1.0
    assert p_values_against(good, "zero_shot") == {}


def test_extensions_are_tested_against_the_method_they_extend():
    assert MethodSpec.parse("instructions+refined").extends == "instructions"
    assert MethodSpec.parse("instructions+merge").extends == "instructions+voting"
    refined_synthetic = MethodSpec.parse("synthetic_examples+voting+balanced+refined")
    assert refined_synthetic.extends == "synthetic_examples+voting+balanced"
    assert MethodSpec.parse("instructions+voting").extends is None
    # Refined right on 11 of 12 where plain instructions are right on 2, in both runs; the
    # merge has no voting cells to be tested against.
    cells = [
        *(_cell("instructions", seed, [i < 2 for i in range(12)]) for seed in (0, 1)),
        *(_cell("instructions+refined", seed, [i != 5 for i in range(12)]) for seed in (0, 1)),
        *(_cell("instructions+merge", seed, [True] * 12) for seed in (0, 1)),
    ]
    spec = ExperimentSpec(
        task="sms_spam",
        methods=["instructions", "instructions+refined", "instructions+merge"],
        permutations=1000,
    )
    summaries = {s.method: s for s in summarise(spec, cells)}
    assert summaries["instructions+refined"].extends == "instructions"
    assert summaries["instructions+refined"].p_vs_extended < 0.01
    assert summaries["instructions+merge"].extends == "instructions+voting"
    assert summaries["instructions+merge"].p_vs_extended is None
    assert summaries["instructions"].extends is None


def test_recovered_gap():
    assert recovered_gap(0.7, 0.5, 0.9) == pytest.approx(0.5)
    assert recovered_gap(0.4, 0.5, 0.9) == pytest.approx(-0.25)
    assert recovered_gap(0.6, 0.5, 0.5) is None
    assert recovered_gap(0.02, 0.03, 0.01) is None  # original below 0-shot: nothing to recover


def test_a_method_part_way_through_its_runs_recovers_the_gap_of_its_own_runs():
    # 0-shot 0.5 and original 1.0 in run 0, 0 and 0.5 in run 1; the method, run 0 only,
    # reaches 0.75: half of run 0's gap, although it is above both bars' means over two runs.
    half = [i < 6 for i in range(12)]
    cells = [
        _cell("zero_shot", 0, half), _cell("zero_shot", 1, [False] * 12),
        _cell("original_examples", 0, [True] * 12), _cell("original_examples", 1, half),
        _cell("instructions", 0, [i < 9 for i in range(12)]),
    ]  # fmt: skip
    spec = ExperimentSpec(
        task="sms_spam",
        methods=["zero_shot", "original_examples", "instructions"],
        permutations=100,
    )
    summaries = {s.method: s for s in summarise(spec, cells)}
    assert summaries["instructions"].recovered_gap == pytest.approx(0.5)
    assert summaries["original_examples"].recovered_gap == pytest.approx(1.0)
    assert gap_on_runs(cells[-1:], {"zero_shot": cells[:1]}) is None  # no original examples


# --------------------------------------------------------------------- specs


def test_method_labels_round_trip():
    for label in ["zero_shot", "instructions", "synthetic_examples+voting+balanced+checked"]:
        assert MethodSpec.parse(label).label == label
    assert MethodSpec.parse("synthetic_examples").label == "synthetic_examples+random"
    with pytest.raises(ValueError, match="unknown option"):
        MethodSpec.parse("synthetic_examples+loud")
    with pytest.raises(ValueError, match="synthetic_examples and public_examples only"):
        MethodSpec.parse("instructions+dp")


def test_spec_from_yaml_and_flags(tmp_path: Path):
    path = tmp_path / "spec.yaml"
    path.write_text(
        "task: random_insertion\nmethods: [zero_shot, synthetic_examples+voting]\nruns: 4\n"
    )
    (spec,) = load_specs(path, {"runs": 2})
    assert spec.task == "random_insertion" and spec.runs == 2 and spec.seeds == [0, 1]
    assert [m.label for m in spec.methods] == ["zero_shot", "synthetic_examples+voting"]


def test_spec_errors_name_file_line_and_field(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("task: sms_spam\nmethods:\n  - zero_shot\n  - synthetic_examples+loud\n")
    with pytest.raises(SpecError, match=r"bad\.yaml, line 4: field 'methods\.1'.*unknown option"):
        load_specs(path)
    path.write_text("task: sms_spam\nshots: many\n")
    with pytest.raises(SpecError, match=r"line 2: field 'shots'"):
        load_specs(path)
    path.write_text("tsk: sms_spam\n")
    with pytest.raises(SpecError, match=r"line 1: field 'tsk'"):
        load_specs(path)
    broken = tmp_path / "bad.json"
    broken.write_text('{"task": "sms_spam",\n "runs": }')
    with pytest.raises(SpecError, match=r"bad\.json, line 2: invalid JSON"):
        load_specs(broken)


def test_cell_keys_follow_the_settings_a_cell_depends_on():
    spec = ExperimentSpec()
    zero, voting = MethodSpec.parse("zero_shot"), MethodSpec.parse("synthetic_examples+voting")
    other_teachers = ExperimentSpec(teachers=3, teacher_model="gemma3")
    assert spec.cell_key(zero, 0) == other_teachers.cell_key(zero, 0)
    assert spec.cell_key(voting, 0) != other_teachers.cell_key(voting, 0)
    assert spec.cell_key(voting, 0) != spec.cell_key(voting, 1)
    with pytest.raises(ValueError, match="repeated"):
        ExperimentSpec.model_validate({"methods": "zero_shot,zero_shot"})


def test_filter_settings_key_the_cells_that_teach_not_the_baselines():
    spec = ExperimentSpec()
    before = ExperimentSpec(privacy=FilterSettings(rare_number_texts=0))
    zero, voting = MethodSpec.parse("zero_shot"), MethodSpec.parse("synthetic_examples+voting")
    assert spec.cell_key(voting, 0) != before.cell_key(voting, 0)
    assert spec.cell_key(zero, 0) == before.cell_key(zero, 0)  # a baseline is not filtered


# -------------------------------------------------------------------- voting


def test_elect_runs_plurality_rounds():
    scores = [  # teachers × candidates
        [0.9, 0.8, 0.1, 0.0],
        [0.7, 0.9, 0.2, 0.0],
        [0.8, 0.1, 0.3, 0.0],
    ]
    # Round 1: votes 0, 1, 0 → candidate 0 (2 votes). Round 2: 1, 1, 2 → candidate 1.
    # Round 3: every teacher's best left is 2.
    assert elect(scores, 3) == [(0, 2), (1, 2), (2, 3)]
    # A tie in votes goes to the higher total score.
    assert elect([[1.0, 0.0], [0.0, 0.5]], 1) == [(0, 1)]
    assert elect([], 2) == []


# ---------------------------------------------------- graph and runner (fake)


def test_teacher_check_shares_only_helpful_examples(sms_file, tmp_path, scripted):
    drafts = iter(["Free prize, text WIN now\nLabel: spam", "Call me later\nLabel: spam"] * 50)
    engine = scripted(lambda prompt, n: " " + next(drafts))

    def score_pairs(pairs: Sequence[tuple[str, str]]) -> list[Score]:
        # The held-back answers are likelier after the prize example only.
        return [Score(-1.0 if "Free prize" in prefix else -2.0, 1) for prefix, _ in pairs]

    engine.score_pairs = score_pairs
    settings = {
        "data_path": str(sms_file),
        "library": str(tmp_path / "lib"),
        "test_size": 4,
        "teachers": 2,
        "samples": 2,
        "keep": 2,
        "lessons": 4,
    }
    models = ModelPool.fixed(engine)
    plain = teach(Settings(**settings), models=models)
    checked = teach(Settings(**settings, teacher_check=True), models=models)
    assert {lesson.input for lesson in plain["candidates"]} == {
        "Free prize, text WIN now",
        "Call me later",
    }
    assert {lesson.input for lesson in checked["candidates"]} == {"Free prize, text WIN now"}


def small_spec(sms_file: Path, runs: int, methods: list[str]) -> ExperimentSpec:
    """A few-second experiment on the small SMS file: 2 teachers, 2 shots, 4 test messages."""
    return ExperimentSpec(
        data_path=str(sms_file),
        test_size=4,
        runs=runs,
        teachers=2,
        shots=2,
        samples=2,
        keep=2,
        lessons=2,
        permutations=200,
        methods=parse_methods(methods),
    )


def test_run_experiment_resumes_and_reports(sms_file, tmp_path, scripted, monkeypatch):
    engine = scripted(lambda prompt, n: f" Offer {n}: you won, reply WIN\nLabel: spam")
    models = ModelPool.fixed(engine)
    spec = small_spec(
        sms_file, 2, ["zero_shot", "original_examples", "instructions", "synthetic_examples+voting"]
    )
    result = run_experiment(spec, models=models, out_dir=tmp_path / "exp", progress=False)
    assert [s.method for s in result.summaries] == [m.label for m in spec.methods]
    assert len(result.cells) == 8 and all(c.n == 4 for c in result.cells)
    voting = result.summary("synthetic_examples+voting")
    assert voting is not None and voting.runs == 2 and 0 < voting.p_value <= 1  # type: ignore[operator]
    assert all(c.lessons for c in result.cells if c.method == "synthetic_examples+voting")
    assert not any(c.lessons for c in result.cells if c.method == "original_examples")

    calls = len(engine.prompts)
    monkeypatch.setattr(
        "sociallearn.experiments.runner.run_cell",
        lambda *a, **k: pytest.fail("a finished cell was run again"),
    )
    again = run_experiment(spec, models=models, out_dir=tmp_path / "exp", progress=False)
    assert len(engine.prompts) == calls
    assert [c.accuracy for c in again.cells] == [c.accuracy for c in result.cells]

    paths = write_all([again], tmp_path / "out" / "results", title="t")
    document = json.loads(paths[0].read_text())
    cells = document["experiments"][0]["cells"]
    assert sum(len(c["predictions"]) for c in cells) == 8 * 4
    assert "| experiment (ours) |" in paths[1].read_text()
    assert paths[2].stat().st_size > 1000
    # Private silo examples are not in the results: only test inputs and published lessons.
    private = {line.split("\t", 1)[1] for line in sms_file.read_text().splitlines()}
    tested = {p["input"] for c in cells for p in c["predictions"]}
    leaked = {text for text in private - tested if text in paths[0].read_text()}
    assert leaked == set()
    assert "0-shot" in to_markdown([again])

    one_run = run_experiment(
        spec.replace(runs=1), models=models, out_dir=tmp_path / "exp", progress=False
    )
    assert math.isnan(one_run.summaries[0].interval.low)  # no interval from one run
    write_all([again, one_run], tmp_path / "out" / "results", title="t")
    read = read_json(paths[0])
    assert [r.model_dump_json() for r in read] == [
        again.model_dump_json(),
        one_run.model_dump_json(),
    ]
    paths[0].write_text('{"experiments": [{"spec": {}}]}')
    with pytest.raises(
        ValueError, match=r"results\.json: not experiment results \(planned_cells: Field"
    ):
        read_json(paths[0])
    paths[0].write_text('{"results": []}')
    with pytest.raises(ValueError, match=r"results\.json: not experiment results \(KeyError"):
        read_json(paths[0])


def test_a_fresh_clone_resumes_from_the_committed_results(
    sms_file, tmp_path, scripted, monkeypatch
):
    engine = scripted(lambda prompt, n: f" Offer {n}: you won, reply WIN\nLabel: spam")
    models = ModelPool.fixed(engine)
    spec = small_spec(sms_file, 1, ["zero_shot", "synthetic_examples+random"])
    result = run_experiment(spec, models=models, out_dir=tmp_path / "first", progress=False)
    committed = write_all([result], tmp_path / "results" / "table", title="t")[0]
    assert finished_cells(tmp_path / "results" / "none.json") == []

    monkeypatch.setattr(
        "sociallearn.experiments.runner.run_cell",
        lambda *a, **k: pytest.fail("a committed cell was run again"),
    )
    fresh = tmp_path / "fresh-clone"
    again = run_experiment(
        spec, models=models, out_dir=fresh, progress=False, reuse=finished_cells(committed)
    )
    assert [c.model_dump() for c in again.cells] == [c.model_dump() for c in result.cells]
    assert len(list((fresh / "cells").rglob("*.json"))) == 2  # kept for the next call

    # Other teaching settings: the synthetic cell is taught again; the baseline is reused.
    ran: list[str] = []
    monkeypatch.setattr(
        "sociallearn.experiments.runner.run_cell",
        lambda spec, method, *a, **k: ran.append(method.label) or result.cells[1],
    )
    run_experiment(
        spec.replace(samples=3),
        models=models,
        out_dir=tmp_path / "other",
        progress=False,
        reuse=finished_cells(committed),
    )
    assert ran == ["synthetic_examples+random"]

    # A file an older version wrote: its settings no longer read, its cells still do.
    document = json.loads(committed.read_text())
    document["experiments"][0]["spec"]["first_seed"] = 0
    del document["experiments"][0]["cells"][1]["predictions"]
    committed.write_text(json.dumps(document))
    assert [c.key for c in finished_cells(committed)] == [result.cells[0].key]
    committed.write_text('{"results": []}')
    with pytest.raises(ValueError, match=r"table\.json: not experiment results \(KeyError"):
        finished_cells(committed)


def test_a_results_file_rewritten_part_way_keeps_the_later_runs_it_resumed_from(
    sms_file, tmp_path, scripted, monkeypatch
):
    engine = scripted(lambda prompt, n: " Label: spam")
    models = ModelPool.fixed(engine)
    spec = small_spec(sms_file, 2, ["zero_shot"])
    result = run_experiment(spec, models=models, out_dir=tmp_path / "first", progress=False)
    committed = write_all([result], tmp_path / "results" / "table", title="t")[0]
    document = json.loads(committed.read_text())
    del document["experiments"][0]["cells"][0]  # run 1 is computed again, run 2 is reused
    committed.write_text(json.dumps(document))

    ran: list[int] = []

    def counted(spec, method, seed, *args, **kwargs):
        ran.append(seed)
        return run_cell(spec, method, seed, *args, **kwargs)

    monkeypatch.setattr("sociallearn.experiments.runner.run_cell", counted)
    fresh, reuse = tmp_path / "fresh-clone", finished_cells(committed)
    level_one = run_experiment(
        spec.replace(runs=1), models=models, out_dir=fresh, progress=False, reuse=reuse
    )
    assert ran == [spec.seeds[0]] and len(level_one.cells) == 1
    so_far = finished_so_far(spec, out_dir=fresh, reuse=reuse)
    assert [c.seed for c in so_far.cells] == list(spec.seeds) and so_far.planned_cells == 2
    assert [c.accuracy for c in so_far.cells] == [c.accuracy for c in result.cells]
    assert ran == [spec.seeds[0]]  # computing none


def _result(spec: ExperimentSpec, cells: list[CellResult]) -> ExperimentResult:
    return ExperimentResult(
        spec=spec, planned_cells=len(cells), test_size=12, summaries=summarise(spec, cells),
        cells=cells, seconds=0.0, cpu_seconds=0.0, cpu_count=2, load_average=None,
    )  # fmt: skip


def test_readme_rows_compare_each_extension_with_the_method_it_extends(tmp_path):
    spec = ExperimentSpec(methods=["instructions", "instructions+refined"], permutations=1000)  # type: ignore[list-item]
    plain = [_cell("instructions", seed, [i < 2 for i in range(12)]) for seed in (0, 1)]
    refined = [_cell("instructions+refined", seed, [i != 5 for i in range(12)]) for seed in (0, 1)]
    write_all([_result(spec, [*plain, *refined])], tmp_path / "now", title="t")

    header, rule, row = readme_tables.extension_rows(tmp_path / "now.json")
    assert [header, rule] == list(readme_tables.COMPARED)
    assert row.startswith(
        "| instructions, refined | instructions | 92, 92 | 17, 17 | +75.0 [+75.0, +75.0] | 2 / 0 / 0 |"
    )
    assert float(row.split("|")[-2]) < 0.05


def test_identical_lessons_from_several_teachers_are_chosen_once(sms_file, tmp_path, scripted):
    model = scripted(lambda prompt, n: " Free entry to win a prize, text WIN now\nLabel: spam")
    settings = {
        "data_path": str(sms_file),
        "library": str(tmp_path / "lib"),
        "test_size": 4,
        "teachers": 3,
        "samples": 1,
        "keep": 1,
        "lessons": 3,
    }
    state = teach(Settings(**settings), models=ModelPool.fixed(model), queries=["hello"])
    assert len(state["candidates"]) == 3  # one per teacher, the same text
    assert len(state["lessons"]) == 1 and state["answers"][0].answer in {"spam", "ham"}


def test_library_get_accepts_repeated_ids(tmp_path):
    from sociallearn.core.schema import Lesson
    from sociallearn.stores.library import LessonLibrary

    library = LessonLibrary.open(tmp_path / "lib")
    lesson = Lesson(
        task="sms_spam",
        kind="instruction",
        text="Spam offers prizes.",
        teacher_id="teacher-0",
        teacher_model="fake",
        run_id="r",
        method="instructions",
    )
    library.add([lesson])
    assert [found.text for found in library.get([lesson.id, lesson.id])] == [lesson.text] * 2


def test_balanced_selection_takes_labels_in_turn():
    def lesson(n: int, label: str) -> Lesson:
        return Lesson(
            task="sms_spam",
            kind="example",
            text=f"Message: {n}\nLabel: {label}",
            answer=label,
            teacher_id="teacher-0",
            teacher_model="m",
            run_id="r",
            method="synthetic_examples",
        )

    ranked = [lesson(0, "spam"), lesson(1, "spam"), lesson(2, "spam"), lesson(3, "ham")]
    assert [x.text[9] for x in take_by_label(ranked, 3)] == ["0", "3", "1"]
    assert len(take_by_label(ranked, 10)) == 4  # fewer than wanted: all of them


def test_output_paths_keep_dots_in_the_name():
    names = [p.name for p in output_paths(Path("results/refined_qwen1.5b_k3_h32"))]
    assert names == [f"refined_qwen1.5b_k3_h32{suffix}" for suffix in (".json", ".md", ".png")]
    assert output_paths(Path("out/table.json"))[1] == Path("out/table.md")


def test_a_result_file_stopped_mid_write_keeps_its_previous_content(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    write_text(path, '{"completed": 1}\n')

    def stopped(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", stopped)
    with pytest.raises(KeyboardInterrupt):
        write_text(path, '{"completed": 2}\n')
    assert path.read_text() == '{"completed": 1}\n'
    monkeypatch.undo()
    write_text(path, '{"completed": 2}\n')
    assert path.read_text() == '{"completed": 2}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_fresh_cells_are_taught_again_and_keep_their_size(sms_file, tmp_path, scripted):
    """`resume=False` (`--fresh`) teaches a cell anew: its checkpoint thread is not replayed,
    and its candidates do not add up with the earlier run's."""
    engine = scripted(lambda prompt, n: f" Offer {n}: you won, reply WIN\nLabel: spam")
    spec = small_spec(sms_file, 1, ["synthetic_examples+random"])
    out = tmp_path / "exp"
    first = run_experiment(spec, models=ModelPool.fixed(engine), out_dir=out, progress=False)
    calls = len(engine.prompts)
    again = run_experiment(
        spec, models=ModelPool.fixed(engine), out_dir=out, resume=False, progress=False
    )
    assert len(engine.prompts) > calls  # taught again
    assert len(again.cells[0].lessons) == len(first.cells[0].lessons) == 2


def test_refined_cells_record_each_teachers_held_back_accuracy_per_round(
    sms_file, tmp_path, scripted
):
    engine = scripted(lambda prompt, n: f" Offer {n}: you won, reply WIN\nLabel: spam")
    spec = small_spec(sms_file, 1, ["zero_shot", "synthetic_examples+random+refined"])
    result = run_experiment(
        spec, models=ModelPool.fixed(engine), out_dir=tmp_path / "exp", progress=False
    )
    baseline, refined = result.cells
    assert baseline.held_out_accuracy == {}
    assert set(refined.held_out_accuracy) == {"teacher-0", "teacher-1"}
    for rounds in refined.held_out_accuracy.values():
        assert 1 <= len(rounds) <= 1 + REFINED_ROUNDS
        assert all(0.0 <= accuracy <= 1.0 for accuracy in rounds)


def test_readme_rows_set_the_loops_held_back_accuracy_beside_the_test(tmp_path):
    spec = ExperimentSpec(methods=["instructions", "instructions+refined"], permutations=1000)  # type: ignore[list-item]
    rounds = {"teacher-0": [0.5, 0.75, 0.625], "teacher-1": [1.0]}
    refined = _cell("instructions+refined", 0, [i < 6 for i in range(12)]).model_copy(
        update={"held_out_accuracy": rounds, "lessons": ["Spam offers prizes."]}
    )
    plain = _cell("instructions", 0, [i < 2 for i in range(12)])
    write_all([_result(spec, [plain, refined])], tmp_path / "now", title="t")
    *_, run, mean = readme_tables.held_back_rows(tmp_path / "now.json")
    # kept: 75 and 100 (88 on average); first drafts: 50 and 100 (75); test: 50
    assert run == "| instructions, refined | 0 | 50 → 75 → 62; 100 | +13 | 88 | 50 | +38 |"
    assert mean == "| instructions, refined | mean of 1 | | +12.5 | 87.5 | 50.0 | +37.5 |"
