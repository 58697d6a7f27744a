"""benchmarks/stage_profile.py's bookkeeping on a scripted model: each model call and each decode
lands in the stage of the library function that made it."""

from __future__ import annotations

import json
from collections.abc import Sequence

from benchmarks import readme_tables, stage_profile
from sociallearn.core.lm import Score, ScriptedLM


class DecodingLM(ScriptedLM):
    """Counts a 100-token prompt decode in every score call, as llama_decode would."""

    def __init__(self, profile) -> None:
        super().__init__(lambda prompt, call: "x")
        self.profile = profile

    def score(self, prefix: str, continuations: Sequence[str]) -> list[Score]:
        self.profile.count_decode(100)
        return super().score(prefix, continuations)


def test_model_calls_land_in_the_stage_of_their_caller():
    profile = stage_profile.Profile()
    model = stage_profile.ProfiledModel(DecodingLM(profile), profile)

    def _rank() -> None:
        model.score("prefix", ["a", "b"])

    def self_check() -> None:
        _rank()  # refining's checks own whatever they call

    def evaluate() -> None:
        model.complete("q")
        model.complete("r")

    _rank()
    self_check()
    evaluate()
    stages = profile.stages
    assert stages["perplexity ranking"].calls == 1
    assert stages["refinement: held-back checks"].calls == 1
    assert stages["student evaluation"].calls == 2
    assert (
        stages["perplexity ranking"].prompt_tokens
        == 100
        == stages["refinement: held-back checks"].prompt_tokens
    )
    profile.count_decode(4)  # outside any call
    assert stages["other model calls"].steps == 1 and stages["other model calls"].step_tokens == 4


def test_a_profiled_cell_renders_as_a_table_of_its_stages(larger_sms_file, tmp_path):
    spec = stage_profile.ExperimentSpec.model_validate({
        **stage_profile.SPEC, "data_path": str(larger_sms_file), "teachers": 2,
        "votes_held_out": 4, "test_size": 6, "methods": ["synthetic_examples+random"],
    })  # fmt: skip
    engines = {"qwen1.5b": ScriptedLM(lambda prompt, call: " Win a prize now\nLabel: spam")}
    rates = {"prompt_tokens_per_s": 100.0, "steps_per_s": 10.0}
    cell = stage_profile.profile_cell(spec, spec.methods[0], 0, tmp_path, rates, engines)
    assert cell["stages"]["sampling"]["calls"] == 2  # one per teacher
    assert cell["stages"]["student evaluation"]["calls"] >= 1
    setting = {"preset": None, "spec": spec.model_dump(), "rates": rates, "cpu_count": 2}
    stage_profile.write_cells(tmp_path / "profile.json", [{**setting, **cell}])
    stage_profile.write_cells(tmp_path / "profile.json", [{**setting, **cell, "preset": "paper"}])
    again = {**setting, **cell, "seed": 1}
    stage_profile.write_cells(tmp_path / "profile.json", [again])  # replaces the first
    report = json.loads((tmp_path / "profile.json").read_text(encoding="utf-8"))
    assert [(c["preset"], c["seed"]) for c in report["cells"]] == [("paper", 0), (None, 1)]
    rows = readme_tables.stage_profile_rows(tmp_path / "profile.json")
    assert rows[0].startswith("paper preset, synthetic, random, seed 0: qwen1.5b teaching")
    assert "m = 2, 6 test messages" in rows[0]
    assert any(row.startswith("| sampling |") for row in rows)
    assert not any(row.startswith("| outside model calls |") for row in rows)  # no calls
    stage_profile.plot(report, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
