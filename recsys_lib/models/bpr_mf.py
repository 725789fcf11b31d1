"""BPR matrix factorization: the learned baseline of Chapter 3.

Introduced in Chapter 3 ("Measuring a recommender"), one of the four strong
simple baselines (see :mod:`recsys_lib.models.most_popular` for the shared
interface). The model is Chapter 6's :class:`~recsys_lib.models.MF` with an
item bias only; this module adds the Bayesian Personalized Ranking objective,
uniform negatives from :class:`~recsys_lib.data.loaders.NegativeSampler` and
early stopping on validation NDCG@10.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ..checks import check_int
from ..data.loaders import NegativeSampler, pair_loader
from .mf import MF, MFConfig
from .neural import NeuralRecommender

__all__ = ["BPRMF"]


class BPRMF(NeuralRecommender):
    """Matrix factorization trained with Bayesian Personalized Ranking (Rendle et al., 2009).

    Introduced in Chapter 3. ``score(u, i) = p_u . q_i + b_i``; each training
    step takes observed pairs ``(u, i)``, draws for each a negative item ``j``
    uniformly among the items ``u`` did not interact with, and minimizes
    ``-log sigmoid(score(u, i) - score(u, j))`` plus
    ``weight_decay * (|p_u|^2 + |q_i|^2 + |q_j|^2)`` averaged over the batch
    (the L2 penalty of the BPR paper, on the rows in the batch). Training
    runs :func:`recsys_lib.training.fit` with Adam; with ``fit(...,
    valid=...)`` it early-stops on full-ranking NDCG@10 on the validation
    split. The same ``seed`` gives the same model: it seeds the factors (a
    ``torch.Generator``) and one NumPy generator that shuffles the pairs and
    then draws the epoch's negatives, every epoch.

    Args:
        dim: embedding size.
        lr: Adam learning rate.
        weight_decay: L2 penalty (>= 0), see above.
        epochs: maximum passes over the training interactions.
        batch_size: interactions per step.
        seed: seeds the initialization, shuffling and negative sampling.
        patience: early-stopping patience in epochs (needs ``valid``).
        show_progress: print a progress bar over epochs.

    Attributes:
        model: the trained :class:`~recsys_lib.models.MF` (``dim`` factors,
            item bias only, initial std 0.1).
        history: the :class:`recsys_lib.training.History` of the last fit.
    """

    progress_label = "BPR-MF"

    def __init__(
        self,
        dim: int = 32,
        lr: float = 0.01,
        weight_decay: float = 0.01,
        epochs: int = 20,
        batch_size: int = 1024,
        seed: int = 0,
        patience: int | None = 3,
        show_progress: bool = False,
    ) -> None:
        # The L2 penalty is part of the BPR loss (on the rows of each batch),
        # so Adam itself gets no weight decay: see _make_optimizer.
        super().__init__(
            MF,
            loss="bpr",
            lr=lr,
            weight_decay=weight_decay,
            epochs=epochs,
            batch_size=batch_size,
            n_negatives=1,
            seed=seed,
            patience=patience,
            show_progress=show_progress,
        )
        self.dim = check_int(dim, "dim", low=1)

    def _make_model(self, n_users: int, n_items: int) -> MF:
        return MF(
            MFConfig(n_users, n_items, self.dim, user_bias=False, init_std=0.1),
            generator=torch.Generator().manual_seed(self.seed),
        )

    def _make_training(self, X: sp.csr_matrix) -> tuple:
        n_users, n_items = X.shape
        full = np.flatnonzero(np.diff(X.indptr) >= n_items)
        if full.size:
            raise ValueError(
                f"user {int(full[0])} interacted with every item: BPR has no negative to "
                "sample for them; drop such users"
            )
        rng = np.random.default_rng(self.seed)
        coo = X.tocoo()  # each (user, item) pair once, as the paper samples
        loader = pair_loader(
            (coo.row.astype(np.int64), coo.col.astype(np.int64)),
            n_users,
            n_items,
            batch_size=self.batch_size,
            seed=self.seed,
            generator=rng,  # one NumPy stream: the shuffle, then the negatives
            sampler=NegativeSampler(X, n_items, n_users, rng=rng),
            negatives_per="epoch",
        )
        wd = self.weight_decay

        def bpr_loss(model: MF, batch) -> torch.Tensor:
            u, i, j = batch
            pu, qi, qj = model.user(u), model.item(i), model.item(j)
            diff = (pu * (qi - qj)).sum(-1) + (model.item_bias[i] - model.item_bias[j])
            reg = (pu.pow(2).sum(-1) + qi.pow(2).sum(-1) + qj.pow(2).sum(-1)).mean()
            return -nn.functional.logsigmoid(diff).mean() + wd * reg

        return loader, bpr_loss

    def _make_optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.model.parameters(), lr=self.lr)
