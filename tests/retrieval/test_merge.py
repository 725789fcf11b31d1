"""Tests of recsys_lib.retrieval.merge: quotas, round-robin, cold-start fallback."""

import numpy as np
import pytest

from recsys_lib.retrieval import (
    MergedRetriever,
    RecentCategoryRetriever,
    merge_candidates,
)
from recsys_lib.retrieval.merge import _largest_remainder

from .helpers import pop_retriever


def test_merge_with_quotas_dedups_and_keeps_quotas():
    a = pop_retriever(np.arange(10), "a")  # 0, 1, 2, ...
    b = pop_retriever([1, 3, 5, 7, 9, 0, 2, 4, 6, 8], "b")
    merged = MergedRetriever({"a": a, "b": b}, quotas={"a": 1, "b": 1})
    cand = merged.retrieve([0, 1], 4)
    np.testing.assert_array_equal(cand.items, [[0, 1, 3, 5]] * 2)  # b skips 1 (taken)
    np.testing.assert_array_equal(cand.source, [[0, 0, 1, 1]] * 2)
    assert cand.source_counts() == {"a": 4, "b": 4}
    np.testing.assert_array_equal(cand.from_source("b")[0], [False, False, True, True])
    # quotas are shares: 3:1 of k=8 is 6 + 2, never a duplicate
    cand = MergedRetriever({"a": a, "b": b}, quotas={"a": 3, "b": 1}).retrieve([0], 8)
    assert (cand.source[0] == 0).sum() == 6 and (cand.source[0] == 1).sum() == 2
    assert len(set(cand.items[0])) == 8
    np.testing.assert_array_equal(cand.items[0], [0, 1, 2, 3, 4, 5, 7, 9])


def test_merge_round_robin_and_refill_when_a_source_runs_short():
    a = pop_retriever(np.arange(10), "a")
    b = pop_retriever([1, 3, 5, 7, 9, 0, 2, 4, 6, 8], "b")
    cand = MergedRetriever({"a": a, "b": b}).retrieve([0], 5)
    np.testing.assert_array_equal(
        cand.items[0], [0, 1, 3, 2, 5]
    )  # a0 b0 (a1=1 dup) b1 a2 b2
    np.testing.assert_array_equal(cand.source[0], [0, 1, 1, 0, 1])
    # a source with two candidates only: its unused quota goes to the other
    short = (np.array([[7, 8, -1, -1]]), np.array([[2.0, 1.0, -np.inf, -np.inf]]))
    full = (np.array([[7, 0, 1, 2]]), np.array([[4.0, 3.0, 2.0, 1.0]]))
    items, scores, source = merge_candidates([short, full], 4, quotas=[3, 1])
    np.testing.assert_array_equal(items[0], [7, 8, 0, 1])
    np.testing.assert_array_equal(source[0], [0, 0, 1, 1])
    np.testing.assert_allclose(scores[0], [2.0, 1.0, 3.0, 2.0])
    with pytest.raises(ValueError, match="one per source"):
        merge_candidates([short, full], 4, quotas=[1])
    with pytest.raises(ValueError, match="not all 0"):
        merge_candidates([short, full], 4, quotas=[0, 0])


