"""Every recommender and scorer of the library keeps the one contract."""

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_lib.config import ITEM_COL, TIMESTAMP_COL, USER_COL
from recsys_lib.data.sequences import next_item_split
from recsys_lib.models import (
    BPRMF,
    EASE,
    GMF,
    MF,
    Caser,
    CaserConfig,
    FeatureMLPRanker,
    GMFConfig,
    GRU4Rec,
    GRU4RecConfig,
    ItemKNN,
    MFConfig,
    MLPConfig,
    MLPRecommender,
    MostPopular,
    NeuMF,
    NeuMFConfig,
    NeuralRecommender,
    RankerConfig,
    SASRec,
    SASRecConfig,
    next_item_scorer,
)
from recsys_lib.utils import set_seed

from .contract import check_recommender, check_scorer

N_USERS, N_ITEMS = 12, 15


@pytest.fixture(scope="module")
def train():
    rng = np.random.default_rng(0)
    rows = [(u, int(i)) for u in range(N_USERS) for i in rng.permutation(N_ITEMS)[:5]]
    return pd.DataFrame(rows, columns=[USER_COL, ITEM_COL])


def tiny_mf(n_users, n_items):
    return MF(MFConfig.tiny(n_users, n_items))


RECOMMENDERS = {
    "MostPopular": MostPopular,
    "ItemKNN": lambda: ItemKNN(k_neighbors=5),
    "EASE": lambda: EASE(l2_reg=10.0),
    "BPRMF": lambda: BPRMF(dim=4, epochs=2, batch_size=16),
    "Neural-MF-bpr": lambda: NeuralRecommender(tiny_mf, epochs=2, batch_size=16),
    "Neural-NeuMF-bce": lambda: NeuralRecommender(
        lambda u, i: NeuMF(NeuMFConfig.tiny(u, i)), loss="bce", epochs=1
    ),
    "Neural-MLP-sampled-softmax": lambda: NeuralRecommender(
        lambda u, i: MLPRecommender(MLPConfig.tiny(u, i, dropout=0.2)),
        loss="sampled_softmax",
        epochs=1,
    ),
    "Neural-GMF-softmax": lambda: NeuralRecommender(
        lambda u, i: GMF(GMFConfig.tiny(u, i)), loss="softmax", epochs=1
    ),
}

PAIR_SCORERS = {
    "MF": lambda: MF(MFConfig.tiny(N_USERS, N_ITEMS)),
    "GMF": lambda: GMF(GMFConfig.tiny(N_USERS, N_ITEMS)),
    "MLP": lambda: MLPRecommender(MLPConfig.tiny(N_USERS, N_ITEMS, dropout=0.2)),
    "NeuMF": lambda: NeuMF(NeuMFConfig.tiny(N_USERS, N_ITEMS)),
    "ranker": lambda: FeatureMLPRanker(
        RankerConfig.tiny(N_USERS, N_ITEMS, context_dim=0)
    ).set_feature_tables(torch.randn(N_USERS, 3), torch.randn(N_ITEMS, 5)),
}

SEQUENTIAL = {
    "SASRec": lambda: SASRec(SASRecConfig.tiny(N_ITEMS)),
    "GRU4Rec": lambda: GRU4Rec(GRU4RecConfig.tiny(N_ITEMS)),
    "Caser": lambda: Caser(CaserConfig.tiny(N_ITEMS, N_USERS)),
}


@pytest.mark.parametrize("name", RECOMMENDERS)
def test_recommenders_keep_the_contract(name, train):
    set_seed(0, deterministic=False)
    check_recommender(RECOMMENDERS[name](), train, N_USERS, N_ITEMS)


@pytest.mark.parametrize("name", PAIR_SCORERS)
def test_pair_scorers_keep_the_scorer_contract(name, train):
    set_seed(0, deterministic=False)
    model = PAIR_SCORERS[name]().train()
    check_scorer(model, np.array([0, N_USERS - 1, 1]), exclude=train)
    assert model.training  # score() restored the mode


@pytest.mark.parametrize("name", SEQUENTIAL)
def test_sequential_scorers_keep_the_scorer_contract(name, train):
    events = train.assign(**{TIMESTAMP_COL: np.arange(len(train))})
    split = next_item_split(events, N_USERS, N_ITEMS)
    set_seed(0, deterministic=False)
    scorer = next_item_scorer(split, SEQUENTIAL[name](), "test", max_len=12)
    check_scorer(scorer, np.array([0, N_USERS - 1, 1]), exclude=split.history("test"))
