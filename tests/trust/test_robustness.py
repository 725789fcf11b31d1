"""Tests of recsys_lib.trust.robustness (Chapter 11)."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys_lib.models import ItemKNN
from recsys_lib.trust import (
    drop_interactions,
    inject_profiles,
    item_ranks,
    topk_jaccard,
)


def test_topk_jaccard():
    a = np.array([[1, 2, 3], [1, 2, 3]])
    b = np.array([[3, 2, 1], [1, 4, 5]])
    np.testing.assert_allclose(topk_jaccard(a, b), [1.0, 1 / 5])
    with pytest.raises(ValueError, match="same shape"):
        topk_jaccard(a, b[:, :2])


def test_drop_interactions():
    df = pd.DataFrame({"user_id": np.arange(1000), "item_id": 0})
    out = drop_interactions(df, 0.1, seed=0)
    assert 850 < len(out) < 950
    assert len(drop_interactions(df, 0.0)) == 1000
    with pytest.raises(ValueError, match=r"fraction must be < 1"):
        drop_interactions(df, 1.0)
    with pytest.raises(TypeError, match="DataFrame"):
        drop_interactions([1], 0.1)


def test_inject_profiles_adds_fake_users_who_push_the_target():
    rng = np.random.default_rng(0)
    rows = [(u, i) for u in range(30) for i in rng.choice(10, 4, replace=False)]
    rows += [(30, 11), (31, 11)]  # target item 11 is rare
    train = pd.DataFrame(rows, columns=["user_id", "item_id"]).assign(timestamp=1)
    out, fake = inject_profiles(
        train,
        32,
        target_item=11,
        filler_items=np.arange(5),
        n_profiles=10,
        filler_size=3,
    )
    assert fake.tolist() == list(range(32, 42))
    added = out[out.user_id >= 32]
    assert (
        len(added) == 40
        and (added.groupby("user_id").item_id.apply(lambda s: 11 in set(s))).all()
    )
    assert set(out.columns) == set(train.columns) and out["timestamp"].notna().all()
    before = item_ranks(
        ItemKNN(10, 0.0).fit(train, 32, 12).score(np.arange(30)).numpy(), 11
    )
    after_m = ItemKNN(10, 0.0).fit(out, 42, 12)
    after = item_ranks(after_m.score(np.arange(30)).numpy(), 11)
    assert np.median(after) < np.median(before)


def test_inject_profiles_bad_input():
    train = pd.DataFrame({"user_id": [0], "item_id": [0]})
    with pytest.raises(ValueError, match="filler_size must be <= 2"):
        inject_profiles(train, 1, 0, [0, 1, 2], n_profiles=1, filler_size=3)
    with pytest.raises(ValueError, match="n_profiles must be >= 1"):
        inject_profiles(train, 1, 0, [1], n_profiles=0, filler_size=1)


def test_item_ranks():
    s = np.array([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1]])
    assert item_ranks(s, 2).tolist() == [2, 3]
    ex = sp.csr_matrix(np.array([[0, 1, 0], [0, 0, 1]]))
    assert item_ranks(s, 2, exclude=ex).tolist() == [1, 0]
    with pytest.raises(ValueError, match="item must be <= 2"):
        item_ranks(s, 3)
