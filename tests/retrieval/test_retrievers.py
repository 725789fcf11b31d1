"""Tests of recsys_lib.retrieval.retrievers: the candidate sources."""

import numpy as np
import pandas as pd
import pytest
import torch
from fakes import build_two_tower, cluster_log

from recsys_lib.eval import full_ranking_topk
from recsys_lib.models import (
    BPRMF,
    EASE,
    GMF,
    MF,
    FeatureMLPRanker,
    GMFConfig,
    MFConfig,
    RankerConfig,
)
from recsys_lib.retrieval import (
    PAD_ITEM,
    EmbeddingRetriever,
    ExactIndex,
    MFRetriever,
    RecentCategoryRetriever,
    ScoreRetriever,
    TwoTowerRetriever,
    item_popularity,
    recall_vs_exact,
    train_two_tower,
)

from .helpers import clustered, interactions


def test_mf_retriever_returns_the_models_top_k_with_train_masked():
    torch.manual_seed(0)
    model = MF(MFConfig.tiny(8, 30, dim=6))
    torch.nn.init.normal_(model.item_bias)  # the bias must take part in retrieval
    train = interactions(8, 30)
    ref = full_ranking_topk(model, train, k=5, users=np.arange(8))
    for index in ("exact", "flat"):
        items, scores = MFRetriever(model, index=index).retrieve(np.arange(8), 5, train)
        np.testing.assert_array_equal(items, ref, err_msg=index)
    with pytest.raises(TypeError, match="dot product"):
        MFRetriever(GMF(GMFConfig.tiny(8, 30)))
    with pytest.raises(TypeError, match="FeatureMLPRanker"):
        MFRetriever(FeatureMLPRanker(RankerConfig.tiny(8, 30)))


def test_mf_retriever_takes_a_fitted_bprmf_and_ignores_per_user_terms():
    train = cluster_log(30, 24)
    bpr = BPRMF(dim=4, epochs=2, seed=0).fit(train, 30, 24)
    users = np.arange(30)
    items, _ = MFRetriever(bpr).retrieve(users, 5, exclude=train)
    np.testing.assert_array_equal(items, bpr.recommend(users, 5, exclude=train).items)
    with pytest.raises(ValueError, match="not fitted"):
        MFRetriever(BPRMF())
    torch.manual_seed(2)
    model = MF(MFConfig.tiny(30, 24, user_bias=True))  # b_u and b: per-user terms
    for p in (model.user_bias, model.item_bias):
        torch.nn.init.normal_(p)
    items, _ = MFRetriever(model).retrieve(users, 5, exclude=train)
    np.testing.assert_array_equal(items, model.recommend(users, 5, exclude=train).items)


def test_score_retriever_takes_any_scorer_or_a_score_function():
    train = cluster_log(30, 24)
    users = np.array([4, 0, 29, 4])
    ease = EASE(l2_reg=5.0).fit(train, 30, 24)
    ret = ScoreRetriever(ease)
    assert (ret.name, ret.n_users, ret.n_items) == ("EASE", 30, 24)
    items, scores = ret.retrieve(users, 6, exclude=train)
    rec = ease.recommend(users, 6, exclude=train)  # equal scores may tie differently
    np.testing.assert_allclose(scores, rec.scores, rtol=1e-6)
    full = ease.score(users).numpy()
    np.testing.assert_allclose(np.take_along_axis(full, items, 1), scores, rtol=1e-6)
    bought = train.groupby("user_id").item_id.apply(set)
    assert not any(set(row) & bought[u] for row, u in zip(items, users, strict=True))
    tower = build_two_tower(30, 24)
    train_two_tower(tower, train, epochs=1, batch_size=32)
    items, _ = ScoreRetriever(tower, name="tt").retrieve(users, 6, exclude=train)
    np.testing.assert_array_equal(items, tower.recommend(users, 6, exclude=train).items)
    # a function: -inf marks what is not a candidate; ties go to the smaller id
    fn = ScoreRetriever(
        lambda u: np.where(np.arange(10) % 2 == 0, 1.0, -np.inf)[None].repeat(
            u.size, 0
        ),
        n_items=10,
    )
    assert fn.name == "<lambda>"
    items, _ = fn.retrieve([0, 1], 6, on_short="pad")
    np.testing.assert_array_equal(items[0], [0, 2, 4, 6, 8, PAD_ITEM])
    with pytest.raises(ValueError, match="needs n_items"):
        ScoreRetriever(lambda u: u)
    with pytest.raises(ValueError, match="fitted"):
        ScoreRetriever(EASE())
    with pytest.raises(ValueError, match="read from the scorer"):
        ScoreRetriever(ease, n_items=24)
    with pytest.raises(TypeError, match="score"):
        ScoreRetriever(3)
    with pytest.raises(ValueError, match=r"expected \(2, 10\)"):
        ScoreRetriever(lambda u: np.zeros((u.size, 9)), n_items=10).retrieve([0, 1], 2)
    with pytest.raises(ValueError, match="nan"):
        ScoreRetriever(lambda u: np.full((u.size, 4), np.nan), n_items=4).retrieve(
            [0], 1
        )


