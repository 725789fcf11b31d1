import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recsys_lib.eval import (
    METRIC_NAMES,
    catalog_coverage,
    gini_index,
    intra_list_diversity,
    latency_summary,
    mean_item_age,
    novelty,
    popularity_bias,
    ranking_metrics,
)


# ------------------------------------------------------------ slow, obvious reference
def reference_metrics(ranking, relevant, k):
    """One user, pure Python, straight from the textbook definitions."""
    top = list(ranking[:k])
    rel = set(relevant)
    hits = [1 if item in rel else 0 for item in top]
    n_hits = sum(hits)
    precision = n_hits / k
    recall = n_hits / len(rel)
    f1 = 0.0 if n_hits == 0 else 2 * precision * recall / (precision + recall)
    dcg = sum(h / math.log2(rank + 1) for rank, h in enumerate(hits, start=1))
    idcg = sum(1 / math.log2(rank + 1) for rank in range(1, min(len(rel), k) + 1))
    mrr = 0.0
    for rank, h in enumerate(hits, start=1):
        if h:
            mrr = 1 / rank
            break
    ap, seen = 0.0, 0
    for rank, h in enumerate(hits, start=1):
        if h:
            seen += 1
            ap += seen / rank
    ap /= min(len(rel), k)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "ndcg": dcg / idcg,
        "hit_rate": float(n_hits > 0),
        "mrr": mrr,
        "map": ap,
    }


def random_case(seed, n_users=60, n_items=40, n_cols=25):
    rng = np.random.default_rng(seed)
    top = np.stack([rng.permutation(n_items)[:n_cols] for _ in range(n_users)])
    sizes = rng.integers(1, 30, size=n_users)  # smaller and larger than k
    relevant = [set(rng.choice(n_items, size=s, replace=False).tolist()) for s in sizes]
    return top, relevant


@pytest.mark.parametrize("k", [1, 2, 5, 10, 25])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_pure_python_reference(k, seed):
    top, relevant = random_case(seed)
    got = ranking_metrics(top, relevant, k, per_user=True)
    means = ranking_metrics(top, relevant, k)
    for name in METRIC_NAMES:
        expected = np.array(
            [
                reference_metrics(t, r, k)[name]
                for t, r in zip(top, relevant, strict=True)
            ]
        )
        np.testing.assert_allclose(got[f"{name}@{k}"], expected, rtol=0, atol=1e-9)
        assert means[f"{name}@{k}"] == pytest.approx(expected.mean(), abs=1e-9)
    assert means.n_users == len(top) and means.n_skipped == 0


@pytest.mark.parametrize("k", [1, 5, 10])
def test_matches_trec_eval_if_installed(k):
    # Optional cross-check against trec_eval (pip install pytrec-eval-terrier).
    pytrec_eval = pytest.importorskip("pytrec_eval")
    top, relevant = random_case(5)
    qrels = {f"u{u}": {f"i{i}": 1 for i in rel} for u, rel in enumerate(relevant)}
    # The run holds only the top k, with strictly decreasing scores.
    run = {
        f"u{u}": {f"i{i}": float(k - r) for r, i in enumerate(row[:k])}
        for u, row in enumerate(top)
    }
    measures = {f"ndcg_cut.{k}", f"P.{k}", f"recall.{k}", "recip_rank", "map"}
    trec = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    ours = ranking_metrics(top, relevant, k, per_user=True)
    for u, rel in enumerate(relevant):
        t = trec[f"u{u}"]
        assert ours[f"ndcg@{k}"][u] == pytest.approx(t[f"ndcg_cut_{k}"], abs=1e-9)
        assert ours[f"precision@{k}"][u] == pytest.approx(t[f"P_{k}"], abs=1e-9)
        assert ours[f"recall@{k}"][u] == pytest.approx(t[f"recall_{k}"], abs=1e-9)
        assert ours[f"mrr@{k}"][u] == pytest.approx(t["recip_rank"], abs=1e-9)
        # trec_eval's AP divides by |R|; ours by min(|R|, k): equal when |R| <= k.
        assert ours[f"map@{k}"][u] * min(len(rel), k) / len(rel) == pytest.approx(
            t["map"], abs=1e-9
        )


def test_both_membership_paths_agree(monkeypatch):
    # The dense lookup table (small inputs) and the searchsorted path (large) agree.
    top, relevant = random_case(3)
    dense = ranking_metrics(top, relevant, 10, per_user=True)
    monkeypatch.setattr("recsys_lib.data.interactions.DENSE_BUDGET", 0)
    sparse_path = ranking_metrics(top, relevant, 10, per_user=True)
    for name in dense:
        np.testing.assert_array_equal(dense[name], sparse_path[name])


