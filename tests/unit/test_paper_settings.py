"""The paper's remaining settings: the manual-prompt baseline and the SMS+class format."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from sociallearn.core.lm import Score, ScriptedLM
from sociallearn.core.prompts import MANUAL_PROMPTS
from sociallearn.engine import ModelPool
from sociallearn.experiments.report import method_name, to_markdown
from sociallearn.experiments.runner import run_experiment
from sociallearn.experiments.spec import ExperimentSpec
from sociallearn.tasks import TASKS, Example, get_task
from sociallearn.teaching.methods import get_method
from sociallearn.teaching.settings import Settings
from stores.silo import TeacherSilo, is_locked


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_has_a_manual_prompt_after_its_statement(name: str) -> None:
    task = get_task(name)
    prompt = get_method("manual_prompt").baseline_prompt(task, TeacherSilo("t", [], []), Settings())
    assert prompt.startswith(task.zero_shot_instruction)
    assert MANUAL_PROMPTS[task.family] in prompt


def test_a_task_without_a_manual_prompt_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(MANUAL_PROMPTS, "gsm8k")
    with pytest.raises(ValueError, match="no manual prompt for task 'gsm8k'"):
        get_method("manual_prompt").baseline_prompt(
            get_task("gsm8k"), TeacherSilo("t", [], []), Settings()
        )


def test_sms_class_format_names_the_classes_in_every_query() -> None:
    plain, with_classes = get_task("sms_spam"), get_task("sms_spam_class")
    example = Example(input="Win a free prize now", output="spam", answer="spam")
    assert with_classes.format_query(example.input).endswith("Label (spam or ham):")
    assert (
        with_classes.parse_generated(with_classes.format_example(example).removeprefix("Message: "))
        == example
    )
    assert plain.parse_generated(with_classes.format_example(example)) is None
    # The same data, split the same way: the locked part of one is the locked part of the other.
    messages = [Example(input=f"message {i}", output="ham", answer="ham") for i in range(400)]
    assert [is_locked(plain, e) for e in messages] == [is_locked(with_classes, e) for e in messages]
    assert any(is_locked(plain, e) for e in messages)


class PrefixRecordingLM(ScriptedLM):
    """A scripted model that keeps the prompts it scores labels after."""

    def __init__(self) -> None:
        super().__init__(lambda prompt, call: " spam")
        self.scored: list[str] = []

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Score]:
        self.scored += [prefix for prefix, _ in pairs]
        return super().score_pairs(pairs)

    def score(self, prefix: str, continuations: Sequence[str]) -> list[Score]:
        self.scored.append(prefix)
        return super().score(prefix, continuations)


def test_manual_prompt_runs_as_a_baseline_and_reports_beside_the_paper(
    larger_sms_file: Path, tmp_path: Path
) -> None:
    engine = PrefixRecordingLM()
    spec = ExperimentSpec.model_validate({
        "name": "manual", "task": "sms_spam_class", "data_path": str(larger_sms_file),
        "teacher_model": "smollm2", "student_model": "smollm2", "teachers": 2, "shots": 2,
        "test_size": 4, "runs": 1, "methods": ["zero_shot", "manual_prompt"],
    })  # fmt: skip
    result = run_experiment(spec, models=ModelPool.fixed(engine), out_dir=tmp_path, progress=False)
    assert [s.method for s in result.summaries] == ["zero_shot", "manual_prompt"]
    assert any(MANUAL_PROMPTS["sms_spam"] in prompt for prompt in engine.scored)
    assert all(prompt.endswith("Label (spam or ham):") for prompt in engine.scored)
    text = to_markdown([result])
    assert "| task | 0-shot | manual prompt | original examples |" in text
    assert "sms_spam_class: 0-shot 92.7" in text
    assert method_name("manual_prompt") == "manual prompt"
