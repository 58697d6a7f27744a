"""Perplexity ranking of synthetic examples reads the scores a model reports while sampling, and
scores only the samples it reports none for (scripted models)."""

from __future__ import annotations

from collections.abc import Sequence

from sociallearn.core.lm import MemoisedSampling, Score, ScriptedLM, sample_scored
from sociallearn.privacy.filter import FilterSettings
from sociallearn.stores.silo import TeacherSilo
from sociallearn.tasks import Example, get_task
from sociallearn.teaching.drafting import few_shot_prompt, sampled_examples
from sociallearn.teaching.settings import Settings
from sociallearn.teaching.workspace import TeacherWorkspace

SMS = get_task("sms_spam")
SAMPLES = [
    " Call now to claim your prize\nLabel: spam",  # scored while sampled: −0.5 a token
    " Lunch at noon?\nLabel: ham",  # scored while sampled: −2.0 a token
    "  Free ringtones, reply YES \nLabel: spam",  # parses to another text: scored again
    " See you later\nLabel: ham",  # not scored while sampled
]
REPORTED = [Score(-5.0, 10), Score(-8.0, 4), Score(-1.0, 10), None]


class ScoringSampler(ScriptedLM):
    """Samples `SAMPLES` with `REPORTED` scores; `score` gives −1.0 a token and is recorded."""

    def __init__(self) -> None:
        super().__init__(lambda prompt, n: SAMPLES[(n - 1) % len(SAMPLES)])
        self.scored: list[str] = []
        self.sampled = 0

    def sample_scored(
        self, prompt: str, n: int, **options: object
    ) -> list[tuple[str, Score | None]]:
        self.sampled += 1
        return list(zip(SAMPLES, REPORTED, strict=True))[:n]

    def score(self, prefix: str, continuations: Sequence[str]) -> list[Score]:
        self.scored += list(continuations)
        return [Score(-1.0 * len(text.split()), len(text.split())) for text in continuations]


def workspace(model: ScriptedLM) -> TeacherWorkspace:
    pairs = [("Claim your prize today", "spam"), ("See you at lunch", "ham")]
    shots = [Example(input=text, output=label, answer=label) for text, label in pairs] * 4
    silo = TeacherSilo("teacher-0", shots, shots)  # held back: level labels, no label check
    settings = Settings(calibration="none", samples=4, keep=4, privacy=FilterSettings(names=False))
    return TeacherWorkspace("teacher-0", silo, SMS, model, settings)


def test_samples_keep_the_scores_they_were_sampled_with_and_the_rest_are_scored():
    model = ScoringSampler()
    drafts = sampled_examples(workspace(model), seed=0)
    by_input = {draft.example.input: draft.mean_logprob for draft in drafts if draft.example}
    assert by_input["Call now to claim your prize"] == -0.5
    assert by_input["Lunch at noon?"] == -2.0
    # Parsed to a text other than the sample's, or reported without a score: scored after the
    # prompt, each once; the samples that came with scores are not scored again (the label
    # check, after the ranking, scores only labels).
    assert model.scored[:2] == [
        " Free ringtones, reply YES\nLabel: spam",
        " See you later\nLabel: ham",
    ]
    assert not {SAMPLES[0], SAMPLES[1]} & set(model.scored)
    assert next(draft.example.input for draft in drafts if draft.example) == (
        "Call now to claim your prize"
    )


def test_a_model_without_scored_samples_is_scored_after_sampling():
    model = ScriptedLM(lambda prompt, n: SAMPLES[0])
    assert sample_scored(model, "Message:", 2, temperature=0.7) == [(SAMPLES[0], None)] * 2


def test_memoised_samples_are_drawn_once_for_texts_and_scores():
    inner = ScoringSampler()
    model = MemoisedSampling(inner)
    scored = model.sample_scored("Message:", 2, temperature=0.7, seed=3)
    assert model.sample("Message:", 2, temperature=0.7, seed=3) == [text for text, _ in scored]
    assert sample_scored(model, "Message:", 2, temperature=0.7, seed=3) == scored
    assert inner.sampled == 1


class LabelChecker(ScoringSampler):
    """`ScoringSampler` whose label scores trust the teacher's classifier (a message with
    'prize' is spam, others ham), recording each scored prompt."""

    def __init__(self) -> None:
        super().__init__()
        self.prompts_scored: list[str] = []

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Score]:
        self.prompts_scored += [prefix for prefix, _ in pairs]
        spam = [("prize" in prefix.rpartition("Message:")[2]) for prefix, _ in pairs]
        return [
            Score(0.0 if (label.strip() == "spam") == is_spam else -3.0, 1)
            for (_, label), is_spam in zip(pairs, spam, strict=True)
        ]


def test_the_label_check_continues_the_prompt_the_examples_were_sampled_from():
    model = LabelChecker()
    teacher = workspace(model)
    drafts = sampled_examples(teacher, seed=0)
    sampling_prompt = few_shot_prompt(SMS, teacher.shots()) + "Message:"
    assert model.prompts_scored
    assert all(prompt.startswith(sampling_prompt) for prompt in model.prompts_scored)
    # The classifier disputes the ringtones message sampled as spam: it is dropped.
    assert {d.example.input for d in drafts if d.example} == {
        "Call now to claim your prize",
        "Lunch at noon?",
        "See you later",
    }
