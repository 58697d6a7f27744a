"""The demo end to end on a scripted model: the table, the plain verdict, the JSON the README's
table is generated from."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from benchmarks import readme_tables
from sociallearn.apps.cli import build_parser, main
from sociallearn.apps.demo import DEMO_EVAL_SIZE, GOAL, verdict
from sociallearn.core.lm import Score, ScriptedLM
from sociallearn.experiments.runner import ExperimentResult


class TaughtLM(ScriptedLM):
    """Teaches spam offers; as the student, knows spam (the test file's spam ends in `ref<i>`)
    only after a lesson that shows a spam label, and answers ham otherwise."""

    def __init__(self) -> None:
        super().__init__(lambda prompt, call: f" Offer {call}: you won, reply WIN\nLabel: spam")

    def score(self, prefix: str, continuations: Sequence[str]) -> list[Score]:
        query = prefix.rsplit("Message:", 1)[-1]
        taught = "Label: spam" in prefix.rsplit("Message:", 1)[0]
        says = "spam" if taught and " ref" in query else "ham"
        return [Score(0.0 if says in text else -5.0, 1) for text in continuations]


def test_the_demo_prints_the_gap_and_what_it_reached(sms_file, tmp_path, monkeypatch, capsys):
    model = TaughtLM()
    monkeypatch.setattr("sociallearn.engine.pool.load_llama", lambda name, layers: model)
    monkeypatch.setenv("COLUMNS", "200")
    out = tmp_path / "demo.json"
    args = [
        "demo", "--preset", "quick", "--data-path", str(sms_file), "--runs", "2",
        "--eval-size", "4", "--teachers", "2", "--shots", "2", "--samples", "2", "--keep", "1",
        "--lessons", "2", "--calibration", "none", "--library", str(tmp_path / "library"), "--json-out", str(out),
    ]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "gap recovered" in printed and "p vs original" in printed and "86.5" in printed
    result = ExperimentResult.model_validate_json(out.read_text())
    assert [s.method for s in result.summaries] == [
        "zero_shot", "original_examples", "instructions", "synthetic_examples+random"
    ]  # fmt: skip
    assert result.test_part == "tuning" and result.spec.runs == 2 and result.test_size == 4
    synthetic = result.summaries[-1]
    assert synthetic.recovered_gap is not None
    assert synthetic.recovered_gap == 1.0 and "+1.00" in printed  # 0-shot 50%, taught 100%
    assert f"(goal ≥ {GOAL}: reached)" in printed and verdict(result) in printed
    rows = readme_tables.demo_rows(out)
    assert rows[-1] == verdict(result) and "| 0-shot | 50.0 [50.0, 50.0] | 50, 50 |" in rows[-6]
    assert json.loads(out.read_text())["spec"]["name"] == "demo"


def test_the_demo_help_states_its_default_size():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    demo = commands.choices["demo"]
    action = next(a for a in demo._actions if "--eval-size" in a.option_strings)
    assert f"default: {DEMO_EVAL_SIZE}," in (action.help or "")
