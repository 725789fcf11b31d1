"""Tests of recsys_lib.trust.privacy (Chapter 11)."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from recsys_lib.trust import (
    DPConfig,
    example_losses,
    federated_averaging,
    membership_advantage,
    train_classifier,
)


def toy(n=400, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).float()
    return X, y


def model(d=4):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, 1))


def accuracy(m, X, y):
    with torch.no_grad():
        return float(((m(X).squeeze(-1) > 0).float() == y).float().mean())


def test_plain_training_learns_and_leaves_the_input_untouched():
    X, y = toy()
    m = model()
    before = [p.detach().clone() for p in m.parameters()]
    out = train_classifier(m, X, y, epochs=5, batch_size=32, lr=0.1)
    assert out.epsilon == math.inf and out.delta is None and out.noise_multiplier == 0.0
    assert accuracy(out.model, X, y) > 0.9
    assert len(out.losses) == 5 and out.losses[-1] < out.losses[0]
    for a, b in zip(before, m.parameters(), strict=True):
        assert torch.equal(a, b)


def test_dp_training_reports_an_epsilon_near_the_target(recwarn):
    X, y = toy()
    out = train_classifier(
        model(), X, y, epochs=2, batch_size=50, lr=0.1, dp=DPConfig(4.0, 1e-3)
    )
    assert 0 < out.epsilon <= 4.0 + 1e-6 and out.epsilon > 3.0
    assert out.noise_multiplier > 0 and out.delta == 1e-3
    assert not [w for w in recwarn if "Secure RNG" in str(w.message)]  # silenced
    assert not hasattr(out.model, "_module")  # a clean module, not Opacus's wrapper
    out.model(X[:2])  # runs without Opacus hooks


def test_dp_config_and_train_bad_input():
    with pytest.raises(ValueError, match="target_epsilon must be > 0"):
        DPConfig(0.0)
    with pytest.raises(ValueError, match="target_epsilon must be > 0"):
        DPConfig(-1.0)
    with pytest.raises(ValueError, match="delta must be < 1"):
        DPConfig(1.0, delta=1.0)
    with pytest.raises(ValueError, match="max_grad_norm must be > 0"):
        DPConfig(1.0, max_grad_norm=0.0)
    X, y = toy()
    with pytest.raises(ValueError, match=r"y must have shape \(400,\)"):
        train_classifier(model(), X, y[:3])
    with pytest.raises(TypeError, match="dp must be a DPConfig"):
        train_classifier(model(), X, y, dp=1.0)
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        train_classifier(lambda x: x, X, y)


def test_membership_advantage_of_separated_and_identical_losses():
    member = np.linspace(0.0, 0.2, 100)
    other = np.linspace(0.5, 1.0, 100)
    r = membership_advantage(member, other, n_boot=100)
    assert r.tpr == 0.5 and r.fpr == 0.0  # members below the mean member loss
    assert r.advantage.mean == pytest.approx(0.5) and r.threshold == pytest.approx(0.1)
    assert membership_advantage(member, other, threshold=0.3).advantage.mean == 1.0
    same = membership_advantage(
        np.linspace(0, 1, 101), np.linspace(0, 1, 101), n_boot=200
    )
    assert same.advantage.mean == pytest.approx(0.0)
    assert same.advantage.low < 0 < same.advantage.high
    assert membership_advantage(member, other, threshold=-1.0).tpr == 0.0
    with pytest.raises(ValueError, match="member_losses must be a non-empty"):
        membership_advantage([], other)
    with pytest.raises(ValueError, match="nan or inf"):
        membership_advantage(member, [np.nan])


def test_example_losses_match_bce():
    X, y = toy(10)
    m = model()
    losses = example_losses(m, X, y)
    with torch.no_grad():
        ref = nn.functional.binary_cross_entropy_with_logits(
            m(X).squeeze(-1), y, reduction="none"
        )
    np.testing.assert_allclose(losses, ref.numpy(), rtol=1e-6)


def test_federated_averaging_of_one_client_is_local_training_and_many_clients_learn():
    X, y = toy()
    fed, hist = federated_averaging(
        model(), [(X, y)], rounds=3, local_epochs=1, batch_size=32, lr=0.1
    )
    assert len(hist) == 3 and hist[-1] < hist[0]
    shards = [(X[i::4], y[i::4]) for i in range(4)]
    fed4, _ = federated_averaging(model(), shards, rounds=5, batch_size=16, lr=0.1)
    assert accuracy(fed4, X, y) > 0.9


def test_federated_averaging_weights_by_data_size():
    # two clients whose models do not train (lr tiny): the average equals the start
    X, y = toy(20)
    m = model()
    fed, _ = federated_averaging(
        m, [(X[:5], y[:5]), (X[5:], y[5:])], rounds=1, lr=1e-12
    )
    for a, b in zip(m.parameters(), fed.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_federated_averaging_bad_input():
    X, y = toy(10)
    with pytest.raises(ValueError, match="no clients"):
        federated_averaging(model(), [])
    with pytest.raises(ValueError, match="client 1 has no examples"):
        federated_averaging(model(), [(X, y), (X[:0], y[:0])])
    with pytest.raises(ValueError, match="rounds must be >= 1"):
        federated_averaging(model(), [(X, y)], rounds=0)
