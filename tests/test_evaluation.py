import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from scipy import stats

from recsys_lib.config import ITEM_COL, USER_COL
from recsys_lib.evaluation import (
    PROTOCOL_FULL,
    EvalResult,
    bootstrap_ci,
    evaluate_full,
    evaluate_sampled,
    full_ranking_topk,
    interactions_to_csr,
    paired_bootstrap_test,
    sample_negatives,
    summarize_over_seeds,
)
from recsys_lib.metrics import ranking_metrics


def make_split(n_users=80, n_items=60, n_train=12, n_test=3, seed=0):
    """Disjoint random train/test interactions, every user in both."""
    rng = np.random.default_rng(seed)
    tr, te = [], []
    for u in range(n_users):
        items = rng.permutation(n_items)[: n_train + n_test]
        tr += [(u, i) for i in items[:n_train]]
        te += [(u, i) for i in items[n_train:]]
    cols = [USER_COL, ITEM_COL]
    return pd.DataFrame(tr, columns=cols), pd.DataFrame(te, columns=cols)


def noisy_oracle(test, n_users, n_items, noise=1.0, seed=0):
    """Scores that know the test items, blurred by noise: a decent model."""
    rng = np.random.default_rng(seed)
    truth = interactions_to_csr(test, n_users, n_items).toarray()
    return (truth + noise * rng.normal(size=truth.shape)).astype(np.float32)


# ------------------------------------------------------------ interactions
def test_interaction_forms_agree():
    train, _ = make_split(10, 8, 3, 1)
    base = interactions_to_csr(train, 10, 8)
    pairs = (train[USER_COL].to_numpy(), train[ITEM_COL].to_numpy())
    for other in (
        interactions_to_csr(pairs, 10, 8),
        interactions_to_csr(train[[USER_COL, ITEM_COL]].to_numpy(), 10, 8),
        interactions_to_csr(sp.coo_matrix(base * 3), 10, 8),
        interactions_to_csr(pd.concat([train, train]), 10, 8),  # repeats count once
    ):
        assert (other != base).nnz == 0 and other.max() == 1.0
    assert interactions_to_csr(train).shape == (10, int(train[ITEM_COL].max()) + 1)


@pytest.mark.parametrize(
    ("data", "kwargs", "error", "match"),
    [
        (pd.DataFrame({"user": [0], ITEM_COL: [1]}), {}, ValueError, "lacks column"),
        (
            pd.DataFrame({USER_COL: [0, 5], ITEM_COL: [1, 1]}),
            {"n_users": 3},
            ValueError,
            "user id 5",
        ),
        (
            pd.DataFrame({USER_COL: [0], ITEM_COL: [9]}),
            {"n_items": 3},
            ValueError,
            "item id 9",
        ),
        (pd.DataFrame({USER_COL: [0], ITEM_COL: [-1]}), {}, ValueError, "negative"),
        (pd.DataFrame({USER_COL: [0.5], ITEM_COL: [1]}), {}, TypeError, "integer ids"),
        (
            (np.array([0, 1]), np.array([0])),
            {},
            ValueError,
            "2 user ids but 1 item ids",
        ),
        ([1, 2, 3], {}, TypeError, "must be a DataFrame"),
        (sp.csr_matrix((3, 4)), {"n_users": 5}, ValueError, "expected"),
    ],
)
def test_interactions_bad_input(data, kwargs, error, match):
    with pytest.raises(error, match=match):
        interactions_to_csr(data, **kwargs)


# ------------------------------------------------------------ full ranking
def test_train_items_are_never_recommended():
    train, _ = make_split()
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(80, 60)).astype(np.float32)
    scores[train[USER_COL], train[ITEM_COL]] += 100.0  # train items would win otherwise
    top = full_ranking_topk(scores, train, k=20)
    assert top.shape == (80, 20) and top.dtype == np.int64
    seen = interactions_to_csr(train, 80, 60).toarray().astype(bool)
    assert not seen[np.arange(80)[:, None], top].any()


def test_caller_scores_are_not_modified():
    train, _ = make_split()
    scores = np.random.default_rng(1).normal(size=(80, 60)).astype(np.float32)
    kept = scores.copy()
    tensor = torch.from_numpy(scores.copy())
    full_ranking_topk(scores, train, k=5)
    full_ranking_topk(tensor, train, k=5)
    full_ranking_topk(
        lambda u: scores, train, k=5, users=np.arange(80)
    )  # returns its own data
    full_ranking_topk(lambda u: tensor, train, k=5, users=np.arange(80))
    np.testing.assert_array_equal(scores, kept)
    np.testing.assert_array_equal(tensor.numpy(), kept)
    # read-only, broadcast, float64 and autograd-tracked outputs work too
    row = np.random.default_rng(2).random(60)
    expected = np.argsort(-row, kind="stable")[:3]
    readonly = np.broadcast_to(row, (80, 60))
    weight = torch.tensor(row, requires_grad=True)
    for fn in (
        lambda u: readonly[: len(u)],
        lambda u: torch.from_numpy(row).expand(len(u), 60),
        lambda u: weight.expand(len(u), 60) * 1.0,
    ):
        top = full_ranking_topk(fn, None, k=3, users=np.arange(80))
        np.testing.assert_array_equal(top, np.tile(expected, (80, 1)))


