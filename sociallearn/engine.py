"""A thin engine over llama-cpp-python: completion, chat, sampling, grammars and likelihoods.

Nothing is evaluated twice when it can be kept:

* Likelihoods keep evaluated tokens in the KV cache and start every decode at the longest prefix
  the cache already holds. The (prefix, continuation) pairs of one call are visited in token
  order, so each one shares everything up to where it differs from the one before; a decode asks
  llama.cpp for logits only at the rows that predict a scored token, and each row is normalised
  once (one log-sum-exp) however many continuations it scores. A student's label scoring is one
  decode of the query's new tokens, read for every label.
* `sample` evaluates the prompt once, copies its KV state into a side context with one KV stream
  per sample, and decodes the samples together, one batched step per token, each through the
  sampler chain (and seed) that `complete` builds: the texts are the ones a loop of `complete`
  calls returns from the same cache state.

Likelihood decodes are single-sequence decodes, as in a plain llama.cpp loop; on SmolLM2 they
give the plain loop's log-likelihoods to about 1e-7. (On Gemma 3 270M Q4_K_M, llama.cpp's CPU
logits depend on how tokens are split into batches, by up to about 0.5, in a plain loop as much
as here.) The side context keeps its sequences in separate KV streams (kv_unified=False): with
one unified KV buffer, this llama.cpp build returns wrong logits when tokens of several sequences
share a batch (ggml-org/llama.cpp#24962). It is used only where a one-time check finds its
batched logits bit-identical to one-token decodes (SmolLM2: yes; Gemma 3: no, so `sample` calls
`complete` once per sample there).
"""

from __future__ import annotations

import bisect
import ctypes
import functools
import os
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import _internals as llama_internals
from llama_cpp._utils import suppress_stdout_stderr

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


# Parallel samples decoded together by `sample`: one KV stream each in the side context.
SAMPLE_STREAMS = 16
_SIDE_CELLS_STEP = 256  # side-context streams grow in steps of this many tokens
_SIDE_CELLS_MAX = 4096  # longer prompt + completion: `sample` falls back to one `complete` each
_LSE_BLOCK = 16  # logits rows normalised per numpy pass (bounds the temporary to 16 rows)


def _logsumexp_rows(rows: np.ndarray) -> np.ndarray:
    """log(sum(exp(row))) of each row of a float32 matrix, accumulated in float64."""
    out = np.empty(len(rows), dtype=np.float64)
    for begin in range(0, len(rows), _LSE_BLOCK):
        block = rows[begin : begin + _LSE_BLOCK]
        peak = block.max(axis=1)
        total = np.exp(block - peak[:, None]).sum(axis=1, dtype=np.float64)
        out[begin : begin + _LSE_BLOCK] = peak.astype(np.float64) + np.log(total)
    return out


class _Batch:
    """A llama_batch allocated once and refilled through numpy views of its arrays."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.raw = llama_cpp.llama_batch_init(capacity, 0, 1)
        self._free = weakref.finalize(self, llama_cpp.llama_batch_free, self.raw)
        self.token = np.ctypeslib.as_array(self.raw.token, shape=(capacity,))
        self.pos = np.ctypeslib.as_array(self.raw.pos, shape=(capacity,))
        self.logits = np.ctypeslib.as_array(self.raw.logits, shape=(capacity,))
        np.ctypeslib.as_array(self.raw.n_seq_id, shape=(capacity,))[:] = 1
        self._seq = [0] * capacity
        for i in range(capacity):
            self.raw.seq_id[i][0] = 0

    def fill(
        self,
        tokens: Sequence[int],
        positions: Sequence[int] | np.ndarray,
        outputs: Sequence[int],
        seqs: Sequence[int] | None = None,
    ) -> None:
        """Tokens at positions, logits at the `outputs` offsets, in sequence 0 or `seqs`."""
        n = len(tokens)
        self.raw.n_tokens = n
        self.token[:n] = tokens
        self.pos[:n] = positions
        self.logits[:n] = 0
        self.logits[list(outputs)] = 1
        if seqs is not None:
            for i, seq in enumerate(seqs):
                if self._seq[i] != seq:
                    self.raw.seq_id[i][0] = self._seq[i] = seq
        else:
            for i in range(n):
                if self._seq[i]:
                    self.raw.seq_id[i][0] = self._seq[i] = 0


def _common_prefix(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray) -> int:
    """Length of the longest common prefix of two token sequences."""
    limit = min(len(a), len(b))
    if not limit:
        return 0
    mismatch = np.flatnonzero(np.asarray(a[:limit]) != np.asarray(b[:limit]))
    return int(mismatch[0]) if mismatch.size else limit


def _decode(ctx: Any, batch: _Batch, n_outputs: int, n_vocab: int) -> np.ndarray:
    """Run llama_decode; the logits rows of the batch's outputs, in batch order (a view)."""
    status = llama_cpp.llama_decode(ctx, batch.raw)
    if status != 0:
        raise RuntimeError(f"llama_decode failed with status {status}")
    if not n_outputs:
        return np.empty((0, n_vocab), dtype=np.float32)
    pointer = llama_cpp.llama_get_logits(ctx)
    return np.ctypeslib.as_array(pointer, shape=(n_outputs, n_vocab))


