"""A model on an OpenAI-compatible server: the requests it sends, the likelihoods it reads from
echoed prompt log-probabilities, and how it fails (with a fake server: `openai_server`)."""

from __future__ import annotations

import logging
import re
import socket

import httpx
import pytest
from openai_server import ANSWER, URL, FakeOpenAI
from pydantic import ValidationError
from small_context import small_settings

from sociallearn.apps.run import teach
from sociallearn.core.lm import MissingOperation, ModelUnavailable, Score
from sociallearn.core.models import ModelError
from sociallearn.engine import served
from sociallearn.engine.pool import ModelPool
from sociallearn.engine.served import LLAMA_FIELDS, ServedModel, ServedOptions, ServedSpec
from sociallearn.stores.library import LessonLibrary
from sociallearn.teaching.context import Context
from sociallearn.teaching.resources import Resources
from sociallearn.teaching.settings import Settings

SPEC = f"openai:{URL}#toy"
KEY = "sk-test-0123456789abcdefSECRET"


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(served, "RETRY_PAUSE_S", 0.0)
    for name in served.API_KEY_ENVS:
        monkeypatch.delenv(name, raising=False)


def model_on(server: FakeOpenAI | httpx.MockTransport, **options: object) -> ServedModel:
    transport = server.transport() if isinstance(server, FakeOpenAI) else server
    return ServedModel(ServedSpec.parse(SPEC), ServedOptions(**options), transport=transport)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ the name


def test_a_served_model_is_named_by_its_url_and_served_name():
    assert ServedSpec.parse("openai:http://127.0.0.1:8080/v1/#qwen") == ServedSpec(
        "http://127.0.0.1:8080/v1", "qwen"
    )
    assert ServedSpec.parse("openai:https://example.org/v1") == ServedSpec(
        "https://example.org/v1", None
    )
    assert str(ServedSpec.parse("openai:http://h:1/v1/#m")) == "openai:http://h:1/v1#m"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("openai:127.0.0.1:8080", "not an http(s) URL"),
        ("openai:ftp://host/v1#m", "not an http(s) URL"),
        ("openai:http://host/v1#", "empty model name"),
        (f"openai:http://user:{KEY}@host/v1#m", "no credentials or query"),
        (f"openai:http://host/v1?key={KEY}#m", "no credentials or query"),
    ],
)
def test_a_bad_name_says_what_is_wrong_and_never_repeats_a_key(spec: str, message: str):
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        ServedSpec.parse(spec)
    assert KEY not in str(raised.value)
    with pytest.raises(ValidationError) as invalid:
        Settings(teacher_model=spec)
    (error,) = invalid.value.errors()  # what the command line prints
    assert message in error["msg"] and KEY not in error["msg"]


def test_the_settings_take_served_and_given_names_and_keep_run_ids():
    settings = Settings(teacher_model="openai:http://h:1/v1/#m", student_model="python:chat")
    assert settings.teacher_model == "openai:http://h:1/v1#m"
    assert settings.student_model == "python:chat"
    assert Settings(served_timeout=5, served_retries=0).run_key() == Settings().run_key()
    assert Settings(served_concurrency=2).served_options() == ServedOptions(120.0, 2, 2)


def test_the_pool_serves_openai_names_and_refuses_python_names_it_was_not_given():
    pool = ModelPool(served=ServedOptions(timeout=3, retries=1))
    model = pool.get(SPEC)
    assert isinstance(model.model, ServedModel)  # type: ignore[attr-defined]  # memoised
    assert model.model.options == ServedOptions(timeout=3, retries=1)  # type: ignore[attr-defined]
    assert model.name == SPEC
    with pytest.raises(ModelError, match=r"python:chat names a model given from Python"):
        pool.get("python:chat")


# -------------------------------------------------------------------------- the requests


