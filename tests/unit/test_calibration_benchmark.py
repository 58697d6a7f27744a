"""benchmarks/calibration.py on a committed results file, with a scripted student model."""

from __future__ import annotations

from benchmarks import calibration
from sociallearn.core.lm import ScriptedLM
from sociallearn.experiments.report import read_json


def test_every_calibration_rescores_every_run_of_each_instruction_method() -> None:
    file = calibration.RESULTS / calibration.INPUTS[0]
    asked: list[str] = []

    def get_model(name: str) -> ScriptedLM:
        asked.append(name)
        return ScriptedLM(lambda prompt, n: "")  # prefers the shorter label, " ham"

    report = calibration.measure(file, get_model)
    (result,) = read_json(file)
    assert asked == ["qwen1.5b"] and list(report["methods"]) == list(calibration.METHODS)
    for method, row in report["methods"].items():
        cells = sorted((c for c in result.cells if c.method == method), key=lambda c: c.seed)
        assert row["recorded"] == [c.accuracy for c in cells]
        assert row["none"]["spam_answers"] == [0] * len(cells)  # raw scores: always ham
        assert row["none"]["accuracies"] == [
            sum(p.gold == "ham" for p in c.predictions) / len(c.predictions) for c in cells
        ]
        assert row["none"]["test_messages"] == [len(c.predictions) for c in cells]
