import numpy as np
import pytest
import torch
from torch import nn

from recsys_lib.config import ITEM_COL, RATING_COL, USER_COL
from recsys_lib.data.loaders import NegativeSampler
from recsys_lib.data.synthetic import make_ratings
from recsys_lib.eval import evaluate_full
from recsys_lib.models import MF, MFConfig, NeuralRecommender
from recsys_lib.models.losses import sampled_bce_loss, softmax_cross_entropy
from recsys_lib.training import fit
from recsys_lib.utils import set_seed

N_USERS, N_ITEMS = 120, 80


@pytest.fixture(scope="module")
def split():
    data = make_ratings(
        n_users=N_USERS, n_items=N_ITEMS, mean_ratings_per_user=30, seed=0
    )
    positives = data.ratings[data.ratings[RATING_COL] >= 4][[USER_COL, ITEM_COL]]
    held_out = np.random.default_rng(0).random(len(positives)) < 0.2
    return positives[~held_out], positives[held_out]


def build_mf(n_users, n_items):
    return MF(MFConfig(n_users, n_items, dim=8))


@pytest.mark.parametrize("loss", ["bce", "softmax"])
def test_same_numbers_as_the_hand_written_chapter_6_loop(split, loss):
    """NeuralRecommender == set_seed, a randperm loop, sampler in the loss, fit."""
    train, valid = split
    model = NeuralRecommender(
        build_mf, loss=loss, lr=0.02, epochs=3, batch_size=256, seed=4, patience=2
    ).fit(train, N_USERS, N_ITEMS, valid=valid)

    set_seed(4, deterministic=False)
    ref = build_mf(N_USERS, N_ITEMS)
    users_t = torch.tensor(train[USER_COL].to_numpy())
    items_t = torch.tensor(train[ITEM_COL].to_numpy())
    gen = torch.Generator().manual_seed(4)

    class Batches:
        def __iter__(self):
            order = torch.randperm(len(users_t), generator=gen)
            for lo in range(0, len(order), 256):
                idx = order[lo : lo + 256]
                yield users_t[idx], items_t[idx]

    sampler = NegativeSampler(train, N_ITEMS, n_users=N_USERS, seed=4)

    def loss_fn(m, batch):
        u, i = batch
        if loss == "softmax":  # Chapter 6's full softmax of MF
            return softmax_cross_entropy(m.user(u) @ m.item.weight.T + m.item_bias, i)
        neg_items = sampler.sample(u, 4)
        neg = m(u.repeat_interleave(4), neg_items.reshape(-1)).view(-1, 4)
        return sampled_bce_loss(m(u, i), neg)

    history = fit(
        ref,
        Batches(),
        loss_fn,
        torch.optim.Adam(ref.parameters(), lr=0.02),
        epochs=3,
        val_fn=lambda m: evaluate_full(m, train, valid, k=10, n_items=N_ITEMS)[
            "ndcg@10"
        ],
        monitor="max",
        patience=2,
        show_progress=False,
    )
    assert model.history.val == history.val
    assert model.history.train_loss == history.train_loss
    assert torch.equal(
        model.score(np.arange(N_USERS)), ref.score(torch.arange(N_USERS))
    )


def test_full_softmax_logits_leave_out_what_cancels():
    torch.manual_seed(0)
    mf = build_mf(5, 7)
    with torch.no_grad():
        mf.user_bias.normal_()
        mf.global_bias.fill_(2.0)
    users, items = torch.tensor([0, 3, 4]), torch.tensor([6, 0, 2])
    logits = mf._softmax_logits(users)
    assert torch.allclose(logits, mf.user(users) @ mf.item.weight.T + mf.item_bias)
    full = softmax_cross_entropy(mf._all_items(users), items)
    assert torch.allclose(softmax_cross_entropy(logits, items), full, atol=1e-6)
    softmax_cross_entropy(logits, items).backward()
    assert mf.user_bias.grad is None  # no rounding noise for Adam to amplify


@pytest.mark.parametrize("loss", ["bce", "bpr", "sampled_softmax", "softmax"])
def test_every_loss_learns_and_is_seeded(split, loss):
    train, test = split
    before = torch.random.get_rng_state()
    kwargs = dict(loss=loss, lr=0.05, epochs=3, batch_size=256, seed=1)
    a = NeuralRecommender(build_mf, **kwargs).fit(train, N_USERS, N_ITEMS)
    b = NeuralRecommender(build_mf, **kwargs).fit(train, N_USERS, N_ITEMS)
    assert torch.equal(torch.random.get_rng_state(), before)  # global RNG untouched
    users = np.arange(N_USERS)
    assert torch.equal(a.score(users), b.score(users))
    assert a.history.epochs == 3 and a.history.train_loss[-1] < a.history.train_loss[0]
    random = evaluate_full(
        np.random.default_rng(0).random((N_USERS, N_ITEMS)), train, test
    )["ndcg@10"]
    assert evaluate_full(a, train, test)["ndcg@10"] > 1.5 * random


def test_early_stopping_keeps_the_best_epoch(split):
    train, valid = split
    model = NeuralRecommender(
        build_mf, lr=0.05, epochs=4, batch_size=256, patience=1
    ).fit(train, N_USERS, N_ITEMS, valid=valid)
    hist = model.history
    assert len(hist.val) == hist.epochs and 0 < hist.best_val <= 1
    got = evaluate_full(model, train, valid)["ndcg@10"]
    assert got == pytest.approx(hist.best_val, abs=1e-6)
    last = NeuralRecommender(
        build_mf, lr=0.05, epochs=3, batch_size=256, restore_best=False
    ).fit(train, N_USERS, N_ITEMS, valid=valid)
    assert evaluate_full(last, train, valid)["ndcg@10"] == pytest.approx(
        last.history.val[-1], abs=1e-6
    )


def test_params_and_bad_arguments(split):
    train, _ = split
    model = NeuralRecommender(build_mf, loss="softmax", lr=0.1)
    params = model.get_params()
    assert params["build"] is build_mf and params["loss"] == "softmax"
    assert params["lr"] == 0.1 and len(params) == 11
    with pytest.raises(TypeError, match="build must be a function"):
        NeuralRecommender("MF")
    with pytest.raises(ValueError, match="loss must be one of"):
        NeuralRecommender(build_mf, loss="hinge")
    with pytest.raises(ValueError, match="lr must be > 0"):
        NeuralRecommender(build_mf, lr=0)
    with pytest.raises(ValueError, match="n_negatives must be >= 1"):
        NeuralRecommender(build_mf, n_negatives=0)
    with pytest.raises(TypeError, match="must return a recsys_lib.models.PairScorer"):
        NeuralRecommender(lambda u, i: nn.Linear(2, 1)).fit(train, N_USERS, N_ITEMS)
    with pytest.raises(ValueError, match="returned a model for 3 users"):
        NeuralRecommender(lambda u, i: build_mf(3, i)).fit(train, N_USERS, N_ITEMS)
    with pytest.raises(RuntimeError, match="before fit"):
        model.score([0])
