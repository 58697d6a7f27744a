"""The many-streams scorer's grouping of sorted paths along their trie (no model)."""

from __future__ import annotations

import itertools

from sociallearn.engine.decoding import common_prefix
from sociallearn.engine.scoring import _groups, _leaves, _needs


def paths_of(texts: list[str]) -> tuple[list[int], list[int]]:
    paths = sorted(tuple(ord(c) for c in text) for text in texts)
    lcps = [0] + [common_prefix(a, b) for a, b in itertools.pairwise(paths)]
    return lcps, [len(p) for p in paths]


def test_groups_cover_every_path_once_and_respect_the_size():
    texts = [f"P{name}:{code:04d}" for name in "ABCDE" for code in range(0, 700, 37)]
    lcps, lengths = paths_of(texts)
    ranges = _groups(lcps, lengths, 8)
    assert ranges[0][0] == 0 and ranges[-1][1] == len(texts)
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(ranges))
    assert all(0 < b - a <= 8 for a, b in ranges)


def test_a_subtree_that_fits_is_one_group():
    # 5 names × 6 codes: each name's 6 strings share "P<name>:" and fit one group of 8.
    texts = [f"P{name}:{code}" for name in "ABCDE" for code in range(100, 106)]
    lcps, lengths = paths_of(texts)
    assert _groups(lcps, lengths, 8) == [(6 * k, 6 * k + 6) for k in range(5)]


def test_small_subtrees_share_a_group():
    texts = [f"{c}x" for c in "abcdefghij"]  # ten one-string subtrees under the root
    lcps, lengths = paths_of(texts)
    assert _groups(lcps, lengths, 8) == [(0, 8), (8, 10)]


def test_a_path_that_prefixes_the_next_is_read_from_it():
    items = [([1, 2], [3, 4, 5]), ([1, 2], [3, 4]), ([1, 2], [6]), ([1, 7], [8, 9])]
    leaves = _leaves(_needs(items, 100))
    assert [path for path, _ in leaves] == [(1, 2, 3, 4), (1, 7, 8)]
    assert sorted(need.index for need in leaves[0][1]) == [0, 1, 2]
