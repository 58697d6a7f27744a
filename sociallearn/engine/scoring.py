"""Continuation likelihoods with prefix reuse: the KV cache keeps every evaluated token.

The (prefix, continuation) pairs of one call are visited in token order, so each one shares
everything up to where it differs from the one before; a decode asks llama.cpp for logits only
at the rows that predict a scored token, and each row is normalised once (one log-sum-exp)
however many continuations it scores.

Why one path at a time: in llama-cpp-python 0.3.36 (CPU), a sequence's logits depend on
where its cells lie in a KV cache shared with other sequences. Measured on SmolLM2: the same
prompt and continuation, decoded one token at a time, get logits up to 0.8 apart when another
sequence's cells lie before or between their own than when they are alone in the cache. Decoding
many paths together in one cache (a trie of sequences, many per `llama_decode`) is therefore not
exact, whatever the batch size; separate KV streams are exact only with one token per stream per
decode, which is what `StreamSampler` and `TreeRanker` do.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import llama_cpp
import numpy as np

from sociallearn.core.lm import Score
from sociallearn.engine.decoding import Batch, common_prefix, decode, logsumexp_rows
from sociallearn.engine.snapshots import PrefixSnapshots


@dataclass
class _Need:
    """What one scored item wants from the rows of its decoded path."""

    index: int
    positions: list[int]  # the rows (token positions) predicting each continuation token
    targets: list[int]  # the continuation tokens


class PrefixScorer:
    """Scores continuations in one llama.cpp context, reusing its cached prefix."""

    def __init__(self, llm: llama_cpp.Llama, snapshots: PrefixSnapshots | None = None) -> None:
        self.llm = llm
        self.n_vocab = llm.n_vocab()
        self.batch = Batch(llm.n_batch)
        self.snapshots = snapshots

    def score_items(self, items: Sequence[tuple[list[int], list[int]]]) -> list[Score]:
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
            lcp = -1 if g == 0 else common_prefix(groups[g - 1][0], path)
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
        results = [self.evaluate(list(path), wanted[g]) for g, (path, _) in enumerate(groups)]
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

    def evaluate(
        self, tokens: list[int], wanted: dict[int, set[int]]
    ) -> dict[int, dict[int, float]]:
        """Make the cache hold exactly `tokens`, decoding only what it lacks, and return the
        log-probabilities of the `wanted` next tokens at the `wanted` positions."""
        llm = self.llm
        common = common_prefix(llm.input_ids[: llm.n_tokens], tokens)
        if self.snapshots is not None:
            common = self.snapshots.prepare(tokens, common)
        keep = min(common, min(wanted, default=len(tokens)))  # wanted rows must be decoded
        self.truncate_cache(keep)
        result: dict[int, dict[int, float]] = {}
        batch = self.batch
        for begin in range(keep, len(tokens), batch.capacity):
            chunk = tokens[begin : begin + batch.capacity]
            rows_at = [p for p in range(begin, begin + len(chunk)) if p in wanted]
            batch.fill(chunk, np.arange(begin, begin + len(chunk)), [p - begin for p in rows_at])
            try:
                rows = decode(llm.ctx, batch, len(rows_at), self.n_vocab)
            except RuntimeError:
                self.truncate_cache(begin)
                raise
            llm.input_ids[begin : begin + len(chunk)] = chunk
            llm.n_tokens = begin + len(chunk)
            if rows_at:
                norm = logsumexp_rows(rows)
                for row, position in enumerate(rows_at):
                    targets = sorted(wanted[position])
                    values = rows[row, targets].astype(np.float64) - norm[row]
                    result[position] = dict(zip(targets, values.tolist(), strict=True))
        return result

    def clear(self) -> None:
        """Empty the cache and forget its saved states: the next call evaluates everything."""
        self.truncate_cache(0)
        if self.snapshots is not None:
            self.snapshots.saved.clear()

    def truncate_cache(self, n_tokens: int) -> None:
        self.llm.n_tokens = n_tokens
        self.llm._ctx.kv_cache_seq_rm(-1, n_tokens, -1)
        # The context's logits no longer belong to llama-cpp-python's last eval.
        self.llm._requires_eval = True

    # ------------------------------------------------------------- sampling