def test_hand_worked_example_hits_at_ranks_1_and_3():
    # ranking a, b, c, d with relevant {a, c}: hits at ranks 1 and 3.
    m = ranking_metrics([[10, 11, 12, 13]], [{10, 12}], k=4)
    dcg = 1 + 1 / math.log2(4)  # 1.5
    idcg = 1 + 1 / math.log2(3)
    assert m["ndcg@4"] == pytest.approx(dcg / idcg, abs=1e-12)
    assert m["ndcg@4"] == pytest.approx(0.919720, abs=1e-6)
    assert m["precision@4"] == 0.5
    assert m["recall@4"] == 1.0
    assert m["hit_rate@4"] == 1.0
    assert m["mrr@4"] == 1.0
    assert m["map@4"] == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert m["f1@4"] == pytest.approx(2 * 0.5 * 1.0 / 1.5)


def test_first_hit_late_and_no_hit():
    m = ranking_metrics([[5, 6, 7], [5, 6, 7]], [{7}, {9}], k=3, per_user=True)
    np.testing.assert_allclose(m["mrr@3"], [1 / 3, 0.0])
    np.testing.assert_allclose(m["ndcg@3"], [1 / math.log2(4), 0.0])
    np.testing.assert_allclose(m["hit_rate@3"], [1.0, 0.0])


def test_ideal_dcg_and_map_use_min_of_relevant_and_k():
    # 5 relevant items, k=2, both top items relevant: a perfect top-2 list.
    m = ranking_metrics([[0, 1, 2]], [{0, 1, 2, 3, 4}], k=2)
    assert m["ndcg@2"] == pytest.approx(1.0)
    assert m["map@2"] == pytest.approx(1.0)
    assert m["recall@2"] == pytest.approx(2 / 5)  # recall keeps |R| in the denominator


def test_only_first_k_columns_are_read():
    # A duplicate beyond column k does not matter; neither do hits there.
    m = ranking_metrics([[1, 2, 3, 3]], [{3}], k=2)
    assert m["hit_rate@2"] == 0.0


def test_input_forms_agree():
    top, relevant = random_case(4, n_users=20)
    base = ranking_metrics(top, relevant, 5)
    as_lists = ranking_metrics(top.tolist(), [sorted(r) for r in relevant], 5)
    rows = np.repeat(np.arange(20), [len(r) for r in relevant])
    cols = np.concatenate([sorted(r) for r in relevant])
    matrix = sp.csr_matrix((np.ones(cols.size), (rows, cols)), shape=(20, 40))
    as_sparse = ranking_metrics(top, matrix, 5)
    as_tensor = ranking_metrics(torch.from_numpy(top), relevant, 5)
    with_repeats = ranking_metrics(top, [list(r) + list(r) for r in relevant], 5)
    for other in (as_lists, as_sparse, as_tensor, with_repeats):
        assert other == pytest.approx(base, abs=1e-12)


def test_large_ids_are_handled():
    big = 2**40
    m = ranking_metrics(np.array([[big, big + 1]]), [{big + 1}], k=2)
    assert m["mrr@2"] == 0.5


def test_repr_shows_counts():
    m = ranking_metrics([[0, 1]], [{1}], k=2)
    assert "ndcg@2" in repr(m) and "n_users=1" in repr(m)
    per = ranking_metrics([[0, 1]], [{1}], k=2, per_user=True)
    assert "per-user" in repr(per)


# ------------------------------------------------------------ empty relevant sets
def test_users_without_relevant_items_raise_by_default():
    with pytest.raises(ValueError, match="2 of 3 users have no relevant items"):
        ranking_metrics([[0, 1], [1, 0], [0, 1]], [set(), {1}, []], k=2)


def test_skip_leaves_them_out_and_reports_the_count():
    top = [[0, 1], [1, 0], [0, 1]]
    m = ranking_metrics(top, [set(), {1}, []], k=2, per_user=True, empty="skip")
    assert m.n_skipped == 2 and m.n_users == 1
    np.testing.assert_array_equal(m.rows, [1])
    assert m["mrr@2"].shape == (1,) and m["mrr@2"][0] == 1.0
    assert "n_skipped=2" in repr(m)
    with pytest.raises(ValueError, match="none of the 2 users"):
        ranking_metrics([[0, 1], [1, 0]], [set(), set()], k=2, empty="skip")


