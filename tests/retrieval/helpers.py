"""Small data sets and sources shared by the retrieval tests."""

import numpy as np
import pandas as pd

from recsys_lib.retrieval import PopularityRetriever


def clustered(n_items=2000, d=16, n_clusters=20, seed=0, noise=0.15):
    """Unit-norm item vectors around a few centres, plus queries near the centres."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, d))
    label = rng.integers(0, n_clusters, n_items)
    x = centres[label] + noise * rng.standard_normal((n_items, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = centres[rng.integers(0, n_clusters, 50)] + noise * rng.standard_normal((50, d))
    return x.astype(np.float32), q.astype(np.float32), label


def interactions(n_users=6, n_items=10):
    """A tiny log: user u bought items u and u+1 (mod n_items)."""
    users = np.repeat(np.arange(n_users), 2)
    items = (users + np.tile([0, 1], n_users)) % n_items
    return pd.DataFrame(
        {"user_id": users, "item_id": items, "timestamp": np.arange(users.size)}
    )


def pop_retriever(order, name="popularity"):
    """A PopularityRetriever whose ranking is exactly ``order`` (best first)."""
    order = np.asarray(order)
    pop = np.empty(order.size)
    pop[order] = np.arange(order.size, 0, -1)
    return PopularityRetriever(pop, name=name)
