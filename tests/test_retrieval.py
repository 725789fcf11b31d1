"""Tests of recsys_lib.retrieval (Chapter 8: two-stage recall and ranking)."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from recsys_lib.evaluation import full_ranking_topk
from recsys_lib.metrics import intra_list_diversity
from recsys_lib.models import (
    GMF,
    MF,
    FeatureMLPRanker,
    GMFConfig,
    MFConfig,
    RankerConfig,
)
from recsys_lib.retrieval import (
    PAD_ITEM,
    Candidates,
    EmbeddingRetriever,
    ExactIndex,
    FaissIndex,
    MergedRetriever,
    MFRetriever,
    Pipeline,
    PopularityRetriever,
    RecentCategoryRetriever,
    TwoTowerConfig,
    TwoTowerModel,
    TwoTowerRetriever,
    _training_examples,
    apply_business_rules,
    build_histories,
    candidate_recall,
    in_batch_softmax_loss,
    item_popularity,
    make_index,
    merge_candidates,
    mmr_rerank,
    recall_vs_exact,
    train_two_tower,
    two_stage_recommend,
)


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny tensors: thread pools only add overhead (and jitter on a busy machine).
    import faiss

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    yield
    torch.set_num_threads(before)


def clustered(n_items=2000, d=16, n_clusters=20, seed=0, noise=0.15):
    """Unit-norm item vectors around a few centres, plus queries near the centres."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, d))
    label = rng.integers(0, n_clusters, n_items)
    x = centres[label] + noise * rng.standard_normal((n_items, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = centres[rng.integers(0, n_clusters, 50)] + noise * rng.standard_normal((50, d))
    return x.astype(np.float32), q.astype(np.float32), label


def interactions(n_users=6, n_items=10):
    """A tiny log: user u bought items u and u+1 (mod n_items)."""
    users = np.repeat(np.arange(n_users), 2)
    items = (users + np.tile([0, 1], n_users)) % n_items
    return pd.DataFrame(
        {"user_id": users, "item_id": items, "timestamp": np.arange(users.size)}
    )


def pop_retriever(order, name="popularity"):
    """A PopularityRetriever whose ranking is exactly ``order`` (best first)."""
    order = np.asarray(order)
    pop = np.empty(order.size)
    pop[order] = np.arange(order.size, 0, -1)
    return PopularityRetriever(pop, name=name)


# ================================================================ indexes
@pytest.mark.parametrize("query_batch,item_chunk", [(1024, None), (7, 64), (3, 1)])
def test_exact_index_matches_numpy_argsort(query_batch, item_chunk):
    rng = np.random.default_rng(1)
    V = rng.standard_normal((300, 8)).astype(np.float32)
    Q = rng.standard_normal((20, 8)).astype(np.float32)
    scores, ids = ExactIndex(V, query_batch, item_chunk).search(Q, 10)
    full = Q @ V.T
    ref = np.argsort(-full, axis=1, kind="stable")[:, :10]
    assert (
        ids.shape == (20, 10) and ids.dtype == np.int64 and scores.dtype == np.float32
    )
    np.testing.assert_array_equal(ids, ref)
    np.testing.assert_allclose(scores, np.take_along_axis(full, ref, 1), rtol=1e-5)


def test_index_errors_are_clear():
    V = np.random.default_rng(0).standard_normal((30, 4)).astype(np.float32)
    for index in (ExactIndex(V), FaissIndex(V, "flat")):
        with pytest.raises(ValueError, match="4-d vectors"):
            index.search(np.zeros((2, 5), np.float32), 3)
        with pytest.raises(ValueError, match="only 30 items"):
            index.search(np.zeros((2, 4), np.float32), 31)
        with pytest.raises(ValueError, match=">= 1"):
            index.search(np.zeros((2, 4), np.float32), 0)
        with pytest.raises(ValueError, match="nan"):
            index.search(np.array([[0.0, np.nan, 0.0, 0.0]]), 3)
        with pytest.raises(ValueError, match="empty"):
            index.search(np.zeros((0, 4), np.float32), 3)
        with pytest.raises(ValueError, match="2-D"):
            index.search(np.zeros(4, np.float32), 3)
        with pytest.raises(TypeError, match="int"):
            index.search(np.zeros((1, 4), np.float32), 2.0)
    with pytest.raises(ValueError, match="nan"):
        ExactIndex(np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="kind"):
        make_index(V, "annoy")
    with pytest.raises(ValueError, match="clusters"):
        FaissIndex(V, "ivf", nlist=31)
    with pytest.raises(AttributeError, match="hnsw"):
        FaissIndex(V, "ivf", nlist=2).ef_search  # noqa: B018


def test_faiss_recall_vs_exact_is_high_on_clustered_vectors():
    x, q, _ = clustered()
    _, exact = ExactIndex(x).search(q, 10)
    hnsw = FaissIndex(x, "hnsw", M=16, ef_search=64)
    _, got = hnsw.search(q, 10)
    assert recall_vs_exact(got, exact) >= 0.95
    ivf = FaissIndex(x, "ivf", nlist=20, nprobe=1)
    _, one = ivf.search(q, 10)
    ivf.nprobe = 20  # every list: an exhaustive scan
    _, all_lists = ivf.search(q, 10)
    assert recall_vs_exact(all_lists, exact) == 1.0
    assert recall_vs_exact(one, exact) <= recall_vs_exact(all_lists, exact)
    assert hnsw.build_seconds > 0 and ivf.nprobe == 20
    with pytest.raises(ValueError, match="lists"):
        ivf.nprobe = 21
    _, flat = make_index(x, "flat").search(q, 10)
    assert recall_vs_exact(flat, exact) == 1.0


def test_recall_vs_exact_counts_overlap_and_ignores_missing():
    exact = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    approx = np.array([[4, 3, 9, -1], [5, 6, 7, 8]])
    np.testing.assert_allclose(
        recall_vs_exact(approx, exact, per_query=True), [0.5, 1.0]
    )
    assert recall_vs_exact(approx, exact) == 0.75
    with pytest.raises(ValueError, match="shape"):
        recall_vs_exact(approx[:, :3], exact)
    with pytest.raises(ValueError, match="negative"):
        recall_vs_exact(exact, approx)
    with pytest.raises(TypeError, match="integer"):
        recall_vs_exact(approx.astype(float), exact)


# ================================================================ exclusion and short rows
def test_exclusion_returns_no_purchased_items_in_every_form():
    n_items = 10
    ret = pop_retriever(np.arange(n_items))  # item 0 most popular, then 1, ...
    bought = interactions(6, n_items)  # user u bought u and u+1
    users = np.array([0, 3, 5, 3])
    forms = {
        "frame": bought,
        "sparse": sp.csr_matrix(
            (np.ones(len(bought)), (bought.user_id, bought.item_id)), shape=(6, n_items)
        ),
        "dict": {u: set(g.item_id) for u, g in bought.groupby("user_id")},
        "list": [set(bought.item_id[bought.user_id == u]) for u in users],
    }
    expected = np.array(
        [[2, 3, 4], [0, 1, 2], [0, 1, 2], [0, 1, 2]]
    )  # the most popular items each user has not bought
    for name, excl in forms.items():
        items, scores = ret.retrieve(users, 3, exclude=excl)
        np.testing.assert_array_equal(items, expected, err_msg=name)
        for row, u in enumerate(users):
            assert not set(items[row]) & {u, (u + 1) % n_items}, name
    # without exclusion the purchased items come back
    items, _ = ret.retrieve(users, 3)
    np.testing.assert_array_equal(items[0], [0, 1, 2])


def test_users_without_rows_in_a_keyed_exclusion_lose_nothing():
    ret = pop_retriever(np.arange(10))
    items, _ = ret.retrieve(
        [0, 8], 2, exclude=interactions(2, 10)
    )  # user 8 never bought
    np.testing.assert_array_equal(items, [[2, 3], [0, 1]])


def test_fewer_items_than_k_raises_or_pads():
    ret = pop_retriever(np.arange(5))
    excl = {0: [0, 1, 2]}
    with pytest.raises(ValueError, match=r"user 0: 2\)"):
        ret.retrieve([0, 1], 4, exclude=excl)
    items, scores = ret.retrieve([0, 1], 4, exclude=excl, on_short="pad")
    np.testing.assert_array_equal(items, [[3, 4, PAD_ITEM, PAD_ITEM], [0, 1, 2, 3]])
    assert np.isneginf(scores[0, 2:]).all() and np.isfinite(scores[1]).all()
    with pytest.raises(ValueError, match="on_short"):
        ret.retrieve([0], 2, on_short="drop")


def test_bad_retrieval_input_is_refused():
    ret = MFRetriever(MF(MFConfig.tiny(8, 10)))
    with pytest.raises(ValueError, match="only 10 items"):
        ret.retrieve([0], 11)
    with pytest.raises(ValueError, match=">= 1"):
        ret.retrieve([0], 0)
    with pytest.raises(ValueError, match="only 8 users"):
        ret.retrieve([8], 2)
    with pytest.raises(ValueError, match="negative"):
        ret.retrieve([-1], 2)
    with pytest.raises(TypeError, match="integer"):
        ret.retrieve(np.array([0.0, 1.0]), 2)
    with pytest.raises(ValueError, match="empty"):
        ret.retrieve(np.array([], dtype=np.int64), 2)
    with pytest.raises(ValueError, match="1-D"):
        ret.retrieve(np.zeros((2, 2), dtype=np.int64), 2)
    with pytest.raises(ValueError, match="item id 10"):
        ret.retrieve([0], 2, exclude=[[10]])
    with pytest.raises(TypeError, match="integer item ids"):
        ret.retrieve([0], 2, exclude=[[np.nan]])
    with pytest.raises(ValueError, match="2 entries but there are 1 users"):
        ret.retrieve([0], 2, exclude=[[1], [2]])
    with pytest.raises(TypeError, match="keys"):
        ret.retrieve([0], 2, exclude={"0": [1]})
    with pytest.raises(TypeError, match="exclude must be"):
        ret.retrieve([0], 2, exclude=np.array([[0, 1]]))
    with pytest.raises(ValueError, match="shape"):
        ret.retrieve([0], 2, exclude=sp.csr_matrix((8, 11)))
    with pytest.raises(ValueError, match="nan"):
        PopularityRetriever([1.0, np.nan])
    with pytest.raises(ValueError, match="1-D"):
        PopularityRetriever(np.ones((2, 2)))


# ================================================================ retrievers
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


def test_item_popularity_window_and_build_histories():
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
    hist = build_histories(df, n_users=3, n_items=5, max_len=2)
    np.testing.assert_array_equal(hist, [[1, 3], [5, 2], [5, 5]])


# ================================================================ merging
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


# ================================================================ re-ranking
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


# ================================================================ two-tower
def cluster_log(n_users=40, n_items=24, per_user=8, seed=0):
    """Users of group g interact with the items of group g only (3 groups)."""
    rng = np.random.default_rng(seed)
    g = np.arange(n_users) % 3
    size = n_items // 3
    items = g[:, None] * size + rng.integers(0, size, (n_users, per_user))
    return pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(n_users), per_user),
            "item_id": items.ravel(),
            "timestamp": np.tile(np.arange(per_user), n_users),
        }
    )


