"""Tests of recsys_lib.models.two_tower (Chapter 8's retrieval model)."""

import numpy as np
import pandas as pd
import pytest
import torch
from fakes import build_two_tower, cluster_log

from recsys_lib.models.two_tower import (
    TwoTowerConfig,
    TwoTowerModel,
    _EvenBatchSampler,
    _training_examples,
    build_histories,
    check_histories,
    in_batch_softmax_loss,
    train_two_tower,
)
from recsys_lib.retrieval import TwoTowerRetriever

from .contract import check_scorer


def test_two_tower_training_decreases_loss_is_deterministic_and_retrieves_the_group():
    log = cluster_log()
    runs = []
    for _ in range(2):
        model = build_two_tower()
        hist = train_two_tower(model, log, epochs=10, batch_size=64, lr=0.02, seed=3)
        runs.append((hist.train_loss, model.item_vectors()))
    losses = runs[0][0]
    assert losses[-1] < 0.8 * losses[0]
    assert runs[0][0] == runs[1][0]
    assert torch.equal(runs[0][1], runs[1][1])
    users = np.arange(40)
    items, scores = TwoTowerRetriever(model).retrieve(users, 4)
    same_group = (items // 8) == (users % 3)[:, None]
    assert same_group.mean() > 0.95  # chance: 1/3
    assert np.all(np.diff(scores, axis=1) <= 1e-6) and np.abs(scores).max() <= 1 + 1e-5
    assert model.has_history.all()  # train_two_tower stored the serving histories


def test_two_tower_shapes_padding_and_history_examples():
    model = build_two_tower(10, 6)
    u = model.encode_users(torch.tensor([0, 1]), torch.tensor([[6, 6, 2], [1, 6, 3]]))
    v = model.encode_items(torch.tensor([0, 5, 3]))
    assert u.shape == (2, 8) and v.shape == (3, 8)
    np.testing.assert_allclose(u.norm(dim=1).detach(), 1.0, rtol=1e-5)
    # padding-aware mean: where and how much padding there is changes nothing
    same = model.encode_users(torch.tensor([0, 1]), torch.tensor([[2], [3]]))
    np.testing.assert_allclose(u[0].detach(), same[0].detach(), rtol=1e-5)
    assert model(torch.tensor([0]), torch.tensor([[2]]), torch.tensor([4])).shape == (
        1,
    )
    assert model.score(np.arange(3)).shape == (3, 6)
    with pytest.raises(ValueError, match="padding id 6"):
        model.encode_users(torch.tensor([0]), torch.tensor([[7]]))
    with pytest.raises(ValueError, match=r"\[0, 6\)"):
        model.encode_items(torch.tensor([6]))
    with pytest.raises(ValueError, match="missing"):
        TwoTowerModel(TwoTowerConfig.tiny(10, 6)).encode_items(torch.tensor([0]))
    with pytest.raises(ValueError, match="temperature"):
        TwoTowerConfig.tiny(temperature=0.0)
    with pytest.raises(ValueError, match="expected"):
        model.set_histories(np.full((10, 4), 6))
    # each example's history: the items before it, never the target itself
    log = pd.DataFrame(
        {"user_id": [0, 0, 0, 1], "item_id": [3, 1, 3, 2], "timestamp": [0, 1, 2, 0]}
    )
    users, hist, items = _training_examples(log, 2, 6, 3, "timestamp")
    np.testing.assert_array_equal(items, [3, 1, 3, 2])
    np.testing.assert_array_equal(hist, [[6, 6, 6], [6, 6, 3], [6, 6, 1], [6, 6, 6]])


def test_in_batch_loss_equals_cross_entropy_with_logq():
    model = build_two_tower(10, 6)
    users, items = torch.tensor([0, 1, 2]), torch.tensor([0, 4, 5])
    hist = torch.tensor([[1], [2], [6]])
    log_q = torch.log(torch.tensor([0.5, 0.1, 0.1, 0.1, 0.1, 0.1]))
    loss = in_batch_softmax_loss(model, (users, hist, items), log_q)
    logits = model.encode_users(users, hist) @ model.encode_items(items).T / 0.1
    ref = torch.nn.functional.cross_entropy(logits - log_q[items], torch.arange(3))
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-5)
    plain = in_batch_softmax_loss(model, (users, hist, items))
    assert abs(plain.item() - loss.item()) > 1e-4
    with pytest.raises(ValueError, match="at least 2"):
        train_two_tower(model, cluster_log(1, 6, per_user=1))
    with pytest.raises(ValueError, match="lr"):
        train_two_tower(model, cluster_log(10, 6), lr=0.0)
    with pytest.raises(ValueError, match="item id 6"):
        train_two_tower(
            model, pd.DataFrame({"user_id": [0, 1], "item_id": [0, 6]}), time_col=None
        )


def test_build_histories_keeps_the_newest_items_left_padded():
    df = pd.DataFrame(
        {
            "user_id": [0, 0, 1, 0],
            "item_id": [2, 1, 2, 3],
            "timestamp": [0, 86_400 * 5, 10, 86_400 * 6],
        }
    )
    hist = build_histories(df, n_users=3, n_items=5, max_len=2)
    np.testing.assert_array_equal(hist, [[1, 3], [5, 2], [5, 5]])
    in_rows = build_histories(df, n_users=3, n_items=5, max_len=4, time_col=None)
    np.testing.assert_array_equal(in_rows, [[5, 2, 1, 3], [5, 5, 5, 2], [5, 5, 5, 5]])
    np.testing.assert_array_equal(check_histories(hist, 3, 5), hist)
    with pytest.raises(ValueError, match="max_len must be >= 1"):
        build_histories(df, n_users=3, n_items=5, max_len=0)
    with pytest.raises(ValueError, match="expected n_users=4"):
        check_histories(hist, 4, 5)
    with pytest.raises(TypeError, match="integer"):
        check_histories(hist.astype(float), 3, 5)
    with pytest.raises(ValueError, match="2-D"):
        check_histories(hist[0], 3, 5)


def test_two_tower_model_keeps_the_scorer_contract():
    log = cluster_log()
    model = build_two_tower()
    train_two_tower(model, log, epochs=1, batch_size=64)
    check_scorer(model, np.array([0, 39, 5]), exclude=log)
    rec = model.recommend(np.arange(40), k=4, exclude=log)
    items, _ = TwoTowerRetriever(model).retrieve(np.arange(40), 4, exclude=log)
    np.testing.assert_array_equal(rec.items, items)  # cosine order = logit order


def test_training_batches_are_even_seeded_and_leave_the_global_generator_alone():
    sampler = _EvenBatchSampler(n=10, batch_size=4, seed=3)
    rng = np.random.default_rng(3)
    for _ in range(2):  # each pass is a new epoch of the same stream
        batches = [b.numpy() for b in sampler]
        assert [b.size for b in batches] == [4, 3, 3] and len(sampler) == 3
        for got, ref in zip(
            batches, np.array_split(rng.permutation(10), 3), strict=True
        ):
            np.testing.assert_array_equal(got, ref)
    model = build_two_tower(dropout=0.2)
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    train_two_tower(model, cluster_log(), epochs=1, batch_size=50)
    assert torch.equal(torch.random.get_rng_state(), before)
