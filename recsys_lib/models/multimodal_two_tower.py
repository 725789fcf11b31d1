"""A two-tower recommender whose item tower fuses content, so cold items get scores.

Introduced in Chapter 5 ("Multimodal data fusion")::

    score(u, i) = p_u . item_tower(i)

The item tower is a :class:`recsys_lib.features.fusion.MultimodalItemTower`:
the item-ID embedding plus text, image and price-history vectors, fused, with
the ID *missing* for items without training interactions. Such "cold" items
are therefore scored from their content alone.
:func:`train_multimodal_two_tower` trains the model with the BPR loss on
negatives from the library's :class:`NegativeSampler`.

(Chapter 8's retrieval two-tower, trained with an in-batch softmax, is
:mod:`recsys_lib.models.two_tower`.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..checks import check_int
from ..data.interactions import interactions_to_csr
from ..data.loaders import NegativeSampler, pair_loader
from ..features.fusion import MultimodalItemTower
from ..training import History, fit
from .base import PairScorer

__all__ = ["TwoTowerRecommender", "train_multimodal_two_tower"]


class TwoTowerRecommender(PairScorer):
    """Dot-product recommender: user embedding . multimodal item vector.

    Introduced in Chapter 5::

        score(u, i) = p_u . item_tower(i)

    Because the item tower can build a vector from content alone, items
    without any training interaction ("cold" items) get meaningful scores.
    A :class:`recsys_lib.models.base.PairScorer`: ``score`` and ``recommend``
    follow the library's Recommender protocol.

    Args:
        n_users: number of users.
        item_tower: a :class:`recsys_lib.features.fusion.MultimodalItemTower`.

    Shape:
        ``forward(user_ids (B,), item_ids (B,))`` -> ``(B,)``;
        ``score(user_ids (B,))`` -> float32 tensor ``(B, n_items)``.
    """

    def __init__(self, n_users: int, item_tower: MultimodalItemTower) -> None:
        super().__init__()
        if not isinstance(item_tower, MultimodalItemTower):
            raise TypeError(
                f"item_tower must be a MultimodalItemTower, got {type(item_tower).__name__}"
            )
        self.n_users = check_int(n_users, "n_users", low=1)
        self.item_tower = item_tower
        self.user_embedding = nn.Embedding(self.n_users, item_tower.out_dim)
        nn.init.normal_(self.user_embedding.weight, std=0.1)

    @property
    def n_items(self) -> int:
        return self.item_tower.n_items

    def _pairs(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        u = self.user_embedding(users)  # (B, d)
        v = self.item_tower(items).vector  # (B, d)
        return (u * v).sum(dim=1)

    def _all_items(self, users: torch.Tensor) -> torch.Tensor:
        items = self.item_tower.all_items()  # (n_items, d)
        return self.user_embedding(users) @ items.T  # (B, n_items)


def train_multimodal_two_tower(
    model: TwoTowerRecommender,
    train: pd.DataFrame,
    epochs: int = 10,
    *,
    lr: float = 0.01,
    batch_size: int = 512,
    weight_decay: float = 1e-4,
    seed: int = 0,
    mark_cold: bool = True,
    show_progress: bool = False,
) -> History:
    """Train a :class:`TwoTowerRecommender` with the BPR loss.

    Introduced in Chapter 5 (where it was called ``train_two_tower``). Each
    positive ``(u, i)`` is paired with an item ``j`` drawn uniformly among
    those ``u`` did not interact with (:class:`NegativeSampler`, which never
    returns a positive and raises if a user has no item left), and
    ``-log sigmoid(score(u, i) - score(u, j))`` is minimized with Adam
    (``weight_decay`` as AdamW-style decoupled decay). The same ``seed`` gives
    the same model.

    Args:
        model: the recommender.
        train: DataFrame with ``user_id`` and ``item_id`` (one positive per row).
        epochs: passes over ``train``.
        lr, batch_size, weight_decay: optimizer settings.
        seed: seeds initialization-independent randomness (batch order,
            negatives, ID dropout), without touching the global random state.
        mark_cold: set the tower's known items to the items in ``train``, so
            items never seen in training use content only (recommended).
        show_progress: print a progress bar.

    Returns:
        the :class:`recsys_lib.training.History`.

    Raises:
        TypeError: for a model of another class or a ``train`` that is not a
            DataFrame of integer ids.
        ValueError: for an empty ``train``, missing columns or ids out of range.
    """
    if not isinstance(model, TwoTowerRecommender):
        raise TypeError(
            f"model must be a TwoTowerRecommender, got {type(model).__name__}"
        )
    epochs = check_int(epochs, "epochs", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    seed = check_int(seed, "seed", low=0)
    if isinstance(train, pd.DataFrame) and len(train) == 0:
        raise ValueError("train is empty: there is nothing to learn from")
    positives = interactions_to_csr(train, model.n_users, model.n_items, name="train")
    if mark_cold:
        model.item_tower.set_known_items(np.flatnonzero(positives.getnnz(axis=0)))
    # Independent streams for the batch order and the negatives (one seed
    # would start both generators in the same state: correlated draws).
    order_seed, negative_seed = (
        int(s.generate_state(1, np.uint32)[0])
        for s in np.random.SeedSequence(seed).spawn(2)
    )
    loader = pair_loader(
        train,
        model.n_users,
        model.n_items,
        batch_size=batch_size,
        seed=order_seed,
        sampler=NegativeSampler(
            positives, model.n_items, n_users=model.n_users, seed=negative_seed
        ),
        negatives_per="epoch",  # one draw per epoch, in shuffled order
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)

    def bpr_loss(net: TwoTowerRecommender, batch) -> torch.Tensor:
        u, i, j = batch
        return -nn.functional.logsigmoid(net(u, i) - net(u, j)).mean()

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # ID dropout draws from the global torch generator
        history = fit(
            model,
            loader,
            bpr_loss,
            optimizer,
            epochs=epochs,
            show_progress=show_progress,
            desc="two-tower",
        )
    return history
