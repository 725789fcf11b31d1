"""SASRecRecommender (Chapter 9): SASRec behind the fit/score protocol."""

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_lib.config import ITEM_COL, TIMESTAMP_COL, USER_COL
from recsys_lib.eval import evaluate_full
from recsys_lib.models import SASRecRecommender

from .contract import check_recommender

N_USERS, N_ITEMS = 12, 15


def events(with_time: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [(u, int(i)) for u in range(N_USERS) for i in rng.permutation(N_ITEMS)[:5]]
    df = pd.DataFrame(rows, columns=[USER_COL, ITEM_COL])
    if with_time:
        df[TIMESTAMP_COL] = np.arange(len(df))[::-1]  # newest row first
    return df


def tiny(**kw) -> SASRecRecommender:
    return SASRecRecommender(**{"dim": 8, "epochs": 2, "max_len": 6, **kw})


@pytest.mark.parametrize("with_time", [True, False])
def test_keeps_the_recommender_contract(with_time):
    check_recommender(tiny(), events(with_time), N_USERS, N_ITEMS)


def test_reads_each_users_items_in_time_order():
    train = events()
    model = tiny().fit(train, N_USERS, N_ITEMS)
    for u in (0, 5):
        rows = train[train[USER_COL] == u].sort_values(TIMESTAMP_COL)
        assert model.sequences[u].tolist() == rows[ITEM_COL].tolist()
    untimed = tiny().fit(events(with_time=False), N_USERS, N_ITEMS)
    assert untimed.sequences[0].tolist() == events(False)[ITEM_COL][:5].tolist()


def test_seed_reproduces_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = tiny(seed=1).fit(events(), N_USERS, N_ITEMS).score(np.arange(N_USERS))
    assert torch.equal(torch.rand(1), before)
    b = tiny(seed=1).fit(events(), N_USERS, N_ITEMS).score(np.arange(N_USERS))
    c = tiny(seed=2).fit(events(), N_USERS, N_ITEMS).score(np.arange(N_USERS))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_valid_drives_early_stopping_and_the_history():
    train = events()
    last = train.groupby(USER_COL).head(1)  # each user's newest row
    model = tiny(epochs=4, patience=1).fit(
        train.drop(last.index), N_USERS, N_ITEMS, valid=last
    )
    h = model.history
    assert 1 <= h.epochs <= 4 and len(h.val) == h.epochs
    # the kept weights are the best epoch's: scoring again gives its value
    again = evaluate_full(model, train.drop(last.index), last, k=10, n_items=N_ITEMS)
    assert again["ndcg@10"] == pytest.approx(h.best_val, abs=1e-6)


def test_bad_settings_and_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="dropout"):
        SASRecRecommender(dropout=1.0)
    with pytest.raises(ValueError, match="lr"):
        SASRecRecommender(lr=0.0)
    with pytest.raises(TypeError, match="dim"):
        SASRecRecommender(dim=8.5)
    with pytest.raises(ValueError, match="patience"):
        SASRecRecommender(patience=0)
    one_each = events().groupby(USER_COL).head(1)
    with pytest.raises(ValueError, match="2 or more items"):
        tiny().fit(one_each, N_USERS, N_ITEMS)
    partial = events()[events()[USER_COL] != 3]
    model = tiny().fit(partial, N_USERS, N_ITEMS)
    with pytest.raises(ValueError, match="user 3 has no training item"):
        model.score(np.array([0, 3]))
    with pytest.raises(RuntimeError, match="before fit"):
        tiny().score(np.array([0]))
    with pytest.raises(ValueError, match="no parameter 'heads'"):
        tiny().set_params(heads=2)
