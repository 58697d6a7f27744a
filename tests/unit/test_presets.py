"""Presets: measured configurations by name, applied under the flags given beside them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sociallearn.apps.cli import build_parser, choose_preset, main, settings_from_args
from sociallearn.apps.presets import (
    Preset,
    default_preset,
    get_preset,
    load_presets,
    read_results,
    with_preset,
)
from sociallearn.experiments.spec import ExperimentSpec
from sociallearn.teaching.settings import SERVICE_OWNED, Settings


def test_every_preset_is_valid_settings_with_a_measurement_named():
    presets = load_presets()
    assert {"best", "paper", "private", "quick"} <= set(presets) and "plain" not in presets
    for preset in presets.values():
        Settings.model_validate(preset.settings)
        assert preset.description and preset.measured is not None


def test_each_measured_preset_finds_its_numbers_in_the_committed_results():
    for preset in load_presets().values():
        measurement = preset.measurement()
        assert measurement is not None, preset.name
        assert 0 < measurement.mean <= 1 and measurement.minutes_per_run > 0
    measured = {name: preset.measurement() for name, preset in load_presets().items()}
    for name in ("best", "paper", "private"):
        locked = measured[name]
        assert locked is not None and locked.test_part == "locked"
        assert locked.holds  # no locked run below its own 0-shot
    best = measured["best"]
    assert best and all(best.mean >= m.mean for m in measured.values() if m)  # the most accurate


def test_each_preset_runs_the_settings_it_was_measured_with():
    for preset in load_presets().values():
        experiment = preset.experiment()
        assert experiment is not None and preset.measured is not None, preset.name
        spec = experiment["spec"]
        assert {k: spec[k] for k in preset.settings if k in spec} == {
            k: v for k, v in preset.settings.items() if k in spec
        }, preset.name
        method, aggregator = preset.measured.method.split("+")[:2]
        assert (preset.settings["method"], preset.settings["aggregator"]) == (method, aggregator)
        assert (method, aggregator) in {(m["method"], m["aggregator"]) for m in spec["methods"]}


def test_results_are_parsed_once_per_process_until_they_change(tmp_path):
    path = tmp_path / "r.json"
    path.write_text('{"a": 1}', encoding="utf-8")
    first = read_results(path)
    assert read_results(path) is first
    path.write_text('{"a": 2}', encoding="utf-8")
    assert read_results(path)["a"] == 2


def test_flags_override_the_preset_and_the_preset_the_defaults():
    args = build_parser().parse_args(["teach", "--preset", "quick", "--teachers", "2"])
    settings = settings_from_args(args)
    assert settings.teachers == 2  # the flag
    assert settings.samples == 16 and settings.calibration == "content_free"  # the preset
    assert settings.aggregator == "random" and settings.test_size == Settings().test_size
    plain = settings_from_args(build_parser().parse_args(["teach"]))
    assert plain == Settings()


def test_a_preset_gives_each_command_only_what_it_takes():
    best = load_presets()["best"]
    spec = with_preset({"runs": 2}, "quick", ExperimentSpec.model_fields)
    assert "method" not in spec and spec["runs"] == 2 and spec["samples"] == 16
    owner = best.values(SERVICE_OWNED)
    assert set(owner) <= set(SERVICE_OWNED) and owner["teacher_model"] == "qwen1.5b"


def test_an_unknown_preset_or_a_missing_model_is_a_clear_error(capsys, monkeypatch, tmp_path):
    assert main(["teach", "--preset", "nope"]) == 2
    assert (
        "--preset: unknown preset 'nope'; known: best, paper, private, quick"
        in capsys.readouterr().err
    )
    monkeypatch.setattr(Preset, "missing_models", lambda self: ["qwen1.5b"])
    with pytest.raises(ValueError, match=r"--preset best: needs qwen1\.5b.*bash scripts/setup\.sh"):
        get_preset("best")


def test_presets_lists_every_preset_with_its_numbers(capsys, tmp_path):
    assert main(["presets"]) == 0
    listed = capsys.readouterr().out
    for name, preset in load_presets().items():
        assert f"\n{name}" in listed
        measurement = preset.measurement()
        assert measurement is not None and f"{100 * measurement.mean:.1f}%" in listed
    for command in ("teach", "demo"):
        assert f"Without --preset, {command} runs {default_preset(command)[0].name}:" in listed
    (tmp_path / "locked.json").write_text(json.dumps({"experiments": []}))
    assert load_presets()["best"].measurement(tmp_path) is None


def write_measured(
    results: Path, numbers: dict[str, tuple[float, float, float]], minutes: dict[str, float]
) -> None:
    """Results files under `results` giving each preset (name → its method's, 0-shot's and the
    original examples' accuracy; minutes a run) where its `measured` table says to look."""
    documents: dict[str, list[dict]] = {}
    for name, (ours, zero, original) in numbers.items():
        seconds = 60.0 * minutes.get(name, 1.0)
        measured = load_presets()[name].measured
        assert measured is not None
        summaries = [
            {"method": method, "accuracies": [mean], "runs": 1, "seconds": seconds,
             "interval": {"mean": mean, "low": mean, "high": mean}}
            for method, mean in ((measured.method, ours), ("zero_shot", zero),
                                 ("original_examples", original))
        ]  # fmt: skip
        spec = {"name": f"{measured.study} (test)", "task": "sms_spam"}
        experiment = {"spec": spec, "summaries": summaries}
        documents.setdefault(measured.results, []).append(experiment)
    for file, experiments in documents.items():
        (results / file).write_text(json.dumps({"experiments": experiments}))


def test_teach_runs_the_most_accurate_preset_for_its_time_and_demo_one_with_a_gap(
    tmp_path, monkeypatch
):
    numbers = {"best": (0.9, 0.85, 0.88), "paper": (0.8, 0.6, 0.85), "quick": (0.55, 0.5, 0.9)}
    write_measured(tmp_path, numbers, minutes={"best": 45.0, "paper": 4.0})
    teach, why = default_preset("teach", tmp_path)
    assert teach.name == "paper" and "run takes at most 20 minutes: 80.0%" in why
    assert "(best: 90.0%, 45 min)" in why  # more accurate, too slow for a default
    demo, why = default_preset("demo", tmp_path)
    assert demo.name == "paper" and "gap 25.0 points" in why  # best's 3 points say little
    write_measured(tmp_path, numbers, minutes={"best": 15.0})
    assert default_preset("teach", tmp_path)[0].name == "best"
    # A preset with a run below its own 0-shot is no default, however accurate.
    write_measured(tmp_path, {**numbers, "best": (0.9, 0.91, 0.95)}, minutes={"best": 15.0})
    assert default_preset("teach", tmp_path)[0].name == "paper"
    # A preset too slow for the demo's 20 minutes is no demo default, though it is teach's.
    slow = {**numbers, "private": (0.85, 0.6, 0.85)}
    write_measured(tmp_path, slow, minutes={"best": 45.0, "paper": 4.0, "private": 9.0})
    assert default_preset("teach", tmp_path)[0].name == "private"
    demo, why = default_preset("demo", tmp_path)
    assert demo.name == "paper" and "a run of at most 5 minutes" in why
    # On a task no preset was measured on (its run time unknown), teach runs the demo's.
    assert default_preset("teach", tmp_path, task="sms_spam")[0].name == "private"
    teach, why = default_preset("teach", tmp_path, task="gsm8k")
    assert teach.name == "paper" and why.startswith("no preset was measured on gsm8k; the demo's")
    monkeypatch.setattr(
        Preset, "missing_models", lambda self: ["qwen1.5b"] * ("qwen1.5b" in str(self.settings))
    )
    assert default_preset("teach", tmp_path)[0].name == "quick"
    assert default_preset("demo", tmp_path)[0].name == "quick"


def test_without_preset_teach_says_which_it_runs_and_none_keeps_the_defaults(capsys):
    args = build_parser().parse_args(["teach"])
    choose_preset(args, "teach")
    chosen, _ = default_preset("teach")
    assert args.preset == chosen.name
    assert f"preset {chosen.name}: the most accurate" in capsys.readouterr().err
    gsm8k = build_parser().parse_args(["teach", "--task", "gsm8k"])
    choose_preset(gsm8k, "teach")
    assert gsm8k.preset == default_preset("demo")[0].name
    assert "no preset was measured on gsm8k" in capsys.readouterr().err
    none = build_parser().parse_args(["teach", "--preset", "none"])
    choose_preset(none, "teach")
    assert settings_from_args(none) == Settings()


def test_the_readme_names_the_presets_the_committed_numbers_make_defaults():
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"held every run: {default_preset('teach')[0].name}\n" in readme
    assert f"the demo's 20 minutes: `{default_preset('demo')[0].name}`" in readme