def test_topk_matches_a_full_sort():
    train, _ = make_split(seed=2)
    scores = np.random.default_rng(2).random((80, 60))
    masked = scores.copy()
    masked[train[USER_COL], train[ITEM_COL]] = -np.inf
    expected = np.argsort(-masked, axis=1, kind="stable")[:, :10]
    got, got_scores = full_ranking_topk(
        scores, train, k=10, batch_size=7, return_scores=True
    )
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(
        got_scores, np.take_along_axis(masked, expected, 1), rtol=1e-6
    )


def test_score_sources_and_batch_sizes_agree():
    train, _ = make_split(seed=3)
    scores = np.random.default_rng(3).random((80, 60)).astype(np.float32)

    class Model:
        n_users, n_items = 80, 60

        def score(self, users):
            return scores[users]

    users = np.array([5, 0, 79, 5])
    base = full_ranking_topk(scores, train, k=5, users=users)
    variants = [
        full_ranking_topk(
            lambda u: torch.from_numpy(scores[u]), train, k=5, users=users
        ),
        full_ranking_topk(Model(), train, k=5, users=users, batch_size=1),
        full_ranking_topk(
            torch.from_numpy(scores), train, k=5, users=users, batch_size=3
        ),
    ]
    for other in variants:
        np.testing.assert_array_equal(other, base)
    assert full_ranking_topk(scores, None, k=3).shape == (80, 3)


def test_full_ranking_errors():
    train, _ = make_split(n_users=4, n_items=10, n_train=8, n_test=1)
    scores = np.zeros((4, 10), dtype=np.float32)
    with pytest.raises(ValueError, match="fewer than k=3 items left"):
        full_ranking_topk(scores, train, k=3)
    unseen = np.setdiff1d(np.arange(10), train.query(f"{USER_COL} == 2")[ITEM_COL])
    bad = scores.copy()
    bad[2, unseen[0]] = np.nan
    with pytest.raises(ValueError, match="scores of user 2 contain nan"):
        full_ranking_topk(bad, train, k=2)
    with pytest.raises(ValueError, match="scores of user 2 contain nan"):
        full_ranking_topk(
            lambda u: torch.from_numpy(bad[u]), train, k=2, users=[0, 1, 2]
        )
    with pytest.raises(ValueError, match="must have shape"):
        full_ranking_topk(lambda u: np.zeros((1, 10)), train, k=2, users=[0, 1])
    with pytest.raises(ValueError, match="scores cover only 9 items"):
        full_ranking_topk(lambda u: np.zeros((len(u), 9)), train, k=2, users=[0, 1])
    with pytest.raises(ValueError, match="only 4 users"):
        full_ranking_topk(scores, train, k=2, users=[4])
    with pytest.raises(ValueError, match="pass users"):
        full_ranking_topk(lambda u: np.zeros((len(u), 10)), train, k=2)
    with pytest.raises(ValueError, match="catalog has only 10"):
        full_ranking_topk(scores, None, k=11)
    with pytest.raises(ValueError, match="2-D"):
        full_ranking_topk(np.zeros(10), None, k=1)
    with pytest.raises(TypeError, match="score array"):
        full_ranking_topk("scores", None, k=1)
    with pytest.raises(ValueError, match="inconsistent catalog sizes"):
        full_ranking_topk(scores, None, k=1, n_items=12)


def test_evaluate_full_perfect_and_labelled():
    train, test = make_split()
    truth = interactions_to_csr(test, 80, 60).toarray()
    result = evaluate_full(truth, train, test, k=3)
    assert result.protocol == PROTOCOL_FULL
    assert result["ndcg@3"] == pytest.approx(1.0) and result[
        "recall@3"
    ] == pytest.approx(1.0)
    assert result.n_users == 80 and result.per_user["ndcg@3"].shape == (80,)
    assert result.top_items.shape == (80, 3)
    assert PROTOCOL_FULL in repr(result) and "ndcg@3=1.0000" in repr(result)
    frame = result.to_frame("oracle")
    assert frame.loc["oracle", "protocol"] == PROTOCOL_FULL
    assert frame.loc["oracle", "ndcg@3"] == pytest.approx(1.0)
    with pytest.raises(KeyError, match="available"):
        result["ndcg@5"]


