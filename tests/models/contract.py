"""The contract every recommender of the library keeps (like sklearn's check_estimator).

``check_scorer`` checks what evaluation, retrieval and serving rely on;
``check_recommender`` adds ``fit``. Use them for a new model: a model that
passes works with :func:`recsys_lib.eval.evaluate_full`,
:func:`recsys_lib.tuning.tune` and the retrievers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_lib.config import ITEM_COL, USER_COL
from recsys_lib.data.interactions import interactions_to_csr
from recsys_lib.models import Recommendations, Recommender, Scorer


def check_scorer(scorer, users: np.ndarray, exclude: pd.DataFrame | None = None):
    """The :class:`~recsys_lib.models.base.Scorer` contract on a ready scorer.

    ``users`` are ids the scorer can score (at least 2); ``exclude`` the
    interactions recommendations must avoid (e.g. the training frame).
    """
    assert isinstance(scorer, Scorer)
    n_users, n_items = scorer.n_users, scorer.n_items
    assert isinstance(n_users, int) and isinstance(n_items, int)
    users = np.asarray(users, dtype=np.int64)
    b = users.size

    # shapes and dtype: a float32 CPU tensor (B, n_items), no autograd
    scores = scorer.score(users)
    assert isinstance(scores, torch.Tensor) and scores.dtype == torch.float32
    assert scores.shape == (b, n_items) and scores.device.type == "cpu"
    assert not scores.requires_grad and torch.isfinite(scores).all()
    # NumPy and torch ids agree; a row does not depend on the rest of the batch
    assert torch.allclose(scorer.score(torch.from_numpy(users)), scores, atol=1e-6)
    assert torch.allclose(scorer.score(users[::-1].copy()), scores.flip(0), atol=1e-5)
    assert torch.allclose(scorer.score(users[:1]), scores[:1], atol=1e-5)
    # score(items=...) is a choice of columns of score()
    items = np.array([n_items - 1, 0, n_items // 2, 0])
    assert torch.allclose(scorer.score(users, items=items), scores[:, items], atol=1e-6)

    # recommend: k best items, best first, never an excluded one
    k = 3
    rec = scorer.recommend(users, k=k, exclude=exclude)
    assert isinstance(rec, Recommendations)
    assert rec.items.shape == rec.scores.shape == (b, k)
    assert rec.items.dtype == np.int64 and rec.scores.dtype == np.float32
    assert (np.diff(rec.scores, axis=1) <= 0).all()
    assert np.allclose(rec.scores, np.take_along_axis(scores.numpy(), rec.items, 1))
    masked = scores.clone()
    if exclude is not None:
        seen = interactions_to_csr(exclude, n_users, n_items).toarray().astype(bool)
        assert not seen[users[:, None], rec.items].any(), "recommended an excluded item"
        masked[torch.from_numpy(seen[users])] = -torch.inf
    top = torch.topk(masked, k, dim=1).values
    assert np.allclose(rec.scores, top.numpy(), atol=1e-6)
    every = pd.DataFrame(
        {USER_COL: np.repeat(users, n_items), ITEM_COL: np.tile(np.arange(n_items), b)}
    )
    with pytest.raises(ValueError, match="fewer than k"):
        scorer.recommend(users, k=1, exclude=every)  # nothing left to recommend

    # bad input raises, with a message naming the problem
    with pytest.raises(TypeError, match="integer"):
        scorer.score(np.array([0.5]))
    with pytest.raises(ValueError, match=str(n_users)):
        scorer.score(np.array([n_users]))
    with pytest.raises(ValueError, match="1-D"):
        scorer.score(users.reshape(1, -1))
    with pytest.raises(ValueError, match=str(n_items)):
        scorer.score(users, items=np.array([n_items]))
    with pytest.raises(ValueError, match="k must be >= 1"):
        scorer.recommend(users, k=0)


def check_recommender(model, train: pd.DataFrame, n_users: int, n_items: int):
    """The :class:`~recsys_lib.models.base.Recommender` contract: fit, then score.

    ``model`` is unfitted; ``train`` gives every user at least one item and
    leaves every user at least 3 items to recommend.
    """
    assert isinstance(model, Recommender)
    with pytest.raises(TypeError, match="DataFrame"):
        model.fit(train.to_numpy(), n_users, n_items)
    with pytest.raises(ValueError, match="empty"):
        model.fit(train.iloc[:0], n_users, n_items)
    with pytest.raises(ValueError, match="n_items"):
        model.fit(train, n_users, int(train[ITEM_COL].max()))
    assert model.fit(train, n_users, n_items) is model
    assert (model.n_users, model.n_items) == (n_users, n_items)
    check_scorer(model, np.array([0, n_users - 1, 1]), exclude=train)
