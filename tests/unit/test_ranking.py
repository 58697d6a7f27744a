"""The tree ranker on the real SmolLM2 model, against one-token decodes and full scoring.

The Secret Sharer's strings (a name and a code in a template) after a short lesson: the
scores must be those of decoding each string alone, one token at a time, after the prompt; a
string's score must not depend on the others; and skipping must not change a rank.
"""

from __future__ import annotations

import random

import llama_cpp
import numpy as np
import pytest

from sociallearn.core.lm import rank_by_scores
from sociallearn.engine import LlamaEngine
from sociallearn.engine.decoding import Batch, decode, logsumexp_rows, new_context
from sociallearn.engine.sampling import StreamProbe
from sociallearn.privacy.secret_sharer import sample_secrets, scored_strings, template_for
from sociallearn.tasks import get_task

LESSON = (
    "Classify each SMS message as spam or ham.\n\n"
    "Message: WINNER!! You have won a 1000 cash prize, call now to claim\nLabel: spam\n\n"
    "Message: Are we still on for lunch tomorrow?\nLabel: ham\n\n"
)


@pytest.fixture(scope="module")
def engine() -> LlamaEngine:
    return LlamaEngine("smollm2")


def canary_strings(count: int, seed: int = 0) -> list[str]:
    secrets = sample_secrets(random.Random(seed), count)
    return scored_strings(get_task("sms_spam"), template_for("sms_spam"), secrets)


def one_token_scores(engine: LlamaEngine, prefix: list[int], strings: list[list[int]]) -> list:
    """Each string decoded alone after the prefix, one token per decode, in a fresh context."""
    llm = engine.llm
    context = new_context(llm, streams=1, cells=1024)
    memory = llama_cpp.llama_get_memory(context.ctx)
    batch = Batch(llm.n_batch)
    try:
        batch.fill(prefix, np.arange(len(prefix)), [len(prefix) - 1])
        first = decode(context.ctx, batch, 1, engine.n_vocab).copy()
        scores = []
        for tokens in strings:
            total = float(first[0, tokens[0]] - logsumexp_rows(first)[0])
            llama_cpp.llama_memory_seq_rm(memory, 0, len(prefix), -1)
            for k in range(len(tokens) - 1):
                batch.fill([tokens[k]], [len(prefix) + k], [0])
                row = decode(context.ctx, batch, 1, engine.n_vocab)
                total += float(row[0, tokens[k + 1]] - logsumexp_rows(row)[0])
            scores.append(total / len(tokens))
        return scores
    finally:
        context.close()


def test_scores_are_those_of_one_token_decodes(engine: LlamaEngine) -> None:
    assert engine.sampler.check_streams()  # SmolLM2's streams are exact
    prefix = engine.tokenize(LESSON)
    strings = [engine.tokenize(text, add_bos=False) for text in canary_strings(60)]
    engine.llm.reset()  # the prefix is decoded in one piece, as the reference does
    walk = engine.ranker.walk(prefix, strings)
    assert walk.decodes < walk.decoded / 4  # many streams per decode
    picked = list(range(0, 60, 7))
    reference = one_token_scores(engine, prefix, [strings[i] for i in picked])
    assert [walk.scores[i] for i in picked] == reference


def test_a_score_does_not_depend_on_the_others(engine: LlamaEngine) -> None:
    prefix = engine.tokenize(LESSON)
    strings = [engine.tokenize(text, add_bos=False) for text in canary_strings(120)]
    everything = engine.ranker.walk(prefix, strings).scores
    some = engine.ranker.walk(prefix, strings[::5]).scores
    assert some == everything[::5]


@pytest.mark.parametrize("planted", [False, True])
def test_skipping_keeps_the_rank(engine: LlamaEngine, planted: bool) -> None:
    texts = canary_strings(300, seed=1)
    lesson = LESSON + (texts[0] + ".\nLabel: ham\n\n" if planted else "")
    prefix = engine.tokenize(lesson)
    strings = [engine.tokenize(text, add_bos=False) for text in texts]
    everything = engine.ranker.walk(prefix, strings)
    expected = sum(s is not None and s > everything.scores[0] for s in everything.scores[1:])
    rank, walk = engine.ranker.rank(prefix, strings[0], strings[1:])
    assert rank == expected
    assert engine.rank(lesson, texts[0], texts[1:]) == expected
    if planted:  # the copied canary outscores nearly every string: most are skipped
        assert rank < 3 and walk.decoded < everything.decoded / 3
        assert sum(s is None for s in walk.scores) > 200


def test_rank_falls_back_to_scores_where_streams_are_not_exact(
    engine: LlamaEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = canary_strings(40, seed=2)
    inexact = StreamProbe(loads=True, exact=False, largest_logit_difference=0.01)
    monkeypatch.setattr(engine.sampler, "_probe", inexact)
    monkeypatch.setattr(engine.ranker, "walk", None)  # must not be called
    assert engine.rank(LESSON, texts[0], texts[1:]) == rank_by_scores(
        engine, LESSON, texts[0], texts[1:]
    )


def test_ranking_errors(engine: LlamaEngine) -> None:
    with pytest.raises(ValueError, match="at least one token"):
        engine.ranker.walk(engine.tokenize(LESSON), [[1, 2], []])
    with pytest.raises(ValueError, match="empty prefix"):
        engine.ranker.walk([], [[1, 2]])