def test_evaluate_full_equals_metrics_on_topk():
    train, test = make_split(seed=4)
    scores = noisy_oracle(test, 80, 60, seed=4)
    result = evaluate_full(scores, train, test, k=(5, 10))
    assert (
        result.k == (5, 10)
        and "ndcg@5" in result.metrics
        and "map@10" in result.metrics
    )
    top = full_ranking_topk(scores, train, k=10)
    relevant = [set(g) for _, g in test.groupby(USER_COL)[ITEM_COL]]
    assert result.metrics["ndcg@10"] == pytest.approx(
        ranking_metrics(top, relevant, 10)["ndcg@10"]
    )


def test_evaluate_full_users_and_overlap():
    train, test = make_split(seed=5)
    scores = noisy_oracle(test, 80, 60)
    few = evaluate_full(scores, train, test.query(f"{USER_COL} < 10"), k=5)
    assert few.n_users == 10  # only users with test items by default
    np.testing.assert_array_equal(few.users, np.arange(10))
    with pytest.raises(ValueError, match="have no relevant items"):
        evaluate_full(scores, train, test.query(f"{USER_COL} < 10"), k=5, users=[0, 20])
    skipped = evaluate_full(
        scores, train, test.query(f"{USER_COL} < 10"), k=5, users=[0, 20], empty="skip"
    )
    assert (
        skipped.n_users == 1 and skipped.n_skipped == 1 and "skipped=1" in repr(skipped)
    )
    with pytest.raises(ValueError, match="also appear in train"):
        evaluate_full(scores, train, pd.concat([test, train.head(3)]), k=5)


# ------------------------------------------------------------ sampled
def test_sampled_is_labelled_and_inflated():
    # Leave-one-out split over a 1,000-item catalog, the setting of many papers.
    train, test = make_split(n_users=200, n_items=1000, n_train=20, n_test=1, seed=6)
    scores = noisy_oracle(test, 200, 1000, noise=0.7, seed=6)
    full = evaluate_full(scores, train, test, k=10)
    uniform = evaluate_sampled(scores, train, test, k=10, seed=0)
    popular = evaluate_sampled(scores, train, test, k=10, sampler="popularity", seed=0)
    assert uniform.protocol == "sampled (uniform-100)"
    assert popular.protocol == "sampled (popularity-100)"
    assert set(uniform.metrics) == set(full.metrics) == set(popular.metrics)
    for name in ("ndcg@10", "recall@10", "hit_rate@10", "mrr@10"):
        assert uniform[name] > 2 * full[name]
        assert popular[name] > 2 * full[name]
    assert uniform.seed == 0 and "seed=0" in repr(uniform)


def test_sampled_is_deterministic_and_a_perfect_model_scores_one():
    train, test = make_split(seed=7)
    scores = noisy_oracle(test, 80, 60, seed=7)
    a = evaluate_sampled(scores, train, test, k=5, n_negatives=20, seed=3)
    b = evaluate_sampled(scores, train, test, k=5, n_negatives=20, seed=3)
    assert a.metrics == b.metrics
    truth = interactions_to_csr(test, 80, 60).toarray()
    perfect = evaluate_sampled(truth, train, test, k=1, n_negatives=20)
    assert perfect["hit_rate@1"] == 1.0 and perfect["ndcg@1"] == 1.0


def test_sampled_breaks_ties_at_random():
    # A model with constant scores must not profit from the test item's position.
    train, test = make_split(n_users=200, n_items=60, n_train=5, n_test=1, seed=8)
    result = evaluate_sampled(np.zeros((200, 60)), train, test, k=10, n_negatives=49)
    assert result["hit_rate@10"] == pytest.approx(10 / 50, abs=0.08)


def test_sample_negatives_avoids_interactions_and_repeats():
    rng = np.random.default_rng(0)
    train, test = make_split(n_users=30, n_items=50, n_train=20, n_test=5)
    seen = interactions_to_csr(pd.concat([train, test]), 30, 50)
    users = np.repeat(np.arange(30), 3)
    for weights in (None, np.arange(50, dtype=float) + 1.0):
        neg = sample_negatives(seen, users, 20, rng, item_weights=weights)
        assert neg.shape == (90, 20)
        assert not seen.toarray()[users[:, None], neg].any()
        assert all(len(set(row)) == 20 for row in neg.tolist())
    with pytest.raises(ValueError, match="only 25 items"):
        sample_negatives(seen, users, 26, rng)


