"""Batched generation: completions decoded together, one KV stream each, in a side context.

`StreamSampler.sample` copies a prompt's KV state into a side context with one KV stream per
sample; `StreamSampler.complete_batch` copies each prompt's KV state into a stream of its own.
Either way the streams are then decoded together, one batched step per token, each through the
sampler chain (seed, grammar) that `complete` builds: the texts are the ones a loop of
`complete` calls returns from the same cache state, where a one-time probe finds batched
logits bit-identical to one-token decodes (SmolLM2). Where they differ by rounding (Qwen 2.5
Q4_K_M: llama.cpp's CPU kernels round differently for different batch shapes), samples at a
temperature still decode together: they are draws from the same distribution up to that
rounding, the same for the same seed on the same machine, but not the texts of the loop; greedy
`complete_batch` calls `complete` once per prompt there, so that answers stay those of greedy
decoding. Where a prompt's state does not load into a stream (Gemma 3), both call `complete`.
The side context keeps its sequences in separate KV streams (kv_unified=False): with one unified
KV buffer, this llama.cpp build returns wrong logits when tokens of several sequences share a
batch (ggml-org/llama.cpp#24962).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import llama_cpp
import numpy as np

from sociallearn.core.lm import Score
from sociallearn.engine.decoding import (
    SAMPLE_STREAMS,
    SIDE_CELLS_MAX,
    SIDE_CELLS_STEP,
    SideContext,
    common_prefix,
    copy_sequence,
    decode,
    logsumexp_rows,
    new_context,
)
from sociallearn.engine.scoring import PrefixScorer

Complete = Callable[..., str]  # the engine's `complete`, for the one-at-a-time path
Sampler = Any  # llama_cpp._internals.LlamaSampler, a sampler chain as `complete` builds it


@dataclass(frozen=True)
class StreamProbe:
    """What parallel KV streams give on a model (`StreamSampler.probe_streams`)."""

    loads: bool  # a one-stream context's state loads into any stream
    exact: bool  # and batched logits equal one-token decodes bit for bit
    largest_logit_difference: float | None  # the largest |batched − one-token| logit seen


class _Completion:
    """One non-streaming `Llama.create_completion`, replayed one sampled token at a time."""

    def __init__(self, prompt: list[int], max_tokens: int, stop: list[bytes]) -> None:
        self.prompt = prompt
        self.max_tokens = max_tokens
        self.stop = stop
        self.tokens: list[int] = []
        self.ends: list[int] = []  # bytes of text after each token
        self.result: bytes | None = None
        self.multibyte_fix = 0

    def add(self, token: int, llm: llama_cpp.Llama, vocab: Any) -> bool:
        """Take the next sampled token; True while the completion goes on."""
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            self.result = llm.detokenize(self.tokens, prev_tokens=self.prompt)
            return False
        self.tokens.append(token)
        all_text = llm.detokenize(self.tokens, prev_tokens=self.prompt)
        self.ends.append(len(all_text))
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

    def text_tokens(self) -> int | None:
        """How many of the sampled tokens spell the text exactly (None: a stop sequence begins
        inside a token, so no whole tokens do)."""
        if self.result is None or not self.ends or self.ends[-1] == len(self.result):
            return len(self.tokens)
        if len(self.result) == 0:
            return 0
        return next((k + 1 for k, end in enumerate(self.ends) if end == len(self.result)), None)


@dataclass
class _Stream:
    """One completion in a KV stream: its replay, its sampler chain, its newest token, and the
    log-probability of each sampled token under the model (untempered), when asked for."""

    run: _Completion
    sampler: Sampler
    token: int  # sampled, not yet decoded
    position: int  # where `token` goes in the stream
    logprobs: list[float] | None = None

    def score(self) -> Score | None:
        """The log-likelihood of the text's tokens, as `score` would compute it from the same
        logits (None: not recorded, or no whole tokens spell the text)."""
        count = self.run.text_tokens()
        if self.logprobs is None or count is None:
            return None
        return Score(float(sum(self.logprobs[:count])), count)


def token_logprob(ctx: Any, row: int, token: int, n_vocab: int) -> float:
    """log p(token) from a context's logits row (`llama_get_logits_ith`), untempered."""
    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, row), shape=(n_vocab,))
    return float(logits[token]) - float(logsumexp_rows(logits[None, :])[0])


