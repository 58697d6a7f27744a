"""Served models for real: llama-cpp-python's OpenAI-compatible server on loopback with the
embedded models, against the same models in this process.

CI starts one server per model and names them in $SOCIALLEARN_SERVED_URLS (JSON, model → base
URL, e.g. {"smollm2": "http://127.0.0.1:8123/v1"}); without it, the tests start their own
(`python -m llama_cpp.server`). SmolLM2 (no beginning-of-text token) is served one token off
by llama-cpp-python 0.3's echo, so its echoed likelihoods are compared on Gemma 3, which has
that token, and its labels (read from generated tokens) on both; generation is compared on
SmolLM2. Measured differences are printed (`pytest -s`). Echoed log-probabilities are slow on
llama-cpp-python's server (it sorts the whole vocabulary in Python for every prompt token:
about 0.3 s a token on Gemma 3's 262k), so the prompts scored that way are short.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sociallearn.apps.deploy import model_server
from sociallearn.apps.run import teach
from sociallearn.core.lm import MissingOperation, ModelUnavailable
from sociallearn.engine import LlamaEngine
from sociallearn.engine.served import API_KEY_ENVS, ServedModel, ServedOptions
from sociallearn.stores.library import LessonLibrary
from sociallearn.tasks import Example, get_task
from sociallearn.tasks.gsm8k import ANSWER_GRAMMAR
from sociallearn.teaching.settings import Settings
from sociallearn.teaching.student import Student, build_prompt

pytestmark = pytest.mark.integration

SERVED_URLS_ENV = "SOCIALLEARN_SERVED_URLS"
# Gemma 3's CPU logits depend on how llama.cpp splits tokens into batches, by up to about 0.5
# (`sociallearn.engine.llama`): the server evaluates each prompt whole, the engine from its cache.
# Measured (2 cores, llama-cpp-python 0.3.36): largest gap 0.15 nats over 4 label scores.
SCORE_TOLERANCE = 0.6
LABEL_CHECKS = 10  # messages whose labels both sides predict
# Measured: 0 of 10 labels differ, calibrated scores within 0.072; one near-tie may flip.
MAX_DIFFERENT_LABELS = 1
API_KEY = "sk-served-test-0123456789"


@dataclass
class Server:
    """A llama-cpp-python server on loopback (`process` None: one CI started)."""

    url: str
    process: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)


def start_server(model: str, log: Path, *options: str) -> Server:
    """`python -m llama_cpp.server` on `model`, once it answers /v1/models (as `deploy` starts
    one)."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    try:
        process, url = model_server(model, log, threads=2, options=options, headers=headers)
    except RuntimeError as exc:
        pytest.fail(f"llama-cpp-python's server on {model} did not start: {exc}")
    return Server(url, process)


