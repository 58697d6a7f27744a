"""The language-model interface every role talks to, and a scripted model for tests.

`LanguageModel` is what teachers, the student and the privacy measurements need from a model:
raw completion (of one prompt, or greedy of many decoded together), chat-style instruction,
seeded sampling and continuation likelihoods. The llama.cpp engine implements it
(`sociallearn.engine.LlamaEngine`), and so does a model behind an OpenAI-compatible server
(`sociallearn.engine.served.ServedModel`); `ScriptedLM` implements it from a script, in the way
DSPy ships `DummyLM`, for fast tests of routing. A model that cannot give likelihoods (a chat
API, `sociallearn.engine.chat.ChatModelTeacher`) says so through `check_likelihoods`, which a run
calls for every role that scores before it teaches (`require_likelihoods`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

# Prompts a model decodes together (the llama engine's KV streams): a good `complete_batch` size.
PARALLEL_SEQUENCES = 16
# What `require_likelihoods` checks for: the operations that score continuations.
LIKELIHOODS = "likelihoods (score, score_pairs, rank)"


class ModelUnavailable(RuntimeError):
    """A model did not answer: its server is down, too slow, failing or answering nonsense.

    Inside a teach run, a teacher whose model raises it is dropped with the message."""


class MissingOperation(RuntimeError):
    """A model cannot do an operation that its role in a run needs."""


@dataclass(frozen=True)
class Score:
    """Log-likelihood of a continuation: summed over its tokens, and per token."""

    logprob: float
    n_tokens: int

    @property
    def mean(self) -> float:
        """Length-normalised log-likelihood (mean log-probability per token)."""
        return self.logprob / max(self.n_tokens, 1)


@runtime_checkable
class LanguageModel(Protocol):
    """A loaded model: generation, instruction following, sampling and likelihoods."""

    name: str

    def complete(
        self,
        prompt: str,
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
        stop: Sequence[str] = (),
        grammar: str | None = None,
    ) -> str:
        """Raw completion of `prompt` (greedy when temperature is 0)."""
        ...

    def complete_batch(
        self,
        prompts: Sequence[str],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        grammar: str | None = None,
    ) -> list[str]:
        """Greedy completions: `[complete(p, temperature=0, ...) for p in prompts]`."""
        ...

    def instruct(
        self,
        prompt: str,
        *,
        base_prompt: str | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> str:
        """`prompt` as a chat turn (or `base_prompt` completed, on a model without chat)."""
        ...

    def sample(
        self,
        prompt: str,
        n: int,
        *,
        temperature: float,
        max_tokens: int = 128,
        seed: int = 0,
        stop: Sequence[str] = (),
    ) -> list[str]:
        """`n` samples of `prompt`, sample i seeded with seed + i."""
        ...

    def score(self, prefix: str, continuations: Sequence[str]) -> list[Score]:
        """Log-likelihood of each continuation after `prefix`."""
        ...

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Score]:
        """Log-likelihood of each (prefix, continuation)."""
        ...

    def rank(self, prefix: str, target: str, others: Sequence[str]) -> int:
        """How many of `others` have a higher mean log-likelihood after `prefix` than `target`."""
        ...


def require_likelihoods(model: LanguageModel, role: str, *, labels_only: bool = False) -> None:
    """Raise `MissingOperation` naming `role` when `model` cannot give the likelihoods it needs
    (`labels_only`: of a task's labels, each a continuation of one token).

    A model that may lack them has `check_likelihoods(role, labels_only=...)`; one without it
    (llama.cpp, scripted) always gives them."""
    check = getattr(model, "check_likelihoods", None)
    if check is not None:
        check(role, labels_only=labels_only)


def sample_scored(
    model: LanguageModel,
    prompt: str,
    n: int,
    *,
    temperature: float,
    max_tokens: int = 128,
    seed: int = 0,
    stop: Sequence[str] = (),
) -> list[tuple[str, Score | None]]:
    """`model.sample`, each text with its log-likelihood after `prompt` where the model reads it
    from the logits it sampled from (`sample_scored`, the llama.cpp engine), else None."""
    options: dict[str, Any] = {
        "temperature": temperature, "max_tokens": max_tokens, "seed": seed, "stop": stop
    }  # fmt: skip
    scored = getattr(model, "sample_scored", None)
    if scored is not None:
        return list(scored(prompt, n, **options))
    return [(text, None) for text in model.sample(prompt, n, **options)]


def rank_in(scores: Sequence[Score]) -> int:
    """How many of `scores[1:]` have a higher mean log-likelihood than `scores[0]`."""
    return sum(score.mean > scores[0].mean for score in scores[1:])


def rank_by_scores(model: LanguageModel, prefix: str, target: str, others: Sequence[str]) -> int:
    """`rank` from `model.score` of every continuation."""
    return rank_in(model.score(prefix, [target, *others]))


class MemoisedSampling:
    """A model whose samples are remembered: a seeded sample is a function of its arguments.

    Runs that differ only after drafting (random vs voting aggregation, with or without
    checks) then share their teachers' candidates instead of sampling them again.
    """

    def __init__(self, model: LanguageModel) -> None:
        self.model = model
        self.name = model.name
        self._samples: dict[tuple[object, ...], tuple[tuple[str, Score | None], ...]] = {}
        self._lock = threading.Lock()

    def __getattr__(self, attribute: str) -> object:
        return getattr(self.model, attribute)

    def complete(self, prompt: str, **options: object) -> str:
        return self.model.complete(prompt, **options)  # type: ignore[arg-type]

    def complete_batch(self, prompts: Sequence[str], **options: object) -> list[str]:
        return self.model.complete_batch(prompts, **options)  # type: ignore[arg-type]

    def instruct(self, prompt: str, **options: object) -> str:
        return self.model.instruct(prompt, **options)  # type: ignore[arg-type]

    def sample(
        self,
        prompt: str,
        n: int,
        *,
        temperature: float,
        max_tokens: int = 128,
        seed: int = 0,
        stop: Sequence[str] = (),
    ) -> list[str]:
        options = {"temperature": temperature, "max_tokens": max_tokens, "seed": seed}
        samples = self._remembered(prompt, n, {**options, "stop": tuple(stop)}, scored=False)
        return [text for text, _ in samples]

    def sample_scored(
        self,
        prompt: str,
        n: int,
        *,
        temperature: float,
        max_tokens: int = 128,
        seed: int = 0,
        stop: Sequence[str] = (),
    ) -> list[tuple[str, Score | None]]:
        """The module's `sample_scored` of the model, remembered."""
        options = {"temperature": temperature, "max_tokens": max_tokens, "seed": seed}
        return self._remembered(prompt, n, {**options, "stop": tuple(stop)}, scored=True)

    def _remembered(
        self, prompt: str, n: int, options: dict[str, Any], *, scored: bool
    ) -> list[tuple[str, Score | None]]:
        """The samples for these arguments, drawn once: with their scores where `scored` (and
        the model reads them while sampling), else plain (a later scored call gets None and
        scores them itself)."""
        key = (prompt, n, *options.values())
        with self._lock:
            if key not in self._samples:
                if scored:
                    drawn = sample_scored(self.model, prompt, n, **options)
                else:
                    drawn = [(text, None) for text in self.model.sample(prompt, n, **options)]
                self._samples[key] = tuple(drawn)
            return list(self._samples[key])

    def score(self, prefix: str, continuations: Sequence[str]) -> list[Score]:
        return self.model.score(prefix, continuations)

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Score]:
        return self.model.score_pairs(pairs)

    def rank(self, prefix: str, target: str, others: Sequence[str]) -> int:
        return self.model.rank(prefix, target, others)