class StreamSampler:
    """Decodes completions together in parallel KV streams: n seeded samples of one prompt
    (`sample`), or, where that is exact, the greedy completions of many prompts
    (`complete_batch`)."""

    def __init__(self, llm: llama_cpp.Llama, scorer: PrefixScorer) -> None:
        self.llm = llm
        self.scorer = scorer
        self.n_vocab = scorer.n_vocab
        self._side: SideContext | None = None
        self._probe: StreamProbe | None = None  # see probe_streams

    def sample(
        self,
        complete: Complete,
        prompt: str,
        n: int,
        *,
        temperature: float,
        max_tokens: int = 128,
        seed: int = 0,
        stop: Sequence[str] = (),
        top_k: int = 40,
        top_p: float = 0.95,
        scored: bool = False,
    ) -> list[tuple[str, Score | None]]:
        """`complete(prompt, seed=seed + i, ...)` for i < n, decoded together where the
        prompt's state loads into KV streams (the same texts where the streams are exact);
        with `scored`, each text's log-likelihood under the model from the logits it was
        sampled from, where the streams decoded it (else None).

        The caller holds the engine's lock.
        """

        def one(sample_temperature: float, sample_seed: int) -> tuple[str, Score | None]:
            text = complete(
                prompt,
                max_tokens=max_tokens,
                temperature=sample_temperature,
                seed=sample_seed,
                stop=stop,
                top_k=top_k,
                top_p=top_p,
            )
            return text, None

        if n <= 0:
            return []
        if temperature == 0:  # greedy: every seed gives the same text
            return [one(0.0, seed + n - 1)] * n
        tokens = self._completion_tokens(prompt)
        budget = self._completion_budget(len(tokens), max_tokens)
        if (
            n == 1
            or len(tokens) < 2
            or len(tokens) + budget + 8 > SIDE_CELLS_MAX
            or not self.probe_streams().loads
        ):
            return [one(temperature, seed + i) for i in range(n)]
        samples = self._sample_streams(
            tokens,
            n,
            budget,
            temperature,
            seed,
            [s.encode("utf-8") for s in stop],
            top_k,
            top_p,
            scored,
        )
        self.llm.set_seed(seed + n - 1)  # as after n calls of `complete`
        return samples

    def complete_batch(
        self,
        complete: Complete,
        prompts: Sequence[str],
        *,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        grammar: str | None = None,
    ) -> list[str]:
        """`[complete(p, temperature=0, ...) for p in prompts]`, decoded together where exact.

        Each prompt is evaluated in the main context as its `complete` in that loop would
        evaluate it (the loop's next prompt finds the previous one cached), and its state moves
        into a KV stream of its own; the streams are decoded together. Where a prompt extends
        the one before it (the loop would find part of it in the previous completion), or the
        streams are not exact or too short, the loop runs instead. The caller holds the lock.
        """

        def loop() -> list[str]:
            return [
                complete(p, max_tokens=max_tokens, temperature=0.0, stop=stop, grammar=grammar)
                for p in prompts
            ]

        token_lists = [self._completion_tokens(prompt) for prompt in prompts]
        budgets = [self._completion_budget(len(tokens), max_tokens) for tokens in token_lists]
        extends_previous = any(
            common_prefix(before, after) == len(before)
            for before, after in itertools.pairwise(token_lists)
        )
        if (
            len(prompts) < 2
            or extends_previous
            or not all(token_lists)
            or max(map(len, token_lists)) + max(budgets) + 8 > SIDE_CELLS_MAX
            or not self.check_streams()
        ):
            return loop()
        texts = self._complete_streams(
            token_lists, budgets, [s.encode("utf-8") for s in stop], grammar
        )
        for _ in prompts:  # the seed each `complete` (seed=None) would have drawn
            self.llm.set_seed(random.Random(self.llm._seed).randint(0, 2**32))
        return texts

    def _new_sampler(
        self,
        temperature: float,
        top_k: int,
        top_p: float,
        grammar: llama_cpp.LlamaGrammar | None = None,
    ) -> Sampler:
        """The sampler chain `create_completion` builds (seeded with the engine's seed)."""
        return self.llm._init_sampler(
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
            grammar=grammar,
        )

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

    def side_context(self, cells: int) -> SideContext:
        cells = -(-cells // SIDE_CELLS_STEP) * SIDE_CELLS_STEP
        if self._side is None or self._side.cells < cells:
            if self._side is not None:
                self._side.close()
            self._side = None
            self._side = SideContext(self.llm, SAMPLE_STREAMS, cells)
        return self._side

    def seed_side(self, side: SideContext, tokens: list[int]) -> None:
        """Make the side context's stream 0 hold `tokens` (and nothing else) via the main cache."""
        self.scorer.evaluate(tokens, {})
        llama_cpp.llama_memory_clear(side.memory, True)
        self._move_to_stream(side, len(tokens), 0)

    def _move_to_stream(self, side: SideContext, n_tokens: int, stream: int) -> None:
        """Copy the main cache (`n_tokens` tokens) into a stream of the side context."""
        if not copy_sequence(self.llm.ctx, side.ctx, side.memory, n_tokens, side.streams, stream):
            raise RuntimeError("the main cache's state did not load into a KV stream")

    def check_streams(self) -> bool:
        """Whether decoding one token per KV stream in a batch gives, bit for bit, the logits of
        one-token decodes in the main context, as `complete` computes them, and a one-stream
        context's state loads into any stream (see `probe_streams`). Greedy `complete_batch`
        needs this: elsewhere it calls `complete` once per prompt."""
        return self.probe_streams().exact

    def probe_streams(self) -> StreamProbe:
        """What parallel KV streams give on this model, measured once per engine with ubatches
        of 16, 7 and 2 streams against one-token decodes: whether a one-stream context's state
        loads into any stream, and whether the logits are bit-identical. (On some weight types
        llama.cpp's CPU kernels round differently for different batch shapes: Qwen 2.5 and
        Gemma 3 Q4_K_M; a sliding-window model's state has two caches.)"""
        if self._probe is not None:
            return self._probe
        llm = self.llm
        self._probe = StreamProbe(loads=False, exact=False, largest_logit_difference=None)
        if llama_cpp.llama_model_is_recurrent(llm.model) or llama_cpp.llama_model_is_hybrid(
            llm.model
        ):
            return self._probe
        text = "Probe: the quick brown fox jumps over the lazy dog, twice, then naps in the sun."
        base = self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
        side = self.side_context(len(base) + 8)
        widths = [side.streams, min(7, side.streams), min(2, side.streams)]
        paths = [list(base) for _ in range(side.streams)]
        got: dict[tuple[int, int], np.ndarray] = {}
        side.load(base, self.n_vocab)
        for stream in range(1, side.streams):
            llama_cpp.llama_memory_seq_cp(side.memory, 0, stream, -1, -1)
        for step, width in enumerate(widths):
            tokens = [base[(3 * stream + 5 * step) % len(base)] for stream in range(width)]
            side.batch.fill(tokens, [len(base) + step] * width, range(width), range(width))
            rows = decode(side.ctx, side.batch, width, self.n_vocab)
            for stream, token in enumerate(tokens):
                got[stream, step] = rows[stream].copy()
                paths[stream].append(token)
        llama_cpp.llama_memory_clear(side.memory, True)
        # The reference: one-token decodes in a one-stream context like the main one (which
        # keeps its cache: its state decides what the next `complete` or `sample` computes).
        reference = new_context(llm, streams=1, cells=SIDE_CELLS_STEP)
        largest = 0.0
        try:
            memory = llama_cpp.llama_get_memory(reference.ctx)
            batch = self.scorer.batch
            batch.fill(base, np.arange(len(base)), [])
            decode(reference.ctx, batch, 0, self.n_vocab)
            for stream, path in enumerate(paths):
                llama_cpp.llama_memory_seq_rm(memory, 0, len(base), -1)
                for position in range(len(base), len(path)):
                    batch.fill([path[position]], [position], [0])
                    row = decode(reference.ctx, batch, 1, self.n_vocab)[0]
                    difference = np.abs(row - got[stream, position - len(base)]).max()
                    largest = max(largest, float(difference))
            last = side.streams - 1
            moved = copy_sequence(
                reference.ctx, side.ctx, side.memory, len(paths[-1]), side.streams, last
            )
            held = llama_cpp.llama_memory_seq_pos_max(side.memory, last) + 1
            llama_cpp.llama_memory_clear(side.memory, True)
        finally:
            reference.close()
        loads = moved and held == len(paths[-1])
        self._probe = StreamProbe(
            loads=loads, exact=loads and largest == 0.0, largest_logit_difference=largest
        )
        return self._probe

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
        scored: bool,
    ) -> list[tuple[str, Score | None]]:
        """Decode n samples of `prompt` in waves of parallel KV streams (with `scored`, each
        with its log-likelihood from the logits its tokens were sampled from).

        Each sample replays `Llama.create_completion` (non-streaming, no grammar): the same
        sampler chain seeded with seed + i; the same end-of-generation, multi-byte,
        stop-sequence and max_tokens rules; and the same prompt state. Sample 0 sees the
        prompt's uncached tail decoded in one batch, as the first `complete` would; every later
        sample sees the prompt's last token decoded alone, as `complete` does once the prompt is
        cached. (llama.cpp's CPU kernels can round a token's KV differently alone and in a
        batch, which now and then changes a sampled token.)
        """
        llm = self.llm
        side = self.side_context(len(prompt) + budget + 8)
        last = len(prompt) - 1
        samples: list[tuple[str, Score | None]] = []
        for wave in range(0, n, side.streams):
            width = min(side.streams, n - wave)
            samplers = []
            for i in range(width):
                llm.set_seed(seed + wave + i)
                samplers.append(self._new_sampler(temperature, top_k, top_p))
            first: list[tuple[int, float | None]] = []  # each stream's first token, logprob
            if wave == 0:
                alone = common_prefix(llm.input_ids[: llm.n_tokens], prompt) >= last
                self.scorer.evaluate(prompt, {last: set()})  # logits of the prompt's last token
                first.append(self._first_token(samplers[0], llm._ctx, -1, scored))
                self.seed_side(side, prompt)
                source = 0
                if alone:  # every sample sees the same prompt state
                    first += [self._first_token(s, llm._ctx, -1, scored) for s in samplers[1:]]
                elif width > 1:  # the others see the last token decoded alone, in stream 1
                    llama_cpp.llama_memory_seq_cp(side.memory, 0, 1, -1, -1)
                    llama_cpp.llama_memory_seq_rm(side.memory, 1, last, -1)
                    side.batch.fill([prompt[-1]], [last], [0], [1])
                    decode(side.ctx, side.batch, 1, self.n_vocab)
                    first += [self._first_token(s, side.context, 0, scored) for s in samplers[1:]]
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
                decode(side.ctx, side.batch, 1, self.n_vocab)
                first = [self._first_token(s, side.context, 0, scored) for s in samplers]
                for stream in range(1, width):
                    llama_cpp.llama_memory_seq_cp(side.memory, 0, stream, -1, -1)
            streams = [
                _Stream(
                    _Completion(prompt, budget, stop),
                    sampler,
                    token,
                    len(prompt),
                    None if logprob is None else [logprob],
                )
                for sampler, (token, logprob) in zip(samplers, first, strict=True)
            ]
            texts = self._decode_streams(side, streams)
            samples += zip(texts, [stream.score() for stream in streams], strict=True)
        return samples

    def _first_token(
        self, sampler: Sampler, context: Any, row: int, scored: bool
    ) -> tuple[int, float | None]:
        """A stream's first token, sampled from a context's logits `row`, and with `scored`
        its log-probability."""
        token = sampler.sample(context, row)
        return token, token_logprob(context.ctx, row, token, self.n_vocab) if scored else None

    def _complete_streams(
        self,
        prompts: list[list[int]],
        budgets: list[int],
        stop: list[bytes],
        grammar: str | None,
    ) -> list[str]:
        """Greedy completions of `prompts`, in waves of parallel KV streams.

        Each replays `Llama.create_completion` at temperature 0 with its own sampler chain (and
        grammar state), from the prompt state of a loop of `complete` calls: the main context
        evaluates the prompts in order, each from where it parts from the one before, and each
        prompt's state moves into its stream once its first token is sampled.
        """
        llm = self.llm
        side = self.side_context(max(map(len, prompts)) + max(budgets) + 8)
        parsed = llama_cpp.LlamaGrammar.from_string(grammar, verbose=False) if grammar else None
        texts: list[str] = []
        for wave in range(0, len(prompts), side.streams):
            llama_cpp.llama_memory_clear(side.memory, True)
            streams = []
            for stream, i in enumerate(range(wave, min(wave + side.streams, len(prompts)))):
                tokens = prompts[i]
                sampler = self._new_sampler(0.0, 40, 0.95, parsed)
                if not self._logits_of_cached(tokens):
                    self.scorer.evaluate(tokens, {len(tokens) - 1: set()})
                first = sampler.sample(llm._ctx, -1)
                self._move_to_stream(side, len(tokens), stream)
                streams.append(
                    _Stream(_Completion(tokens, budgets[i], stop), sampler, first, len(tokens))
                )
            texts += self._decode_streams(side, streams)
        return texts

    def _logits_of_cached(self, prompt: list[int]) -> bool:
        """Whether the main context holds exactly `prompt` and its logits from a live decode:
        `create_completion` then samples without decoding anything."""
        llm = self.llm
        return (
            llm.n_tokens == len(prompt)
            and not llm._requires_eval
            and common_prefix(llm.input_ids[: llm.n_tokens], prompt) == len(prompt)
        )

    def _decode_streams(self, side: SideContext, streams: list[_Stream]) -> list[str]:
        """Decode the streams together, one token per stream per step, until every completion
        ends; their texts, in order. The samplers are closed."""
        llm = self.llm
        vocab = llm._model.vocab
        live = dict(enumerate(streams))  # KV stream → its completion
        while live:
            live = {
                index: stream
                for index, stream in live.items()
                if stream.run.add(stream.token, llm, vocab) and stream.position < side.cells
            }
            if not live:
                break
            side.batch.fill(
                [stream.token for stream in live.values()],
                [stream.position for stream in live.values()],
                range(len(live)),
                list(live),
            )
            rows = decode(side.ctx, side.batch, len(live), self.n_vocab)
            scoring = any(stream.logprobs is not None for stream in live.values())
            norms = logsumexp_rows(rows) if scoring else None
            for row, stream in enumerate(live.values()):
                stream.token = stream.sampler.sample(side.context, row)
                stream.position += 1
                if stream.logprobs is not None and norms is not None:
                    stream.logprobs.append(float(rows[row, stream.token]) - float(norms[row]))
        for stream in streams:
            stream.sampler.close()
        return [stream.run.text(llm) for stream in streams]
