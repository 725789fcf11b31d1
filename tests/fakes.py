"""Small stand-ins shared by tests of several packages (import as ``fakes``)."""

import numpy as np
import pandas as pd
import torch

from recsys_lib.config import ITEM_COL, RATING_COL, USER_COL
from recsys_lib.data.synthetic import make_ratings
from recsys_lib.models.two_tower import TwoTowerConfig, TwoTowerModel


def fake_images(n_per_class=30, n_classes=10, seed=0):
    """uint8 ``(n, 28, 28)`` pictures: one random template per class plus noise.

    A stand-in for Fashion-MNIST, so tests of ShopSim, the image encoder and
    the support app need no download.
    """
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    template = rng.integers(0, 200, (n_classes, 28, 28))
    images = template[labels] + rng.integers(0, 56, (labels.size, 28, 28))
    return images.astype(np.uint8), labels


def implicit_split(n_users=400, n_items=200, seed=0):
    """Implicit feedback (rating >= 4) from the synthetic table, random 80/20 split."""
    data = make_ratings(
        n_users=n_users,
        n_items=n_items,
        mean_ratings_per_user=60,
        noise_std=0.3,
        seed=seed,
    )
    positives = data.ratings[data.ratings[RATING_COL] >= 4][
        [USER_COL, ITEM_COL, RATING_COL]
    ]
    held_out = np.random.default_rng(seed).random(len(positives)) < 0.2
    return positives[~held_out], positives[held_out]


def cluster_log(n_users=40, n_items=24, per_user=8, seed=0):
    """Users of group g interact with the items of group g only (3 groups)."""
    rng = np.random.default_rng(seed)
    g = np.arange(n_users) % 3
    size = n_items // 3
    items = g[:, None] * size + rng.integers(0, size, (n_users, per_user))
    return pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(n_users), per_user),
            "item_id": items.ravel(),
            "timestamp": np.tile(np.arange(per_user), n_users),
        }
    )


def build_two_tower(n_users=40, n_items=24, **overrides):
    """A tiny two-tower model with seeded weights and feature tables."""
    torch.manual_seed(0)
    cfg = TwoTowerConfig.tiny(n_users, n_items, **overrides)
    g = torch.Generator().manual_seed(1)
    return TwoTowerModel(
        cfg,
        user_features=torch.randn(n_users, cfg.user_feat_dim, generator=g),
        item_features=torch.randn(n_items, cfg.item_feat_dim, generator=g),
    )
