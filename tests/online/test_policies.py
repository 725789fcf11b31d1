"""Policies: slates, per-slot probabilities that sum to 1, honest propensities."""

import numpy as np
import pytest

from recsys_lib.online import (
    UCB,
    BetaBernoulli,
    EpsilonGreedy,
    Greedy,
    LinearGaussian,
    ThompsonSampling,
    UniformRandom,
    top_k,
)

N_USERS, N_ITEMS, K = 12, 9, 3


def _belief():
    b = BetaBernoulli(N_USERS, N_ITEMS)
    b.alpha = np.linspace(1.0, 5.0, N_ITEMS)
    b.beta = np.full(N_ITEMS, 10.0)
    return b


def _linear():
    x = np.random.default_rng(0).normal(size=(N_USERS, 2))
    return LinearGaussian(np.hstack([np.ones((N_USERS, 1)), x]), N_ITEMS)


def _policies():
    return [
        Greedy(_belief(), K),
        EpsilonGreedy(_belief(), K, epsilon=0.3, seed=1),
        UCB(_linear(), K, alpha=0.5),
        UniformRandom(N_ITEMS, K, seed=2),
        ThompsonSampling(_belief(), K, seed=3),
    ]


@pytest.mark.parametrize("policy", _policies(), ids=lambda p: p.name)
def test_probabilities_sum_to_one_per_slot(policy):
    users = np.arange(N_USERS)
    p = policy.probabilities(users)
    assert p.shape == (N_USERS, K, N_ITEMS)
    np.testing.assert_allclose(p.sum(axis=2), 1.0)
    assert (p >= 0).all()
    # one item cannot fill two slots more than once in total
    assert (p.sum(axis=1) <= 1.0 + 1e-9).all()


@pytest.mark.parametrize("policy", _policies()[:4], ids=lambda p: p.name)
def test_logged_propensities_are_the_probabilities(policy):
    users = np.arange(N_USERS)
    slates = policy.act(users)
    p = policy.probabilities(users)
    shown = np.take_along_axis(p, slates.items[:, :, None], axis=2)[:, :, 0]
    np.testing.assert_allclose(slates.propensities, shown)
    assert ((slates.propensities > 0) & (slates.propensities <= 1)).all()


def test_epsilon_greedy_frequencies():
    policy = EpsilonGreedy(_belief(), K, epsilon=0.4, seed=0)
    users = np.zeros(20_000, dtype=np.int64)
    items = policy.act(users).items
    freq = np.stack([np.bincount(items[:, k], minlength=N_ITEMS) for k in range(K)])
    freq = freq / users.size
    np.testing.assert_allclose(freq, policy.probabilities([0])[0], atol=0.015)


def test_greedy_and_top_k():
    assert Greedy(_belief(), K).act([0, 1]).items.tolist() == [[8, 7, 6]] * 2
    assert top_k(np.array([[1.0, 3.0, 3.0, 0.0]]), 2).tolist() == [[1, 2]]
    with pytest.raises(ValueError, match="NaN"):
        top_k(np.array([[np.nan, 1.0]]), 1)


def test_thompson_propensities_positive_and_close():
    policy = ThompsonSampling(_belief(), K, seed=0, n_sim=400)
    slates = policy.act(np.arange(4))
    assert ((slates.propensities > 0) & (slates.propensities <= 1)).all()
    exact = policy.probabilities(np.arange(4), n_sim=4000)
    shown = np.take_along_axis(exact, slates.items[:, :, None], axis=2)[:, :, 0]
    np.testing.assert_allclose(slates.propensities, shown, atol=0.06)
    assert ThompsonSampling(_belief(), K).act([0]).propensities is None


def test_frozen_policy_does_not_learn(env):
    belief = BetaBernoulli(env.n_users, env.n_items)
    frozen = Greedy(belief, env.slate_size, learn=False)
    users = env.visitors()
    frozen.update(env.step(users, frozen.act(users).items))
    assert belief.n_observations == 0
    Greedy(belief, env.slate_size).update(env.step(users, frozen.act(users).items))
    assert belief.n_observations == users.size * env.slate_size


def test_policy_checks():
    with pytest.raises(TypeError, match="Scorer"):
        Greedy(object())
    with pytest.raises(TypeError, match="std"):
        UCB(object())
    with pytest.raises(TypeError, match="sample"):
        ThompsonSampling(object())
    with pytest.raises(ValueError, match="epsilon"):
        EpsilonGreedy(_belief(), K, epsilon=1.5)
    with pytest.raises(ValueError, match="slate_size"):
        Greedy(_belief(), N_ITEMS + 1)
    with pytest.raises(ValueError):
        Greedy(_belief(), K).act([N_USERS])
