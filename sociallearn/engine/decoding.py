"""Low-level llama.cpp decoding: batches refilled in place, logits rows, extra KV contexts."""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Sequence
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import _internals as llama_internals
from llama_cpp._utils import suppress_stdout_stderr

from sociallearn.core.lm import PARALLEL_SEQUENCES

SAMPLE_STREAMS = PARALLEL_SEQUENCES
SIDE_CELLS_STEP = 256  # side-context streams grow in steps of this many tokens
SIDE_CELLS_MAX = 4096  # longer prompt + completion: `sample` falls back to one `complete` each
_LSE_BLOCK = 16  # logits rows normalised per numpy pass (bounds the temporary to 16 rows)


def logsumexp_rows(rows: np.ndarray) -> np.ndarray:
    """log(sum(exp(row))) of each row of a float32 matrix, accumulated in float64."""
    out = np.empty(len(rows), dtype=np.float64)
    for begin in range(0, len(rows), _LSE_BLOCK):
        block = rows[begin : begin + _LSE_BLOCK]
        peak = block.max(axis=1)
        total = np.exp(block - peak[:, None]).sum(axis=1, dtype=np.float64)
        out[begin : begin + _LSE_BLOCK] = peak.astype(np.float64) + np.log(total)
    return out


class Batch:
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


def common_prefix(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray) -> int:
    """Length of the longest common prefix of two token sequences."""
    limit = min(len(a), len(b))
    if not limit:
        return 0
    mismatch = np.flatnonzero(np.asarray(a[:limit]) != np.asarray(b[:limit]))
    return int(mismatch[0]) if mismatch.size else limit


def decode(ctx: Any, batch: Batch, n_outputs: int, n_vocab: int) -> np.ndarray:
    """Run llama_decode; the logits rows of the batch's outputs, in batch order (a view)."""
    status = llama_cpp.llama_decode(ctx, batch.raw)
    if status != 0:
        raise RuntimeError(f"llama_decode failed with status {status}")
    if not n_outputs:
        return np.empty((0, n_vocab), dtype=np.float32)
    pointer = llama_cpp.llama_get_logits(ctx)
    return np.ctypeslib.as_array(pointer, shape=(n_outputs, n_vocab))


def new_context(llm: llama_cpp.Llama, *, streams: int, cells: int) -> Any:
    """Another context on the engine's model and settings: `streams` KV streams of `cells`."""
    params = type(llm.context_params).from_buffer_copy(llm.context_params)
    params.n_seq_max = streams
    params.kv_unified = streams == 1
    params.n_ctx = streams * cells
    with suppress_stdout_stderr(disable=False):
        return llama_internals.LlamaContext(model=llm._model, params=params, verbose=False)


class SideContext:
    """A context with one KV stream per parallel sample (kv_unified=False), grown on demand."""

    def __init__(self, llm: llama_cpp.Llama, streams: int, cells: int) -> None:
        self.streams = streams
        self.cells = cells
        self.context = new_context(llm, streams=streams, cells=cells)
        self.ctx = self.context.ctx
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.batch = Batch(max(streams, llm.n_batch))

    def close(self) -> None:
        self.context.close()

    def load(self, tokens: Sequence[int], n_vocab: int) -> None:
        """Decode `tokens` into stream 0 (emptying the others)."""
        llama_cpp.llama_memory_clear(self.memory, True)
        for begin in range(0, len(tokens), self.batch.capacity):
            chunk = tokens[begin : begin + self.batch.capacity]
            self.batch.fill(chunk, np.arange(begin, begin + len(chunk)), [], [0] * len(chunk))
            decode(self.ctx, self.batch, 0, n_vocab)


def copy_sequence(
    source: Any, target: Any, target_memory: Any, n_cells: int, streams: int, seq: int = 0
) -> bool:
    """Load sequence 0 of a one-stream context into sequence (and KV stream) `seq` of a
    `streams`-stream context, replacing what that sequence held.

    llama.cpp's sequence state starts with the writer's KV stream count, then each stream's cell
    count and cells; a reader with another stream count refuses it, although a single sequence
    fills one stream only. The state is relabelled as `streams` streams, all but the first empty
    (a reader restoring one sequence puts it in that sequence's own stream). Returns False (and
    leaves the sequence empty) when the state is not laid out that way, e.g. a sliding-window
    model's two caches.
    """
    llama_cpp.llama_memory_seq_rm(target_memory, seq, -1, -1)
    size = llama_cpp.llama_state_seq_get_size(source, 0)
    blob = (ctypes.c_uint8 * (size + 4 * (streams - 1)))()
    written = llama_cpp.llama_state_seq_get_data(source, blob, size, 0)
    words = (ctypes.c_uint32 * 4).from_buffer(blob)
    # The KV section opens the state, after a 64-bit tag in recent llama.cpp versions.
    at = next((i for i in (0, 2) if (words[i], words[i + 1]) == (1, n_cells)), None)
    if written != size or at is None:
        return False
    words[at] = streams  # the trailing zero bytes are the empty streams' cell counts
    if llama_cpp.llama_state_seq_set_data(target, blob, len(blob), seq) != len(blob):
        llama_cpp.llama_memory_seq_rm(target_memory, seq, -1, -1)
        return False
    return True