def test_sampled_errors():
    train, test = make_split()
    scores = np.zeros((80, 60))
    nan_scores = np.full((80, 60), np.nan)
    with pytest.raises(ValueError, match="scores of user 0 contain nan"):
        evaluate_sampled(nan_scores, train, test, n_negatives=10)
    with pytest.raises(ValueError, match="sampler must be one of"):
        evaluate_sampled(scores, train, test, sampler="zipf")
    with pytest.raises(ValueError, match="larger than the 11 candidates"):
        evaluate_sampled(scores, train, test, k=12, n_negatives=10)
    with pytest.raises(ValueError, match="no test item"):
        evaluate_sampled(scores, train, test.query(f"{USER_COL} > 0"), users=[0, 1])
    with pytest.raises(ValueError, match="fewer than n_negatives"):
        evaluate_sampled(scores, train, test, n_negatives=50)


# ------------------------------------------------------------ uncertainty
def test_bootstrap_ci_contains_mean_and_shrinks():
    rng = np.random.default_rng(0)
    small = rng.random(100)
    large = rng.random(5000)
    ci_small = bootstrap_ci(small, seed=1)
    ci_large = bootstrap_ci(large, seed=1)
    for values, ci in ((small, ci_small), (large, ci_large)):
        assert ci.low < ci.mean < ci.high and ci.mean == pytest.approx(values.mean())
    assert (ci_large.high - ci_large.low) < (ci_small.high - ci_small.low) / 4
    assert bootstrap_ci(small, seed=1) == ci_small  # seeded
    # about the normal-theory width: 2 * 1.96 * sd / sqrt(n)
    width = 2 * 1.96 * large.std() / np.sqrt(large.size)
    assert ci_large.high - ci_large.low == pytest.approx(width, rel=0.15)


def test_paired_test_detects_a_real_difference():
    rng = np.random.default_rng(0)
    a = rng.random(500)
    b = a - 0.03 + 0.05 * rng.normal(size=500)
    test = paired_bootstrap_test(a, b, n_boot=2000, seed=0)
    assert test.mean_diff == pytest.approx((a - b).mean())
    assert test.low < test.mean_diff < test.high and test.low > 0
    assert test.p_value < 0.01 and test.n == 500


def test_paired_test_does_not_invent_a_difference():
    rng = np.random.default_rng(1)
    a = rng.random(500)
    same = paired_bootstrap_test(a, a.copy(), n_boot=500)
    assert same.mean_diff == 0.0 and same.p_value == 1.0
    noise = rng.normal(scale=0.05, size=250)
    b = a + np.concatenate([noise, -noise])  # zero-mean differences
    null = paired_bootstrap_test(a, b, n_boot=2000, seed=0)
    assert null.p_value > 0.5 and null.low < 0 < null.high


def test_result_compare_checks_protocol_and_users():
    train, test = make_split(seed=9)
    good = evaluate_full(noisy_oracle(test, 80, 60, 0.5, seed=1), train, test, k=5)
    bad = evaluate_full(noisy_oracle(test, 80, 60, 5.0, seed=2), train, test, k=5)
    assert good.compare(bad, "ndcg@5", n_boot=1000).p_value < 0.01
    assert good.ci("ndcg@5").low < good["ndcg@5"]
    sampled = evaluate_sampled(
        noisy_oracle(test, 80, 60), train, test, k=5, n_negatives=20
    )
    with pytest.raises(ValueError, match="different protocols"):
        good.compare(sampled, "ndcg@5")
    fewer = evaluate_full(
        noisy_oracle(test, 80, 60), train, test, k=5, users=np.arange(40)
    )
    with pytest.raises(ValueError, match="same users"):
        good.compare(fewer, "ndcg@5")


def test_summarize_over_seeds_matches_scipy():
    values = [0.31, 0.33, 0.30, 0.34, 0.32]
    s = summarize_over_seeds(values)
    low, high = stats.t.interval(0.95, 4, loc=np.mean(values), scale=stats.sem(values))
    assert s.mean == pytest.approx(0.32) and s.std == pytest.approx(
        np.std(values, ddof=1)
    )
    assert (s.low, s.high) == pytest.approx((low, high)) and s.n == 5


def test_uncertainty_bad_input():
    with pytest.raises(ValueError, match="at least 1"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="nan"):
        bootstrap_ci([0.1, np.nan])
    with pytest.raises(ValueError, match="alpha"):
        bootstrap_ci([0.1, 0.2], alpha=1.5)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_ci([0.1, 0.2], n_boot=0)
    with pytest.raises(ValueError, match="aligned by user"):
        paired_bootstrap_test([0.1, 0.2, 0.3], [0.1, 0.2])
    with pytest.raises(ValueError, match="at least 2"):
        summarize_over_seeds([0.3])


def test_eval_result_is_a_plain_dataclass():
    r = EvalResult("p", 5, {"ndcg@5": 0.5}, {"ndcg@5": np.array([0.5])}, 1)
    assert r["ndcg@5"] == 0.5 and "EvalResult[p]" in repr(r)
