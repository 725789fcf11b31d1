"""run_policy: what it records, the oracle as a policy, a bandit that learns."""

import numpy as np
import pytest

from recsys_lib.online import (
    BetaBernoulli,
    Greedy,
    ThompsonSampling,
    UniformRandom,
    run_policy,
)


class _Oracle:
    """Scores by the true attraction: zero regret."""

    def __init__(self, env):
        self.env, self.n_items, self.n_users = env, env.n_items, env.n_users

    def score(self, users):
        return self.env.attraction[np.asarray(users)]


def test_records_per_round(env):
    res = run_policy(env, UniformRandom(env.n_items, env.slate_size), 5, keep_log=True)
    frame = res.to_frame()
    assert len(frame) == 5 and len(res.log) == 5
    assert (res.regret >= 0).all()
    np.testing.assert_allclose(res.cumulative_regret, np.cumsum(res.regret))
    assert ((res.coverage > 0) & (res.coverage <= 1)).all()
    assert ((res.gini >= 0) & (res.gini <= 1)).all()
    assert res.log[0].propensities is not None


def test_oracle_has_no_regret(env):
    res = run_policy(env, Greedy(_Oracle(env), env.slate_size), 3)
    np.testing.assert_allclose(res.regret, 0.0, atol=1e-12)


def test_same_seed_same_run(env):
    def play():
        belief = BetaBernoulli(env.n_users, env.n_items)
        return run_policy(env, ThompsonSampling(belief, env.slate_size, seed=1), 4)

    np.testing.assert_array_equal(play().clicks, play().clicks)


def test_learning_beats_a_frozen_bandit(shop):
    from recsys_lib.online import ShopEnv

    env = ShopEnv(shop, slate_size=4, users_per_round=60, seed=0)
    regret = {}
    for learn in (True, False):
        belief = BetaBernoulli(env.n_users, env.n_items, prior_mean=0.2)
        policy = ThompsonSampling(belief, env.slate_size, seed=0, learn=learn)
        regret[learn] = run_policy(env, policy, 40).regret[-10:].mean()
    assert regret[True] < regret[False]


def test_checks(env):
    with pytest.raises(TypeError, match="ShopEnv"):
        run_policy("env", UniformRandom(5, 2), 1)
    with pytest.raises(TypeError, match="act"):
        run_policy(env, object(), 1)
    with pytest.raises(ValueError, match="rounds"):
        run_policy(env, UniformRandom(env.n_items, env.slate_size), 0)
