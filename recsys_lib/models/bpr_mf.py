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
import pandas as pd
import scipy.sparse as sp
import torch
from torch import nn

from ..checks import check_int, check_number
from ..data.interactions import interactions_to_csr
from ..data.loaders import NegativeSampler, pair_loader
from ..eval.protocols import evaluate_full
from ..training import History, fit
from .base import Estimator
from .mf import MF, MFConfig

__all__ = ["BPRMF"]


class BPRMF(Estimator):
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
        super().__init__()
        self.dim = check_int(dim, "dim", low=1)
        self.lr = check_number(lr, "lr", low=0.0, low_open=True)
        self.weight_decay = check_number(weight_decay, "weight_decay", low=0.0)
        self.epochs = check_int(epochs, "epochs", low=1)
        self.batch_size = check_int(batch_size, "batch_size", low=1)
        self.seed = check_int(seed, "seed", low=0)
        self.patience = (
            None if patience is None else check_int(patience, "patience", low=1)
        )
        self.show_progress = bool(show_progress)
        self._valid: pd.DataFrame | None = None
        self.history: History | None = None
        self.model: MF | None = None

    def fit(
        self,
        train: pd.DataFrame,
        n_users: int,
        n_items: int,
        valid: pd.DataFrame | None = None,
    ) -> BPRMF:
        """Train; see :meth:`Estimator.fit <recsys_lib.models.base.Estimator.fit>`.

        Args:
            train, n_users, n_items: as in ``Estimator.fit``.
            valid: optional validation interactions (same columns); if given,
                NDCG@10 (full ranking, train items masked) is tracked per
                epoch, the best epoch's weights are kept and training stops
                after ``patience`` epochs without improvement.
        """
        self._valid = valid
        try:
            return super().fit(train, n_users, n_items)
        finally:
            self._valid = None

    def _fit(self, X: sp.csr_matrix) -> None:
        n_users, n_items = X.shape
        full = np.flatnonzero(np.diff(X.indptr) >= n_items)
        if full.size:
            raise ValueError(
                f"user {int(full[0])} interacted with every item: BPR has no negative to "
                "sample for them; drop such users"
            )
        generator = torch.Generator().manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        self.model = MF(
            MFConfig(n_users, n_items, self.dim, user_bias=False, init_std=0.1),
            generator=generator,
        )
        coo = X.tocoo()
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

        val_fn = None
        if self._valid is not None:
            valid_csr = interactions_to_csr(self._valid, n_users, n_items, name="valid")

            def val_fn(model: MF) -> float:
                return evaluate_full(
                    self._score, X, valid_csr, k=10, n_items=n_items, batch_size=2048
                )["ndcg@10"]

        optimizer = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        self.history = fit(
            self.model,
            loader,
            bpr_loss,
            optimizer,
            epochs=self.epochs,
            val_fn=val_fn,
            monitor="max",
            patience=self.patience if val_fn is not None else None,
            show_progress=self.show_progress,
            desc="BPR-MF",
        )

    def _score(self, users: np.ndarray) -> torch.Tensor:
        return self.model.score(users)
