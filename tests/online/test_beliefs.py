"""Beliefs: hand-computed posteriors, position correction, the Scorer protocol."""

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_lib.online import BetaBernoulli, LinearGaussian, as_observations


def _log(users, items, positions, clicks):
    return pd.DataFrame(
        {"user_id": users, "item_id": items, "position": positions, "click": clicks}
    )


def test_beta_bernoulli_by_hand():
    b = BetaBernoulli(3, 4, prior_mean=0.25, prior_strength=4.0, position_bias=1.0)
    np.testing.assert_allclose(b.alpha, 1.0)
    np.testing.assert_allclose(b.beta, 3.0)
    b.update(_log([0, 1, 2, 0], [2, 2, 3, 1], [0, 1, 3, 0], [True, False, False, True]))
    # item 2: one click (alpha + 1), one miss at position 1 (beta + 1/2)
    np.testing.assert_allclose(b.alpha, [1.0, 2.0, 2.0, 1.0])
    np.testing.assert_allclose(b.beta, [3.0, 3.0, 3.5, 3.25])
    np.testing.assert_allclose(b.mean([0])[0], b.alpha / (b.alpha + b.beta))
    assert b.n_observations == 4
    score = b.score([0, 2])
    assert score.dtype == torch.float32 and score.shape == (2, 4)
    assert b.recommend([0], k=2).items.tolist() == [[1, 2]]


def test_beta_bernoulli_std_and_sample():
    b = BetaBernoulli(2, 3, prior_mean=0.5, prior_strength=2.0)
    a, c = b.alpha, b.beta
    np.testing.assert_allclose(
        b.std([0])[0], np.sqrt(a * c / ((a + c) ** 2 * (a + c + 1)))
    )
    draws = b.sample([0, 1], np.random.default_rng(0))
    assert draws.shape == (2, 3) and ((draws > 0) & (draws < 1)).all()


def test_linear_gaussian_is_ridge_regression():
    rng = np.random.default_rng(0)
    x = np.hstack([np.ones((20, 1)), rng.normal(size=(20, 2))])
    lg = LinearGaussian(x, 2, ridge=0.5, noise=0.2, prior_mean=0.1, position_bias=0.0)
    users = rng.integers(0, 20, 200)
    items = np.zeros(200, dtype=int)
    clicks = rng.random(200) < 0.3
    lg.update(_log(users, items, np.zeros(200, dtype=int), clicks))
    z = x[users]
    a = 0.5 * np.eye(3) + z.T @ z
    w = np.linalg.solve(a, z.T @ (clicks - 0.1))
    np.testing.assert_allclose(lg.mean(np.arange(20))[:, 0], 0.1 + x @ w)
    np.testing.assert_allclose(lg.mean(np.arange(20))[:, 1], 0.1)  # never seen
    var = np.einsum("ud,de,ue->u", x, np.linalg.inv(a), x)
    np.testing.assert_allclose(lg.std(np.arange(20))[:, 0], 0.2 * np.sqrt(var))
    assert (lg.std(np.arange(20))[:, 1] > lg.std(np.arange(20))[:, 0]).all()


def test_linear_gaussian_position_correction():
    x = np.ones((1, 1))
    lg = LinearGaussian(x, 1, ridge=1e-6, prior_mean=0.5, position_bias=1.0)
    # looked at with probability 1/2 at position 1: a click rate of 0.2 means mu = 0.4
    clicks = np.arange(1000) < 200
    lg.update(
        _log(np.zeros(1000, int), np.zeros(1000, int), np.ones(1000, int), clicks)
    )
    np.testing.assert_allclose(lg.mean([0])[0, 0], 0.4, atol=1e-6)


def test_bad_input():
    with pytest.raises(ValueError, match="prior_mean"):
        BetaBernoulli(2, 2, prior_mean=1.0)
    with pytest.raises(ValueError, match="2-D"):
        LinearGaussian(np.ones(3), 2)
    with pytest.raises(ValueError, match="NaN"):
        LinearGaussian(np.array([[np.nan]]), 2)
    with pytest.raises(TypeError):
        LinearGaussian(np.array([["a"]]), 2)
    with pytest.raises(ValueError, match="column"):
        as_observations(pd.DataFrame({"user_id": [0]}), 2, 2)
    with pytest.raises(TypeError, match="Feedback or a DataFrame"):
        as_observations([1, 2], 2, 2)
    with pytest.raises(TypeError, match="booleans"):
        as_observations(_log([0], [0], [0], [0.5]), 2, 2)
    with pytest.raises(ValueError):
        as_observations(_log([5], [0], [0], [True]), 2, 2)
