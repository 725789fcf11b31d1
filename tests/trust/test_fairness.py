"""Tests of recsys_lib.trust.fairness (Chapter 11)."""

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_lib.trust import (
    boost_rerank,
    calibration_kl,
    exposure_shares,
    group_gap,
    popularity_groups,
)


def test_popularity_groups_split_the_interaction_mass():
    counts = np.array([50, 1, 30, 10, 5, 4])  # total 100
    g = popularity_groups(counts, 3)
    assert g.tolist() == [0, 2, 1, 2, 2, 2]
    assert popularity_groups(counts, 1).tolist() == [0] * 6


def test_popularity_groups_bad_input():
    with pytest.raises(ValueError, match="every count is 0"):
        popularity_groups(np.zeros(3))
    with pytest.raises(ValueError, match="non-empty 1-D"):
        popularity_groups(np.array([]))
    with pytest.raises(ValueError, match="n_groups must be <= 2"):
        popularity_groups(np.array([1, 2]), 3)
    with pytest.raises(ValueError, match=">= 0"):
        popularity_groups(np.array([1, -2]))


def test_exposure_shares_discount_and_rows_sum_to_one():
    top = np.array([[0, 1], [1, 0]])
    groups = np.array([0, 1])
    e = exposure_shares(top, groups)
    np.testing.assert_allclose(e.sum(1), 1.0)
    w = 1 / np.log2(3)
    np.testing.assert_allclose(e[0], [1 / (1 + w), w / (1 + w)])
    np.testing.assert_allclose(exposure_shares(top, groups, discount=False), 0.5)
    assert exposure_shares(top, groups, n_groups=4).shape == (2, 4)
    with pytest.raises(ValueError, match="outside"):
        exposure_shares(np.array([[5]]), groups)
    with pytest.raises(ValueError, match=r"\(n_users, k\)"):
        exposure_shares(np.array([0, 1]), groups)


def test_calibration_kl_is_zero_for_a_matching_list_and_grows_with_mismatch():
    cats = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    hist = sp.csr_matrix(np.array([[1, 0, 1, 0]]))  # half / half
    same = calibration_kl(np.array([[1, 3]]), hist, cats)
    skew = calibration_kl(np.array([[0, 1]]), hist, cats, alpha=0.01)
    assert same[0] == pytest.approx(0.0, abs=1e-12)
    p = np.array([0.5, 0.5])
    q = 0.99 * np.array([1.0, 0.0]) + 0.01 * p
    assert skew[0] == pytest.approx(float((p * np.log(p / q)).sum()))


def test_calibration_kl_bad_input():
    cats = np.array([[1, 0], [0, 0]])
    hist = sp.csr_matrix(np.array([[0, 1]]))
    with pytest.raises(ValueError, match="history without any categorised item"):
        calibration_kl(np.array([[0]]), hist, cats)
    with pytest.raises(ValueError, match=r"alpha must be > 0.0"):
        calibration_kl(np.array([[0]]), hist, cats, alpha=0.0)
    with pytest.raises(ValueError, match=r"item_categories must be \(n_items=2, C\)"):
        calibration_kl(np.array([[0]]), hist, cats[:1])


def test_group_gap_means_and_interval():
    vals = np.r_[np.ones(50), np.zeros(50)]
    groups = np.r_[["F"] * 50, ["M"] * 50]
    g = group_gap(vals, groups, "F", "M", n_boot=200)
    assert g.sizes == (50, 50)
    assert g.means[0].mean == 1.0 and g.means[1].mean == 0.0
    assert g.gap.mean == pytest.approx(1.0) and g.gap.low == pytest.approx(1.0)
    with pytest.raises(
        ValueError, match=r"group 'X' is empty; the groups present are \['F', 'M'\]"
    ):
        group_gap(vals, groups, "F", "X")
    with pytest.raises(ValueError, match="aligned"):
        group_gap(vals[:3], groups, "F", "M")


def test_boost_rerank_weight_zero_is_the_plain_ranking_and_weight_moves_the_tail_up():
    rng = np.random.default_rng(0)
    scores = rng.random((20, 30))
    groups = (np.arange(30) >= 20).astype(int)  # items 20..29 are the tail
    exclude = sp.csr_matrix(scores > 0.95)
    plain = boost_rerank(scores, groups, 1, 0.0, 5, exclude=exclude)
    masked = np.where(exclude.toarray(), -np.inf, scores)
    np.testing.assert_array_equal(
        plain, np.argsort(-masked, axis=1, kind="stable")[:, :5]
    )
    shares = [
        exposure_shares(boost_rerank(scores, groups, 1, w, 5, exclude=exclude), groups)[
            :, 1
        ].mean()
        for w in (0.0, 0.3, 2.0)
    ]
    assert shares[0] < shares[1] < shares[2] == pytest.approx(1.0)
    assert not exclude[np.arange(20)[:, None], plain].toarray().any()


def test_boost_rerank_bad_input():
    s = np.zeros((2, 3))
    with pytest.raises(ValueError, match="no item is in boosted_group=5"):
        boost_rerank(s, np.array([0, 1, 1]), 5, 0.1, 2)
    with pytest.raises(ValueError, match="weight must be >= 0"):
        boost_rerank(s, np.array([0, 1, 1]), 1, -0.1, 2)
    with pytest.raises(ValueError, match="item_groups has 2 entries for 3 items"):
        boost_rerank(s, np.array([0, 1]), 1, 0.1, 2)