def test_cold_users_fall_back_to_the_named_retriever():
    n_items = 10
    pop = pop_retriever(np.arange(n_items))
    hist = np.full((3, 2), n_items)
    hist[0] = [4, 5]  # only user 0 has a history
    cats = np.arange(n_items) % 2
    recent = RecentCategoryRetriever(cats, np.ones(n_items), hist)
    merged = MergedRetriever(
        {"recent": recent, "popularity": pop},
        quotas={"recent": 1, "popularity": 0},
        fallback="popularity",
        has_history=recent.has_history,
    )
    cand = merged.retrieve([0, 1, 2], 4, exclude={1: [0]})
    np.testing.assert_array_equal(cand.fallback, [False, True, True])
    assert cand.source_names == ("recent", "popularity")
    assert (cand.source[0] == 0).all() and (cand.source[1:] == 1).all()
    np.testing.assert_array_equal(cand.items[1], [1, 2, 3, 4])  # exclusion applies
    np.testing.assert_array_equal(cand.items[2], [0, 1, 2, 3])
    assert (
        set(cand.items[0]) <= {0, 2, 4, 6, 8, 1, 3, 5, 7, 9}
        and len(set(cand.items[0])) == 4
    )
    # a separate fallback retriever is named by its own name
    other = MergedRetriever(
        {"recent": recent},
        fallback=pop_retriever(np.arange(n_items), "pop"),
        has_history=recent.has_history,
    )
    assert other.retrieve([1], 2).source_names == ("recent", "pop")


def test_merged_retriever_configuration_errors():
    a, b = pop_retriever(np.arange(5), "a"), pop_retriever(np.arange(5), "b")
    with pytest.raises(ValueError, match="every source"):
        MergedRetriever({"a": a, "b": b}, quotas={"a": 1})
    with pytest.raises(ValueError, match=">= 0"):
        MergedRetriever({"a": a, "b": b}, quotas={"a": 1, "b": -1})
    with pytest.raises(ValueError, match="all 0"):
        MergedRetriever({"a": a, "b": b}, quotas={"a": 0, "b": 0})
    with pytest.raises(ValueError, match="together"):
        MergedRetriever({"a": a}, fallback="a")
    with pytest.raises(ValueError, match="not one of"):
        MergedRetriever({"a": a}, fallback="z", has_history=np.ones(3, bool))
    with pytest.raises(ValueError, match="catalog size"):
        MergedRetriever({"a": a, "c": pop_retriever(np.arange(6), "c")})
    with pytest.raises(TypeError, match="bool"):
        MergedRetriever({"a": a}, fallback="a", has_history=np.ones(3))


def reference_merge(lists, k, quotas):
    """merge_candidates, one row and one item at a time."""
    B = lists[0][0].shape[0]
    q = _largest_remainder(np.asarray(quotas, float), k) if quotas is not None else None
    out = np.full((B, k), -1)
    src = np.full((B, k), -1)
    for r in range(B):
        chosen = []
        if q is not None:
            for s, (it, _) in enumerate(lists):
                new = [i for i in it[r] if i >= 0 and i not in {c for c, _ in chosen}]
                chosen += [(i, s) for i in new[: q[s]]]
        for j in range(max(it.shape[1] for it, _ in lists)):  # round-robin refill
            for s, (it, _) in enumerate(lists):
                if len(chosen) < k and j < it.shape[1]:
                    i = it[r, j]
                    if i >= 0 and i not in {c for c, _ in chosen}:
                        chosen.append((i, s))
        for p, (i, s) in enumerate(chosen):
            out[r, p], src[r, p] = i, s
    return out, src


@pytest.mark.parametrize("quotas", [None, [1, 0, 2], [0.2, 0.5, 0.3]])
def test_merge_candidates_matches_a_row_by_row_reference(quotas):
    rng = np.random.default_rng(11)
    lists = []
    for width in (12, 7, 15):
        it = np.stack([rng.permutation(40)[:width] for _ in range(30)])
        n_real = rng.integers(0, width + 1, 30)  # padding at the end of each row
        it[np.arange(width)[None, :] >= n_real[:, None]] = -1
        sc = np.where(it >= 0, -np.arange(width, dtype=np.float32), -np.inf)
        lists.append((it, sc.astype(np.float32)))
    items, scores, source = merge_candidates(lists, 20, quotas=quotas)
    ref_items, ref_source = reference_merge(lists, 20, quotas)
    np.testing.assert_array_equal(items, ref_items)
    np.testing.assert_array_equal(source, ref_source)
    assert (
        np.isneginf(scores[items < 0]).all() and np.isfinite(scores[items >= 0]).all()
    )