def server_for(model: str, folder: Path) -> Iterator[Server]:
    given = json.loads(os.environ.get(SERVED_URLS_ENV) or "{}")
    server = Server(given[model]) if model in given else start_server(model, folder / "log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def smollm2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from server_for("smollm2", tmp_path_factory.mktemp("smollm2-server"))


@pytest.fixture(scope="module")
def gemma3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from server_for("gemma3", tmp_path_factory.mktemp("gemma3-server"))


def served(server: Server, model: str, concurrency: int = 1) -> ServedModel:
    """The served model, as patient as the slow echo needs."""
    options = ServedOptions(timeout=600.0, retries=0, concurrency=concurrency)
    return ServedModel.from_spec(f"openai:{server.url}#{model}", options)


@pytest.fixture(scope="module")
def smollm2() -> LlamaEngine:
    return LlamaEngine("smollm2")


@pytest.fixture(scope="module")
def gemma3() -> LlamaEngine:
    return LlamaEngine("gemma3")


@pytest.fixture(scope="module")
def messages(datasets: Path) -> list[Example]:
    return get_task("sms_spam").load(datasets / "sms_spam" / "SMSSpamCollection")


def short(examples: list[Example], count: int, label: str | None = None) -> list[Example]:
    """The first `count` examples of at most 80 characters (with `label`, of that label)."""
    chosen = [e for e in examples if len(e.input) <= 80 and label in (None, e.answer)]
    return chosen[:count]


# ------------------------------------------------------------------ (a) the same generations


def test_greedy_completions_chat_and_seeded_samples_are_the_in_process_ones(
    smollm2_server: Server, smollm2: LlamaEngine, messages: list[Example]
):
    model = served(smollm2_server, "smollm2", concurrency=4)
    task = get_task("sms_spam")
    preamble = build_prompt(task, examples=[task.format_example(e) for e in short(messages, 2)])
    prompts = [preamble + task.format_query(e.input) for e in short(messages, 12)[2:8]]
    assert model.complete_batch(prompts, max_tokens=12, stop=["\n"]) == [
        smollm2.complete(prompt, max_tokens=12, stop=["\n"]) for prompt in prompts
    ]
    question = "Write one rule that tells spam messages from personal ones."
    assert model.instruct(question, max_tokens=40) == smollm2.instruct(question, max_tokens=40)
    prompt = preamble + "Message:"
    options = {"temperature": 0.7, "max_tokens": 24, "seed": 3, "stop": ["\n"]}
    assert model.sample(prompt, 3, **options) == smollm2.sample(prompt, 3, **options)  # type: ignore[arg-type]


def test_grammar_constrained_answers_are_the_in_process_ones(
    smollm2_server: Server, smollm2: LlamaEngine, datasets: Path
):
    task = get_task("gsm8k")
    questions = task.load(datasets / "gsm8k" / "train.jsonl")
    preamble = build_prompt(task, examples=[task.format_example(e) for e in questions[:1]])
    prompts = [preamble + task.format_query(e.input) for e in questions[-3:]]
    options = {"max_tokens": 48, "stop": ["\n\n"], "grammar": ANSWER_GRAMMAR}
    served_answers = served(smollm2_server, "smollm2").complete_batch(prompts, **options)  # type: ignore[arg-type]
    assert served_answers == [smollm2.complete(p, **options) for p in prompts]  # type: ignore[arg-type]


def test_label_predictions_match_the_in_process_ones(
    gemma3_server: Server, gemma3: LlamaEngine, messages: list[Example]
):
    task = get_task("sms_spam")
    preamble = build_prompt(task)
    half = LABEL_CHECKS // 2
    checked = short(messages, half, "spam") + short(messages, half, "ham")
    queries = [e.input for e in checked]
    here = Student(gemma3, task).answer_many(preamble, queries)
    there = Student(served(gemma3_server, "gemma3"), task).answer_many(preamble, queries)
    different = sum(a.answer != b.answer for a, b in zip(here, there, strict=True))
    gaps = [
        abs((a.scores or {})[label] - (b.scores or {})[label])
        for a, b in zip(here, there, strict=True)
        for label in task.labels
    ]
    print(
        f"\nlabels: {different} of {len(queries)} differ; calibrated scores differ by ≤ {max(gaps):.3f}"
    )
    assert different <= MAX_DIFFERENT_LABELS


# ------------------------------------------------------------------------- (b) the scores


def test_scores_are_within_the_engines_batch_tolerance(
    gemma3_server: Server, gemma3: LlamaEngine, messages: list[Example]
):
    task = get_task("sms_spam")
    pairs = [
        (task.format_query(e.input), option)
        for e in short(messages, 2)
        for option in (" spam", " ham", " spam or ham")  # labels: first token; else echoed
    ]
    here = gemma3.score_pairs(pairs)
    there = served(gemma3_server, "gemma3").score_pairs(pairs)
    assert [s.n_tokens for s in there] == [s.n_tokens for s in here]
    gaps = [abs(a.logprob - b.logprob) for a, b in zip(here, there, strict=True)]
    print(f"\nscores: largest gap {max(gaps):.4f}, mean {sum(gaps) / len(gaps):.4f} (nats)")
    assert max(gaps) <= SCORE_TOLERANCE


def test_smollm2_echo_is_refused_as_one_token_off_and_its_labels_read_from_generated_tokens(
    smollm2_server: Server, smollm2: LlamaEngine, messages: list[Example]
):
    """llama-cpp-python 0.3's server gives each prompt token of a model without a
    beginning-of-text token the probability of the token after it: the check refuses them for
    every likelihood but labels, which are read from the first generated token's."""
    model = served(smollm2_server, "smollm2")
    with pytest.raises(MissingOperation, match=r"one token off") as raised:
        model.check_likelihoods("teacher model (it ranks its synthetic examples)")
    assert smollm2_server.url in str(raised.value)
    model.check_likelihoods("student model (it scores the labels)", labels_only=True)
    task = get_task("sms_spam")
    lesson = short(messages, 1, "spam") + short(messages, 1, "ham")
    preamble = build_prompt(task, examples=[task.format_example(e) for e in lesson])
    pairs = [
        (preamble + task.format_query(e.input), option)
        for e in short(messages, 4)[2:]
        for option in (" spam", " ham")
    ]
    gaps = [
        abs(a.logprob - b.logprob)
        for a, b in zip(smollm2.score_pairs(pairs), model.score_pairs(pairs), strict=True)
    ]
    print(f"\nsmollm2 labels: largest gap {max(gaps):.4f} nats")
    assert max(gaps) <= SCORE_TOLERANCE


# ---------------------------------------------------------------------- (c) short teach runs


def test_a_run_with_a_served_teacher_publishes_lessons(gemma3_server: Server, tmp_path: Path):
    spec = f"openai:{gemma3_server.url}#gemma3"
    settings = Settings(
        teacher_model=spec,  # gemma3 writes instructions the filter passes (smollm2's loop)
        method="instructions",
        teachers=2,
        test_size=20,
        library=str(tmp_path / "library"),
        served_retries=0,
    )
    state = teach(settings, queries=["WINNER!! You have won a prize, call now", "lunch at 1?"])
    assert state["published"], f"nothing published: {state['dropped']}"
    lessons = LessonLibrary.open(settings.library).list(task="sms_spam")
    assert {lesson.teacher_model for lesson in lessons} == {spec}
    assert [answer.answer in {"spam", "ham"} for answer in state["answers"]] == [True, True]


def test_a_run_with_a_served_student_answers(gemma3_server: Server, tmp_path: Path):
    settings = Settings(
        student_model=f"openai:{gemma3_server.url}#gemma3",  # scores the labels
        method="synthetic_examples",
        teachers=2,
        samples=2,
        keep=1,
        test_size=20,
        library=str(tmp_path / "library"),
        served_retries=0,
        served_timeout=900,
    )
    state = teach(settings, queries=["Free entry! Win a phone, text WIN"])
    assert state["published"], f"nothing published: {state['dropped']}"
    assert [answer.answer in {"spam", "ham"} for answer in state["answers"]] == [True]


# ------------------------------------------------------------------- (d) a server that stops


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own, with an API key, which the last test stops."""
    folder = tmp_path_factory.mktemp("own-server")
    server = start_server("smollm2", folder / "log", "--api_key", API_KEY)
    yield server
    server.stop()


def test_the_api_key_comes_from_the_environment(own_server: Server, monkeypatch):
    for name in API_KEY_ENVS:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ModelUnavailable, match=r"answered HTTP 401"):
        served(own_server, "smollm2").complete("Hello", max_tokens=2)
    monkeypatch.setenv("SOCIALLEARN_OPENAI_API_KEY", API_KEY)
    assert isinstance(served(own_server, "smollm2").complete("Hello", max_tokens=2), str)


def test_a_stopped_server_is_named_or_its_teachers_dropped(
    own_server: Server, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("SOCIALLEARN_OPENAI_API_KEY", API_KEY)
    own_server.stop()
    base: dict[str, Any] = {
        "teacher_model": f"openai:{own_server.url}#smollm2",
        "teachers": 2,
        "test_size": 20,
        "library": str(tmp_path / "library"),
        "served_retries": 1,
    }
    with pytest.raises(ModelUnavailable, match=rf"{own_server.url} .*could not be reached"):
        teach(Settings(**base))  # synthetic examples: its likelihoods are checked first
    state = teach(Settings(**base, method="instructions"))
    assert {drop.teacher_id for drop in state["dropped"]} == {"teacher-0", "teacher-1"}
    assert all(own_server.url in " ".join(drop.reasons) for drop in state["dropped"])
    assert state["published"] == []
    assert LessonLibrary.open(str(tmp_path / "library")).list(task="sms_spam") == []
