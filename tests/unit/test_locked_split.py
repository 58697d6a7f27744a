"""The locked test split: tuning runs never read it; final evaluations are recorded, once each."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from benchmarks import readme_tables
from sociallearn.apps.cli import main
from sociallearn.engine import ModelPool
from sociallearn.experiments.harness import CellResult
from sociallearn.experiments.ledger import AlreadyEvaluated, FinalLedger, code_commit
from sociallearn.experiments.report import finished_cells, to_markdown, write_all
from sociallearn.experiments.runner import run_experiment
from sociallearn.experiments.spec import ExperimentSpec
from sociallearn.stores.silo import LOCKED_FRACTION, is_locked, partition, share_of, split_data
from sociallearn.tasks import DataError, Example, get_task

SMS = get_task("sms_spam")


def messages(count: int) -> list[Example]:
    """`count` distinct messages, labels in turn."""
    return [
        Example(input=f"message number {i} about {label}", output=label, answer=label)
        for i in range(count)
        for label in ("spam", "ham")
    ]


def test_the_lock_is_a_fixed_quarter_of_the_data_and_ignores_case_and_spacing():
    examples = messages(2000)
    tuning, locked = partition(SMS, examples)
    assert len(tuning) + len(locked) == len(examples)
    assert abs(len(locked) / len(examples) - LOCKED_FRACTION) < 0.02
    assert {e.input for e in tuning}.isdisjoint({e.input for e in locked})
    # The same message, written otherwise, falls on the same side; the verdict is a pure
    # function of the task and the text (the same on every machine and in every process).
    first = locked[0]
    shouted = Example(input=f"  {first.input.upper()} ", output="ham", answer="ham")
    assert is_locked(SMS, shouted)
    assert not is_locked(SMS, tuning[0])
    # Each task has its own lock: the same texts fall otherwise for another task.
    assert [is_locked(get_task("gsm8k"), e) for e in examples] != [e in locked for e in examples]


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_tuning_runs_never_reach_the_locked_part_and_final_runs_test_only_on_it(seed):
    examples = messages(400)
    _, locked = partition(SMS, examples)
    locked_inputs = {e.input for e in locked}
    tuning_run = split_data(SMS, examples, teachers=3, test_size=40, seed=seed)
    final_run = split_data(SMS, examples, teachers=3, test_size=40, seed=seed, final=True)
    for split in (tuning_run, final_run):
        private = [e for silo in split.silos.values() for e in share_of(silo)]
        assert locked_inputs.isdisjoint(e.input for e in private)
    assert locked_inputs.isdisjoint(e.input for e in tuning_run.test)
    assert {e.input for e in final_run.test} <= locked_inputs
    assert len(final_run.test) == 40
    assert sorted(e.answer for e in final_run.test) == ["ham"] * 20 + ["spam"] * 20
    # The teachers are the same as in the tuning run of the seed: only the test differs.
    assert {t: share_of(s) for t, s in final_run.silos.items()} == {
        t: share_of(s) for t, s in tuning_run.silos.items()
    }


def test_a_locked_part_without_a_label_is_a_clear_error():
    examples = messages(200)
    tuning, locked = partition(SMS, examples)
    only_ham = tuning + [e for e in locked if e.answer == "ham"]
    split_data(SMS, only_ham, teachers=2, test_size=10, seed=0)  # tuning runs still work
    with pytest.raises(DataError, match="locked part of the data has no example labelled spam"):
        split_data(SMS, only_ham, teachers=2, test_size=10, seed=0, final=True)


def test_the_shared_sms_data_gives_five_final_runs_of_100(tmp_path):
    examples = SMS.load()
    _, locked = partition(SMS, examples)
    spam = sum(e.answer == "spam" for e in locked)
    assert spam >= 50, "the locked part must hold 50 spam messages for a test set of 100"
    tests = [
        split_data(SMS, examples, teachers=4, test_size=100, seed=s, final=True).test
        for s in range(5)
    ]
    assert all(len(test) == 100 for test in tests)
    assert len({e.input for test in tests for e in test}) > 150  # each run draws its own


# ---------------------------------------------------------------- final evaluations


def final_spec(data: Path, **changes) -> ExperimentSpec:
    values = {"data_path": str(data), "teachers": 1, "shots": 2, "test_size": 4, "runs": 2,
              "final": True, "methods": ["zero_shot", "original_examples"], "permutations": 100}  # fmt: skip
    return ExperimentSpec.model_validate({**values, **changes})


@pytest.fixture
def big_sms(tmp_path: Path) -> Path:
    path = tmp_path / "sms.tsv"
    SMS.write(messages(60), path)
    return path


@pytest.fixture
def spam_model(scripted):
    return ModelPool.fixed(scripted(lambda prompt, n: " spam"))


def test_a_final_evaluation_is_recorded_and_never_computed_twice(big_sms, tmp_path, spam_model):
    spec = final_spec(big_sms)
    ledger = FinalLedger(tmp_path / "ledger.jsonl")
    first = run_experiment(spec, models=spam_model, out_dir=tmp_path / "a", progress=False,
                           ledger=ledger)  # fmt: skip
    assert first.test_part == "locked"
    assert [c.final_evaluations for c in first.cells] == [1, 1, 1, 1]
    recorded = ledger.entries()
    assert [(e.method, e.seed) for e in recorded] == [
        ("zero_shot", 0), ("original_examples", 0), ("zero_shot", 1), ("original_examples", 1)
    ]  # fmt: skip
    assert [e.accuracy for e in recorded] == [c.accuracy for c in first.cells]
    assert not any(e.forced for e in recorded)
    assert "**locked part** (final)" in to_markdown([first])

    # Resuming reads the finished cells: nothing runs, nothing more is recorded.
    again = run_experiment(spec, models=spam_model, out_dir=tmp_path / "a", progress=False,
                           ledger=ledger)  # fmt: skip
    assert [c.model_dump() for c in again.cells] == [c.model_dump() for c in first.cells]
    assert len(ledger.entries()) == 4

    # Elsewhere (no finished cells): refused before any cell runs, naming what was evaluated.
    with pytest.raises(AlreadyEvaluated, match=r"zero_shot \(seed 0\): .*--force-final"):
        run_experiment(spec, models=spam_model, out_dir=tmp_path / "b", progress=False,
                       ledger=ledger)  # fmt: skip
    assert not (tmp_path / "b" / "cells" / "sms_spam").exists() or not any(
        (tmp_path / "b" / "cells" / "sms_spam").iterdir()
    )
    # ... unless its committed results are at hand: they are reused, not recomputed.
    committed = write_all([first], tmp_path / "results" / "final", title="t")[0]
    reused = run_experiment(spec, models=spam_model, out_dir=tmp_path / "c", progress=False,
                            ledger=ledger, reuse=finished_cells(committed))  # fmt: skip
    assert [c.accuracy for c in reused.cells] == [c.accuracy for c in first.cells]
    assert len(ledger.entries()) == 4
    # Forced: evaluated again, and recorded as such.
    forced = run_experiment(spec.replace(runs=1), models=spam_model, out_dir=tmp_path / "a",
                            progress=False, ledger=ledger, force_final=True)  # fmt: skip
    assert [c.final_evaluations for c in forced.cells] == [2, 2]
    assert [e.forced for e in ledger.entries()] == [False] * 4 + [True, True]


def test_tuning_runs_leave_the_ledger_alone_and_differ_from_final_ones(
    big_sms, tmp_path, spam_model
):
    ledger = FinalLedger(tmp_path / "ledger.jsonl")
    spec = final_spec(big_sms, final=False)
    tuning = run_experiment(spec, models=spam_model, out_dir=tmp_path / "a", progress=False)
    assert tuning.test_part == "tuning" and ledger.entries() == []
    assert all(c.final_evaluations == 0 for c in tuning.cells)
    final = run_experiment(spec.replace(final=True), models=spam_model, out_dir=tmp_path / "a",
                           progress=False, ledger=ledger)  # fmt: skip
    assert {c.key for c in final.cells}.isdisjoint(c.key for c in tuning.cells)
    assert {p.input for c in final.cells for p in c.predictions}.isdisjoint(
        p.input for c in tuning.cells for p in c.predictions
    )


def test_a_malformed_ledger_names_its_line(tmp_path):
    path = tmp_path / "ledger.jsonl"
    good = {"key": "k", "task": "sms_spam", "method": "zero_shot", "seed": 0,
            "accuracy": 0.5, "n": 4, "at": "2026-12-06T00:00:00+00:00"}  # fmt: skip
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "seed": "x"}) + "\n")
    with pytest.raises(ValueError, match=r"ledger\.jsonl, line 2: field 'seed'"):
        FinalLedger(path).entries()


def test_the_cli_refuses_a_second_final_evaluation(big_sms, tmp_path, scripted_cli, capsys):
    scripted_cli(lambda prompt, n: " spam")
    flags = ["experiment", "--data-path", str(big_sms), "--teachers", "1", "--shots", "2",
             "--test-size", "4", "--runs", "1", "--methods", "zero_shot", "--permutations", "100",
             "--final", "--ledger", str(tmp_path / "ledger.jsonl")]  # fmt: skip
    assert main([*flags, "--out", str(tmp_path / "a")]) == 0
    written = json.loads((tmp_path / "a" / "results.json").read_text())
    assert written["experiments"][0]["test_part"] == "locked"
    assert main([*flags, "--out", str(tmp_path / "b")]) == 2
    assert "already evaluated on the locked test part" in capsys.readouterr().err
    assert main([*flags, "--out", str(tmp_path / "b"), "--force-final"]) == 0
    cells = [CellResult.model_validate(c) for c in
             json.loads((tmp_path / "b" / "results.json").read_text())["experiments"][0]["cells"]]  # fmt: skip
    assert [c.final_evaluations for c in cells] == [2]
    # `teach` has no --final: a teach run never reads the locked part.
    with pytest.raises(SystemExit):
        main(["teach", "--final"])


def test_the_results_page_gives_each_methods_worst_run_and_the_checks_optimism(
    big_sms, tmp_path, spam_model
):
    ledger = FinalLedger(tmp_path / "ledger.jsonl")
    result = run_experiment(final_spec(big_sms), models=spam_model, out_dir=tmp_path / "a",
                            progress=False, ledger=ledger)  # fmt: skip
    path = write_all([result], tmp_path / "locked", title="t")[0]
    header, _, *rows = readme_tables.locked_rows(path)
    assert "worst − 0-shot" in header and "check − test" in header
    assert [row.split(" | ")[1] for row in rows] == ["0-shot", "original"]
    assert all(row.count("|") == header.count("|") for row in rows)
    # A refining teacher's check: its acceptance check where it ran, else its best round.
    cell = {
        "accuracy": 0.70,
        "held_out_accuracy": {"teacher-0": [0.8, 0.9], "teacher-1": [0.6, 1.0]},
        "acceptance": {"teacher-1": {"first": 0.75, "refined": 0.8, "adopted": 0.0}},
    }
    assert readme_tables.check_minus_test(cell) == pytest.approx(100 * ((0.9 + 0.75) / 2 - 0.7))
    assert readme_tables.check_minus_test({"accuracy": 0.5}) is None


def test_the_ledger_marks_a_commit_changed_by_code_not_by_results(tmp_path):
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "results").mkdir()
    (tmp_path / "code.py").write_text("A = 1\n")
    (tmp_path / "results" / "ledger.jsonl").write_text("")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start")
    head = code_commit(tmp_path)
    assert head is not None and len(head) == 40
    (tmp_path / "results" / "ledger.jsonl").write_text('{"a": 1}\n')
    assert code_commit(tmp_path / "results") == head  # a result written: still the commit
    (tmp_path / "code.py").write_text("A = 2\n")
    assert code_commit(tmp_path) == head + "+changes"
    assert code_commit(tmp_path.parent / "elsewhere") is None