def test_unknown_empty_rule():
    with pytest.raises(ValueError, match="empty must be one of"):
        ranking_metrics([[0, 1]], [{0}], k=1, empty="zero")


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("top", "relevant", "k", "error", "match"),
    [
        ([[0, 1, 0], [2, 2, 3]], [{0}, {2}], 3, ValueError, "row 0 lists item 0"),
        ([[0, 1, 2], [2, 2, 3]], [{0}, {2}], 3, ValueError, "row 1 lists item 2"),
        ([[0, -1, 2]], [{0}], 3, ValueError, "negative item ids"),
        ([[0.0, 1.0]], [{0}], 2, TypeError, "integer item ids"),
        ([[0, 1]], [{0}], 0, ValueError, "k must be >= 1"),
        ([[0, 1]], [{0}], -2, ValueError, "k must be >= 1"),
        ([[0, 1]], [{0}], 3, ValueError, "only 2 columns"),
        ([[0, 1]], [{0}], 1.0, TypeError, "k must be an int"),
        ([[0, 1]], [{0}], True, TypeError, "k must be an int"),
        ([[0, 1], [1, 0]], [{0}], 1, ValueError, "1 entries but top_items has 2 rows"),
        ([0, 1, 2], [{0}], 1, ValueError, "must be a 2-D array"),
        (np.zeros((1, 2, 2), dtype=int), [{0}], 1, ValueError, "must be a 2-D array"),
        (np.zeros((0, 3), dtype=int), [], 1, ValueError, "no rows"),
        ([[0, 1]], [{-1}], 1, ValueError, "relevant holds negative"),
        ([[0, 1]], [{0.5}], 1, TypeError, "relevant must hold integer"),
        ([[0, 1]], [5], 1, TypeError, "collection of item ids"),
        ([[0, 1]], "ab", 1, TypeError, "relevant must be a sequence"),
        ([[0, 1]], sp.csr_matrix((2, 3)), 1, ValueError, "relevant has 2 rows"),
    ],
)
def test_bad_input(top, relevant, k, error, match):
    with pytest.raises(error, match=match):
        ranking_metrics(top, relevant, k)


def test_duplicate_check_on_the_sorting_path(monkeypatch):
    monkeypatch.setattr("recsys_lib.data.interactions.DENSE_BUDGET", 0)
    with pytest.raises(ValueError, match="row 1 lists item 4"):
        ranking_metrics([[0, 1, 2], [4, 3, 4]], [{0}, {3}], k=3)


# ------------------------------------------------------------ beyond accuracy
def test_catalog_coverage():
    top = [[0, 1], [1, 2], [0, 2]]
    assert catalog_coverage(top, n_items=6) == pytest.approx(0.5)
    assert catalog_coverage(top, n_items=6, k=1) == pytest.approx(2 / 6)
    with pytest.raises(ValueError, match="n_items=2"):
        catalog_coverage(top, n_items=2)


def test_gini_index_extremes():
    equal = np.array([[0, 1], [2, 3]])
    assert gini_index(equal, n_items=4) == pytest.approx(0.0)
    one_item = np.array([[0], [0], [0]])
    assert gini_index(one_item, n_items=5) == pytest.approx(4 / 5)  # (n - 1) / n
    # half the catalog shown equally, the rest never: G = 1/2
    assert gini_index([[0, 1]], n_items=4) == pytest.approx(0.5)


def test_intra_list_diversity_with_categories():
    cats = np.array([0, 0, 1, 2])
    # list (0, 1, 2): pairs (0,1) same, (0,2) and (1,2) differ -> 2/3
    assert intra_list_diversity([[0, 1, 2]], item_categories=cats) == pytest.approx(
        2 / 3
    )
    per = intra_list_diversity([[0, 1], [2, 3]], item_categories=cats, per_user=True)
    np.testing.assert_allclose(per, [0.0, 1.0])
    # against a brute-force count on random lists
    rng = np.random.default_rng(0)
    cats = rng.integers(0, 4, size=30)
    top = np.stack([rng.permutation(30)[:7] for _ in range(25)])
    expected = [
        np.mean([cats[a] != cats[b] for i, a in enumerate(row) for b in row[i + 1 :]])
        for row in top
    ]
    np.testing.assert_allclose(
        intra_list_diversity(top, item_categories=cats, per_user=True),
        expected,
        atol=1e-12,
    )


