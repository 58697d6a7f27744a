"""Continuation likelihoods with prefix reuse: shared tokens are decoded once.

Two paths, with the same results to llama.cpp's rounding (measured on SmolLM2: below 1e-5):

- one path at a time (`PrefixScorer.score_sequential`), in the engine's own context: the
  (prefix, continuation) pairs of one call are visited in token order, so each one shares
  everything up to where it differs from the one before; a decode asks llama.cpp for logits only
  at the rows that predict a scored token;
- many paths per decode (`StreamScorer`), in a side context with one KV stream per sequence:
  the sorted paths are cut into groups of up to `STREAMS` along their token trie (e.g. the
  strings that share a name and a template up to a secret code); a group's common prefix (its
  stem: the student's prompt and the shared text) is decoded once into stream 0 (only where it
  departs from the previous group's) and copied into the other streams, and the rest of every
  path of the group is decoded in its own stream, all in one `llama_decode`. Many short
  continuations then cost a few large decodes instead of many small ones.

Either way each row is normalised once (one log-sum-exp) however many continuations it scores.
`PrefixScorer.score_items` takes the streams where a one-time check finds their
log-likelihoods within `STREAM_TOLERANCE` of one-path-at-a-time decodes and the call has at
least `STREAM_MIN_PATHS` distinct paths. (One unified KV buffer shared by all sequences, which
would let the trie's nodes be decoded once each, gives wrong logits in this llama.cpp build when
several sequences share a batch: ggml-org/llama.cpp#24962; measured here up to 0.35 nats.)
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import llama_cpp
import numpy as np

from sociallearn.engine.decoding import (
    Batch,
    SideContext,
    common_prefix,
    decode,
    logsumexp_rows,
    new_context,
)
from sociallearn.lm import Score

STREAMS = 32  # KV streams (paths decoded together) of the side context
STREAM_CELLS_STEP = 256  # a stream's cells grow in steps of this many
STREAM_BATCH = 512  # most tokens per decode (all streams together)
STREAM_MIN_PATHS = 4  # fewer distinct paths in a call: one path at a time
STREAM_TOLERANCE = 1e-4  # largest |Δ log-likelihood| the check accepts (the project's tolerance)


@dataclass
class _Need:
    """What one scored item wants from the rows of its decoded path."""

    index: int
    positions: list[int]  # the rows (token positions) predicting each continuation token
    targets: list[int]  # the continuation tokens


def _needs(
    items: Sequence[tuple[list[int], list[int]]], n_ctx: int
) -> dict[tuple[int, ...], list[_Need]]:
    """The items' needs by decoded path (prefix + continuation[:-1]); empty continuations
    need nothing."""
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
    return by_path


def _leaves(
    by_path: dict[tuple[int, ...], list[_Need]],
) -> list[tuple[tuple[int, ...], list[_Need]]]:
    """Paths in token order, each path that is a prefix of the next one merged into it (its
    rows are the next one's): (leaf path, the needs it serves)."""
    order = sorted(by_path)
    groups: list[tuple[tuple[int, ...], list[_Need]]] = []
    carried: list[_Need] = []
    for k, path in enumerate(order):
        carried += by_path[path]
        following = order[k + 1] if k + 1 < len(order) else None
        if following is None or following[: len(path)] != path:
            groups.append((path, carried))
            carried = []
    return groups


class PrefixScorer:
    """Scores continuations in one llama.cpp context, reusing its cached prefix."""

    def __init__(self, llm: llama_cpp.Llama) -> None:
        self.llm = llm
        self.n_vocab = llm.n_vocab()
        self.batch = Batch(llm.n_batch)
        # Off by default: in this llama.cpp build, decodes with several tokens per stream give
        # logits that differ from one-path decodes (see StreamScorer.check).
        self.use_streams = False
        self.streams = StreamScorer(llm)

    def score_items(self, items: Sequence[tuple[list[int], list[int]]]) -> list[Score]:
        """Scores of (prefix tokens, continuation tokens) items: many paths per decode where
        that is exact (see `StreamScorer`), else one path at a time."""
        if self.use_streams:
            scores = self.streams.score_items(items)
            if scores is not None:
                return scores
        return self.score_sequential(items)

    def score_sequential(self, items: Sequence[tuple[list[int], list[int]]]) -> list[Score]:
        """Scores of (prefix tokens, continuation tokens) items, one path at a time.

        Item i needs the rows of its path, prefix + continuation[:-1], from position
        len(prefix) - 1 on. Paths are decoded in token order, each from where it parts from the
        one before (a path that is a prefix of the next is read from the next one's decode), and
        a row shared by several paths is computed once, by the first of them, for all the
        tokens they ask of it.
        """
        scores: list[Score] = [Score(0.0, 0)] * len(items)
        groups = _leaves(_needs(items, self.llm.n_ctx()))
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

    def truncate_cache(self, n_tokens: int) -> None:
        self.llm.n_tokens = n_tokens
        self.llm._ctx.kv_cache_seq_rm(-1, n_tokens, -1)
        # The context's logits no longer belong to llama-cpp-python's last eval.
        self.llm._requires_eval = True


def _rows_logprobs(
    rows: np.ndarray, keys: Sequence[Any], wanted: dict[Any, set[int]], into: dict[Any, Any]
) -> None:
    """Log-probabilities of each key's wanted tokens from its logits row, into `into`."""
    if not keys:
        return
    norm = logsumexp_rows(rows)
    for row, key in enumerate(keys):
        targets = sorted(wanted[key])
        values = rows[row, targets].astype(np.float64) - norm[row]
        into[key] = dict(zip(targets, values.tolist(), strict=True))


def _groups(lcps: list[int], lengths: list[int], size: int) -> list[tuple[int, int]]:
    """Sorted paths (lcps[j]: tokens path j shares with path j - 1; lengths[j]: its length) cut
    into ranges of at most `size` paths along their trie.

    A subtree of at most `size` paths is one range; a larger one is split at its root's
    children, and consecutive children of fewer than size / 4 paths share a range (their
    common prefix is then shorter, but few paths pay for it).
    """
    out: list[tuple[int, int]] = []

    def split(a: int, b: int) -> None:
        if b - a <= size:
            out.append((a, b))
            return
        depth = min(lcps[a + 1 : b])
        cuts = [a] + [j for j in range(a + 1, b) if lcps[j] == depth] + [b]
        pack: tuple[int, int] | None = None
        for lo, hi in itertools.pairwise(cuts):
            if hi - lo < size // 4:
                if pack is not None and hi - pack[0] <= size:
                    pack = (pack[0], hi)
                    continue
                if pack is not None:
                    out.append(pack)
                pack = (lo, hi)
                continue
            if pack is not None:
                out.append(pack)
                pack = None
            split(lo, hi)
        if pack is not None:
            out.append(pack)

    split(0, len(lengths))
    return out


class StreamScorer:
    """Scores many paths per decode in a side context with one KV stream per path.

    The context's KV streams are separate (kv_unified=False), as `StreamSampler`'s: each path's
    tokens attend to its own stream only. Stream 0 keeps the last group's stem (and first path)
    between calls, so the student's prompt is decoded once for all the strings scored after it.
    """

    def __init__(self, llm: llama_cpp.Llama) -> None:
        self.llm = llm
        self.n_vocab = llm.n_vocab()
        self.side: SideContext | None = None
        self.held: list[int] = []  # what stream 0 holds
        self.exact: bool | None = None  # see check
        self.largest_difference: float | None = None  # the check's max |Δ log-likelihood|

    def _ensure(self, cells: int) -> SideContext:
        cells = -(-cells // STREAM_CELLS_STEP) * STREAM_CELLS_STEP
        if self.side is None or self.side.cells < cells:
            self.close()
            self.side = SideContext(self.llm, STREAMS, cells)
        return self.side

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
        self.side = None
        self.held = []

    def _forget(self) -> None:
        """Empty the side context (after a failed decode its contents are unknown)."""
        if self.side is not None:
            llama_cpp.llama_memory_clear(self.side.memory, True)
        self.held = []

    # ---------------------------------------------------------------- scoring
    def score_items(self, items: Sequence[tuple[list[int], list[int]]]) -> list[Score] | None:
        """Scores of (prefix tokens, continuation tokens) items, or None where the streams do
        not apply (few distinct paths, a model whose batched logits are not exact)."""
        by_path = _needs(items, self.llm.n_ctx())
        if len(by_path) < STREAM_MIN_PATHS or not self.check():
            return None
        try:
            return self._score(items, _leaves(by_path))
        except RuntimeError:
            self._forget()
            raise

    def _score(
        self,
        items: Sequence[tuple[list[int], list[int]]],
        leaves: list[tuple[tuple[int, ...], list[_Need]]],
    ) -> list[Score]:
        paths = [path for path, _ in leaves]
        lcps = [0] + [common_prefix(a, b) for a, b in itertools.pairwise(paths)]
        ranges = _groups(lcps, [len(p) for p in paths], STREAMS - 1)
        stems = [
            common_prefix(paths[a], paths[b - 1]) if b - a > 1 else len(paths[a]) for a, b in ranges
        ]
        group_of = np.repeat(np.arange(len(ranges)), [b - a for a, b in ranges])
        # Each row is read once, from the first path of the run of paths that agree up to it
        # (as in score_sequential): in its group's stem decode, or in that path's stream.
        wanted: dict[tuple[int, int], set[int]] = {}
        keys: dict[int, list[tuple[int, int]]] = {}
        stack_lcp: list[int] = []
        stack_leaf: list[int] = []
        for j, (_, needs) in enumerate(leaves):
            lcp = -1 if j == 0 else lcps[j]
            while stack_lcp and stack_lcp[-1] >= lcp:
                stack_lcp.pop()
                stack_leaf.pop()
            stack_lcp.append(lcp)
            stack_leaf.append(j)
            for need in needs:
                found = keys[need.index] = []
                for position, target in zip(need.positions, need.targets, strict=True):
                    owner = stack_leaf[bisect.bisect_right(stack_lcp, position) - 1]
                    wanted.setdefault((owner, position), set()).add(target)
                    found.append((owner, position))
        side = self._ensure(max(map(len, paths)) + 1)
        by_group: list[dict[tuple[int, int], set[int]]] = [{} for _ in ranges]
        for key, targets in wanted.items():
            by_group[group_of[key[0]]][key] = targets
        results: dict[tuple[int, int], dict[int, float]] = {}
        for g, (a, b) in enumerate(ranges):
            self._decode_group(side, paths, a, b, stems[g], by_group[g], results)
        scores: list[Score] = [Score(0.0, 0)] * len(items)
        for _, needs in leaves:
            for need in needs:
                total = sum(
                    results[key][target]
                    for key, target in zip(keys[need.index], need.targets, strict=True)
                )
                scores[need.index] = Score(float(total), len(need.targets))
        return scores

    def _decode_group(
        self,
        side: SideContext,
        paths: list[tuple[int, ...]],
        a: int,
        b: int,
        stem: int,
        wanted: dict[tuple[int, int], set[int]],
        results: dict[tuple[int, int], dict[int, float]],
    ) -> None:
        """Paths a..b-1: their stem into stream 0 and from there into streams 1..b-a-1, then
        the rest of path j in stream j - a, together; the `wanted` rows into `results`."""
        batch = side.batch
        first = list(paths[a])
        stem_rows = {p for (_, p) in wanted if p < stem}
        common = common_prefix(self.held, first[:stem])
        keep = min(common, min(stem_rows, default=stem))
        llama_cpp.llama_memory_seq_rm(side.memory, 0, keep, -1)
        self.held = self.held[:keep]
        for begin in range(keep, stem, batch.capacity):
            chunk = first[begin : min(begin + batch.capacity, stem)]
            span = range(begin, begin + len(chunk))
            rows_at = [(a, p) for p in span if p in stem_rows]
            batch.fill(
                chunk,
                np.arange(begin, begin + len(chunk)),
                [p - begin for p in span if p in stem_rows],
                [0] * len(chunk),
            )
            rows = decode(side.ctx, batch, len(rows_at), self.n_vocab)
            _rows_logprobs(rows, rows_at, wanted, results)
            self.held = first[: begin + len(chunk)]
        for stream in range(1, b - a + 1):
            llama_cpp.llama_memory_seq_rm(side.memory, stream, -1, -1)
            llama_cpp.llama_memory_seq_cp(side.memory, 0, stream, -1, -1)
        # Depth-major: each decode holds the next tokens of many streams, at most STREAM_BATCH.
        nodes = sorted((depth, j) for j in range(a, b) for depth in range(stem, len(paths[j])))
        width = min(batch.capacity, STREAM_BATCH)
        for start in range(0, len(nodes), width):
            nodes_chunk = nodes[start : start + width]
            rows_keys = [(j, depth) for depth, j in nodes_chunk if (j, depth) in wanted]
            batch.fill(
                [paths[j][depth] for depth, j in nodes_chunk],
                [depth for depth, _ in nodes_chunk],
                [i for i, (depth, j) in enumerate(nodes_chunk) if (j, depth) in wanted],
                [j - a + 1 for _, j in nodes_chunk],
            )
            rows = decode(side.ctx, batch, len(rows_keys), self.n_vocab)
            _rows_logprobs(rows, rows_keys, wanted, results)
        self.held = first[:stem]

    # ------------------------------------------------------------------ check
    def check(self) -> bool:
        """Whether decoding many paths in separate KV streams gives one-path-at-a-time
        log-likelihoods within `STREAM_TOLERANCE`, on a probe of 40 paths (two groups, ubatches
        of many tokens per stream) against each path decoded alone in a fresh context.

        Checked once per engine; recurrent and hybrid models, and sliding-window models whose
        streams do not copy, are not tried.
        """
        if self.exact is not None:
            return self.exact
        llm = self.llm
        self.exact = False
        if llama_cpp.llama_model_is_recurrent(llm.model) or llama_cpp.llama_model_is_hybrid(
            llm.model
        ):
            return False
        base = llm.tokenize(
            b"Probe: the quick brown fox jumps over the lazy dog, twice, then naps in the sun.",
            add_bos=True,
            special=False,
        )
        words = [b" and", b" then", b" 1234", b" 98", b" fox", b" naps", b" the sun", b" dog"]
        items = []
        for k in range(40):
            tail = words[k % 8] + words[(3 * k) % 8] + words[(5 * k + 1) % 8] + b"." * (k % 3)
            items.append((list(base), llm.tokenize(tail, add_bos=False, special=False)))
        items.append((base[:5], base[5:]))  # rows inside the stem
        try:
            got = self._score(items, _leaves(_needs(items, llm.n_ctx())))
        except RuntimeError:
            self._forget()
            return False
        reference = new_context(llm, streams=1, cells=STREAM_CELLS_STEP)
        try:
            memory = llama_cpp.llama_get_memory(reference.ctx)
            batch = Batch(llm.n_batch)
            worst = 0.0
            for (prefix, continuation), score in zip(items, got, strict=True):
                llama_cpp.llama_memory_clear(memory, True)
                path = prefix + continuation[:-1]
                rows_at = list(range(len(prefix) - 1, len(path)))
                batch.fill(path, np.arange(len(path)), rows_at)
                rows = decode(reference.ctx, batch, len(rows_at), self.n_vocab)
                norm = logsumexp_rows(rows)
                total = sum(float(rows[r, t]) - norm[r] for r, t in enumerate(continuation))
                worst = max(worst, abs(total - score.logprob))
        finally:
            reference.close()
        self._forget()
        self.largest_difference = worst
        self.exact = worst <= STREAM_TOLERANCE
        return self.exact