def test_completions_send_the_engines_sampling_settings_and_the_grammar():
    server = FakeOpenAI()
    model = model_on(server)
    text = model.complete("Q: 2+2\nA:", max_tokens=8, stop=["\n"], grammar='root ::= "4"')
    assert text == ANSWER
    (request,) = server.requests
    assert request.url == f"{URL}/completions" and request.method == "POST"
    assert server.bodies[0] == {
        "model": "toy",
        "prompt": "Q: 2+2\nA:",
        "max_tokens": 8,
        "temperature": 0.0,
        "top_p": 0.95,
        "stop": ["\n"],
        "grammar": 'root ::= "4"',
        **LLAMA_FIELDS,
    }


def test_instruct_is_one_chat_turn():
    server = FakeOpenAI(chat_reply=lambda prompt: f"re: {prompt}")
    answer = model_on(server).instruct("Write a rule.", base_prompt="unused", seed=3)
    assert answer == "re: Write a rule."
    assert server.requests[0].url == f"{URL}/chat/completions"
    body = server.bodies[0]
    assert body["messages"] == [{"role": "user", "content": "Write a rule."}]
    assert body["seed"] == 3 and body["temperature"] == 0.0 and "prompt" not in body


def test_samples_are_seeded_seed_plus_i_and_batches_keep_their_order():
    server = FakeOpenAI()
    model = model_on(server, concurrency=3)
    assert model.sample("Message:", 4, temperature=0.7, seed=10, stop=["\n\n"]) == [ANSWER] * 4
    assert sorted(body["seed"] for body in server.bodies) == [10, 11, 12, 13]
    assert {body["temperature"] for body in server.bodies} == {0.7}
    server.requests.clear()
    prompts = [f"prompt {i}" for i in range(7)]
    assert model.complete_batch(prompts, max_tokens=4) == [ANSWER] * 7
    assert sorted(body["prompt"] for body in server.bodies) == sorted(prompts)
    assert all("seed" not in body and body["temperature"] == 0.0 for body in server.bodies)


# ---------------------------------------------------------------------------- likelihoods


@pytest.mark.parametrize("flavour", ["llama-cpp-python", "vllm"])
def test_scores_are_the_echoed_log_probabilities_of_the_continuation(flavour: str):
    model = model_on(FakeOpenAI(flavour))
    # −0.5 per character of each continuation token (the toy model): " spam" is one token of 5
    # characters, " free prize" two of 5 and 6.
    prefix = "SMS: win cash now\nLabel:"
    assert model.score(prefix, [" spam", " free prize", ""]) == [
        Score(-2.5, 1),
        Score(-5.5, 2),
        Score(0.0, 0),
    ]
    # A token reaching from the prefix into the continuation counts for the continuation.
    assert model.score_pairs([("Label: sp", "am")]) == [Score(-2.5, 1)]
    assert model.rank(prefix, " spam", [" ham", " free prize", " spammy"]) == 1  # " ham"


@pytest.mark.parametrize("flavour", ["llama-cpp-python", "vllm", "llama-server", "one-off"])
def test_labels_are_read_from_the_first_generated_token_one_request_per_prefix(flavour: str):
    server = FakeOpenAI(flavour)
    model = model_on(server)
    model.check_likelihoods("student model (it scores the labels)", labels_only=True)
    server.requests.clear()
    pairs = [
        (f"SMS: {text}\nLabel:", label) for text in ("hi", "win") for label in (" spam", " ham")
    ]
    assert model.score_pairs(pairs) == [Score(-2.5, 1), Score(-2.0, 1)] * 2
    assert len(server.bodies) == 2  # one per prefix, both labels from its alternatives
    assert all(
        b["logprobs"] == served.TOP_ALTERNATIVES and not b.get("echo") for b in server.bodies
    )
    assert all(b["max_tokens"] == 1 and b["temperature"] == 0.0 for b in server.bodies)


