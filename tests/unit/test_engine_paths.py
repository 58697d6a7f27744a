"""The engine's fast paths on the real SmolLM2 model: what is decoded, and what is kept.

Results are checked against the engine's own slow forms (one continuation per call from a cold
cache, `complete` once per sample); tests/integration/test_engine_equivalence.py checks them
against plain llama-cpp-python.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from sociallearn.engine import LlamaEngine, decoding, scoring
from sociallearn.engine.decoding import logsumexp_rows
from sociallearn.lm import Score

LESSON = (
    "Classify each SMS message as spam or ham.\n\n"
    "Message: WINNER!! You have won a 1000 cash prize, call now to claim\nLabel: spam\n\n"
    "Message: Are we still on for lunch tomorrow?\nLabel: ham\n\n"
)


@pytest.fixture(scope="module")
def engine() -> LlamaEngine:
    return LlamaEngine("smollm2")


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    """Every llama_decode the engine makes, as (tokens in the batch, logits rows asked for)."""
    calls: list[tuple[int, int]] = []
    real = scoring.decode

    def spy(ctx: object, batch: decoding.Batch, n_outputs: int, n_vocab: int) -> np.ndarray:
        calls.append((int(batch.raw.n_tokens), n_outputs))
        return real(ctx, batch, n_outputs, n_vocab)

    monkeypatch.setattr(scoring, "decode", spy)
    yield calls


def cold(engine: LlamaEngine) -> None:
    """Empty the engine's KV cache, so the next call evaluates everything."""
    engine.scorer.truncate_cache(0)


def test_logsumexp_matches_float64_reference() -> None:
    rows = np.random.default_rng(0).normal(0, 8, size=(40, 5000)).astype(np.float32)
    wide = rows.astype(np.float64)
    peak = wide.max(axis=1)
    expected = peak + np.log(np.exp(wide - peak[:, None]).sum(axis=1))
    assert np.allclose(logsumexp_rows(rows), expected, atol=1e-6, rtol=0)  # float32 exponentials


def test_label_scoring_is_one_decode_of_the_new_query_tokens(
    engine: LlamaEngine, decodes: list[tuple[int, int]]
) -> None:
    first = LESSON + "Message: Free entry to win a car, text WIN now\nLabel:"
    second = LESSON + "Message: See you at the station at six\nLabel:"
    engine.score(first, [" spam", " ham"])
    decodes.clear()
    spam, ham = engine.score(second, [" spam", " ham"])
    shared = len(engine.tokenize(LESSON + "Message:"))
    assert decodes == [(len(engine.tokenize(second)) - shared, 1)]  # the query, one logits row
    cold(engine)
    assert engine.score(second, [" spam"])[0] == spam
    cold(engine)
    assert engine.score(second, [" ham"])[0] == ham


def test_repeated_prefix_decodes_only_its_last_token(
    engine: LlamaEngine, decodes: list[tuple[int, int]]
) -> None:
    engine.score(LESSON, [" Message"])
    decodes.clear()
    engine.score(LESSON, [" Message", " Label"])
    assert decodes == [(1, 1)]


def test_shared_continuation_tokens_are_decoded_once(
    engine: LlamaEngine, decodes: list[tuple[int, int]]
) -> None:
    texts = [
        " Message: hi there, are you free tonight",
        " Message: hi there, are you free",
        " Message: hi there",
        " Message: hi there",
        " Message: call now to win",
        "",
    ]
    engine.score("Warm up", [" a"])
    decodes.clear()
    scores = engine.score(LESSON, texts)
    lesson = len(engine.tokenize(LESSON))
    tokens = [engine.tokenize(text, add_bos=False) for text in texts]
    # Each distinct path is decoded from where it leaves the previous one: the lesson once, the
    # longest "hi there" continuation once (its prefixes read from it), then the other branch.
    common = len(tokens[0]) - 1
    branch = next(i for i, (a, b) in enumerate(zip(tokens[0], tokens[4], strict=False)) if a != b)
    assert sum(n for n, _ in decodes) == lesson + common + (len(tokens[4]) - 1 - branch)
    assert scores[5] == Score(0.0, 0)
    assert scores[2] == scores[3]
    for text, score in zip(texts[:5], scores[:5], strict=True):
        cold(engine)
        (alone,) = engine.score(LESSON, [text])
        assert alone.n_tokens == score.n_tokens
        assert alone.logprob == pytest.approx(score.logprob, abs=1e-9)


