"""The rank of a target continuation among others by mean log-likelihood (the Secret Sharer's).

The continuations after one prefix form a token trie. Every trie node with children is decoded
once, one token per KV stream per batched decode, in the side context's parallel streams: each
stream walks its part of the trie depth first, cutting its cache back to the node's parent
before each token, and an idle stream takes the shallowest pending node of a busy one together
with a copy of that stream's cache. Where the streams are exact (`StreamSampler.check_streams`),
a node's logits are bit for bit those of one-token decodes of its path after the prefix, so a
continuation's score does not depend on the others ranked with it.

The target's path is walked first. Once its score is known, a subtree is skipped when none of
its continuations can beat it: log-probabilities are at most 0, so every continuation through
node v scores at most L(v) / n, where L(v) is the log-likelihood of the path up to v and n the
longest continuation through v. A skipped continuation scores below the target, so the rank is
the one that scoring every continuation gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import llama_cpp
import numpy as np

from sociallearn.engine.decoding import SIDE_CELLS_MAX, SideContext, decode, logsumexp_rows
from sociallearn.engine.sampling import StreamSampler
from sociallearn.engine.scoring import PrefixScorer


@dataclass(eq=False)
class _Node:
    """A token of the trie; `depth` counts the tokens from the prefix's end, this one included."""

    token: int
    depth: int
    children: dict[int, _Node] = field(default_factory=dict)
    ends: list[int] = field(default_factory=list)  # continuations that end here
    longest: int = 0  # the longest continuation through this node, in tokens
    logprob: float = 0.0  # log-likelihood of the path up to and including this token
    on_target: bool = False


@dataclass
class Walk:
    """What a walk of the trie computed: each continuation's mean log-likelihood (None where
    its subtree was skipped) and the tokens it decoded."""

    scores: list[float | None]
    decoded: int = 0
    decodes: int = 0


class TreeRanker:
    """Ranks continuations of one prefix through their token trie, in parallel KV streams."""

    def __init__(self, scorer: PrefixScorer, sampler: StreamSampler) -> None:
        self.scorer = scorer
        self.sampler = sampler

    def fits(self, prefix: Sequence[int], continuations: Sequence[Sequence[int]]) -> bool:
        """Whether the tree walk is exact and the side context can hold the longest path."""
        longest = max(map(len, continuations), default=0)
        return len(prefix) + longest + 1 <= SIDE_CELLS_MAX and self.sampler.check_streams()

    def rank(
        self, prefix: list[int], target: list[int], others: Sequence[list[int]]
    ) -> tuple[int, Walk]:
        """How many of `others` score strictly higher than `target`, and the walk behind it."""
        walk = self.walk(prefix, [target, *others], target=0)
        best = walk.scores[0]
        assert best is not None  # the target's path is never skipped
        return sum(s is not None and s > best for s in walk.scores[1:]), walk

    def walk(
        self, prefix: list[int], continuations: Sequence[list[int]], *, target: int | None = None
    ) -> Walk:
        """Mean log-likelihood of each continuation after `prefix`; with `target`, subtrees that
        cannot beat the target's score are skipped (their scores are None)."""
        if not prefix:
            raise ValueError("an empty prefix has no token to predict a continuation from")
        if not all(continuations):
            raise ValueError("every continuation needs at least one token")
        root = _Node(prefix[-1], 0)
        for index, tokens in enumerate(continuations):
            node = root
            node.longest = max(node.longest, len(tokens))
            for token in tokens:
                node = node.children.setdefault(token, _Node(token, node.depth + 1))
                node.longest = max(node.longest, len(tokens))
                node.on_target = node.on_target or index == target
            node.ends.append(index)
        base = len(prefix)
        walk = Walk([None] * len(continuations))
        firsts = self.scorer.evaluate(list(prefix), {base - 1: set(root.children)})[base - 1]
        side = self.sampler.side_context(base + root.longest + 1)
        self.sampler.seed_side(side, list(prefix))
        _Walker(side, self.scorer.n_vocab, base, walk, target).run(root, firsts)
        return walk


class _Walker:
    """One walk: a depth-first stack per KV stream, a batched decode per step."""

    def __init__(
        self, side: SideContext, n_vocab: int, base: int, walk: Walk, target: int | None
    ) -> None:
        self.side = side
        self.n_vocab = n_vocab
        self.base = base
        self.walk = walk
        self.target = target
        self.threshold: float | None = None
        self.stacks: list[list[_Node]] = [[] for _ in range(side.streams)]
        self.lengths = [base] + [0] * (side.streams - 1)  # tokens each stream's cache holds

    def run(self, root: _Node, firsts: dict[int, float]) -> None:
        self.expand(0, root, firsts)
        memory = self.side.memory
        while any(self.stacks):
            self.share_work()
            steps: list[tuple[int, _Node]] = []
            for stream, stack in enumerate(self.stacks):
                node = self.next_node(stack)
                if node is None:
                    continue
                position = self.base + node.depth - 1  # the parent's path ends just before
                if self.lengths[stream] > position:
                    llama_cpp.llama_memory_seq_rm(memory, stream, position, -1)
                self.lengths[stream] = position + 1
                steps.append((stream, node))
            if not steps:
                break
            batch = self.side.batch
            batch.fill(
                [node.token for _, node in steps],
                [self.base + node.depth - 1 for _, node in steps],
                range(len(steps)),
                [stream for stream, _ in steps],
            )
            rows = decode(self.side.ctx, batch, len(steps), self.n_vocab)
            norms = logsumexp_rows(rows)
            self.walk.decoded += len(steps)
            self.walk.decodes += 1
            for row, (stream, node) in enumerate(steps):
                tokens = list(node.children)
                values = rows[row, tokens].astype(np.float64) - norms[row]
                self.expand(stream, node, dict(zip(tokens, values.tolist(), strict=True)))

    def expand(self, stream: int, node: _Node, logprobs: dict[int, float]) -> None:
        """Score the node's children from its row; push those with children of their own
        (the target's last, so that it is walked first)."""
        pending = []
        for token, child in node.children.items():
            child.logprob = node.logprob + logprobs[token]
            for index in child.ends:
                score = child.logprob / child.depth
                self.walk.scores[index] = score
                if index == self.target:
                    self.threshold = score
            if child.children:
                pending.append(child)
        pending.sort(key=lambda child: child.on_target)
        self.stacks[stream] += pending

    def hopeless(self, node: _Node) -> bool:
        """Whether no continuation below `node` can score above the target."""
        return (
            self.threshold is not None
            and not node.on_target
            and node.logprob / node.longest < self.threshold
        )

    def next_node(self, stack: list[_Node]) -> _Node | None:
        while stack:
            node = stack.pop()
            if not self.hopeless(node):
                return node
        return None

    def share_work(self) -> None:
        """Give each idle stream the shallowest pending node of the busiest stream, with a copy
        of that stream's cache cut back to the node's parent."""
        memory = self.side.memory
        for idle, stack in enumerate(self.stacks):
            if stack:
                continue
            busiest = max(range(len(self.stacks)), key=lambda s: len(self.stacks[s]))
            donor = self.stacks[busiest]
            while donor and self.hopeless(donor[0]):
                donor.pop(0)
            if len(donor) < 2:
                return
            node = donor.pop(0)
            llama_cpp.llama_memory_seq_cp(memory, busiest, idle, -1, -1)
            position = self.base + node.depth - 1
            llama_cpp.llama_memory_seq_rm(memory, idle, position, -1)
            self.lengths[idle] = position
            stack.append(node)