def test_echo_requests_ask_for_the_prompts_log_probabilities():
    server = FakeOpenAI()
    model = model_on(server)
    model.score("Label:", [" free prize"])
    probe, probe_echo, echo = server.bodies
    assert probe["logprobs"] == 1 and not probe.get("echo") and probe["max_tokens"] == 1
    assert probe_echo["echo"] and probe_echo["prompt"] == served.PROBE_PROMPT + ANSWER
    assert echo["echo"] and echo["prompt"] == "Label: free prize" and echo["logprobs"] == 1
    assert echo["max_tokens"] == 1  # llama-cpp-python reads 0 as "no limit"
    server.requests.clear()
    model.score("Label:", [" more words"])
    assert len(server.requests) == 1  # checked once
    server.requests.clear()
    model.score("Label:", [" zebra"])  # one token, not among the alternatives: echoed
    first, echo = server.bodies
    assert not first.get("echo") and echo["echo"] and echo["prompt"] == "Label: zebra"


@pytest.mark.parametrize(
    ("flavour", "problem"),
    [
        ("llama-server", "does not return the prompt's log-probabilities"),
        ("no-logprobs", "returns no log-probabilities at all"),
        ("one-off", "one token off"),
    ],
)
def test_a_server_without_exact_prompt_log_probabilities_is_refused_naming_the_url(
    flavour: str, problem: str
):
    model = model_on(FakeOpenAI(flavour))
    with pytest.raises(MissingOperation) as raised:
        model.score("Label:", [" free prize"])
    message = str(raised.value)
    assert message.startswith("score needs likelihoods") and problem in message and URL in message
    with pytest.raises(MissingOperation, match=r"^the student model \(it scores the labels\)"):
        model.check_likelihoods("student model (it scores the labels)")
    with pytest.raises(MissingOperation, match=problem):
        model.rank("Label:", " spam pizza", [" ham"])
    assert model.complete("Label:") == ANSWER  # generation still works
    if flavour == "no-logprobs":
        with pytest.raises(MissingOperation, match=problem):
            model.check_likelihoods("student model", labels_only=True)
    else:  # labels are still read from generated tokens
        model.check_likelihoods("student model", labels_only=True)
        assert model.score("Label:", [" spam"]) == [Score(-2.5, 1)]
        with pytest.raises(MissingOperation, match="' zebra' is not among the first generated"):
            model.score("Label:", [" spam", " zebra"])


def test_a_run_refuses_a_served_teacher_without_likelihoods_before_it_teaches(
    sms_file, tmp_path, scripted
):
    server = FakeOpenAI("llama-server")
    pool = ModelPool(
        lambda name, layers: model_on(server) if name == SPEC else scripted(lambda prompt, n: "")
    )
    settings = small_settings(sms_file, tmp_path, teacher_model=SPEC)  # synthetic examples
    with pytest.raises(MissingOperation, match=r"teacher model \(it ranks its synthetic"):
        teach(Context(settings=settings, resources=Resources(settings, models=pool)))
    assert all(body.get("logprobs") == 1 for body in server.bodies)  # the check only


# ------------------------------------------------------------------------------ failures


