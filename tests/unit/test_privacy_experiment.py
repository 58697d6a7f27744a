"""The privacy experiment's bookkeeping with a scripted model (no llama.cpp): budget, tallies,
tables, and resuming a run done in pieces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sociallearn.apps.cli import main
from sociallearn.engine import ModelPool
from sociallearn.experiments.leakage import PrivacyReport, measure_privacy, saved_report
from sociallearn.experiments.report import privacy_markdown
from sociallearn.experiments.spec import PrivacyConfig

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


def test_budget_stops_after_the_first_repetition(config, scripted):
    models = ModelPool.fixed(scripted(lambda prompt, n: CLEAN))
    partial: list[int] = []
    report = measure_privacy(
        config,
        models=models,
        progress=False,
        budget_s=0.0,
        on_repetition=lambda r: partial.append(r.completed),
    )
    assert report.completed == 1 and partial == [1]
    for result in report.methods.values():
        assert len(result.secret_sharer.ranks) == 1 and 0 <= result.secret_sharer.ranks[0] < 20
    original = report.methods["original_examples"]
    assert original.lessons_per_run == 4 and set(original.leakage.distances) == {0.0}
    assert original.canary_code_lessons == 1  # the canary is among the shots
    synthetic = report.methods["synthetic_examples"]
    assert synthetic.canary_code_lessons == 0 and synthetic.leakage.copies == 0
    table = privacy_markdown(report)
    assert "T = 1 repetitions, N = 20 strings" in table
    assert table.count("\n| ") == 8  # 2 headers, 4 methods, the expected row, the filter row


def test_unfiltered_run_shares_the_copied_canary(config, scripted):
    def copy_canary(prompt: str, n: int) -> str:
        line = next(x for x in prompt.splitlines() if "secret code" in x)
        return " " + line.removeprefix("Message: ") + "\nLabel: ham"

    config = config.replace(repetitions=2)
    report = measure_privacy(config, models=ModelPool.fixed(scripted(copy_canary)), progress=False)
    assert report.completed == 2
    unfiltered = report.methods["synthetic_unfiltered"]
    assert unfiltered.canary_code_lessons > 0 and unfiltered.leakage.copy_rate == 1.0
    filtered = report.methods["synthetic_examples"]
    assert filtered.canary_code_lessons == 0 and filtered.dropped_teachers == 2 * 2


def test_pieces_add_up_to_one_run(config, scripted):
    config = config.replace(measured=["original_examples", "synthetic_examples"])
    models = ModelPool.fixed(scripted(lambda prompt, n: CLEAN))
    whole = measure_privacy(config, models=models, progress=False)
    first = measure_privacy(config, models=models, progress=False, budget_s=0.0)
    assert first.completed == 1 and len(first.records) == 2
    # Through JSON, as the benchmark resumes it from its file.
    saved = PrivacyReport.model_validate_json(first.model_dump_json())
    rest = measure_privacy(config, models=models, progress=False, resume=saved)
    assert rest.completed == 3 and len(rest.pieces) == 2
    assert [r.rank for r in rest.records] == [r.rank for r in whole.records]
    assert [r.canary for r in rest.records] == [r.canary for r in whole.records]
    for method, result in whole.methods.items():
        resumed = rest.methods[method]
        assert resumed.secret_sharer == result.secret_sharer
        assert resumed.leakage == result.leakage
        assert resumed.lessons_per_run == result.lessons_per_run
    # A finished run resumes to itself; more planned repetitions go on from where it stopped.
    again = measure_privacy(config, models=models, progress=False, resume=rest)
    assert again.completed == 3 and again.records == rest.records
    more = measure_privacy(
        config.replace(repetitions=4), models=models, progress=False, resume=rest
    )
    assert more.completed == 4 and more.records[:6] == rest.records


def test_resume_refuses_other_settings(config, scripted):
    models = ModelPool.fixed(scripted(lambda prompt, n: CLEAN))
    first = measure_privacy(config, models=models, progress=False, budget_s=0.0)
    with pytest.raises(ValueError, match="comparisons"):
        measure_privacy(config.replace(comparisons=30), models=models, progress=False, resume=first)


def test_saved_report_resumes_or_refuses_naming_the_file(config, scripted, tmp_path):
    path = tmp_path / "privacy.json"
    assert saved_report(path, config) is None  # nothing to resume
    models = ModelPool.fixed(scripted(lambda prompt, n: CLEAN))
    first = measure_privacy(config, models=models, progress=False, budget_s=0.0)
    path.write_text(first.model_dump_json())
    assert saved_report(path, config.replace(repetitions=100)) == first  # T may grow
    with pytest.raises(ValueError, match=rf"{path}: .*comparisons"):
        saved_report(path, config.replace(comparisons=30))
    path.write_text('{"config": 1}')
    with pytest.raises(ValueError, match=rf"{path}: not a privacy report"):
        saved_report(path, config)


def test_cli_keeps_a_report_it_cannot_resume(tmp_path, capsys):
    saved = tmp_path / "privacy.json"
    saved.write_text("not json")
    code = main(["privacy", "run", "--preset", "smoke", "--out", str(tmp_path)])
    assert code == 2
    error = capsys.readouterr().err
    assert str(saved) in error and "--fresh" in error
    assert saved.read_text() == "not json"  # nothing already stored is lost


def test_saved_report_refuses_a_file_written_before_a_setting_existed(config, scripted, tmp_path):
    path = tmp_path / "privacy.json"
    models = ModelPool.fixed(scripted(lambda prompt, n: CLEAN))
    first = json.loads(
        measure_privacy(config, models=models, progress=False, budget_s=0.0).model_dump_json()
    )
    del first["config"]["privacy"]["rare_number_texts"]  # as a file from before that filter layer
    path.write_text(json.dumps(first))
    with pytest.raises(ValueError, match=rf"{path}: .*privacy"):
        saved_report(path, config)
