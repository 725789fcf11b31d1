"""ShopEnv: seeded, vectorized, checked; the oracle's numbers from scratch."""

import numpy as np
import pytest
from scipy.special import expit

from recsys_lib.online import (
    ShopEnv,
    check_propensities,
    check_slates,
    concat_feedback,
    examination_curve,
    logged_impressions,
)


def _play(env, rounds=3):
    out = []
    rng = np.random.default_rng(0)
    for _ in range(rounds):
        users = env.visitors()
        items = np.argsort(rng.random((users.size, env.n_items)), 1)[
            :, : env.slate_size
        ]
        out.append(env.step(users, items))
    return out


def test_same_seed_same_feedback(env):
    a, b = _play(env.reset()), _play(env.reset())
    for fa, fb in zip(a, b, strict=True):
        np.testing.assert_array_equal(fa.users, fb.users)
        np.testing.assert_array_equal(fa.clicks, fb.clicks)
        np.testing.assert_array_equal(fa.purchases, fb.purchases)
    c = _play(env.reset(seed=4))
    assert any((x.users != y.users).any() for x, y in zip(a, c, strict=True))


def test_common_random_numbers(env):
    """Two policies meet the same visitors, whatever they show."""
    env.reset()
    u1 = env.visitors()
    env.step(u1, np.tile(np.arange(env.slate_size), (u1.size, 1)))
    u2 = env.visitors()
    env.reset()
    assert (env.visitors() == u1).all()
    env.step(u1, np.tile(np.arange(4, 4 + env.slate_size), (u1.size, 1)))
    assert (env.visitors() == u2).all()


def test_click_model_from_scratch(shop, env):
    cfg = shop.config
    theta = (1.0 + np.arange(env.slate_size)) ** -cfg.position_bias
    np.testing.assert_allclose(env.examination, theta)
    np.testing.assert_allclose(
        env.attraction, expit(cfg.click_intercept + shop.true_affinity())
    )
    users, items = np.array([0, 5]), np.array([[0, 1, 2, 3], [7, 6, 5, 4]])
    expected = (theta * env.attraction[users[:, None], items]).sum(1)
    np.testing.assert_allclose(env.expected_clicks(users, items), expected)
    # a deterministic policy's value is the expected clicks of its slates
    onehot = np.zeros((2, env.slate_size, env.n_items))
    np.put_along_axis(onehot, items[:, :, None], 1.0, axis=2)
    np.testing.assert_allclose(env.policy_value(users, onehot), expected)


def test_click_frequencies_match_the_probabilities(shop):
    env = ShopEnv(shop, slate_size=3, seed=1)
    users = np.zeros(20_000, dtype=np.int64)
    items = np.tile([0, 1, 2], (users.size, 1))
    fb = env.step(users, items)
    p = env.click_probabilities(users[:1], items[:1])[0]
    np.testing.assert_allclose(fb.clicks.mean(0), p, atol=0.015)
    assert not (fb.purchases & ~fb.clicks).any()


def test_oracle_is_best(env):
    users = np.arange(env.n_users)
    best = env.oracle_clicks(users)
    rng = np.random.default_rng(0)
    for _ in range(5):
        items = np.argsort(rng.random((users.size, env.n_items)), 1)[:, :4]
        assert (env.regret(users, items) >= -1e-12).all()
    np.testing.assert_allclose(
        env.expected_clicks(users, env.oracle_slates(users)), best
    )


def test_visitors(env):
    env.reset()
    users = env.visitors()
    assert users.size == 30 and np.unique(users).size == 30
    assert (np.diff(users) > 0).all()


def test_step_checks(env):
    users = env.visitors()
    good = np.tile(np.arange(4), (users.size, 1))
    with pytest.raises(ValueError, match="shows an item twice"):
        env.step(users, np.tile([0, 1, 1, 2], (users.size, 1)))
    with pytest.raises(ValueError, match="slate_size=4"):
        env.step(users, good[:, :3])
    with pytest.raises(ValueError, match="one slate per user"):
        env.step(users, good[:-1])
    with pytest.raises(ValueError):
        env.step(users, good + env.n_items)
    with pytest.raises(ValueError, match="propensity > 0"):
        env.step(users, good, np.zeros(good.shape))
    with pytest.raises(ValueError, match="at most 1"):
        env.step(users, good, np.full(good.shape, 1.5))
    with pytest.raises(ValueError, match="NaN"):
        env.step(users, good, np.full(good.shape, np.nan))
    with pytest.raises(ValueError, match="shape"):
        env.step(users, good, np.ones((users.size, 3)))
    assert env.round == 0  # nothing was played
    fb = env.step(users, good, np.full(good.shape, 0.5))
    assert fb.round == 0 and env.round == 1
    frame = fb.to_frame()
    assert len(frame) == good.size and (frame["propensity"] == 0.5).all()


def test_constructor_checks(shop):
    with pytest.raises(TypeError, match="Shop"):
        ShopEnv("shop")
    with pytest.raises(ValueError, match="slate_size"):
        ShopEnv(shop, slate_size=0)
    with pytest.raises(ValueError, match="users_per_round"):
        ShopEnv(shop, users_per_round=shop.n_users + 1)
    with pytest.raises(ValueError, match="position_bias"):
        examination_curve(3, -1.0)


def test_check_helpers():
    with pytest.raises(TypeError):
        check_propensities(np.array([["a"]]), (1, 1))
    with pytest.raises(ValueError, match="2-D"):
        check_slates(np.arange(3), 10)
    assert check_propensities([[1.0 + 1e-15]], (1, 1)).max() == 1.0


def test_logged_impressions(shop):
    imp = logged_impressions(shop)
    assert list(imp.columns) == ["user_id", "item_id", "position", "click"]
    ev = shop.events
    assert len(imp) == (ev["event"] == "impression").sum()
    assert imp["click"].sum() == (ev["event"] == "click").sum()
    with pytest.raises(TypeError):
        logged_impressions(imp)


def test_concat_feedback(env):
    rounds = _play(env.reset(), 3)
    log = concat_feedback(rounds)
    assert log.items.shape == (90, env.slate_size) and log.propensities is None
    np.testing.assert_array_equal(log.clicks[30:60], rounds[1].clicks)
    with pytest.raises(ValueError, match="at least one"):
        concat_feedback([])
    with pytest.raises(TypeError, match="Feedback"):
        concat_feedback([rounds[0], "round"])
