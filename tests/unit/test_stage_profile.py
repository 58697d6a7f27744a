"""benchmarks/stage_profile.py's bookkeeping on a scripted model: each model call and each decode
lands in the stage of the library function that made it."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks import stage_profile
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
    profiling = stage_profile
    profile = profiling.Profile()
    model = profiling.ProfiledModel(DecodingLM(profile), profile)

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
