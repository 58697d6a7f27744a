"""The llama.cpp engine: one loaded GGUF model behind the `LanguageModel` interface.

Generation is llama-cpp-python's own; likelihoods go through `PrefixScorer`, batched sampling
and batched greedy completion through `StreamSampler`, and ranks through `TreeRanker`.
Likelihood decodes are single-sequence decodes, as in a plain llama.cpp loop; on SmolLM2 they
give the plain loop's log-likelihoods to about 1e-7. (On Gemma 3 270M Q4_K_M, llama.cpp's CPU logits depend on how tokens are split into batches, by up
to about 0.5, in a plain loop as much as here.)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import llama_cpp

from sociallearn.core.lm import Score, rank_in
from sociallearn.core.models import EMBEDDED_MODELS, ModelError, resolve_model
from sociallearn.engine.ranking import TreeRanker
from sociallearn.engine.sampling import StreamSampler
from sociallearn.engine.scoring import PrefixScorer
from sociallearn.engine.snapshots import SNAPSHOT_BYTES, PrefixSnapshots

# llama-cpp-python silences llama.cpp by swapping the process's stdout/stderr file descriptors,
# which is not thread-safe (LangGraph runs teachers in threads), and two cores gain nothing from
# concurrent decoding: every engine call, loading included, holds this one lock.
_LLAMA_LOCK = threading.RLock()


def default_gpu_layers() -> int:
    """All layers on the GPU when llama.cpp was built with GPU support, none otherwise."""
    return -1 if llama_cpp.llama_supports_gpu_offload() else 0


class LlamaEngine:
    """One loaded GGUF model; calls from several threads are serialised. Prompts that other
    calls pushed out of the KV cache come back from saved states (`PrefixSnapshots`, at most
    `snapshot_bytes`; 0: none)."""

    def __init__(
        self,
        model: str = "smollm2",
        *,
        n_ctx: int = 4096,
        n_gpu_layers: int | None = None,
        n_threads: int | None = None,
        seed: int = 0,
        snapshot_bytes: int = SNAPSHOT_BYTES,
    ) -> None:
        self.path: Path = resolve_model(model)
        self.name = model if model in EMBEDDED_MODELS else self.path.name
        threads = n_threads or os.cpu_count() or 1
        layers = default_gpu_layers() if n_gpu_layers is None else n_gpu_layers
        with _LLAMA_LOCK:
            try:
                self.llm = llama_cpp.Llama(
                    model_path=str(self.path),
                    n_ctx=n_ctx,
                    n_batch=512,
                    n_gpu_layers=layers,
                    # With none of the layers there, keep big batches off the GPU as well
                    # (llama.cpp otherwise copies host weights to it for large matrix products).
                    op_offload=layers != 0,
                    n_threads=threads,
                    n_threads_batch=threads,
                    seed=seed,
                    logits_all=False,
                    # A full-size sliding-window cache (Gemma 3) keeps every cached token, so a
                    # cached prefix stays reusable after the cache is cut back to it.
                    swa_full=True,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise ModelError(f"llama.cpp could not load {self.path}: {exc}") from exc
        self.n_vocab = self.llm.n_vocab()
        self._lock = _LLAMA_LOCK
        snapshots = PrefixSnapshots(self.llm, max_bytes=snapshot_bytes) if snapshot_bytes else None
        self.scorer = PrefixScorer(self.llm, snapshots)
        self.sampler = StreamSampler(self.llm, self.scorer)
        self.ranker = TreeRanker(self.scorer, self.sampler)

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

    def complete_batch(
        self,
        prompts: Sequence[str],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        grammar: str | None = None,
    ) -> list[str]:
        """Greedy completions of `prompts`: `[complete(p, temperature=0, ...) for p in prompts]`.

        Where the engine's KV streams are exact, the completions are decoded together.
        """
        with self._lock:  # one loop's cache state, from the first prompt to the last
            return self.sampler.complete_batch(
                self.complete, prompts, max_tokens=max_tokens, stop=stop, grammar=grammar
            )

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
        """`n` samples from one prompt: `complete(prompt, seed=seed + i, ...)` for i < n.

        The prompt is evaluated once; the samples are decoded together, one KV stream each.
        """
        samples = self._sample(
            prompt,
            n,
            temperature,
            max_tokens=max_tokens,
            seed=seed,
            stop=stop,
            top_k=top_k,
            top_p=top_p,
            scored=False,
        )
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
        """`sample`, each text with its log-likelihood after `prompt` read from the logits it
        was sampled from (None where it was not decoded in a stream: score it instead)."""
        return self._sample(
            prompt, n, temperature, max_tokens=max_tokens, seed=seed, stop=stop, scored=True
        )

    def _sample(
        self, prompt: str, n: int, temperature: float, **options: Any
    ) -> list[tuple[str, Score | None]]:
        with self._lock:  # keep other threads from evicting the prompt between samples
            return self.sampler.sample(self.complete, prompt, n, temperature=temperature, **options)

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
        items = [(prefix_tokens, self.tokenize(text, add_bos=False)) for text in continuations]
        with self._lock:
            return self.scorer.score_items(items)

    def rank(self, prefix: str, target: str, others: Sequence[str]) -> int:
        """How many of `others` have a higher mean log-likelihood after `prefix` than `target`.

        Where the KV streams are exact, the continuations' token trie is decoded in parallel
        streams and subtrees that cannot beat the target are skipped (`TreeRanker`); otherwise
        every continuation is scored with `score`.
        """
        prefix_tokens = self.tokenize(prefix, add_bos=True)
        tokens = [self.tokenize(text, add_bos=False) for text in (target, *others)]
        with self._lock:
            if self.ranker.fits(prefix_tokens, tokens):
                return self.ranker.rank(prefix_tokens, tokens[0], tokens[1:])[0]
            return rank_in(self.scorer.score_items([(prefix_tokens, t) for t in tokens]))

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Score]:
        """Log-likelihood of each (prefix, continuation); pairs sharing a prefix share its work."""
        prefixes: dict[str, list[int]] = {}
        items = []
        for prefix, text in pairs:
            if prefix not in prefixes:
                prefixes[prefix] = self.tokenize(prefix, add_bos=True)
            items.append((prefixes[prefix], self.tokenize(text, add_bos=False)))
        with self._lock:
            return self.scorer.score_items(items)
