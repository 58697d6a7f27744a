"""The engine's fast paths give what plain llama-cpp-python gives, on the real SmolLM2 model.

The naive side is what a user would write with `llama_cpp.Llama`: `reset()` and `eval()` of the
whole prompt + continuation for every string, log-softmax of the rows in `.scores`
(logits_all=True), and one `create_completion` per sample or per prompt.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np
import pytest

from sociallearn.core import prompts
from sociallearn.engine import LlamaEngine
from sociallearn.tasks import Example, get_task
from sociallearn.tasks.gsm8k import ANSWER_GRAMMAR
from sociallearn.teaching.student import Student, build_prompt

pytestmark = pytest.mark.integration

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def engine() -> LlamaEngine:
    return LlamaEngine("smollm2")


@pytest.fixture(scope="module")
def naive(engine: LlamaEngine) -> llama_cpp.Llama:
    return llama_cpp.Llama(
        model_path=str(engine.path),
        n_ctx=4096,
        n_batch=512,
        n_threads=engine.llm.n_threads,
        n_threads_batch=engine.llm.n_threads_batch,
        logits_all=True,
        verbose=False,
    )


@pytest.fixture(scope="module")
def examples(datasets: Path) -> list[Example]:
    return get_task("sms_spam").load(datasets / "sms_spam" / "SMSSpamCollection")


def naive_logprob(llm: llama_cpp.Llama, prefix: str, text: str) -> float:
    """Log-likelihood of `text` after `prefix`: the whole string evaluated from scratch."""
    prefix_tokens = llm.tokenize(prefix.encode(), add_bos=True, special=False)
    tokens = llm.tokenize(text.encode(), add_bos=False, special=False)
    llm.reset()
    llm.eval(prefix_tokens + tokens[:-1])
    rows = llm.scores[len(prefix_tokens) - 1 : len(prefix_tokens) - 1 + len(tokens)].astype(
        np.float64
    )
    peak = rows.max(axis=1, keepdims=True)
    logsoftmax = rows - peak - np.log(np.exp(rows - peak).sum(axis=1, keepdims=True))
    return float(logsoftmax[np.arange(len(tokens)), tokens].sum())


def naive_label_logprobs(llm: llama_cpp.Llama, prompt: str, labels: list[str]) -> list[float]:
    """Log-probabilities of single-token labels after `prompt`, from one evaluation."""
    tokens = llm.tokenize(prompt.encode(), add_bos=True, special=False)
    label_tokens = [llm.tokenize(label.encode(), add_bos=False, special=False) for label in labels]
    assert all(len(t) == 1 for t in label_tokens)
    llm.reset()
    llm.eval(tokens)
    row = llm.scores[len(tokens) - 1].astype(np.float64)
    logsoftmax = row - row.max() - np.log(np.exp(row - row.max()).sum())
    return [float(logsoftmax[t[0]]) for t in label_tokens]


def lesson(examples: list[Example]) -> str:
    task = get_task("sms_spam")
    shots = [e for e in examples if e.answer == "spam"][:4] + [
        e for e in examples if e.answer == "ham"
    ][:4]
    random.Random(0).shuffle(shots)
    return build_prompt(task, examples=[task.format_example(e) for e in shots])


def test_student_answers_match_naive(
    engine: LlamaEngine, naive: llama_cpp.Llama, examples: list[Example]
) -> None:
    task = get_task("sms_spam")
    preamble = lesson(examples)
    queries = [e.input for e in examples[200:216]]
    answers = Student(engine, task).answer_many(preamble, queries)
    labels = [f" {label}" for label in task.labels]
    content_free = preamble + task.format_query(prompts.CALIBRATION_INPUT)
    baseline = naive_label_logprobs(naive, content_free, labels)
    for query, answer in zip(queries, answers, strict=True):
        prompt = preamble + task.format_query(query)
        raw = naive_label_logprobs(naive, prompt, labels)
        calibrated = dict(zip(task.labels, np.subtract(raw, baseline).tolist(), strict=True))
        assert answer.answer == max(calibrated, key=calibrated.__getitem__)
        assert answer.scores is not None
        for label in task.labels:
            assert answer.scores[label] == pytest.approx(calibrated[label], abs=TOLERANCE)


def test_candidate_strings_match_naive(
    engine: LlamaEngine, naive: llama_cpp.Llama, examples: list[Example]
) -> None:
    prompt = lesson(examples)
    rng = random.Random(1)
    canaries = [
        f"Message: Hi {name}, please don't tell anyone: the secret code for the safe is "
        f"{rng.randrange(1000, 10000)}.\nLabel: ham"
        for name in ("Mary", "John", "Mary")
        for _ in range(3)
    ]
    messages = [f"Message: {e.input}\nLabel: {e.answer}" for e in examples[300:306]]
    candidates = [*canaries, *messages, canaries[0]]
    scores = engine.score(prompt, candidates)
    for text, score in zip(candidates, scores, strict=True):
        assert score.n_tokens == len(engine.tokenize(text, add_bos=False))
        assert score.logprob == pytest.approx(naive_logprob(naive, prompt, text), abs=TOLERANCE)


def test_score_pairs_match_naive(
    engine: LlamaEngine, naive: llama_cpp.Llama, examples: list[Example]
) -> None:
    task = get_task("sms_spam")
    preambles = [build_prompt(task, examples=[task.format_example(e)]) for e in examples[:3]]
    pairs = [
        (preamble + task.format_query(e.input), f" {e.answer}")
        for preamble in preambles
        for e in examples[400:404]
    ]
    for (prefix, text), score in zip(pairs, engine.score_pairs(pairs), strict=True):
        assert score.logprob == pytest.approx(naive_logprob(naive, prefix, text), abs=TOLERANCE)


def test_samples_match_create_completion(engine: LlamaEngine, examples: list[Example]) -> None:
    task = get_task("sms_spam")
    prompt = (
        f"{task.description}\n\n"
        + "\n\n".join(task.format_example(e) for e in examples[:6])
        + f"\n\n{task.input_field}:"
    )
    plain = llama_cpp.Llama(
        model_path=str(engine.path),
        n_ctx=4096,
        n_batch=512,
        n_threads=engine.llm.n_threads,
        n_threads_batch=engine.llm.n_threads_batch,
        verbose=False,
    )
    n = 18  # more than one wave of parallel streams
    # Both start with the prompt uncached: the first sample sees it decoded in one batch, the
    # others (and every later create_completion) see its last token decoded alone.
    samples = engine.sample(prompt, n, temperature=0.7, seed=3, stop=["\n\n"], max_tokens=20)
    expected = [
        plain.create_completion(
            prompt, max_tokens=20, temperature=0.7, seed=3 + i, stop=["\n\n"], top_k=40, top_p=0.95
        )["choices"][0]["text"]  # type: ignore[index]
        for i in range(n)
    ]
    assert samples == expected


def test_gemma_sampling_is_the_complete_loop(
    examples: list[Example], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gemma 3's CPU logits depend on batch shapes (and even on which KV cells a token lands in),
    so batched streams would change its samples: `sample` keeps calling `complete` there."""
    gemma = LlamaEngine("gemma3")
    assert not gemma.sampler.check_streams()
    seeds: list[int | None] = []
    complete = LlamaEngine.complete

    def counted(self: LlamaEngine, prompt: str, **settings: Any) -> str:
        seeds.append(settings.get("seed"))
        return complete(self, prompt, **settings)

    monkeypatch.setattr(LlamaEngine, "complete", counted)
    task = get_task("sms_spam")
    prompt = "\n\n".join(task.format_example(e) for e in examples[:3]) + f"\n\n{task.input_field}:"
    samples = gemma.sample(prompt, 3, temperature=0.7, seed=5, stop=["\n\n"], max_tokens=8)
    assert seeds == [5, 6, 7]
    assert len(samples) == 3
    prompts = [prompt + f" {e.input}\n{task.output_field}:" for e in examples[10:13]]
    gemma.scorer.clear()
    together = gemma.complete_batch(prompts, max_tokens=4, stop=["\n"])
    assert len(seeds) == 6  # one `complete` per prompt
    gemma.scorer.clear()
    assert together == [gemma.complete(p, max_tokens=4, stop=["\n"]) for p in prompts]


def test_student_generations_match_create_completion(engine: LlamaEngine, datasets: Path) -> None:
    """GSM8K answers decoded together equal plain `create_completion` calls, grammar included."""
    task = get_task("gsm8k")
    questions = task.load(datasets / "gsm8k" / "train.jsonl")
    preamble = build_prompt(task, examples=[task.format_example(e) for e in questions[:2]])
    queries = [e.input for e in questions[-6:]]
    student = Student(engine, task)
    options = {**student.completion_options(), "max_tokens": 48}
    plain = llama_cpp.Llama(
        model_path=str(engine.path),
        n_ctx=4096,
        n_batch=512,
        n_threads=engine.llm.n_threads,
        n_threads_batch=engine.llm.n_threads_batch,
        verbose=False,
    )
    grammar = llama_cpp.LlamaGrammar.from_string(ANSWER_GRAMMAR, verbose=False)
    prompts = [preamble + task.format_query(query) for query in queries]
    engine.scorer.clear()
    together = engine.complete_batch(prompts, **options)
    del options["grammar"]
    expected = []
    for prompt in prompts:
        result: Any = plain.create_completion(prompt, temperature=0.0, grammar=grammar, **options)
        expected.append(result["choices"][0]["text"])
    assert together == expected