def test_embedding_retriever_with_hnsw_and_bad_vectors():
    x, q, _ = clustered(500, 8)
    exact = EmbeddingRetriever(q, x)
    approx = EmbeddingRetriever(q, x, index="hnsw", index_params={"ef_search": 64})
    users = np.arange(q.shape[0])
    assert (
        recall_vs_exact(
            approx.retrieve(users, 10).items, exact.retrieve(users, 10).items
        )
        > 0.9
    )
    with pytest.raises(ValueError, match="dimensions"):
        EmbeddingRetriever(q[:, :4], x)
    with pytest.raises(ValueError, match="holds 499 vectors"):
        EmbeddingRetriever(q, x, index=ExactIndex(x[:499]))


def test_recent_category_retriever_scores_and_cold_users():
    cats = np.array([0, 0, 0, 1, 1, 2, 2])
    pop = np.array([3.0, 1.0, 0.0, 5.0, 5.0, 9.0, 1.0])
    pad = 7
    hist = np.array([[pad, 0, 3, 1], [pad, pad, pad, pad], [5, 5, 5, 3]])
    ret = RecentCategoryRetriever(cats, pop, hist, n_recent=3)
    items, scores = ret.retrieve([0], 5)
    # P(cat 0) = 2/3, P(cat 1) = 1/3; P(i | 0) = 3/4, 1/4, 0; P(i | 1) = 1/2;
    # ties (1/6) go to the smaller item id
    np.testing.assert_array_equal(items[0], [0, 1, 3, 4, 2])
    np.testing.assert_allclose(scores[0], [0.5, 1 / 6, 1 / 6, 1 / 6, 0.0], rtol=1e-6)
    assert set(ret.retrieve([2], 3).items[0]) == {3, 4, 5}  # n_recent=3: cat 2 and 1
    np.testing.assert_array_equal(ret.has_history, [True, False, True])
    with pytest.raises(ValueError, match="user 1: 0"):
        ret.retrieve([1], 2)
    assert (ret.retrieve([1], 2, on_short="pad").items == PAD_ITEM).all()
    with pytest.raises(ValueError, match="padding id 7"):
        RecentCategoryRetriever(cats, pop, hist + 1)
    with pytest.raises(ValueError, match="entries"):
        RecentCategoryRetriever(cats, pop[:3], hist)


def test_item_popularity_counts_all_or_a_recent_window():
    df = pd.DataFrame(
        {
            "user_id": [0, 0, 1, 0],
            "item_id": [2, 1, 2, 3],
            "timestamp": [0, 86_400 * 5, 10, 86_400 * 6],
        }
    )
    np.testing.assert_array_equal(item_popularity(df, 5), [0, 1, 2, 1, 0])
    np.testing.assert_array_equal(
        item_popularity(df, 5, window_days=2), [0, 1, 0, 1, 0]
    )
    with pytest.raises(ValueError, match="item id 3"):
        item_popularity(df, 3)
    with pytest.raises(ValueError, match="window_days"):
        item_popularity(df, 5, window_days=0)


def test_two_tower_retriever_needs_a_two_tower_model():
    with pytest.raises(TypeError, match="TwoTowerModel"):
        TwoTowerRetriever(MF(MFConfig.tiny(8, 10)))
    df = pd.DataFrame({"user_id": [0], "item_id": [1]})
    with pytest.raises(ValueError, match="window"):
        item_popularity(df, 3, window_days=1)
