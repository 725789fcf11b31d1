"""A tiny shop service for the tests of recsys_lib.serving (milliseconds to build)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from recsys_lib.models import FeatureMLPRanker, RankerConfig
from recsys_lib.retrieval import TwoTowerConfig, TwoTowerModel, build_histories
from recsys_lib.serving import Catalog, ShopService

N_USERS, N_ITEMS, N_CATS = 12, 30, 3
COLD_USER = 11  # in range, but without history


def tiny_catalog(n_items: int = N_ITEMS, seed: int = 0) -> Catalog:
    rng = np.random.default_rng(seed)
    return Catalog(
        titles=[f"product {i}" for i in range(n_items)],
        prices=rng.uniform(5, 100, n_items).round(2),
        categories=np.arange(n_items) % N_CATS,
        category_names=["Shirt", "Trouser", "Coat"],
        images=rng.integers(0, 256, (n_items, 28, 28), dtype=np.uint8),
    )


def tiny_service(seed: int = 0, ranker: bool = True, **settings) -> ShopService:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tt = TwoTowerModel(
        TwoTowerConfig.tiny(N_USERS, N_ITEMS),
        user_features=torch.randn(N_USERS, 3),
        item_features=torch.randn(N_ITEMS, 4),
    )
    users = np.repeat(np.arange(N_USERS - 1), 3)  # the last user has no history
    frame = pd.DataFrame(
        {
            "user_id": users,
            "item_id": rng.integers(0, N_ITEMS, users.size),
            "timestamp": np.arange(users.size),
        }
    )
    tt.set_histories(build_histories(frame, N_USERS, N_ITEMS, tt.cfg.max_history))
    rk = None
    if ranker:
        rk = FeatureMLPRanker(
            RankerConfig.tiny(N_USERS, N_ITEMS, context_dim=0)
        ).set_feature_tables(torch.randn(N_USERS, 3), torch.randn(N_ITEMS, 5))
        rk.eval()
    tt.eval()
    settings = {"n_candidates": 20, "max_per_category": 10, **settings}
    pop = np.linspace(1.0, 0.0, N_ITEMS).astype(np.float32)
    return ShopService(tt, rk, tiny_catalog(), pop, **settings)
