"""Tests of recsys_lib.retrieval.rerank: MMR and business rules."""

import numpy as np
import pytest

from recsys_lib.eval import intra_list_diversity
from recsys_lib.retrieval import apply_business_rules, mmr_rerank

from .helpers import clustered


def test_mmr_lambda_one_is_the_relevance_order_and_lower_lambda_diversifies():
    x, _, label = clustered(60, 8, n_clusters=6, noise=0.05)
    rng = np.random.default_rng(3)
    cand = np.stack([rng.permutation(60)[:30] for _ in range(5)])
    # relevance favours one cluster strongly
    scores = np.where(label[cand] == label[cand[:, :1]], 5.0, 0.0) + rng.random(
        cand.shape
    )
    top, top_s = mmr_rerank(cand, scores, x, lambda_=1.0, k=8)
    ref = np.take_along_axis(cand, np.argsort(-scores, axis=1, kind="stable")[:, :8], 1)
    np.testing.assert_array_equal(top, ref)
    np.testing.assert_allclose(
        top_s, np.sort(scores, axis=1)[:, ::-1][:, :8], rtol=1e-6
    )
    div = [
        intra_list_diversity(mmr_rerank(cand, scores, x, lam, 8)[0], item_features=x)
        for lam in (1.0, 0.7, 0.3)
    ]
    assert div[0] < div[1] < div[2]
    diverse = mmr_rerank(cand, scores, x, 0.3, 8)[0]
    assert all(len(set(row)) == 8 for row in diverse)


def test_mmr_padding_and_errors():
    x = np.eye(4, dtype=np.float32)
    cand = np.array([[0, 1, -1], [2, 3, 0]])
    scores = np.array([[1.0, 0.5, -np.inf], [0.1, 0.2, 0.3]])
    with pytest.raises(ValueError, match="fewer than k=3"):
        mmr_rerank(cand, scores, x, 0.5, 3)
    items, s = mmr_rerank(cand, scores, x, 0.5, 3, on_short="pad")
    np.testing.assert_array_equal(items[0], [0, 1, -1])
    assert np.isneginf(s[0, 2])
    with pytest.raises(ValueError, match="lambda_"):
        mmr_rerank(cand[1:], scores[1:], x, 1.5, 2)
    with pytest.raises(ValueError, match="nan"):
        mmr_rerank(cand[1:], np.array([[np.nan, 0, 0]]), x, 0.5, 2)
    with pytest.raises(ValueError, match="repeats"):
        mmr_rerank(np.array([[1, 1, 2]]), scores[1:], x, 0.5, 2)
    with pytest.raises(ValueError, match="only 3 items"):
        mmr_rerank(cand[1:], scores[1:], x, 0.5, 4)
    with pytest.raises(ValueError, match="catalog has 4"):
        mmr_rerank(np.array([[1, 5, 2]]), scores[1:], x, 0.5, 2)
    with pytest.raises(ValueError, match="shape"):
        mmr_rerank(cand, scores[:, :2], x, 0.5, 2)


def test_business_rules_stock_exclusion_and_category_cap():
    cand = np.array([[5, 1, 2, 3, 4, 0], [0, 1, 2, 3, 4, 5]])
    scores = np.arange(12, dtype=float).reshape(2, 6)
    in_stock = np.array([True, True, False, True, True, True])
    cats = np.array([0, 0, 1, 1, 1, 0])
    items, s = apply_business_rules(
        cand,
        scores,
        in_stock=in_stock,
        exclude={7: [3]},
        user_ids=[7, 8],
        item_categories=cats,
        max_per_category=1,
    )
    np.testing.assert_array_equal(
        items, [[5, 4, -1, -1, -1, -1], [0, 3, -1, -1, -1, -1]]
    )
    np.testing.assert_allclose(s[:, :2], [[0, 4], [6, 9]])
    only_stock, _ = apply_business_rules(cand, scores, in_stock=in_stock, k=5)
    np.testing.assert_array_equal(only_stock[1], [0, 1, 3, 4, 5])
    with pytest.raises(ValueError, match="fewer than k=5"):
        apply_business_rules(
            cand, scores, in_stock=in_stock, k=5, exclude=[[5], []], on_short="raise"
        )
    with pytest.raises(ValueError, match="user_ids"):
        apply_business_rules(cand, scores, exclude={0: [1]})
    with pytest.raises(ValueError, match="item_categories"):
        apply_business_rules(cand, scores, max_per_category=1)
    with pytest.raises(TypeError, match="bool"):
        apply_business_rules(cand, scores, in_stock=in_stock.astype(int))
