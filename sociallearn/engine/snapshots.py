"""Saved states of the main KV cache: a prompt evaluated before is restored, not decoded again.

Teachers run in parallel threads over one engine, so their calls interleave: a teacher's
sampling prompt, the same prompt again for the ranking of its samples, its classifier's prompt
for the label check, each evaluated after another teacher's prompt has replaced it in the cache.
Before a decode throws away at least `min_tokens` cached tokens, their KV state is copied out
(`llama_state_seq_get_data`, about 29 KB a token on Qwen2.5 1.5B); a later prompt that shares
at least `min_tokens` more with a saved state than with the cache gets that state back
(`llama_state_seq_set_data`) and decodes only what follows it. The restored cells are the bytes
that were decoded, placed from the cache's first cell as a decode into the emptied cache places
them, so what follows is what the plain prefix cache would compute had it kept them.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

import llama_cpp
import numpy as np

from sociallearn.engine.decoding import common_prefix

SNAPSHOT_BYTES = 512 * 2**20  # the most the saved states hold together
MIN_SNAPSHOT_TOKENS = 64


@dataclass(eq=False)  # compared by identity: `tokens` is an array
class _Snapshot:
    tokens: np.ndarray
    state: Any  # a ctypes byte array
    last_used: int


class PrefixSnapshots:
    """Saved KV states of the main context's sequence 0, least recently used dropped first."""

    def __init__(
        self,
        llm: llama_cpp.Llama,
        *,
        max_bytes: int = SNAPSHOT_BYTES,
        min_tokens: int = MIN_SNAPSHOT_TOKENS,
    ) -> None:
        self.llm = llm
        self.max_bytes = max_bytes
        self.min_tokens = min_tokens
        self.saved: list[_Snapshot] = []
        self.restored_tokens = 0  # tokens restored instead of decoded, for profiles
        self._clock = 0

    def prepare(self, tokens: list[int], common: int) -> int:
        """Before the cache is cut back to `common` tokens of `tokens`: save what would be lost,
        restore a saved state that shares more with `tokens`, and return how many of `tokens`
        the cache now holds. The state just saved is the last to be dropped."""
        best, shared = None, common
        for snapshot in self.saved:
            length = common_prefix(snapshot.tokens, tokens)
            if length > shared:
                best, shared = snapshot, length
        if best is not None and shared >= common + self.min_tokens:
            self._clock += 1
            best.last_used = self._clock  # used now, yet older than what is saved next
        else:
            best = None
        if self.llm.n_tokens - common >= self.min_tokens:
            self._save()
        if best is not None:
            common = self._restore(best, tokens)
        self._keep_within_bytes()
        return common

    def _save(self) -> None:
        llm = self.llm
        cached = llm.input_ids[: llm.n_tokens]
        self._clock += 1
        for snapshot in self.saved:
            if common_prefix(snapshot.tokens, cached) == len(cached):
                snapshot.last_used = self._clock  # already saved, with as much or more
                return
        size = llama_cpp.llama_state_seq_get_size(llm.ctx, 0)
        if size > self.max_bytes:
            return
        state = (ctypes.c_uint8 * size)()
        if llama_cpp.llama_state_seq_get_data(llm.ctx, state, size, 0) != size:
            return
        self.saved = [s for s in self.saved if common_prefix(s.tokens, cached) < len(s.tokens)]
        self.saved.append(_Snapshot(cached.copy(), state, self._clock))

    def _restore(self, snapshot: _Snapshot, tokens: list[int]) -> int:
        """Load `snapshot` into the emptied cache; how many of `tokens` it holds (0 if the
        state did not load, and the snapshot is dropped)."""
        llm = self.llm
        memory = llama_cpp.llama_get_memory(llm.ctx)
        llama_cpp.llama_memory_clear(memory, True)
        llm.n_tokens = 0
        llm._requires_eval = True
        state = snapshot.state
        if llama_cpp.llama_state_seq_set_data(llm.ctx, state, len(state), 0) != len(state):
            llama_cpp.llama_memory_clear(memory, True)
            self.saved.remove(snapshot)
            return 0
        n = len(snapshot.tokens)
        llm.input_ids[:n] = snapshot.tokens
        llm.n_tokens = n
        shared = common_prefix(snapshot.tokens, tokens)
        self.restored_tokens += shared
        return shared

    def _keep_within_bytes(self) -> None:
        while sum(len(s.state) for s in self.saved) > self.max_bytes:
            self.saved.remove(min(self.saved, key=lambda s: s.last_used))
