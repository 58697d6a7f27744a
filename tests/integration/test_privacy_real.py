"""Privacy measurement end to end: real smollm2, real SMS data, real Chroma, the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sociallearn.experiments.leakage import PrivacyReport, measure_privacy
from sociallearn.experiments.report import write_privacy
from sociallearn.experiments.spec import PRESETS
from sociallearn.privacy.adversarial import evaluate_filter, load_cases

CLI = [sys.executable, "-m", "sociallearn.apps.cli"]


@pytest.fixture(scope="module")
def report(datasets: Path) -> PrivacyReport:
    """The smoke preset: T = 2 repetitions, N = 50 strings, one teacher, all four methods."""
    return measure_privacy(PRESETS["smoke"], progress=False)


def test_original_examples_expose_the_canary(report: PrivacyReport):
    original = report.methods["original_examples"]
    # The canary is in the student's prompt: the student prefers it to the other 49 strings.
    assert original.secret_sharer.mean_rank < original.secret_sharer.expected_mean_rank / 2
    assert original.secret_sharer.mean_exposure > original.secret_sharer.expected_exposure
    assert original.leakage.distances and set(original.leakage.distances) == {0.0}
    assert original.canary_code_lessons == report.config.repetitions  # one canary per run


def test_every_method_is_measured(report: PrivacyReport):
    assert list(report.methods) == list(PRESETS["smoke"].measured)
    for result in report.methods.values():
        ranks = result.secret_sharer.ranks
        assert len(ranks) == 2 and all(0 <= rank < 50 for rank in ranks)
    filtered = report.methods["synthetic_examples"].leakage
    assert filtered.copies == 0  # the filter rejects verbatim copies of the teacher's examples


def test_outputs_are_written(report: PrivacyReport, tmp_path: Path):
    paths = write_privacy(report, tmp_path)
    assert [path.name for path in paths] == ["privacy.json", "privacy.md", "privacy.png"]
    saved = PrivacyReport.model_validate(json.loads(paths[0].read_text()))
    assert (
        saved.methods["instructions"].secret_sharer == report.methods["instructions"].secret_sharer
    )
    table = paths[1].read_text()
    assert "| synthetic examples (no filter) |" in table and "no memorisation (expected)" in table
    assert paths[2].read_bytes()[:4] == b"\x89PNG"


def test_cli_filter_report_matches_the_api():
    run = subprocess.run([*CLI, "privacy", "filter", "--json"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    printed = json.loads(run.stdout)
    expected = evaluate_filter(load_cases())
    assert printed["catch_rate"] == expected.catch_rate
    assert printed["false_rejection_rate"] == expected.false_rejection_rate
