"""The student's batched answers, with scripted models: what reaches the model, and in what calls."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from tqdm import tqdm

from sociallearn.core.lm import PARALLEL_SEQUENCES, ScriptedLM
from sociallearn.core.schema import Answer
from sociallearn.tasks import Example, get_task
from sociallearn.tasks.gsm8k import ANSWER_GRAMMAR
from sociallearn.teaching import evaluate as evaluation
from sociallearn.teaching.evaluate import evaluate
from sociallearn.teaching.student import Student, build_prompt


class BatchRecorder(ScriptedLM):
    """A scripted model that records each `complete_batch` call's prompts and options."""

    def __init__(self) -> None:
        super().__init__(lambda prompt, n: f" {len(prompt)} + 1\n#### {n}\n")
        self.batches: list[tuple[list[str], dict[str, object]]] = []

    def complete_batch(self, prompts: Sequence[str], **options: object) -> list[str]:
        self.batches.append((list(prompts), options))
        return super().complete_batch(prompts, **options)


def test_generation_answers_are_one_batch_with_the_single_answer_options() -> None:
    task = get_task("gsm8k")
    model = BatchRecorder()
    student = Student(model, task)
    answers = student.answer_many("Preamble.\n\n", ["One?", "Two?", "Three?"])
    assert [a.answer for a in answers] == ["1", "2", "3"]
    ((prompts, options),) = model.batches
    assert prompts == [f"Preamble.\n\n{task.format_query(q)}" for q in ("One?", "Two?", "Three?")]
    assert options == {
        "max_tokens": task.max_answer_tokens,
        "stop": ["\n\nQuestion", "\nQuestion:"],
        "grammar": ANSWER_GRAMMAR,
    }
    assert student.answer("Preamble.\n\n", "Four?") == Answer(query="Four?", answer="4")
    assert model.batches[-1] == ([f"Preamble.\n\n{task.format_query('Four?')}"], options)


def test_classification_keeps_label_scoring() -> None:
    model = BatchRecorder()
    answers = Student(model, get_task("sms_spam")).answer_many("Lesson\n\n", ["Hi", "Win now"])
    assert model.batches == [] and model.prompts == []
    assert all(a.scores is not None and a.answer in ("spam", "ham") for a in answers)


def test_evaluate_answers_in_chunks_of_parallel_sequences(monkeypatch: pytest.MonkeyPatch) -> None:
    progress: list[int] = []

    class Bar(tqdm):
        def update(self, n: float | None = 1) -> bool | None:
            progress.append(int(n or 0))
            return super().update(n)

    monkeypatch.setattr(evaluation, "tqdm", Bar)
    task = get_task("gsm8k")
    model = BatchRecorder()
    examples = [
        Example(input=f"Q{i}?", output=f"#### {i + 1}", answer=str(i + 1)) for i in range(37)
    ]
    result = evaluate(Student(model, task), "P\n\n", examples, progress=True, desc="gsm8k")
    assert [len(prompts) for prompts, _ in model.batches] == [PARALLEL_SEQUENCES] * 2 + [5]
    assert [p.input for p in result.predictions] == [e.input for e in examples]
    assert result.accuracy == 1.0 and result.n == 37  # the script answers call number i + 1
    assert progress == [PARALLEL_SEQUENCES] * 2 + [5]


def test_instructions_reach_the_student_without_heading_marks():
    # A student primed with "#### Step 2" headings writes them, and GSM8K's answer grammar
    # turns "#### " into the final answer ("#### 3.1").
    instruction = "### Step 1: read\n  #### Step 2: add\n- then answer 3 # not a heading"
    prompt = build_prompt(get_task("gsm8k"), instructions=[instruction])
    assert "Step 1: read\nStep 2: add\n- then answer 3 # not a heading" in prompt
    assert not any(line.lstrip().startswith("#") for line in prompt.splitlines())
