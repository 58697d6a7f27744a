"""The differentially private choice of a whole prompt among public drafts (`dp_choice`)."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from small_context import small_context, small_settings

from sociallearn.apps.run import teach
from sociallearn.core.lm import Score, ScriptedLM
from sociallearn.core.schema import Lesson
from sociallearn.engine import ModelPool
from sociallearn.privacy.noise import report_noisy_max
from sociallearn.tasks import get_task
from sociallearn.teaching.aggregators.base import Ballot
from sociallearn.teaching.aggregators.dp_choice import DPChoice, candidate_prompts
from sociallearn.teaching.drafting import public_examples
from sociallearn.teaching.settings import Settings
from sociallearn.teaching.workspace import TeacherWorkspace

TEACHERS = ["teacher-0", "teacher-1"]


class PromptSensitiveJudge(ScriptedLM):
    """Answers a held-back message right (spam: 'ref…', ham: 'ok…', as `write_sms` writes
    them) only after a prompt that holds the word GOOD; after any other, level scores."""

    def __init__(self) -> None:
        super().__init__(lambda prompt, n: "")

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Score]:
        scores = []
        for prefix, label in pairs:
            query = prefix.rsplit("Message:", 1)[-1]
            gold = " spam" if " ref" in query else " ham" if " ok" in query else None
            right = "GOOD" in prefix and gold is not None
            scores.append(Score(-1.0 if right and label == gold else -3.0, 1))
        return scores


def lessons(count: int, good: int | None = None) -> list[Lesson]:
    """`count` public drafts, labels in turn; lesson `good` (if any) holds the word GOOD."""
    return [
        Lesson(
            task="sms_spam",
            kind="example",
            text=f"Draft {i}{' GOOD' if i == good else ''}\nLabel: {label}",
            input=f"Draft {i}",
            output=label,
            answer=label,
            teacher_id=TEACHERS[i % 2],
            teacher_model="scripted",
            run_id="run",
            method="public_examples",
            settings={"seed": 0},
        )
        for i in range(count)
        for label in ["spam" if i % 2 == 0 else "ham"]
    ]


def ballot(
    larger_sms_file: Path, tmp_path: Path, model: ScriptedLM, run_id: str = "a", **overrides
) -> Ballot:
    context = small_context(
        larger_sms_file, tmp_path, model, aggregator="dp_choice", votes_held_out=4, **overrides
    )
    return Ballot(context, run_id, TEACHERS)


def test_the_deal_makes_whole_prompts_labels_in_turn_from_public_randomness(
    larger_sms_file, tmp_path
):
    drafts = lessons(12)
    dealt = candidate_prompts(
        drafts, 4, ballot(larger_sms_file, tmp_path, ScriptedLM(lambda p, n: ""))
    )
    assert [len(prompt) for prompt in dealt] == [4, 4, 4]
    assert sorted(lesson.text for prompt in dealt for lesson in prompt) == sorted(
        lesson.text for lesson in drafts
    )
    for prompt in dealt:
        assert Counter(lesson.answer for lesson in prompt) == {"spam": 2, "ham": 2}
    again = candidate_prompts(
        drafts, 4, ballot(larger_sms_file, tmp_path, ScriptedLM(lambda p, n: ""))
    )
    assert again == dealt  # the run id and seed decide it, nothing private
    other = candidate_prompts(
        drafts, 4, ballot(larger_sms_file, tmp_path, ScriptedLM(lambda p, n: ""), "b")
    )
    assert other != dealt


def test_with_a_large_epsilon_the_prompt_that_answers_the_silos_right_wins(
    larger_sms_file, tmp_path
):
    for good in range(8):
        drafts = lessons(8, good=good)
        chosen = DPChoice().choose(
            drafts,
            2,
            ballot(
                larger_sms_file,
                tmp_path,
                PromptSensitiveJudge(),
                dp_epsilon=1e6,
                dp_secure_noise=False,
            ),
        )
        assert any("GOOD" in lesson.text for lesson in chosen)
        assert len(chosen) == 2


def test_lessons_record_one_choice_at_epsilon(larger_sms_file, tmp_path):
    chosen = DPChoice().choose(
        lessons(8), 4, ballot(larger_sms_file, tmp_path, PromptSensitiveJudge(), dp_epsilon=0.5)
    )
    for lesson in chosen:
        assert lesson.settings == {
            "seed": 0, "dp_epsilon": 0.5, "dp_epsilon_total": 0.5, "dp_delta": 0.0
        }  # fmt: skip
        assert lesson.votes == 0  # the counts stay private


def choice_frequencies(counts: list[int], epsilon: float, draws: int) -> list[float]:
    found = Counter(report_noisy_max(counts, epsilon, random.Random(seed)) for seed in range(draws))
    return [found[i] / draws for i in range(len(counts))]


def test_report_noisy_max_keeps_its_epsilon_on_neighbouring_counts():
    """One held-back example added moves every count by at most 1: each outcome's probability
    changes by a factor of at most e^ε (measured over 40,000 draws, with a sampling margin)."""
    epsilon, draws = 1.0, 40_000
    before = choice_frequencies([20, 20, 19], epsilon, draws)
    after = choice_frequencies([21, 20, 18], epsilon, draws)
    for p, q in zip(before, after, strict=True):
        assert max(p / q, q / p) <= math.exp(epsilon) * 1.1
    assert after[0] > before[0]  # and the noise still lets the counts speak


def test_at_a_tiny_epsilon_the_choice_is_close_to_uniform():
    assert all(abs(f - 0.25) < 0.03 for f in choice_frequencies([40, 0, 0, 0], 1e-6, 8000))


def test_public_drafts_never_read_the_silo(scripted):
    class Untouchable:
        def __getattr__(self, name: str):
            raise AssertionError(f"public drafting read the silo's {name}")

    model = scripted(lambda prompt, n: f" you won a prize {n}")
    settings = Settings(samples=4, keep=4)
    workspace = TeacherWorkspace("teacher-0", Untouchable(), get_task("sms_spam"), model, settings)  # type: ignore[arg-type]
    drafts = public_examples(workspace, seed=3)
    assert [d.example.answer for d in drafts if d.example] == ["spam", "ham", "spam", "ham"]
    assert all("Message:" not in prompt.split("Label:")[0] for prompt in model.prompts)


def test_each_teacher_samples_the_shared_public_prompt_with_its_own_seed():
    class SeedRecorder(ScriptedLM):
        def __init__(self) -> None:
            super().__init__(lambda prompt, n: f" text {n}")
            self.seeds: list[object] = []

        def sample(self, prompt: str, n: int, **options: object) -> list[str]:
            self.seeds.append(options["seed"])
            return super().sample(prompt, n)

    def seeds(teacher: str, seed: int) -> list[object]:
        model = SeedRecorder()
        workspace = TeacherWorkspace(teacher, None, get_task("sms_spam"), model, Settings())  # type: ignore[arg-type]
        public_examples(workspace, seed)
        return model.seeds

    assert seeds("teacher-0", 5) == seeds("teacher-0", 5)
    assert seeds("teacher-0", 5) != seeds("teacher-1", 5) != seeds("teacher-0", 6)


def test_a_teach_run_chooses_public_drafts_privately(larger_sms_file, tmp_path):
    judge = PromptSensitiveJudge()
    judge.script = lambda prompt, n: f" Draft {n} GOOD" if n == 3 else f" Draft {n}"
    settings = small_settings(
        larger_sms_file, tmp_path, method="public_examples", aggregator="dp_choice", lessons=2,
        samples=4, keep=4, votes_held_out=4, dp_epsilon=1e6,
    )  # fmt: skip
    state = teach(settings, models=ModelPool.fixed(judge))
    assert len(state["candidates"]) >= 4 and len(state["lessons"]) == 2
    assert any("GOOD" in lesson.text for lesson in state["lessons"])
    assert all(lesson.settings["dp_epsilon_total"] == 1e6 for lesson in state["lessons"])
