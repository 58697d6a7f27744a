"""A thin engine over llama-cpp-python: completion, chat, sampling, grammars and likelihoods.

Likelihoods reuse the KV cache of a shared prefix and read only the logits they need
(one row per continuation token), so scoring many continuations after one prompt costs
little more than evaluating the continuations themselves.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np

from sociallearn.models import ModelError, resolve_model


@dataclass(frozen=True)
class Score:
    """Log-likelihood of a continuation: summed over its tokens, and per token."""

    logprob: float
    n_tokens: int

    @property
    def mean(self) -> float:
        """Length-normalised log-likelihood (mean log-probability per token)."""
        return self.logprob / max(self.n_tokens, 1)


# llama-cpp-python silences llama.cpp by swapping the process's stdout/stderr file descriptors,
# which is not thread-safe (LangGraph runs teachers in threads), and two cores gain nothing from
# concurrent decoding: every engine call, loading included, holds this one lock.
_LLAMA_LOCK = threading.RLock()


def default_gpu_layers() -> int:
    """All layers on the GPU when llama.cpp was built with GPU support, none otherwise."""
    return -1 if llama_cpp.llama_supports_gpu_offload() else 0


def _log_softmax_at(logits: np.ndarray, token: int) -> float:
    peak = float(logits.max())
    return float(logits[token]) - peak - float(np.log(np.exp(logits - peak).sum()))


class Engine:
    """One loaded GGUF model; calls from several threads are serialised."""

    def __init__(
        self,
        model: str = "smollm2",
        *,
        n_ctx: int = 4096,
        n_gpu_layers: int | None = None,
        n_threads: int | None = None,
        seed: int = 0,
    ) -> None:
        self.path: Path = resolve_model(model)
        self.name = model if model in {"smollm2", "gemma3"} else self.path.name
        threads = n_threads or os.cpu_count() or 1
        with _LLAMA_LOCK:
            try:
                self.llm = llama_cpp.Llama(
                    model_path=str(self.path),
                    n_ctx=n_ctx,
                    n_batch=512,
                    n_gpu_layers=default_gpu_layers() if n_gpu_layers is None else n_gpu_layers,
                    n_threads=threads,
                    n_threads_batch=threads,
                    seed=seed,
                    logits_all=False,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise ModelError(f"llama.cpp could not load {self.path}: {exc}") from exc
        self.n_vocab = self.llm.n_vocab()
        self._lock = _LLAMA_LOCK

    # ----------------------------------------------------------------- tokens
    def tokenize(self, text: str, *, add_bos: bool = True) -> list[int]:
        """Tokens of `text`; `add_bos` prepends the model's beginning-of-text token."""
        return self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=False)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text, add_bos=False))

    # ------------------------------------------------------------- generation
    def complete(
        self,
        prompt: str,
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        top_k: int = 40,
        top_p: float = 0.95,
        seed: int | None = None,
        stop: Sequence[str] = (),
        grammar: str | None = None,
    ) -> str:
        """Raw completion of `prompt` (greedy when temperature is 0)."""
        with self._lock:
            result: Any = self.llm.create_completion(
                prompt,
                max_tokens=max_tokens,
                temperature=temperature,
                top_k=top_k,
                top_p=top_p,
                seed=seed,
                stop=list(stop) or None,
                grammar=llama_cpp.LlamaGrammar.from_string(grammar, verbose=False)
                if grammar
                else None,
            )
        return str(result["choices"][0]["text"])

    def sample(
        self,
        prompt: str,
        n: int,
        *,
        temperature: float,
        max_tokens: int = 128,
        seed: int = 0,
        stop: Sequence[str] = (),
        top_k: int = 40,
        top_p: float = 0.95,
    ) -> list[str]:
        """`n` samples from one prompt; the prompt is evaluated once and its cache reused."""
        with self._lock:  # keep other threads from evicting the prompt between samples
            return [
                self.complete(
                    prompt,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    seed=seed + i,
                    stop=stop,
                    top_k=top_k,
                    top_p=top_p,
                )
                for i in range(n)
            ]

    def chat(
        self,
        messages: Sequence[dict[str, str]],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
        grammar: str | None = None,
    ) -> str:
        """A reply to chat `messages`, formatted with the model's own chat template."""
        with self._lock:
            result: Any = self.llm.create_chat_completion(
                messages=list(messages),  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=temperature,
                seed=seed,
                grammar=llama_cpp.LlamaGrammar.from_string(grammar, verbose=False)
                if grammar
                else None,
            )
        return str(result["choices"][0]["message"]["content"] or "")

    @property
    def has_chat_template(self) -> bool:
        return bool(self.llm.metadata.get("tokenizer.chat_template"))

    def instruct(
        self,
        prompt: str,
        *,
        base_prompt: str | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> str:
        """Ask for `prompt` as a chat turn, or complete `base_prompt` on a base model."""
        if self.has_chat_template:
            messages = [{"role": "user", "content": prompt}]
            return self.chat(messages, max_tokens=max_tokens, temperature=temperature, seed=seed)
        return self.complete(
            base_prompt or prompt,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed,
            stop=["\n\n\n"],
        )

    # ------------------------------------------------------------ likelihoods
    def score(self, prefix: str, continuations: Sequence[str]) -> list[Score]:
        """Log-likelihood of each continuation given `prefix`, sharing the prefix's KV cache."""
        prefix_tokens = self.tokenize(prefix, add_bos=True)
        with self._lock:
            return [
                self._score_tokens(prefix_tokens, self.tokenize(text, add_bos=False))
                for text in continuations
            ]

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Score]:
        """Log-likelihood of each (prefix, continuation); consecutive equal prefixes share work."""
        scores: list[Score] = []
        with self._lock:
            for prefix, text in pairs:
                prefix_tokens = self.tokenize(prefix, add_bos=True)
                scores.append(self._score_tokens(prefix_tokens, self.tokenize(text, add_bos=False)))
        return scores

    def _score_tokens(self, prefix: list[int], continuation: list[int]) -> Score:
        if not continuation:
            return Score(0.0, 0)
        total = len(prefix) + len(continuation)
        if total > self.llm.n_ctx():
            raise ValueError(
                f"prefix ({len(prefix)} tokens) plus continuation ({len(continuation)}) "
                f"exceed the context window of {self.llm.n_ctx()} tokens"
            )
        # Keep all but the prefix's last token in the cache; decode that token together with the
        # continuation so that each output row predicts the next continuation token.
        self._sync_cache(prefix[:-1])
        batch_tokens = [prefix[-1], *continuation[:-1]]
        rows = self._decode_with_logits(batch_tokens, start=len(prefix) - 1)
        logprob = sum(_log_softmax_at(row, tok) for row, tok in zip(rows, continuation, strict=True))
        self._truncate_cache(len(prefix) - 1)
        return Score(logprob, len(continuation))

    def _sync_cache(self, tokens: list[int]) -> None:
        """Make the KV cache hold exactly `tokens`, reusing the longest cached prefix."""
        llm = self.llm
        cached = llm.input_ids[: llm.n_tokens]
        limit = min(len(cached), len(tokens))
        common = 0
        if limit:
            mismatch = np.nonzero(cached[:limit] != np.asarray(tokens[:limit]))[0]
            common = int(mismatch[0]) if mismatch.size else limit
        self._truncate_cache(common)
        if common < len(tokens):
            llm.eval(tokens[common:])

    def _truncate_cache(self, n_tokens: int) -> None:
        self.llm.n_tokens = n_tokens
        self.llm._ctx.kv_cache_seq_rm(-1, n_tokens, -1)

    def _decode_with_logits(self, tokens: list[int], *, start: int) -> list[np.ndarray]:
        """Decode `tokens` at positions start.. with logits on, returning one row per token."""
        rows: list[np.ndarray] = []
        n_batch = self.llm.n_batch
        ctx = self.llm._ctx.ctx
        for offset in range(0, len(tokens), n_batch):
            chunk = tokens[offset : offset + n_batch]
            batch = llama_cpp.llama_batch_init(len(chunk), 0, 1)
            try:
                batch.n_tokens = len(chunk)
                for i, token in enumerate(chunk):
                    batch.token[i] = token
                    batch.pos[i] = start + offset + i
                    batch.seq_id[i][0] = 0
                    batch.n_seq_id[i] = 1
                    batch.logits[i] = True
                status = llama_cpp.llama_decode(ctx, batch)
                if status != 0:
                    raise RuntimeError(f"llama_decode failed with status {status}")
                for i in range(len(chunk)):
                    pointer = llama_cpp.llama_get_logits_ith(ctx, i)
                    array = ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float))
                    rows.append(np.ctypeslib.as_array(array, shape=(self.n_vocab,)).copy())
            finally:
                llama_cpp.llama_batch_free(batch)
        return rows


@functools.lru_cache(maxsize=4)
def get_engine(model: str = "smollm2", n_gpu_layers: int | None = None) -> Engine:
    """A process-wide engine per model, loaded once."""
    return Engine(model, n_gpu_layers=n_gpu_layers)
