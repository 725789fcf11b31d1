"""Off-policy estimators: hand-computed cases, unbiasedness, loud failures."""

import numpy as np
import pytest

from recsys_lib.online import (
    direct_method,
    doubly_robust,
    estimate_policy_value,
    importance_weights,
    ips,
    policy_terms,
    snips,
)

# three logged slates of two slots
R = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
P0 = np.array([[0.5, 0.25], [0.5, 0.5], [0.25, 1.0]])
P1 = np.array([[1.0, 0.0], [0.5, 1.0], [0.0, 0.5]])
Q0 = np.array([[0.4, 0.2], [0.2, 0.6], [0.3, 0.5]])
Q1 = np.array([[0.4, 0.1], [0.3, 0.5], [0.2, 0.4]])


def test_hand_computed():
    w = P1 / P0  # [[2, 0], [1, 2], [0, 0.5]]
    np.testing.assert_allclose(importance_weights(P1, P0), w)
    # IPS: slates' sums 2, 2, 0.5 -> mean 1.5
    assert ips(R, P1, P0) == pytest.approx(1.5)
    # SNIPS: slot 0 (2*1 + 1*0 + 0*1) / 3 = 2/3; slot 1 (0 + 2 + 0.5) / 2.5 = 1
    assert snips(R, P1, P0) == pytest.approx(2 / 3 + 1.0)
    # DM: (0.5 + 0.8 + 0.6) / 3
    assert direct_method(Q1) == pytest.approx(1.9 / 3)
    # DR: DM + mean of w (r - q0): slate sums 1.2, -0.2 + 0.8, 0.25 -> 2.05 / 3
    assert doubly_robust(R, P1, P0, Q0, Q1) == pytest.approx((1.9 + 2.05) / 3)
    # clipping at 1.5 turns the 2s into 1.5s
    assert ips(R, P1, P0, clip=1.5) == pytest.approx((1.5 + 1.5 + 0.5) / 3)
    assert ips([1.0, 0.0], [1.0, 1.0], [0.5, 0.5]) == pytest.approx(1.0)  # (n,) logs


def test_estimate_policy_value_table():
    table = estimate_policy_value(R, P1, P0, Q0, Q1, n_boot=200, seed=0)
    assert list(table.index) == ["IPS", "SNIPS", "DM", "DR"]
    assert table.loc["IPS", "estimate"] == pytest.approx(1.5)
    assert (table["low"] <= table["estimate"] + 1e-12).all()
    assert (table["estimate"] <= table["high"] + 1e-12).all()
    only = estimate_policy_value(R, P1, P0, estimators=["SNIPS"], n_boot=50)
    assert list(only.index) == ["SNIPS"]


def test_ips_is_unbiased_and_snips_steadier():
    """A one-slot bandit with 4 arms: IPS averages to the truth over many logs."""
    rng = np.random.default_rng(0)
    mu = np.array([0.6, 0.7, 0.9, 0.8])  # high rewards: weight noise dominates IPS
    p0 = np.array([0.4, 0.3, 0.2, 0.1])
    p1 = np.array([0.0, 0.1, 0.3, 0.6])
    truth = p1 @ mu
    est = {"ips": [], "snips": []}
    for _ in range(400):
        a = rng.choice(4, size=200, p=p0)
        r = (rng.random(200) < mu[a]).astype(float)
        est["ips"].append(ips(r, p1[a], p0[a]))
        est["snips"].append(snips(r, p1[a], p0[a]))
    ips_ = np.array(est["ips"])
    assert abs(ips_.mean() - truth) < 3 * ips_.std() / np.sqrt(ips_.size)
    assert ips_.std() > 1.5 * np.std(est["snips"])  # measured: about 2


def test_policy_terms():
    probs = np.zeros((1, 2, 3))
    probs[0, 0] = [0.5, 0.5, 0.0]
    probs[0, 1] = [0.0, 0.0, 1.0]
    att = np.array([[0.2, 0.4, 0.6]])
    theta = np.array([1.0, 0.5])
    p1, q0, q1 = policy_terms(probs, np.array([[1, 0]]), att, theta)
    np.testing.assert_allclose(p1, [[0.5, 0.0]])
    np.testing.assert_allclose(q0, [[0.4, 0.1]])
    np.testing.assert_allclose(q1, [[0.3, 0.3]])
    with pytest.raises(ValueError, match="shapes do not fit"):
        policy_terms(probs, np.array([[1, 0, 2]]), att, theta)
    with pytest.raises(ValueError, match="examination"):
        policy_terms(probs, np.array([[1, 0]]), att, np.ones(3))


@pytest.mark.parametrize(
    ("p0", "match"),
    [
        (np.where(P0 == 1.0, 0.0, P0), "logging_propensity must be > 0"),
        (P0 * 2.0, "logging_propensity must be <= 1"),
        (np.where(P0 == 1.0, np.nan, P0), "logging_propensity holds NaN"),
    ],
)
def test_bad_propensities(p0, match):
    with pytest.raises(ValueError, match=match):
        ips(R, P1, p0)
    with pytest.raises(ValueError, match=match):
        estimate_policy_value(R, P1, p0, estimators=["IPS"])


def test_bad_logs():
    with pytest.raises(ValueError, match="rewards holds NaN"):
        snips(np.where(R == 0, np.nan, R), P1, P0)
    with pytest.raises(ValueError, match="same shape"):
        ips(R[:2], P1, P0)
    with pytest.raises(ValueError, match="target_probability must be <= 1"):
        ips(R, P1 * 3, P0)
    with pytest.raises(TypeError, match="numbers"):
        ips(np.array([["a", "b"]] * 3), P1, P0)
    with pytest.raises(ValueError, match="non-empty"):
        ips([], [], [])
    with pytest.raises(ValueError, match="clip"):
        ips(R, P1, P0, clip=0)
    with pytest.raises(ValueError, match="reward model"):
        estimate_policy_value(R, P1, P0)
    with pytest.raises(ValueError, match="unknown estimator"):
        estimate_policy_value(R, P1, P0, estimators=["IPW"])
    with pytest.raises(ValueError, match="same shape"):
        doubly_robust(R, P1, P0, Q0[:2], Q1)