def build_two_tower(n_users=40, n_items=24, **overrides):
    torch.manual_seed(0)
    cfg = TwoTowerConfig.tiny(n_users, n_items, **overrides)
    g = torch.Generator().manual_seed(1)
    return TwoTowerModel(
        cfg,
        user_features=torch.randn(n_users, cfg.user_feat_dim, generator=g),
        item_features=torch.randn(n_items, cfg.item_feat_dim, generator=g),
    )


def test_two_tower_training_decreases_loss_is_deterministic_and_retrieves_the_group():
    log = cluster_log()
    runs = []
    for _ in range(2):
        model = build_two_tower()
        hist = train_two_tower(model, log, epochs=10, batch_size=64, lr=0.02, seed=3)
        runs.append((hist.train_loss, model.item_vectors()))
    losses = runs[0][0]
    assert losses[-1] < 0.8 * losses[0]
    assert runs[0][0] == runs[1][0]
    assert torch.equal(runs[0][1], runs[1][1])
    users = np.arange(40)
    items, scores = TwoTowerRetriever(model).retrieve(users, 4)
    same_group = (items // 8) == (users % 3)[:, None]
    assert same_group.mean() > 0.95  # chance: 1/3
    assert np.all(np.diff(scores, axis=1) <= 1e-6) and np.abs(scores).max() <= 1 + 1e-5
    assert model.has_history.all()  # train_two_tower stored the serving histories


def test_two_tower_shapes_padding_and_history_examples():
    model = build_two_tower(10, 6)
    u = model.encode_users(torch.tensor([0, 1]), torch.tensor([[6, 6, 2], [1, 6, 3]]))
    v = model.encode_items(torch.tensor([0, 5, 3]))
    assert u.shape == (2, 8) and v.shape == (3, 8)
    np.testing.assert_allclose(u.norm(dim=1).detach(), 1.0, rtol=1e-5)
    # padding-aware mean: where and how much padding there is changes nothing
    same = model.encode_users(torch.tensor([0, 1]), torch.tensor([[2], [3]]))
    np.testing.assert_allclose(u[0].detach(), same[0].detach(), rtol=1e-5)
    assert model(torch.tensor([0]), torch.tensor([[2]]), torch.tensor([4])).shape == (
        1,
    )
    assert model.score(np.arange(3)).shape == (3, 6)
    with pytest.raises(ValueError, match="padding id 6"):
        model.encode_users(torch.tensor([0]), torch.tensor([[7]]))
    with pytest.raises(ValueError, match=r"\[0, 6\)"):
        model.encode_items(torch.tensor([6]))
    with pytest.raises(ValueError, match="missing"):
        TwoTowerModel(TwoTowerConfig.tiny(10, 6)).encode_items(torch.tensor([0]))
    with pytest.raises(ValueError, match="temperature"):
        TwoTowerConfig.tiny(temperature=0.0)
    with pytest.raises(ValueError, match="expected"):
        model.set_histories(np.full((10, 4), 6))
    # each example's history: the items before it, never the target itself
    log = pd.DataFrame(
        {"user_id": [0, 0, 0, 1], "item_id": [3, 1, 3, 2], "timestamp": [0, 1, 2, 0]}
    )
    users, hist, items = _training_examples(log, 2, 6, 3, "timestamp")
    np.testing.assert_array_equal(items, [3, 1, 3, 2])
    np.testing.assert_array_equal(hist, [[6, 6, 6], [6, 6, 3], [6, 6, 1], [6, 6, 6]])


def test_in_batch_loss_equals_cross_entropy_with_logq():
    model = build_two_tower(10, 6)
    users, items = torch.tensor([0, 1, 2]), torch.tensor([0, 4, 5])
    hist = torch.tensor([[1], [2], [6]])
    log_q = torch.log(torch.tensor([0.5, 0.1, 0.1, 0.1, 0.1, 0.1]))
    loss = in_batch_softmax_loss(model, (users, hist, items), log_q)
    logits = model.encode_users(users, hist) @ model.encode_items(items).T / 0.1
    ref = torch.nn.functional.cross_entropy(logits - log_q[items], torch.arange(3))
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-5)
    plain = in_batch_softmax_loss(model, (users, hist, items))
    assert abs(plain.item() - loss.item()) > 1e-4
    with pytest.raises(ValueError, match="at least 2"):
        train_two_tower(model, cluster_log(1, 6, per_user=1))
    with pytest.raises(ValueError, match="lr"):
        train_two_tower(model, cluster_log(10, 6), lr=0.0)
    with pytest.raises(ValueError, match="item id 6"):
        train_two_tower(
            model, pd.DataFrame({"user_id": [0, 1], "item_id": [0, 6]}), time_col=None
        )


# ================================================================ pipeline
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


def test_candidate_recall_hand_example_and_errors():
    cand = np.array([[1, 2, -1], [4, 5, 6]])
    np.testing.assert_allclose(
        candidate_recall(cand, [{1, 3}, [6]], per_user=True), [0.5, 1.0]
    )
    with pytest.raises(ValueError, match="no relevant item"):
        candidate_recall(cand, [{1}, []])
    with pytest.raises(ValueError, match="2 rows"):
        candidate_recall(cand, [{1}])
