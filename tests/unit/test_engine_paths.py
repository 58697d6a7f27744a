"""The engine's fast paths on the real SmolLM2 model: what is decoded, and what is kept.

Results are checked against the engine's own slow forms (one continuation per call from a cold
cache, `complete` once per sample or per prompt); tests/integration/test_engine_equivalence.py checks them
against plain llama-cpp-python.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from sociallearn.core.lm import Score
from sociallearn.engine import LlamaEngine, decoding, scoring
from sociallearn.engine.decoding import logsumexp_rows
from sociallearn.engine.snapshots import SNAPSHOT_BYTES
from sociallearn.tasks.gsm8k import ANSWER_GRAMMAR

LESSON = (
    "Classify each SMS message as spam or ham.\n\n"
    "Message: WINNER!! You have won a 1000 cash prize, call now to claim\nLabel: spam\n\n"
    "Message: Are we still on for lunch tomorrow?\nLabel: ham\n\n"
)

MATH = (
    "Solve each math word problem step by step, then give the final number after '#### '.\n\n"
    "Question: Tom has 3 apples and buys 4 more. How many apples does he have?\n"
    "Answer: He has 3 + 4 = 7 apples.\n#### 7\n\n"
)
QUESTIONS = [
    "A box holds 6 eggs. How many eggs are in 5 boxes?",
    "Mia reads 12 pages a day. How many pages does she read in a week?",
    "A shirt costs $15 and is sold at a $4 discount. What is the price now?",
    "There are 30 pupils and 5 leave. How many pupils stay?",
    "Sam runs 2 km every morning and 3 km every evening. How far does he run in 4 days?",
]
STUDENT_STOP = ["\n\nQuestion", "\nQuestion:"]


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
    """Empty the engine's KV cache and saved states, so the next call evaluates everything."""
    engine.scorer.clear()


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


def test_a_prompt_pushed_out_by_another_comes_back_from_its_saved_state(
    engine: LlamaEngine, decodes: list[tuple[int, int]]
) -> None:
    """Parallel teachers take turns in the cache: the first one's prompt is restored, not
    decoded again, and scores as if it had stayed in the cache (a cold decode of the whole
    prompt rounds differently: llama.cpp's CPU logits depend on the batch split)."""
    first, second = LESSON * 3, LESSON.replace("SMS", "text") * 3  # each over 64 tokens
    cold(engine)
    engine.score(first, [" Message"])
    kept = engine.score(first, [" Message", " Label"])
    engine.score(second, [" Message"])  # saves the first prompt's state before cutting it
    decodes.clear()
    restored = engine.score(first, [" Message", " Label"])
    assert decodes == [(1, 1)]  # the last token, for its logits row
    assert restored == kept
    assert engine.scorer.snapshots is not None and engine.scorer.snapshots.saved
    cold(engine)
    assert not engine.scorer.snapshots.saved


def test_saved_states_keep_within_their_bytes(engine: LlamaEngine) -> None:
    snapshots = engine.scorer.snapshots
    assert snapshots is not None
    prompts = [LESSON.replace("spam", word) * 3 for word in ("junk", "ads", "scam")]
    cold(engine)
    for prompt in prompts:
        engine.score(prompt, [" Message"])
    one = max(len(saved.state) for saved in snapshots.saved)
    assert len(snapshots.saved) == 2  # the last prompt is still in the cache
    snapshots.max_bytes = one + one // 2  # room for one
    engine.score(prompts[0], [" Message"])  # restores the first, keeps the last it saves
    assert [s.tokens.tolist() for s in snapshots.saved] == [engine.tokenize(prompts[2])]
    snapshots.max_bytes = one // 2
    engine.score(prompts[1], [" Message"])
    assert snapshots.saved == []  # too big to keep
    snapshots.max_bytes = SNAPSHOT_BYTES


def test_scoring_errors(engine: LlamaEngine) -> None:
    with pytest.raises(ValueError, match="exceed the context window"):
        engine.score("word " * 5000, [" more"])
    with pytest.raises(ValueError, match="empty prefix"):
        engine.score("", [" text"])  # SmolLM2 adds no BOS token: nothing predicts " text"
    assert engine.score(LESSON, []) == []


def test_prompt_state_moves_into_the_sampling_streams(engine: LlamaEngine) -> None:
    assert engine.sampler.check_streams()
    tokens = engine.tokenize(LESSON)
    side = engine.sampler.side_context(len(tokens) + 8)
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