@dataclass
class _Need:
    """What one scored item wants from the rows of its decoded path."""

    index: int
    positions: list[int]  # the rows (token positions) predicting each continuation token
    targets: list[int]  # the continuation tokens


def _context(llm: llama_cpp.Llama, *, streams: int, cells: int) -> Any:
    """Another context on the engine's model and settings: `streams` KV streams of `cells`."""
    params = type(llm.context_params).from_buffer_copy(llm.context_params)
    params.n_seq_max = streams
    params.kv_unified = streams == 1
    params.n_ctx = streams * cells
    with suppress_stdout_stderr(disable=False):
        return llama_internals.LlamaContext(model=llm._model, params=params, verbose=False)


class _SideContext:
    """A context with one KV stream per parallel sample (kv_unified=False), grown on demand."""

    def __init__(self, llm: llama_cpp.Llama, streams: int, cells: int) -> None:
        self.streams = streams
        self.cells = cells
        self.context = _context(llm, streams=streams, cells=cells)
        self.ctx = self.context.ctx
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.batch = _Batch(max(streams, llm.n_batch))

    def close(self) -> None:
        self.context.close()

    def load(self, tokens: Sequence[int], n_vocab: int) -> None:
        """Decode `tokens` into stream 0 (emptying the others)."""
        llama_cpp.llama_memory_clear(self.memory, True)
        for begin in range(0, len(tokens), self.batch.capacity):
            chunk = tokens[begin : begin + self.batch.capacity]
            self.batch.fill(chunk, np.arange(begin, begin + len(chunk)), [], [0] * len(chunk))
            _decode(self.ctx, self.batch, 0, n_vocab)


def _copy_sequence(
    source: Any, target: Any, target_memory: Any, n_cells: int, streams: int
) -> bool:
    """Load sequence 0 of a one-stream context into stream 0 of a `streams`-stream context.

    llama.cpp's sequence state starts with the writer's KV stream count, then each stream's cell
    count and cells; a reader with another stream count refuses it, although a single sequence
    fills one stream only. The state is relabelled as `streams` streams, all but the first empty.
    Returns False (and leaves the target empty) when the state is not laid out that way, e.g.
    a sliding-window model's two caches.
    """
    llama_cpp.llama_memory_clear(target_memory, True)
    size = llama_cpp.llama_state_seq_get_size(source, 0)
    blob = (ctypes.c_uint8 * (size + 4 * (streams - 1)))()
    written = llama_cpp.llama_state_seq_get_data(source, blob, size, 0)
    words = (ctypes.c_uint32 * 4).from_buffer(blob)
    # The KV section opens the state, after a 64-bit tag in recent llama.cpp versions.
    at = next((i for i in (0, 2) if (words[i], words[i + 1]) == (1, n_cells)), None)
    if written != size or at is None:
        return False
    words[at] = streams  # the trailing zero bytes are the empty streams' cell counts
    if llama_cpp.llama_state_seq_set_data(target, blob, len(blob), 0) != len(blob):
        llama_cpp.llama_memory_clear(target_memory, True)
        return False
    return True