def test_intra_list_diversity_with_features():
    feats = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]])
    assert intra_list_diversity([[0, 1]], item_features=feats) == pytest.approx(1.0)
    assert intra_list_diversity([[0, 2]], item_features=feats) == pytest.approx(0.0)
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(20, 5))
    top = np.stack([rng.permutation(20)[:6] for _ in range(10)])
    unit = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    expected = [
        np.mean(
            [1 - unit[a] @ unit[b] for i, a in enumerate(row) for b in row[i + 1 :]]
        )
        for row in top
    ]
    np.testing.assert_allclose(
        intra_list_diversity(top, item_features=feats, per_user=True),
        expected,
        atol=1e-12,
    )


def test_intra_list_diversity_errors():
    cats = np.array([0, 1, 2])
    with pytest.raises(ValueError, match="exactly one"):
        intra_list_diversity([[0, 1]])
    with pytest.raises(ValueError, match="exactly one"):
        intra_list_diversity([[0, 1]], item_features=np.eye(3), item_categories=cats)
    with pytest.raises(ValueError, match="at least 2"):
        intra_list_diversity([[0, 1]], item_categories=cats, k=1)
    with pytest.raises(ValueError, match="all-zero feature"):
        intra_list_diversity([[0, 1]], item_features=np.array([[0.0, 0.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="item_categories must have shape"):
        intra_list_diversity([[0, 5]], item_categories=cats)


def test_novelty():
    pop = np.array([0.5, 0.25, 1.0])
    assert novelty([[0, 1]], pop) == pytest.approx(1.5)  # (1 + 2) / 2 bits
    assert novelty([[2, 0]], pop, k=1) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="values > 1"):
        novelty([[0, 1]], np.array([5.0, 3.0]))
    with pytest.raises(ValueError, match="item 1 is recommended but has popularity 0"):
        novelty([[0, 1]], np.array([0.5, 0.0]))
    with pytest.raises(ValueError, match="one value per item"):
        novelty([[0, 3]], pop)


def test_popularity_bias():
    counts = np.array([10.0, 2.0, 0.0, 4.0])
    assert popularity_bias([[0, 1], [2, 3]], counts) == pytest.approx((6 + 2) / 2)
    np.testing.assert_allclose(
        popularity_bias([[0, 1], [2, 3]], counts, per_user=True), [6, 2]
    )
    with pytest.raises(ValueError, match=">= 0"):
        popularity_bias([[0]], np.array([-1.0]))


def test_mean_item_age():
    launch = np.array([0.0, 10.0, 30.0])
    # row 0 served on day 30: ages 30 and 20; row 1 on day 40: ages 10 and 40
    assert mean_item_age([[0, 1], [2, 0]], launch, [30, 40]) == pytest.approx(25.0)
    np.testing.assert_allclose(
        mean_item_age([[0, 1], [2, 0]], launch, [30, 40], per_user=True), [25, 25]
    )
    assert mean_item_age([[2, 0]], launch, 30, k=1) == pytest.approx(0.0)  # launch day
    assert mean_item_age(torch.tensor([[1]]), launch, 12.5) == pytest.approx(2.5)


def test_mean_item_age_rejects_bad_input():
    launch = np.array([0.0, 10.0, 30.0])
    with pytest.raises(ValueError, match="row 0 lists item 2, launched at 30, before"):
        mean_item_age([[0, 2]], launch, 20)
    with pytest.raises(ValueError, match="one number or one per row"):
        mean_item_age([[0, 1], [1, 0]], launch, [30, 40, 50])
    with pytest.raises(ValueError, match="serve_time holds nan"):
        mean_item_age([[0]], launch, np.nan)
    with pytest.raises(ValueError, match="item_launch_time holds nan"):
        mean_item_age([[0]], np.array([np.inf]), 3)
    with pytest.raises(ValueError, match="one value per item"):
        mean_item_age([[0, 3]], launch, 40)
    with pytest.raises(TypeError, match="integer item ids"):
        mean_item_age([[0.0, 1.0]], launch, 40)
    with pytest.raises(ValueError, match="2-D"):
        mean_item_age([0, 1], launch, 40)
    with pytest.raises(ValueError, match="k=3"):
        mean_item_age([[0, 1]], launch, 40, k=3)


def test_latency_summary():
    s = latency_summary(np.arange(1, 101) / 1000.0)  # 1..100 ms
    assert s["n"] == 100
    assert s["mean_ms"] == pytest.approx(50.5)
    assert s["p50_ms"] == pytest.approx(50.5)
    assert s["p99_ms"] == pytest.approx(np.percentile(np.arange(1, 101), 99))
    assert s["max_ms"] == pytest.approx(100.0)
    for bad in ([], [[0.1]], [0.1, -0.2], [np.nan]):
        with pytest.raises(ValueError):
            latency_summary(bad)