def test_samples_carry_the_likelihoods_of_their_tokens(engine: LlamaEngine) -> None:
    prompt = LESSON + "Message:"
    options = {"max_tokens": 24, "stop": ["\n\n"]}
    cold(engine)
    scored = engine.sample_scored(prompt, 4, temperature=0.8, seed=11, **options)  # type: ignore[arg-type]
    cold(engine)
    assert [text for text, _ in scored] == engine.sample(
        prompt, 4, temperature=0.8, seed=11, **options
    )  # type: ignore[arg-type]
    for text, score in scored:
        again = engine.score(prompt, [text])[0]  # the same tokens, decoded as one batch
        assert score is not None and score.n_tokens == again.n_tokens
        assert abs(score.mean - again.mean) < 0.05
    # A stop sequence that begins inside a token leaves no whole tokens that spell the text.
    cut = engine.sample_scored(prompt, 4, temperature=0.8, seed=11, max_tokens=24, stop=["e"])
    assert any(score is None for text, score in cut if text)
    greedy = engine.sample_scored(prompt, 2, temperature=0.0, max_tokens=8)  # one `complete`
    assert [score for _, score in greedy] == [None, None]


def completions_one_by_one(engine: LlamaEngine, prompts: list[str], **options: Any) -> list[str]:
    return [engine.complete(prompt, temperature=0.0, **options) for prompt in prompts]


@pytest.fixture
def complete_calls(engine: LlamaEngine, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The prompts `complete_batch` hands to `complete` (its one-at-a-time path)."""
    calls: list[str] = []
    real = engine.complete

    def counted(prompt: str, **options: Any) -> str:
        calls.append(prompt)
        return real(prompt, **options)

    monkeypatch.setattr(engine, "complete", counted)
    return calls


@pytest.mark.parametrize("grammar", [None, ANSWER_GRAMMAR], ids=["free", "gsm8k"])
def test_batched_completions_are_the_loop_of_complete(
    engine: LlamaEngine, complete_calls: list[str], grammar: str | None
) -> None:
    prompts = [f"{MATH}Question: {question}\nAnswer:" for question in QUESTIONS]
    options: dict[str, Any] = {"max_tokens": 40, "stop": STUDENT_STOP, "grammar": grammar}
    cold(engine)
    seed = engine.llm._seed
    together = engine.complete_batch(prompts, **options)
    assert complete_calls == []  # decoded together, in KV streams
    seed_after, held = engine.llm._seed, engine.llm.input_ids[: engine.llm.n_tokens].tolist()
    cold(engine)
    engine.llm.set_seed(seed)
    assert together == completions_one_by_one(engine, prompts, **options)
    assert engine.llm._seed == seed_after
    assert held == engine.tokenize(prompts[-1])  # the last prompt (the loop: and its answer)
    if grammar:
        assert all("#### " in text for text in together if text.endswith("\n"))


def test_batched_completions_in_waves_from_a_warm_cache(
    engine: LlamaEngine, complete_calls: list[str]
) -> None:
    questions = [f"{q} Say it in words." for q in QUESTIONS] + QUESTIONS * 3  # 20: two waves
    prompts = [f"{MATH}Question: {question}\nAnswer:" for question in questions]
    options: dict[str, Any] = {"max_tokens": 12, "stop": [".", "\n"]}
    engine.complete(prompts[3], max_tokens=2)  # the cache holds an earlier prompt and answer
    state = engine.llm.input_ids[: engine.llm.n_tokens].tolist()
    together = engine.complete_batch(prompts, **options)
    assert complete_calls == [prompts[3]]
    engine.complete(prompts[3], max_tokens=2)
    assert engine.llm.input_ids[: engine.llm.n_tokens].tolist() == state
    assert together == completions_one_by_one(engine, prompts, **options)


def test_batched_completions_fall_back_to_the_loop(
    engine: LlamaEngine, complete_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = [f"{MATH}Question: {question}\nAnswer:" for question in QUESTIONS[:3]]
    options: dict[str, Any] = {"max_tokens": 16, "stop": STUDENT_STOP}
    cold(engine)
    expected = completions_one_by_one(engine, prompts, **options)
    # A prompt that extends the one before: the loop would find part of it in that completion.
    extended = [prompts[0], prompts[0] + expected[0], prompts[1]]
    cold(engine)
    looped = completions_one_by_one(engine, extended, **options)
    complete_calls.clear()
    cold(engine)
    assert engine.complete_batch(extended, **options) == looped
    assert complete_calls == extended
    # Streams that are not exact (as on Gemma 3): one `complete` per prompt.
    monkeypatch.setattr(engine.sampler, "check_streams", lambda: False)
    complete_calls.clear()
    cold(engine)
    assert engine.complete_batch(prompts, **options) == expected
    assert complete_calls == prompts
    assert engine.complete_batch([], **options) == []