class _Completion:
    """One non-streaming `Llama.create_completion`, replayed one sampled token at a time."""

    def __init__(self, prompt: list[int], max_tokens: int, stop: list[bytes]) -> None:
        self.prompt = prompt
        self.max_tokens = max_tokens
        self.stop = stop
        self.tokens: list[int] = []
        self.result: bytes | None = None
        self.multibyte_fix = 0

    def add(self, token: int, llm: llama_cpp.Llama, vocab: Any) -> bool:
        """Take the next sampled token; True while the completion goes on."""
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            self.result = llm.detokenize(self.tokens, prev_tokens=self.prompt)
            return False
        self.tokens.append(token)
        all_text = llm.detokenize(self.tokens, prev_tokens=self.prompt)
        # Hold back an incomplete UTF-8 character, exactly as create_completion does.
        for k, char in enumerate(all_text[-3:]):
            k = 3 - k
            for num, pattern in ((2, 192), (3, 224), (4, 240)):
                if num > k and pattern & char == pattern:
                    self.multibyte_fix = num - k
        if self.multibyte_fix > 0:
            self.multibyte_fix -= 1
            return True
        hits = [s for s in self.stop if s in all_text]
        if hits:
            self.result = all_text[: all_text.index(hits[0])]
            return False
        if len(self.tokens) >= self.max_tokens:
            self.result = all_text
            return False
        return True

    def text(self, llm: llama_cpp.Llama) -> str:
        result = self.result
        if result is None:  # cut short by the side context's size
            result = llm.detokenize(self.tokens, prev_tokens=self.prompt)
        return result.decode("utf-8", errors="ignore")


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
                    # A full-size sliding-window cache (Gemma 3) keeps every cached token, so a
                    # cached prefix stays reusable after the cache is cut back to it.
                    swa_full=True,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise ModelError(f"llama.cpp could not load {self.path}: {exc}") from exc
        self.n_vocab = self.llm.n_vocab()
        self._lock = _LLAMA_LOCK
        self._batch = _Batch(self.llm.n_batch)
        self._side: _SideContext | None = None
        self._streams_exact: bool | None = None  # see _check_streams

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
        """`n` samples from one prompt: `complete(prompt, seed=seed + i, ...)` for i < n.

        The prompt is evaluated once; the samples are decoded together, one KV stream each.
        """

        def one(sample_temperature: float, sample_seed: int) -> str:
            return self.complete(
                prompt,
                max_tokens=max_tokens,
                temperature=sample_temperature,
                seed=sample_seed,
                stop=stop,
                top_k=top_k,
                top_p=top_p,
            )

        with self._lock:  # keep other threads from evicting the prompt between samples
            if n <= 0:
                return []
            if temperature == 0:  # greedy: every seed gives the same text
                return [one(0.0, seed + n - 1)] * n
            tokens = self._completion_tokens(prompt)
            budget = self._completion_budget(len(tokens), max_tokens)
            if (
                n == 1
                or len(tokens) < 2
                or len(tokens) + budget + 8 > _SIDE_CELLS_MAX
                or not self._check_streams()
            ):
                return [one(temperature, seed + i) for i in range(n)]
            texts = self._sample_streams(
                tokens,
                n,
                budget,
                temperature,
                seed,
                [s.encode("utf-8") for s in stop],
                top_k,
                top_p,
            )
            self.llm.set_seed(seed + n - 1)  # as after n calls of `complete`
            return texts

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
            return self._score_items(items)

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Score]:
        """Log-likelihood of each (prefix, continuation); pairs sharing a prefix share its work."""
        prefixes: dict[str, list[int]] = {}
        items = []
        for prefix, text in pairs:
            if prefix not in prefixes:
                prefixes[prefix] = self.tokenize(prefix, add_bos=True)
            items.append((prefixes[prefix], self.tokenize(text, add_bos=False)))
        with self._lock:
            return self._score_items(items)

    def _score_items(self, items: Sequence[tuple[list[int], list[int]]]) -> list[Score]:
        """Scores of (prefix tokens, continuation tokens) items.

        Item i needs the rows of its path, prefix + continuation[:-1], from position
        len(prefix) - 1 on. Paths are decoded in token order, each from where it parts from the
        one before (a path that is a prefix of the next is read from the next one's decode), and
        a row shared by several paths is computed once, by the first of them, for all the
        tokens they ask of it.
        """
        n_ctx = self.llm.n_ctx()
        scores: list[Score] = [Score(0.0, 0)] * len(items)
        by_path: dict[tuple[int, ...], list[_Need]] = {}
        for index, (prefix, continuation) in enumerate(items):
            if not continuation:
                continue
            if not prefix:
                raise ValueError("an empty prefix has no token to predict a continuation from")
            if len(prefix) + len(continuation) > n_ctx:
                raise ValueError(
                    f"prefix ({len(prefix)} tokens) plus continuation ({len(continuation)}) "
                    f"exceed the context window of {n_ctx} tokens"
                )
            start = len(prefix) - 1
            need = _Need(index, list(range(start, start + len(continuation))), list(continuation))
            by_path.setdefault((*prefix, *continuation[:-1]), []).append(need)
        order = sorted(by_path)
        groups: list[tuple[tuple[int, ...], list[_Need]]] = []
        carried: list[_Need] = []
        for k, path in enumerate(order):
            carried += by_path[path]
            following = order[k + 1] if k + 1 < len(order) else None
            if following is None or following[: len(path)] != path:
                groups.append((path, carried))
                carried = []
        # A row at position p is shared by a run of consecutive paths that agree on their first
        # p + 1 tokens; its owner is the first of the run, the nearest path at or before this one
        # whose agreement with its predecessor ends at or before p. A stack of (agreement, path)
        # with increasing agreements finds it by bisection.
        wanted: list[dict[int, set[int]]] = [{} for _ in groups]
        owners: dict[int, list[int]] = {}
        stack_lcp: list[int] = []
        stack_group: list[int] = []
        for g, (path, needs) in enumerate(groups):
            lcp = -1 if g == 0 else _common_prefix(groups[g - 1][0], path)
            while stack_lcp and stack_lcp[-1] >= lcp:
                stack_lcp.pop()
                stack_group.pop()
            stack_lcp.append(lcp)
            stack_group.append(g)
            for need in needs:
                found = owners[need.index] = []
                for position, target in zip(need.positions, need.targets, strict=True):
                    owner = stack_group[bisect.bisect_right(stack_lcp, position) - 1]
                    wanted[owner].setdefault(position, set()).add(target)
                    found.append(owner)
        results = [self._evaluate(list(path), wanted[g]) for g, (path, _) in enumerate(groups)]
        for _, needs in groups:
            for need in needs:
                total = sum(
                    results[owner][position][target]
                    for owner, position, target in zip(
                        owners[need.index], need.positions, need.targets, strict=True
                    )
                )
                scores[need.index] = Score(float(total), len(need.targets))
        return scores

    def _evaluate(
        self, tokens: list[int], wanted: dict[int, set[int]]
    ) -> dict[int, dict[int, float]]:
        """Make the cache hold exactly `tokens`, decoding only what it lacks, and return the
        log-probabilities of the `wanted` next tokens at the `wanted` positions."""
        llm = self.llm
        common = _common_prefix(llm.input_ids[: llm.n_tokens], tokens)
        keep = min(common, min(wanted, default=len(tokens)))  # wanted rows must be decoded
        self._truncate_cache(keep)
        result: dict[int, dict[int, float]] = {}
        batch = self._batch
        for begin in range(keep, len(tokens), batch.capacity):
            chunk = tokens[begin : begin + batch.capacity]
            rows_at = [p for p in range(begin, begin + len(chunk)) if p in wanted]
            batch.fill(chunk, np.arange(begin, begin + len(chunk)), [p - begin for p in rows_at])
            try:
                rows = _decode(llm.ctx, batch, len(rows_at), self.n_vocab)
            except RuntimeError:
                self._truncate_cache(begin)
                raise
            llm.input_ids[begin : begin + len(chunk)] = chunk
            llm.n_tokens = begin + len(chunk)
            if rows_at:
                norm = _logsumexp_rows(rows)
                for row, position in enumerate(rows_at):
                    targets = sorted(wanted[position])
                    values = rows[row, targets].astype(np.float64) - norm[row]
                    result[position] = dict(zip(targets, values.tolist(), strict=True))
        return result

    def _truncate_cache(self, n_tokens: int) -> None:
        self.llm.n_tokens = n_tokens
        self.llm._ctx.kv_cache_seq_rm(-1, n_tokens, -1)
        # The context's logits no longer belong to llama-cpp-python's last eval.
        self.llm._requires_eval = True

    # ------------------------------------------------------------- sampling
    def _completion_tokens(self, prompt: str) -> list[int]:
        """The prompt tokens `create_completion` evaluates for a text prompt (no suffix)."""
        llm = self.llm
        model = llm._model
        bos = [model.token_cls() if model.token_cls() != -1 else llm.token_bos()]
        if not model.add_bos_token() or bos[0] == -1:
            bos = []
        sep = model.token_sep()
        eos = [sep if sep != -1 else llm.token_eos()]
        if not model.add_eos_token() and sep == -1:
            eos = []
        body = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True) if prompt else []
        return bos + body + eos

    def _completion_budget(self, n_prompt: int, max_tokens: int | None) -> int:
        """`create_completion`'s max_tokens after clamping to the context window."""
        n_ctx = self.llm.n_ctx()
        if n_prompt >= n_ctx:
            raise ValueError(f"Requested tokens ({n_prompt}) exceed context window of {n_ctx}")
        if max_tokens is None or max_tokens <= 0:
            max_tokens = n_ctx - n_prompt
        return max_tokens if max_tokens + n_prompt < n_ctx else n_ctx - n_prompt

    def _side_context(self, cells: int) -> _SideContext:
        cells = -(-cells // _SIDE_CELLS_STEP) * _SIDE_CELLS_STEP
        if self._side is None or self._side.cells < cells:
            if self._side is not None:
                self._side.close()
            self._side = None
            self._side = _SideContext(self.llm, SAMPLE_STREAMS, cells)
        return self._side

    def _seed_side(self, side: _SideContext, tokens: list[int]) -> None:
        """Make the side context's stream 0 hold `tokens` (and nothing else) via the main cache."""
        self._evaluate(tokens, {})
        if not _copy_sequence(self.llm.ctx, side.ctx, side.memory, len(tokens), side.streams):
            side.load(tokens, self.n_vocab)  # evaluate them there instead

    def _check_streams(self) -> bool:
        """Whether decoding one token per KV stream in a batch gives, bit for bit, the logits of
        one-token decodes in the main context, as `complete` computes them.

        Checked once per engine with ubatches of 16, 7 and 2 streams. Where it fails (on some
        weight types llama.cpp's CPU kernels round differently for different batch shapes, e.g.
        Gemma 3 270M Q4_K_M), `sample` calls `complete` once per sample instead.
        """
        if self._streams_exact is not None:
            return self._streams_exact
        llm = self.llm
        self._streams_exact = False
        if llama_cpp.llama_model_is_recurrent(llm.model) or llama_cpp.llama_model_is_hybrid(
            llm.model
        ):
            return False
        text = "Probe: the quick brown fox jumps over the lazy dog, twice, then naps in the sun."
        base = self.tokenize(text)
        side = self._side_context(len(base) + 8)
        widths = [side.streams, min(7, side.streams), min(2, side.streams)]
        paths = [list(base) for _ in range(side.streams)]
        got: dict[tuple[int, int], np.ndarray] = {}
        side.load(base, self.n_vocab)
        for stream in range(1, side.streams):
            llama_cpp.llama_memory_seq_cp(side.memory, 0, stream, -1, -1)
        for step, width in enumerate(widths):
            tokens = [base[(3 * stream + 5 * step) % len(base)] for stream in range(width)]
            side.batch.fill(tokens, [len(base) + step] * width, range(width), range(width))
            rows = _decode(side.ctx, side.batch, width, self.n_vocab)
            for stream, token in enumerate(tokens):
                got[stream, step] = rows[stream].copy()
                paths[stream].append(token)
        llama_cpp.llama_memory_clear(side.memory, True)
        # The reference: one-token decodes in a one-stream context like the main one (which
        # keeps its cache: its state decides what the next `complete` or `sample` computes).
        reference = _context(llm, streams=1, cells=_SIDE_CELLS_STEP)
        try:
            memory = llama_cpp.llama_get_memory(reference.ctx)
            batch = self._batch
            batch.fill(base, np.arange(len(base)), [])
            _decode(reference.ctx, batch, 0, self.n_vocab)
            for stream, path in enumerate(paths):
                llama_cpp.llama_memory_seq_rm(memory, 0, len(base), -1)
                for position in range(len(base), len(path)):
                    batch.fill([path[position]], [position], [0])
                    row = _decode(reference.ctx, batch, 1, self.n_vocab)[0]
                    if not np.array_equal(row, got[stream, position - len(base)]):
                        return False
        finally:
            reference.close()
        self._streams_exact = True
        return True

    def _sample_streams(
        self,
        prompt: list[int],
        n: int,
        budget: int,
        temperature: float,
        seed: int,
        stop: list[bytes],
        top_k: int,
        top_p: float,
    ) -> list[str]:
        """Decode n samples of `prompt` in waves of parallel KV streams.

        Each sample replays `Llama.create_completion` (non-streaming, no grammar): the same
        sampler chain seeded with seed + i; the same end-of-generation, multi-byte,
        stop-sequence and max_tokens rules; and the same prompt state. Sample 0 sees the
        prompt's uncached tail decoded in one batch, as the first `complete` would; every later
        sample sees the prompt's last token decoded alone, as `complete` does once the prompt is
        cached. (llama.cpp's CPU kernels can round a token's KV differently alone and in a
        batch, which now and then changes a sampled token.)
        """
        llm = self.llm
        side = self._side_context(len(prompt) + budget + 8)
        last = len(prompt) - 1
        vocab = llm._model.vocab
        texts: list[str] = []
        for wave in range(0, n, side.streams):
            width = min(side.streams, n - wave)
            samplers = []
            for i in range(width):
                llm.set_seed(seed + wave + i)
                samplers.append(
                    llm._init_sampler(
                        top_k=top_k,
                        top_p=top_p,
                        min_p=0.05,
                        typical_p=1.0,
                        temp=temperature,
                        repeat_penalty=1.0,
                        frequency_penalty=0.0,
                        presence_penalty=0.0,
                        tfs_z=1.0,
                        mirostat_mode=0,
                        mirostat_tau=5.0,
                        mirostat_eta=0.1,
                        penalize_nl=True,
                        logits_processor=None,
                        grammar=None,
                    )
                )
            first: list[int] = []
            if wave == 0:
                alone = _common_prefix(llm.input_ids[: llm.n_tokens], prompt) >= last
                self._evaluate(prompt, {last: set()})  # logits of the prompt's last token
                first.append(samplers[0].sample(llm._ctx, -1))
                self._seed_side(side, prompt)
                source = 0
                if alone:  # every sample sees the same prompt state
                    first += [samplers[i].sample(llm._ctx, -1) for i in range(1, width)]
                elif width > 1:  # the others see the last token decoded alone, in stream 1
                    llama_cpp.llama_memory_seq_cp(side.memory, 0, 1, -1, -1)
                    llama_cpp.llama_memory_seq_rm(side.memory, 1, last, -1)
                    side.batch.fill([prompt[-1]], [last], [0], [1])
                    _decode(side.ctx, side.batch, 1, self.n_vocab)
                    first += [samplers[i].sample(side.context, 0) for i in range(1, width)]
                    source = 1
                for stream in range(1, width):
                    if stream != source:
                        llama_cpp.llama_memory_seq_cp(side.memory, source, stream, -1, -1)
            else:
                for stream in range(side.streams):
                    llama_cpp.llama_memory_seq_rm(
                        side.memory, stream, last if stream == 0 else 0, -1
                    )
                side.batch.fill([prompt[-1]], [last], [0], [0])
                _decode(side.ctx, side.batch, 1, self.n_vocab)
                first = [sampler.sample(side.context, 0) for sampler in samplers]
                for stream in range(1, width):
                    llama_cpp.llama_memory_seq_cp(side.memory, 0, stream, -1, -1)
            runs = [_Completion(prompt, budget, stop) for _ in range(width)]
            tokens = dict(enumerate(first))  # stream → its newest sampled token
            position = len(prompt)
            while tokens:
                step = [
                    stream
                    for stream, token in tokens.items()
                    if runs[stream].add(token, llm, vocab) and position < side.cells
                ]
                if not step:
                    break
                side.batch.fill(
                    [tokens[s] for s in step], [position] * len(step), range(len(step)), step
                )
                _decode(side.ctx, side.batch, len(step), self.n_vocab)
                tokens = {s: samplers[s].sample(side.context, row) for row, s in enumerate(step)}
                position += 1
            for sampler in samplers:
                sampler.close()
            texts += [run.text(llm) for run in runs]
        return texts


_ENGINES_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4)
def _cached_engine(model: str, n_gpu_layers: int | None) -> Engine:
    return Engine(model, n_gpu_layers=n_gpu_layers)


def get_engine(model: str = "smollm2", n_gpu_layers: int | None = None) -> Engine:
    """A process-wide engine per model, loaded once, also when several threads ask at once
    (LangGraph starts the teachers together; lru_cache alone would load one engine each)."""
    with _ENGINES_LOCK:
        return _cached_engine(model, n_gpu_layers)
