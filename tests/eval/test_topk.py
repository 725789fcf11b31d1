import numpy as np
import pytest
import torch

from recsys_lib.config import ITEM_COL, USER_COL
from recsys_lib.data.interactions import interactions_to_csr
from recsys_lib.eval import full_ranking_topk

from .helpers import make_split


# ------------------------------------------------------------ full ranking
def test_train_items_are_never_recommended():
    train, _ = make_split()
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(80, 60)).astype(np.float32)
    scores[train[USER_COL], train[ITEM_COL]] += 100.0  # train items would win otherwise
    top = full_ranking_topk(scores, train, k=20)
    assert top.shape == (80, 20) and top.dtype == np.int64
    seen = interactions_to_csr(train, 80, 60).toarray().astype(bool)
    assert not seen[np.arange(80)[:, None], top].any()


def test_caller_scores_are_not_modified():
    train, _ = make_split()
    scores = np.random.default_rng(1).normal(size=(80, 60)).astype(np.float32)
    kept = scores.copy()
    tensor = torch.from_numpy(scores.copy())
    full_ranking_topk(scores, train, k=5)
    full_ranking_topk(tensor, train, k=5)
    full_ranking_topk(
        lambda u: scores, train, k=5, users=np.arange(80)
    )  # returns its own data
    full_ranking_topk(lambda u: tensor, train, k=5, users=np.arange(80))
    np.testing.assert_array_equal(scores, kept)
    np.testing.assert_array_equal(tensor.numpy(), kept)
    # read-only, broadcast, float64 and autograd-tracked outputs work too
    row = np.random.default_rng(2).random(60)
    expected = np.argsort(-row, kind="stable")[:3]
    readonly = np.broadcast_to(row, (80, 60))
    weight = torch.tensor(row, requires_grad=True)
    for fn in (
        lambda u: readonly[: len(u)],
        lambda u: torch.from_numpy(row).expand(len(u), 60),
        lambda u: weight.expand(len(u), 60) * 1.0,
    ):
        top = full_ranking_topk(fn, None, k=3, users=np.arange(80))
        np.testing.assert_array_equal(top, np.tile(expected, (80, 1)))


def test_topk_matches_a_full_sort():
    train, _ = make_split(seed=2)
    scores = np.random.default_rng(2).random((80, 60))
    masked = scores.copy()
    masked[train[USER_COL], train[ITEM_COL]] = -np.inf
    expected = np.argsort(-masked, axis=1, kind="stable")[:, :10]
    got, got_scores = full_ranking_topk(
        scores, train, k=10, batch_size=7, return_scores=True
    )
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(
        got_scores, np.take_along_axis(masked, expected, 1), rtol=1e-6
    )


def test_score_sources_and_batch_sizes_agree():
    train, _ = make_split(seed=3)
    scores = np.random.default_rng(3).random((80, 60)).astype(np.float32)

    class Model:
        n_users, n_items = 80, 60

        def score(self, users):
            return scores[users]

    users = np.array([5, 0, 79, 5])
    base = full_ranking_topk(scores, train, k=5, users=users)
    variants = [
        full_ranking_topk(
            lambda u: torch.from_numpy(scores[u]), train, k=5, users=users
        ),
        full_ranking_topk(Model(), train, k=5, users=users, batch_size=1),
        full_ranking_topk(
            torch.from_numpy(scores), train, k=5, users=users, batch_size=3
        ),
    ]
    for other in variants:
        np.testing.assert_array_equal(other, base)
    assert full_ranking_topk(scores, None, k=3).shape == (80, 3)


def test_full_ranking_errors():
    train, _ = make_split(n_users=4, n_items=10, n_train=8, n_test=1)
    scores = np.zeros((4, 10), dtype=np.float32)
    with pytest.raises(ValueError, match="fewer than k=3 items left"):
        full_ranking_topk(scores, train, k=3)
    unseen = np.setdiff1d(np.arange(10), train.query(f"{USER_COL} == 2")[ITEM_COL])
    bad = scores.copy()
    bad[2, unseen[0]] = np.nan
    with pytest.raises(ValueError, match="scores of user 2 contain nan"):
        full_ranking_topk(bad, train, k=2)
    with pytest.raises(ValueError, match="scores of user 2 contain nan"):
        full_ranking_topk(
            lambda u: torch.from_numpy(bad[u]), train, k=2, users=[0, 1, 2]
        )
    with pytest.raises(ValueError, match="must have shape"):
        full_ranking_topk(lambda u: np.zeros((1, 10)), train, k=2, users=[0, 1])
    with pytest.raises(ValueError, match="scores cover only 9 items"):
        full_ranking_topk(lambda u: np.zeros((len(u), 9)), train, k=2, users=[0, 1])
    with pytest.raises(ValueError, match="only 4 users"):
        full_ranking_topk(scores, train, k=2, users=[4])
    with pytest.raises(ValueError, match="pass users"):
        full_ranking_topk(lambda u: np.zeros((len(u), 10)), train, k=2)
    with pytest.raises(ValueError, match="catalog has only 10"):
        full_ranking_topk(scores, None, k=11)
    with pytest.raises(ValueError, match="2-D"):
        full_ranking_topk(np.zeros(10), None, k=1)
    with pytest.raises(TypeError, match="score array"):
        full_ranking_topk("scores", None, k=1)
    with pytest.raises(ValueError, match="inconsistent catalog sizes"):
        full_ranking_topk(scores, None, k=1, n_items=12)
