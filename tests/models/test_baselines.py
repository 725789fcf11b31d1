import numpy as np
import pandas as pd
import pytest
import torch
from fakes import implicit_split

from recsys_lib.config import ITEM_COL, USER_COL
from recsys_lib.eval import evaluate_full
from recsys_lib.models import BPRMF, EASE, MF, ItemKNN, MostPopular

N_USERS, N_ITEMS = 400, 200


@pytest.fixture(scope="module")
def split():
    return implicit_split(N_USERS, N_ITEMS)


def ndcg(model, split):
    train, test = split
    return evaluate_full(model, train, test, k=10)["ndcg@10"]


def test_ease_and_itemknn_beat_most_popular(split):
    train, _ = split
    pop = ndcg(MostPopular().fit(train, N_USERS, N_ITEMS), split)
    knn = ndcg(
        ItemKNN(k_neighbors=50, shrinkage=10.0).fit(train, N_USERS, N_ITEMS), split
    )
    ease = ndcg(EASE(l2_reg=100.0).fit(train, N_USERS, N_ITEMS), split)
    assert knn > pop + 0.02
    assert ease > pop + 0.02


def test_scores_have_the_shared_shape(split):
    train, _ = split
    for model in (MostPopular(), ItemKNN(10), EASE(50.0)):
        scores = model.fit(train, N_USERS, N_ITEMS).score(np.array([3, 0, 3]))
        assert scores.shape == (3, N_ITEMS) and scores.dtype == torch.float32
        assert torch.equal(scores[0], scores[2])
        assert model.fit_seconds >= 0 and type(model).__name__ in repr(model)


def test_most_popular_counts_users():
    train = pd.DataFrame({USER_COL: [0, 1, 1, 2, 2], ITEM_COL: [2, 2, 0, 2, 2]})
    scores = MostPopular().fit(train, 3, 4).score([1])
    assert scores.tolist() == [[1, 0, 3, 0]]  # the repeated (2, 2) counts once


def test_ease_matches_the_closed_form():
    rng = np.random.default_rng(0)
    X = (rng.random((30, 12)) < 0.3).astype(float)
    users, items = np.nonzero(X)
    train = pd.DataFrame({USER_COL: users, ITEM_COL: items})
    model = EASE(l2_reg=5.0).fit(train, 30, 12)
    P = np.linalg.inv(X.T @ X + 5.0 * np.eye(12))
    B = np.eye(12) - P / np.diag(P)
    np.testing.assert_allclose(np.diag(model.weights), 0.0)
    np.testing.assert_allclose(model.weights, B, atol=1e-5)
    np.testing.assert_allclose(model.score(np.arange(30)), X @ B, atol=1e-4)


def test_itemknn_matches_a_dense_reference():
    rng = np.random.default_rng(1)
    X = (rng.random((40, 15)) < 0.3).astype(float)
    users, items = np.nonzero(X)
    train = pd.DataFrame({USER_COL: users, ITEM_COL: items})
    k, shrink = 4, 2.0
    model = ItemKNN(k_neighbors=k, shrinkage=shrink).fit(train, 40, 15)
    n = np.sqrt(X.sum(0))
    sim = (X.T @ X) / (np.outer(n, n) + shrink + 1e-12)
    np.fill_diagonal(sim, 0.0)
    W = np.zeros_like(sim)
    for i in range(15):  # keep the k most similar items of each target item i
        nb = np.argsort(-sim[:, i], kind="stable")[:k]
        W[nb, i] = sim[nb, i]
    W[W == 0] = 0.0
    np.testing.assert_allclose(model.similarity.toarray(), W, atol=1e-6)
    np.testing.assert_allclose(model.score(np.arange(40)), X @ W, atol=1e-5)


def test_bprmf_is_deterministic_and_learns(split):
    train, test = split
    kwargs = dict(dim=16, epochs=4, batch_size=512, patience=None)
    a = BPRMF(seed=1, **kwargs).fit(train, N_USERS, N_ITEMS)
    b = BPRMF(seed=1, **kwargs).fit(train, N_USERS, N_ITEMS)
    c = BPRMF(seed=2, **kwargs).fit(train, N_USERS, N_ITEMS)
    users = np.arange(N_USERS)
    assert torch.equal(a.score(users), b.score(users))
    assert not torch.equal(a.score(users), c.score(users))
    assert a.history.epochs == 4
    assert a.history.train_loss[-1] < a.history.train_loss[0]
    rng = np.random.default_rng(0)
    random_ndcg = evaluate_full(rng.random((N_USERS, N_ITEMS)), train, test)["ndcg@10"]
    assert ndcg(a, split) > 2 * random_ndcg


