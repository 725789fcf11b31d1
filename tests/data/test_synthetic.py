"""Tests of recsys_lib.data.synthetic: the seeded rating table of Chapter 1."""

import numpy as np
import pandas as pd
import pytest

from recsys_lib.config import ITEM_COL, RATING_COL, TIMESTAMP_COL, USER_COL
from recsys_lib.data.synthetic import make_ratings


def test_shapes_and_columns():
    data = make_ratings(n_users=50, n_items=40, mean_ratings_per_user=10, seed=1)
    df = data.ratings
    assert list(df.columns) == [USER_COL, ITEM_COL, RATING_COL, TIMESTAMP_COL]
    assert data.true_affinity.shape == (50, 40)
    assert data.user_factors.shape == (50, 4) and data.item_factors.shape == (40, 4)
    assert (data.n_users, data.n_items) == (50, 40)
    assert df[USER_COL].between(0, 49).all() and df[ITEM_COL].between(0, 39).all()
    assert df[RATING_COL].between(1, 5).all()
    assert not df.duplicated([USER_COL, ITEM_COL]).any()
    assert df[TIMESTAMP_COL].is_monotonic_increasing
    assert 300 < len(df) < 700  # about 50 users x 10 ratings


def test_same_seed_same_table_other_seed_other_table():
    a = make_ratings(n_users=30, n_items=20, mean_ratings_per_user=5, seed=3)
    b = make_ratings(n_users=30, n_items=20, mean_ratings_per_user=5, seed=3)
    c = make_ratings(n_users=30, n_items=20, mean_ratings_per_user=5, seed=4)
    pd.testing.assert_frame_equal(a.ratings, b.ratings)
    np.testing.assert_array_equal(a.true_affinity, b.true_affinity)
    assert not a.ratings.equals(c.ratings)


def test_ratings_follow_the_truth():
    data = make_ratings(n_users=200, n_items=100, seed=0, noise_std=0.3)
    df = data.ratings
    truth = data.true_affinity[df[USER_COL], df[ITEM_COL]]
    assert np.corrcoef(truth, df[RATING_COL])[0, 1] > 0.8


def test_popularity_is_skewed():
    data = make_ratings(
        n_users=300,
        n_items=1000,
        mean_ratings_per_user=20,
        popularity_exponent=1.0,
        seed=0,
    )
    counts = data.ratings[ITEM_COL].value_counts()
    assert counts.iloc[0] > 5 * counts.median()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_users": 1}, ValueError, "n_users must be >= 2"),
        ({"n_items": 2.5}, TypeError, "n_items must be an int"),
        ({"n_factors": 0}, ValueError, "n_factors"),
        ({"mean_ratings_per_user": 0.5}, ValueError, "mean_ratings_per_user"),
        (
            {"n_items": 10, "mean_ratings_per_user": 11},
            ValueError,
            "mean_ratings_per_user",
        ),
        ({"noise_std": -1}, ValueError, "noise_std"),
        ({"bias_std": float("nan")}, ValueError, "bias_std"),
        ({"seed": -3}, ValueError, "seed"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_ratings(**kwargs)