def failing(
    *answers: httpx.Response | Exception,
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering with `answers` in turn (the last one from then on)."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle), seen


OK = httpx.Response(200, json={"choices": [{"text": " fine"}]})


def test_a_failing_or_slow_server_is_asked_again_then_named():
    transport, seen = failing(httpx.Response(503, text="loading model"), OK)
    assert model_on(transport).complete("x") == " fine" and len(seen) == 2
    transport, seen = failing(httpx.Response(500, text="boom"))
    with pytest.raises(ModelUnavailable) as raised:
        model_on(transport, retries=2).complete("x")
    assert str(raised.value) == (
        f"the model server at {URL} (completions) answered HTTP 500: 'boom' (tried 3 times)"
    )
    transport, seen = failing(httpx.ReadTimeout("slow"))
    with pytest.raises(ModelUnavailable, match=r"did not answer within 7 s \(tried 2 times\)"):
        model_on(transport, timeout=7, retries=1).instruct("x")
    assert len(seen) == 2


def test_a_refusal_or_garbage_is_not_asked_again():
    for answer, message in [
        (httpx.Response(404, text="no such route"), "answered HTTP 404: 'no such route'"),
        (httpx.Response(200, text="<html>proxy</html>"), "answered with no JSON: '<html>"),
        (httpx.Response(200, json={"result": 1}), "answered without choices.0.text"),
    ]:
        transport, seen = failing(answer)
        with pytest.raises(ModelUnavailable, match=message) as raised:
            model_on(transport).complete("x")
        assert URL in str(raised.value) and len(seen) == 1


def test_a_server_that_is_down_is_named():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the request
    model = ServedModel.from_spec(f"openai:http://127.0.0.1:{port}/v1", ServedOptions(retries=0))
    with pytest.raises(ModelUnavailable, match=rf"127\.0\.0\.1:{port}/v1 .*could not be reached"):
        model.complete("x")


def test_llama_fields_a_server_refuses_are_not_sent_again(caplog):
    seen: list[bytes] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        if b"grammar" in request.content or b"top_k" in request.content:
            return httpx.Response(400, json={"error": "unknown field"})
        return OK

    model = model_on(httpx.MockTransport(handle))
    with caplog.at_level(logging.WARNING):
        assert model.complete("x", grammar='root ::= "a"') == " fine"
        assert model.complete("y") == " fine"
    assert [b"grammar" in body for body in seen] == [True, False, False]
    assert "refused llama.cpp's fields" in caplog.text and "unconstrained" in caplog.text


def test_the_api_key_is_sent_but_never_logged_or_shown(monkeypatch, caplog):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    headers: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        headers.append(request.headers["Authorization"])
        return httpx.Response(500, text=f"bad auth header {request.headers['Authorization']}")

    model = model_on(httpx.MockTransport(handle), retries=1)
    with caplog.at_level(logging.DEBUG), pytest.raises(ModelUnavailable) as raised:
        model.complete("x")
    assert headers == [f"Bearer {KEY}"] * 2
    assert "[API key]" in str(raised.value) and KEY not in str(raised.value)
    assert caplog.records and KEY not in caplog.text
    assert KEY not in repr(vars(model)["name"]) and KEY not in model.name
    monkeypatch.setenv("SOCIALLEARN_OPENAI_API_KEY", "sk-ours")
    assert served.api_key() == "sk-ours"


def test_a_teacher_whose_server_fails_is_dropped_and_nothing_is_published(
    sms_file, tmp_path, scripted
):
    transport, _ = failing(httpx.Response(503, text="overloaded"))
    pool = ModelPool(
        lambda name, layers: model_on(transport) if name == SPEC else scripted(lambda prompt, n: "")
    )
    settings = small_settings(
        sms_file, tmp_path, teacher_model=SPEC, method="instructions", lessons=1
    )
    state = teach(Context(settings=settings, resources=Resources(settings, models=pool)))
    assert {drop.teacher_id for drop in state["dropped"]} == {"teacher-0", "teacher-1"}
    for drop in state["dropped"]:
        assert drop.reasons == [
            f"the model server at {URL} (chat/completions) answered HTTP 503: 'overloaded' "
            "(tried 3 times)"
        ]
    assert state["published"] == []
    assert LessonLibrary.open(settings.library).list(task="sms_spam") == []


def test_a_served_teacher_teaches(sms_file, tmp_path, scripted):
    server = FakeOpenAI(chat_reply=lambda prompt: "Messages that offer prizes are spam.")
    pool = ModelPool(
        lambda name, layers: model_on(server) if name == SPEC else scripted(lambda prompt, n: "")
    )
    settings = small_settings(
        sms_file, tmp_path, teacher_model=SPEC, method="instructions", lessons=1
    )
    state = teach(Context(settings=settings, resources=Resources(settings, models=pool)))
    assert state["dropped"] == [] and len(state["published"]) == 1
    (lesson,) = LessonLibrary.open(settings.library).list(task="sms_spam")
    assert lesson.text == "Messages that offer prizes are spam." and lesson.teacher_model == SPEC
