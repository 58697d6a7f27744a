"""A budgeted privacy run resumes where it stopped, and gives what one uninterrupted run gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from sociallearn.engine import ModelPool
from sociallearn.experiments.privacy import PrivacyReport, measure_privacy
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
        measured=["original_examples", "synthetic_examples"],
    )


def test_pieces_add_up_to_one_run(config, scripted):
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