def test_score_pairs_equal_separate_scores(engine: LlamaEngine) -> None:
    pairs = [
        (LESSON + "Message: Free ringtones\nLabel:", " spam"),
        ("Numbers: 1, 2, 3,", " 4"),
        (LESSON + "Message: Free ringtones\nLabel:", " ham"),
        (LESSON + "Message: Dinner at 7?\nLabel:", " ham"),
    ]
    together = engine.score_pairs(pairs)
    for (prefix, text), score in zip(pairs, together, strict=True):
        cold(engine)
        assert engine.score(prefix, [text])[0].logprob == pytest.approx(score.logprob, abs=1e-9)


def test_cache_bookkeeping_stays_usable_by_llama_cpp_python(engine: LlamaEngine) -> None:
    engine.score(LESSON, [" Message: hello"])
    llm = engine.llm
    held = llm.input_ids[: llm.n_tokens].tolist()
    assert held == engine.tokenize(LESSON + " Message:")  # the path, minus its last token
    after = engine.complete("1, 2, 3, 4,", max_tokens=3)
    cold(engine)
    assert engine.complete("1, 2, 3, 4,", max_tokens=3) == after


def test_scoring_errors(engine: LlamaEngine) -> None:
    with pytest.raises(ValueError, match="exceed the context window"):
        engine.score("word " * 5000, [" more"])
    with pytest.raises(ValueError, match="empty prefix"):
        engine.score("", [" text"])  # SmolLM2 adds no BOS token: nothing predicts " text"
    assert engine.score(LESSON, []) == []


def test_prompt_state_moves_into_the_sampling_streams(engine: LlamaEngine) -> None:
    assert engine.sampler.check_streams()
    tokens = engine.tokenize(LESSON)
    side = engine.sampler._side_context(len(tokens) + 8)
    engine.scorer.evaluate(tokens, {})
    llm = engine.llm
    assert decoding.copy_sequence(llm.ctx, side.ctx, side.memory, len(tokens), side.streams)
    assert decoding.llama_cpp.llama_memory_seq_pos_max(side.memory, 0) == len(tokens) - 1


def test_samples_are_the_completions_they_replace(engine: LlamaEngine) -> None:
    prompt = LESSON + "Message:"
    settings = {"max_tokens": 24, "stop": ["\n\n"], "top_k": 40, "top_p": 0.95}
    cold(engine)
    first = engine.complete(prompt, temperature=0.8, seed=11, **settings)  # type: ignore[arg-type]
    cold(engine)
    together = engine.sample(prompt, 3, temperature=0.8, seed=11, **settings)  # type: ignore[arg-type]
    assert engine.llm._seed == 13  # as after three calls of `complete`
    # Sample 0 saw a cold cache, like the first `complete` of a loop; the others a cached prompt.
    assert together[0] == first
    assert together[1:] == [
        engine.complete(prompt, temperature=0.8, seed=11 + i, **settings)  # type: ignore[arg-type]
        for i in (1, 2)
    ]
    warm = engine.sample(prompt, 2, temperature=0.8, seed=11, **settings)  # type: ignore[arg-type]
    assert warm[1] == together[1]
    assert warm[0] == engine.complete(prompt, temperature=0.8, seed=11, **settings)  # type: ignore[arg-type]
    assert engine.sample(prompt, 0, temperature=0.8) == []
    greedy = engine.sample(prompt, 2, temperature=0.0, max_tokens=8)
    assert greedy == [engine.complete(prompt, temperature=0.0, max_tokens=8)] * 2
