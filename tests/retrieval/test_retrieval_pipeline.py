"""Tests of recsys_lib.retrieval.pipeline: the three stages and candidate recall."""

import numpy as np
import pytest
from fakes import build_two_tower, cluster_log

from recsys_lib.models import EASE, MF, MFConfig
from recsys_lib.retrieval import (
    Candidates,
    MergedRetriever,
    Pipeline,
    PopularityRetriever,
    TwoTowerRetriever,
    candidate_recall,
    item_popularity,
    mmr_rerank,
    train_two_tower,
    two_stage_recommend,
)

from .helpers import interactions, pop_retriever


class ItemIdRanker:
    """A ranker that prefers larger item ids (scores pairs: (M,), (M,) -> (M,))."""

    def __call__(self, users, items):
        return items.float()


def test_pipeline_ranks_candidates_records_latency_and_recall():
    n_items = 20
    ret = pop_retriever(np.arange(n_items))  # candidates: the N most popular
    bought = interactions(4, n_items)
    res = Pipeline(ret, ItemIdRanker(), n_candidates=6, k=3, batch_size=3).recommend(
        np.arange(4), exclude=bought
    )
    assert res.items.shape == (4, 3) and res.candidates.items.shape == (4, 6)
    for u in range(4):
        cand = res.candidates.items[u]
        assert not set(cand) & {u, u + 1}
        np.testing.assert_array_equal(res.items[u], np.sort(cand)[::-1][:3])
    np.testing.assert_array_equal(res.batch_sizes, [3, 1])
    table = res.latency()
    assert list(table.index) == ["retrieval", "ranking", "reranking", "total"]
    assert (table["total_s"] >= 0).all()
    np.testing.assert_allclose(
        table.loc["total", "total_s"], table["total_s"].iloc[:3].sum(), rtol=1e-9
    )
    # item 7 is a candidate of every user (the 6 most popular items not bought), 19 of none
    assert res.candidate_recall([[7]] * 4) == 1.0
    assert res.candidate_recall([[19, 7]] * 4) == 0.5
    # a re-ranker gets the ranked candidates and k
    seen = {}

    def rerank(users, items, scores, k):
        seen["shape"] = items.shape
        return items[:, ::-1][:, :k], scores[:, ::-1][:, :k]

    res2 = two_stage_recommend(
        ret, np.arange(2), ItemIdRanker(), n_candidates=6, k=2, rerank=rerank
    )
    assert seen["shape"] == (2, 6)
    np.testing.assert_array_equal(res2.items, [[0, 1]] * 2)
    with pytest.raises(ValueError, match="larger than n_candidates"):
        Pipeline(ret, n_candidates=3, k=4)
    with pytest.raises(ValueError, match="only 20 items"):
        Pipeline(ret, n_candidates=21)


def test_pipeline_with_models_end_to_end():
    model = build_two_tower()
    log = cluster_log()
    train_two_tower(model, log, epochs=2, batch_size=64, seed=0)
    pop = PopularityRetriever(item_popularity(log, 24))
    merged = MergedRetriever(
        {"two_tower": TwoTowerRetriever(model), "popularity": pop},
        quotas={"two_tower": 3, "popularity": 1},
        fallback="popularity",
        has_history=model.has_history,
    )
    ranker = MF(MFConfig.tiny(40, 24))
    x = model.item_vectors().numpy()
    res = Pipeline(
        merged,
        ranker,
        n_candidates=12,
        k=4,
        rerank=lambda u, i, s, k: mmr_rerank(i, s, x, 0.7, k),
    ).recommend(np.arange(40), exclude=log)
    assert isinstance(res.candidates, Candidates)
    assert res.candidates.source_names == ("two_tower", "popularity")
    bought = log.groupby("user_id").item_id.apply(set)
    for u in range(40):
        assert not set(res.items[u]) & bought[u]
        assert set(res.items[u]) <= set(res.candidates.items[u])
    counts = res.candidates.source_counts()
    assert counts == {"two_tower": 40 * 9, "popularity": 40 * 3}


def test_pipeline_ranks_with_any_scorer_read_at_the_candidates():
    log = cluster_log(30, 24)
    ease = EASE(l2_reg=5.0).fit(log, 30, 24)
    ret = PopularityRetriever(item_popularity(log, 24))
    res = Pipeline(ret, ease, n_candidates=10, k=4, batch_size=7).recommend(
        np.arange(30), exclude=log
    )
    full = ease.score(np.arange(30)).numpy()
    ref = np.take_along_axis(full, res.candidates.items, 1)
    order = np.argsort(-ref, axis=1, kind="stable")
    np.testing.assert_array_equal(
        res.ranked_items, np.take_along_axis(res.candidates.items, order, 1)
    )
    np.testing.assert_allclose(res.ranked_scores, np.take_along_axis(ref, order, 1))
    with pytest.raises(TypeError, match="score"):
        Pipeline(ret, ranker=3)


def test_candidate_recall_hand_example_and_errors():
    cand = np.array([[1, 2, -1], [4, 5, 6]])
    np.testing.assert_allclose(
        candidate_recall(cand, [{1, 3}, [6]], per_user=True), [0.5, 1.0]
    )
    with pytest.raises(ValueError, match="no relevant item"):
        candidate_recall(cand, [{1}, []])
    with pytest.raises(ValueError, match="2 rows"):
        candidate_recall(cand, [{1}])
