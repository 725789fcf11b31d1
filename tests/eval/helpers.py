"""Random splits and scores shared by the evaluation tests."""

import numpy as np
import pandas as pd

from recsys_lib.config import ITEM_COL, USER_COL
from recsys_lib.data.interactions import interactions_to_csr


def make_split(n_users=80, n_items=60, n_train=12, n_test=3, seed=0):
    """Disjoint random train/test interactions, every user in both."""
    rng = np.random.default_rng(seed)
    tr, te = [], []
    for u in range(n_users):
        items = rng.permutation(n_items)[: n_train + n_test]
        tr += [(u, i) for i in items[:n_train]]
        te += [(u, i) for i in items[n_train:]]
    cols = [USER_COL, ITEM_COL]
    return pd.DataFrame(tr, columns=cols), pd.DataFrame(te, columns=cols)


def noisy_oracle(test, n_users, n_items, noise=1.0, seed=0):
    """Scores that know the test items, blurred by noise: a decent model."""
    rng = np.random.default_rng(seed)
    truth = interactions_to_csr(test, n_users, n_items).toarray()
    return (truth + noise * rng.normal(size=truth.shape)).astype(np.float32)
