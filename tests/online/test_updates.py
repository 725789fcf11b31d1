"""OnlineMF: frozen stays, incremental moves, retrain restarts; seeded."""

import numpy as np
import pytest
import torch

from recsys_lib.online import Greedy, OnlineMF, logged_impressions


def _params(model):
    return torch.cat([p.detach().flatten().clone() for p in model.model.parameters()])


@pytest.fixture(scope="module")
def history(shop):
    return logged_impressions(shop)


@pytest.mark.parametrize("mode", ["frozen", "incremental", "retrain"])
def test_update_modes(shop, env, history, mode):
    mf = OnlineMF(shop.n_users, shop.n_products, dim=4, epochs=1, mode=mode, seed=0)
    mf.fit(history)
    before = _params(mf)
    users = env.visitors()
    fb = env.step(users, Greedy(mf, env.slate_size).act(users).items)
    mf.update(fb)
    after = _params(mf)
    assert mf.n_updates == 1
    if mode == "frozen":
        assert torch.equal(before, after)
    else:
        assert not torch.equal(before, after)
    if mode == "retrain":
        assert len(mf._log) == 2


def test_seeded(shop, history):
    def train():
        return OnlineMF(shop.n_users, shop.n_products, dim=4, epochs=1, seed=3).fit(
            history
        )

    assert torch.equal(_params(train()), _params(train()))
    mean = train().mean([0, 1])
    assert mean.shape == (2, shop.n_products) and ((mean > 0) & (mean < 1)).all()


def test_checks(shop, history):
    mf = OnlineMF(shop.n_users, shop.n_products)
    with pytest.raises(RuntimeError, match="before fit"):
        mf.score([0])
    with pytest.raises(RuntimeError, match="before fit"):
        mf.update(history)
    with pytest.raises(ValueError, match="mode"):
        OnlineMF(3, 3, mode="sometimes")
    with pytest.raises(ValueError, match="empty"):
        mf.fit(history.iloc[:0])
    assert np.isfinite(OnlineMF(3, 3).lr)
