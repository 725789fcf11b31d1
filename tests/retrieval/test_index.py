"""Tests of recsys_lib.retrieval.index: exact and faiss search."""

import numpy as np
import pytest

from recsys_lib.retrieval import ExactIndex, FaissIndex, make_index, recall_vs_exact

from .helpers import clustered


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
