import numpy as np
import pandas as pd
import pytest

from recsys_lib.config import ITEM_COL, USER_COL
from recsys_lib.data.interactions import interactions_to_csr
from recsys_lib.eval import (
    PROTOCOL_FULL,
    EvalResult,
    evaluate_full,
    evaluate_sampled,
    full_ranking_topk,
    ranking_metrics,
    sample_negatives,
)

from .helpers import make_split, noisy_oracle


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


def test_eval_result_is_a_plain_dataclass():
    r = EvalResult("p", 5, {"ndcg@5": 0.5}, {"ndcg@5": np.array([0.5])}, 1)
    assert r["ndcg@5"] == 0.5 and "EvalResult[p]" in repr(r)
