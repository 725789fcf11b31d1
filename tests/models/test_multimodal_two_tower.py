"""The multimodal two-tower of Chapter 5 (recsys_lib.models.multimodal_two_tower)."""

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_lib.eval import full_ranking_topk
from recsys_lib.features.fusion import MultimodalItemTower
from recsys_lib.models.base import PairScorer, Recommendations
from recsys_lib.models.multimodal_two_tower import (
    TwoTowerRecommender,
    train_multimodal_two_tower,
)


def cold_start_data(seed=0):
    """Users like one of 4 categories; items 45..59 never appear in training."""
    rng = np.random.default_rng(seed)
    n_users, n_items, n_cat = 80, 60, 4
    cat = rng.integers(0, n_cat, n_items)
    content = np.eye(n_cat)[cat] + 0.1 * rng.standard_normal((n_items, n_cat))
    fav = rng.integers(0, n_cat, n_users)
    rows = [
        (u, i)
        for u in range(n_users)
        for i in range(45)
        if cat[i] == fav[u] and rng.random() < 0.8
    ]
    train = pd.DataFrame(rows, columns=["user_id", "item_id"])
    return n_users, n_items, cat, content.astype(np.float32), fav, train


@pytest.mark.parametrize("kind", ["attention", "gated"])
def test_two_tower_scores_cold_items_from_content(kind):
    n_users, n_items, cat, content, fav, train = cold_start_data()
    torch.manual_seed(0)
    tower = MultimodalItemTower(
        n_items, [content], id_dim=8, out_dim=8, fusion=kind, id_dropout=0.5
    )
    model = TwoTowerRecommender(n_users, tower)
    history = train_multimodal_two_tower(
        model, train, epochs=8, lr=0.03, batch_size=128, seed=0
    )
    assert history.train_loss[-1] < history.train_loss[0]
    assert set(torch.nonzero(~tower.known)[:, 0].tolist()) >= set(range(45, 60))
    scores = model.score(np.arange(n_users))
    assert isinstance(scores, torch.Tensor) and scores.dtype == torch.float32
    assert scores.shape == (n_users, n_items)
    scores = scores.numpy()
    cold = np.arange(45, 60)
    aucs = []
    for u in range(n_users):
        s = scores[u, cold]
        liked = cat[cold] == fav[u]
        if liked.any() and (~liked).any():
            aucs.append((s[liked][:, None] > s[~liked][None, :]).mean())
    assert np.mean(aucs) > 0.8  # cold items ranked by content alone
    top = full_ranking_topk(model, train, k=5)
    assert top.shape == (n_users, 5)


def test_two_tower_same_seed_same_model_and_bad_input():
    n_users, n_items, _, content, _, train = cold_start_data()
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        tower = MultimodalItemTower(
            n_items, [content], id_dim=4, out_dim=4, id_dropout=0.3
        )
        model = TwoTowerRecommender(n_users, tower)
        train_multimodal_two_tower(model, train, epochs=2, batch_size=256, seed=5)
        runs.append(model.score(np.arange(n_users)))
    np.testing.assert_array_equal(runs[0], runs[1])
    with pytest.raises(ValueError, match=f"user_ids holds id {n_users}"):
        model.score(np.array([n_users]))
    with pytest.raises(ValueError, match=f"train holds item id {n_items}"):
        train_multimodal_two_tower(model, train.assign(item_id=n_items), epochs=1)
    with pytest.raises(ValueError, match="train is empty"):
        train_multimodal_two_tower(model, train.iloc[:0], epochs=1)
    with pytest.raises(TypeError, match="DataFrame"):
        train_multimodal_two_tower(model, train.to_numpy().tolist(), epochs=1)
    with pytest.raises(TypeError, match="epochs must be an int"):
        train_multimodal_two_tower(model, train, epochs=1.0)
    with pytest.raises(TypeError, match="TwoTowerRecommender"):
        train_multimodal_two_tower(tower, train, epochs=1)


def test_two_tower_follows_the_recommender_protocol():
    n_users, n_items, _, content, _, train = cold_start_data()
    torch.manual_seed(0)
    tower = MultimodalItemTower(n_items, [content], id_dim=4, out_dim=4)
    model = TwoTowerRecommender(n_users, tower)
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    train_multimodal_two_tower(model, train, epochs=1, seed=0)
    assert torch.equal(torch.random.get_rng_state(), before)  # global RNG untouched
    assert isinstance(model, PairScorer)
    users, items = np.array([5, 0, 9]), np.array([3, 50, 7])
    model.train()
    full = model.score(users)  # in eval mode: no ID dropout
    assert model.training  # the mode is restored
    torch.testing.assert_close(model.score(users, items), full[:, items])
    model.eval()  # the pair logits of training equal the scores (no ID dropout)
    with torch.no_grad():
        pairs = model(torch.from_numpy(users), torch.from_numpy(items))
    torch.testing.assert_close(pairs, full[np.arange(3), items])
    rec = model.recommend(users, k=5, exclude=train)
    assert isinstance(rec, Recommendations) and rec.items.shape == (3, 5)
    for row, u in zip(rec.items, users, strict=True):
        assert not set(row) & set(train.loc[train.user_id == u, "item_id"])


def test_two_tower_user_with_every_item_is_an_error_not_a_positive():
    """The old sampler gave up after 100 rounds and returned positives; not any more."""
    train = pd.DataFrame({"user_id": [0, 0, 0, 1], "item_id": [0, 1, 2, 0]})
    tower = MultimodalItemTower(3, [np.eye(3, dtype=np.float32)], id_dim=2, out_dim=2)
    model = TwoTowerRecommender(2, tower)
    with pytest.raises(ValueError, match="user 0 has no item left"):
        train_multimodal_two_tower(model, train, epochs=1)
