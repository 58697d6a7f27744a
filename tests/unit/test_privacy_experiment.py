"""The privacy experiment's bookkeeping with a scripted engine (no model): budget, tallies, tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from sociallearn.privacy.experiment import PrivacyConfig, markdown, run_experiment

CLEAN = " Dear customer, you have won a voucher, reply WIN to claim\nLabel: spam"


@pytest.fixture
def config(sms_file: Path) -> PrivacyConfig:
    return PrivacyConfig(
        data_path=str(sms_file),
        repetitions=3,
        comparisons=20,
        teachers=2,
        shots=4,
        samples=2,
        keep=2,
        lessons=2,
        test_size=4,
    )


def test_budget_stops_after_the_first_repetition(config, fake_engine, monkeypatch):
    engine = fake_engine(lambda prompt, n: CLEAN)
    monkeypatch.setattr("sociallearn.privacy.experiment.get_engine", lambda *a, **k: engine)
    partial: list[int] = []
    report = run_experiment(
        config, progress=False, budget_s=0.0, on_repetition=lambda r: partial.append(r.completed)
    )
    assert report.completed == 1 and partial == [1]
    for result in report.methods.values():
        assert len(result.secret_sharer.ranks) == 1 and 0 <= result.secret_sharer.ranks[0] < 20
    original = report.methods["original_examples"]
    assert original.lessons_per_run == 4 and set(original.leakage.distances) == {0.0}
    assert original.canary_code_lessons == 1  # the canary is among the shots
    synthetic = report.methods["synthetic_examples"]
    assert synthetic.canary_code_lessons == 0 and synthetic.leakage.copies == 0
    table = markdown(report)
    assert "T = 1 repetitions, N = 20 strings" in table
    assert table.count("\n| ") == 8  # 2 headers, 4 methods, the expected row, the filter row


def test_unfiltered_run_shares_the_copied_canary(config, fake_engine, monkeypatch):
    def copy_canary(prompt: str, n: int) -> str:
        line = next(x for x in prompt.splitlines() if "secret code" in x)
        return " " + line.removeprefix("Message: ") + "\nLabel: ham"

    engine = fake_engine(copy_canary)
    monkeypatch.setattr("sociallearn.privacy.experiment.get_engine", lambda *a, **k: engine)
    config = config.model_copy(update={"repetitions": 2})
    report = run_experiment(config, progress=False)
    assert report.completed == 2
    unfiltered = report.methods["synthetic_unfiltered"]
    assert unfiltered.canary_code_lessons > 0 and unfiltered.leakage.copy_rate == 1.0
    filtered = report.methods["synthetic_examples"]
    assert filtered.canary_code_lessons == 0 and filtered.dropped_teachers == 2 * 2