class MemoisedScores:
    """A model whose scores are remembered, for benchmarks that ask the same question often."""

    def __init__(self, model: LanguageModel) -> None:
        self.model = model
        self.name = model.name
        self._scores: dict[tuple[str, tuple[str, ...]], list[Score]] = {}
        self._pairs: dict[tuple[str, str], Score] = {}

    def __getattr__(self, attribute: str) -> Any:  # the model's other methods, unchanged
        return getattr(self.model, attribute)

    def score(self, prefix: str, continuations: Sequence[str]) -> list[Score]:
        key = (prefix, tuple(continuations))
        if key not in self._scores:
            self._scores[key] = self.model.score(prefix, continuations)
        return self._scores[key]

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Score]:
        new = list(dict.fromkeys(pair for pair in pairs if pair not in self._pairs))
        self._pairs.update(zip(new, self.model.score_pairs(new), strict=True))
        return [self._pairs[pair] for pair in pairs]


class ScriptedLM:
    """A model that answers from a script: `script(prompt, call_number)` gives each text.

    Likelihoods prefer shorter continuations (−1 per character). Every prompt is recorded.
    """

    has_chat_template = True

    def __init__(self, script: Callable[[str, int], str], name: str = "scripted") -> None:
        self.script = script
        self.name = name
        self.prompts: list[str] = []

    def complete(self, prompt: str, **_: object) -> str:
        self.prompts.append(prompt)
        return self.script(prompt, len(self.prompts))

    def complete_batch(self, prompts: Sequence[str], **options: object) -> list[str]:
        return [self.complete(prompt, **options) for prompt in prompts]

    def instruct(self, prompt: str, **_: object) -> str:
        return self.complete(prompt)

    def sample(self, prompt: str, n: int, **_: object) -> list[str]:
        return [self.complete(prompt) for _ in range(n)]

    def score(self, prefix: str, continuations: Sequence[str]) -> list[Score]:
        return [Score(-float(len(text)), max(1, len(text.split()))) for text in continuations]

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Score]:
        return [self.score(prefix, [text])[0] for prefix, text in pairs]

    def rank(self, prefix: str, target: str, others: Sequence[str]) -> int:
        return rank_by_scores(self, prefix, target, others)