def test_bprmf_early_stopping_on_validation(split):
    train, valid = split
    model = BPRMF(dim=8, epochs=3, batch_size=1024, patience=1).fit(
        train, N_USERS, N_ITEMS, valid=valid
    )
    hist = model.history
    assert len(hist.val) == hist.epochs and 0 < hist.best_val <= 1
    assert hist.best_val == pytest.approx(
        ndcg(model, split), abs=1e-6
    )  # best weights kept


def test_bprmf_trains_an_mf_with_item_bias_only_and_leaves_the_global_rng(split):
    train, _ = split
    before = torch.random.get_rng_state()
    model = BPRMF(dim=4, epochs=1, patience=None).fit(train, N_USERS, N_ITEMS)
    assert torch.equal(torch.random.get_rng_state(), before)  # seeded by `seed` only
    mf = model.model
    assert isinstance(mf, MF) and mf.user_bias is None and mf.item_bias is not None
    assert mf.cfg.dim == 4 and mf.cfg.init_std == 0.1
    assert torch.allclose(model.score([0, 1]), mf.score(torch.tensor([0, 1])))


def test_get_params_come_from_the_signature():
    assert MostPopular().get_params() == {}
    assert EASE(l2_reg=3.0).get_params() == {"l2_reg": 3.0, "max_items": 20_000}
    assert ItemKNN(7).get_params() == {"k_neighbors": 7, "shrinkage": 10.0}
    params = BPRMF(dim=8).get_params()
    assert params["dim"] == 8 and params["show_progress"] is False and len(params) == 8
    model = EASE().set_params(l2_reg=9.0)
    assert model.l2_reg == 9.0 and "EASE(l2_reg=9.0, max_items=20000)" == repr(model)
    with pytest.raises(ValueError, match="no parameter 'l3_reg'"):
        EASE().set_params(l3_reg=1.0)
    with pytest.raises(ValueError, match="l2_reg"):
        EASE().set_params(l2_reg=-1.0)


# ------------------------------------------------------------ bad input
def test_bad_train_input():
    good = pd.DataFrame({USER_COL: [0, 1], ITEM_COL: [1, 2]})
    for model in (MostPopular(), ItemKNN(), EASE(), BPRMF(epochs=1)):
        with pytest.raises(ValueError, match="train is empty"):
            model.fit(good.iloc[:0], 2, 3)
        with pytest.raises(ValueError, match="item id 2 but n_items=2"):
            model.fit(good, 2, 2)
        with pytest.raises(ValueError, match="user id 1 but n_users=1"):
            model.fit(good, 1, 3)
        with pytest.raises(ValueError, match="negative"):
            model.fit(pd.DataFrame({USER_COL: [0], ITEM_COL: [-1]}), 2, 3)
        with pytest.raises(ValueError, match="lacks column"):
            model.fit(good.rename(columns={ITEM_COL: "item"}), 2, 3)
        with pytest.raises(TypeError, match="DataFrame"):
            model.fit(good.to_numpy(), 2, 3)
        with pytest.raises(TypeError, match="integer ids"):
            model.fit(good.astype(float), 2, 3)


def test_score_errors():
    good = pd.DataFrame({USER_COL: [0, 1], ITEM_COL: [1, 2]})
    for model in (MostPopular(), ItemKNN(), EASE()):
        with pytest.raises(RuntimeError, match="before fit"):
            model.score([0])
        model.fit(good, 2, 3)
        with pytest.raises(ValueError, match=r"unknown user id\(s\) \[2, -1\]"):
            model.score([0, 2, -1])
        with pytest.raises(TypeError, match="integers"):
            model.score([0.5])
        with pytest.raises(ValueError, match="1-D"):
            model.score([[0]])
        assert model.score(1).shape == (1, 3)
        assert model.score([0], items=[2, 0]).shape == (1, 2)


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="k_neighbors must be >= 1"):
        ItemKNN(k_neighbors=0)
    with pytest.raises(ValueError, match="shrinkage"):
        ItemKNN(shrinkage=-1.0)
    with pytest.raises(ValueError, match="l2_reg"):
        EASE(l2_reg=0.0)
    with pytest.raises(TypeError, match="l2_reg must be a number"):
        EASE(l2_reg="big")
    with pytest.raises(ValueError, match="lr"):
        BPRMF(lr=0.0)
    with pytest.raises(ValueError, match="seed"):
        BPRMF(seed=-1)
    with pytest.raises(TypeError, match="seed must be an int"):
        BPRMF(seed=1.5)
    train = pd.DataFrame({USER_COL: [0, 0], ITEM_COL: [0, 1]})
    with pytest.raises(ValueError, match="raise max_items"):
        EASE(max_items=1).fit(train, 1, 2)
    with pytest.raises(ValueError, match="interacted with every item"):
        BPRMF(epochs=1).fit(train, 1, 2)
