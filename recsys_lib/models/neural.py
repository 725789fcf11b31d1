"""Any PyTorch pair scorer, trained and tuned like a baseline.

Introduced in Chapter 6 ("The MLP ranker"): to compare MF, GMF, MLP and
NeuMF fairly with Chapter 3's baselines, every model must get the same
protocol and the same tuning budget. :class:`NeuralRecommender` wraps a
model builder, a loss and the training settings into an
:class:`~recsys_lib.models.base.Estimator`, so that
:func:`recsys_lib.tuning.tune` and :func:`recsys_lib.eval.evaluate_full` treat
it exactly like :class:`~recsys_lib.models.EASE`::

    model = NeuralRecommender(
        lambda n_users, n_items: MF(MFConfig(n_users, n_items, dim=32)),
        loss="sampled_softmax", lr=0.01, epochs=8, patience=2,
    ).fit(train, n_users, n_items, valid=valid)

Training is :func:`recsys_lib.training.fit` on a
:func:`~recsys_lib.data.loaders.pair_loader` over the rows of ``train``, with
negatives from a :class:`~recsys_lib.data.loaders.NegativeSampler`; with
``valid`` it early-stops on full-ranking NDCG@10 and keeps the best epoch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ..checks import check_choice, check_int, check_number
from ..data.interactions import interactions_to_csr
from ..data.loaders import NegativeSampler, pair_loader
from ..eval.protocols import evaluate_full
from ..training import History, fit
from .base import Estimator, PairScorer
from .losses import (
    bpr_loss,
    sampled_bce_loss,
    sampled_softmax_loss,
    softmax_cross_entropy,
)

__all__ = ["NeuralRecommender"]

#: The losses, with the negatives each one draws.
LOSSES = ("bce", "bpr", "sampled_softmax", "softmax")


class NeuralRecommender(Estimator):
    """A PyTorch pair scorer behind the estimator interface. Introduced in Chapter 6.

    ``fit`` builds the model, trains it with Adam on the training pairs and
    returns ``self``; ``score`` is the model's ``score``. The same ``seed``
    gives the same model: it seeds the model's initialization and dropout
    (inside ``torch.random.fork_rng``, so the program's global generator is
    left as it was), the shuffling of the pairs and the negatives.

    Losses (Chapter 6 compares them), each over the model's logits:

    * ``"bce"`` -- :func:`~recsys_lib.models.losses.sampled_bce_loss`,
      ``n_negatives`` uniform negatives per pair (NCF);
    * ``"bpr"`` -- :func:`~recsys_lib.models.losses.bpr_loss`, uniform
      negatives;
    * ``"sampled_softmax"`` -- :func:`~recsys_lib.models.losses.sampled_softmax_loss`
      with popularity negatives (``count ** 0.75``) and the logQ correction;
    * ``"softmax"`` -- :func:`~recsys_lib.models.losses.softmax_cross_entropy`
      over the whole catalog (no sampler; affordable for thousands of items).

    Args:
        build: ``build(n_users, n_items) -> PairScorer`` -- a new, untrained
            model for those sizes (e.g. ``lambda u, i: MF(MFConfig(u, i))``).
        loss: one of the losses above.
        lr: Adam learning rate (> 0).
        weight_decay: Adam weight decay (>= 0).
        epochs: maximum passes over the training pairs.
        batch_size: pairs per step.
        n_negatives: negatives per pair for the sampled losses.
        seed: seeds the model, the shuffling and the negatives.
        patience: early-stopping patience in epochs (used with ``valid``);
            ``None`` trains every epoch.
        restore_best: with ``valid``, keep the weights of the best epoch
            (``False``: the last epoch's, e.g. to compare losses at a fixed
            budget).
        show_progress: print a progress bar over epochs.

    Attributes:
        model: the trained ``PairScorer``.
        history: the :class:`recsys_lib.training.History` of the last fit.
    """

    #: label of the progress bar (default: the model's class name)
    progress_label: str | None = None

    def __init__(
        self,
        build: Callable[[int, int], PairScorer],
        loss: str = "bpr",
        lr: float = 0.01,
        weight_decay: float = 0.0,
        epochs: int = 10,
        batch_size: int = 1024,
        n_negatives: int = 4,
        seed: int = 0,
        patience: int | None = None,
        restore_best: bool = True,
        show_progress: bool = False,
    ) -> None:
        super().__init__()
        if not callable(build):
            raise TypeError(
                "build must be a function build(n_users, n_items) -> model, got "
                f"{type(build).__name__}"
            )
        self.build = build
        self.loss = check_choice(loss, "loss", LOSSES)
        self.lr = check_number(lr, "lr", low=0.0, low_open=True)
        self.weight_decay = check_number(weight_decay, "weight_decay", low=0.0)
        self.epochs = check_int(epochs, "epochs", low=1)
        self.batch_size = check_int(batch_size, "batch_size", low=1)
        self.n_negatives = check_int(n_negatives, "n_negatives", low=1)
        self.seed = check_int(seed, "seed", low=0)
        self.patience = (
            None if patience is None else check_int(patience, "patience", low=1)
        )
        self.restore_best = bool(restore_best)
        self.show_progress = bool(show_progress)
        self.model: PairScorer | None = None
        self.history: History | None = None
        self._train: pd.DataFrame | None = None
        self._valid: pd.DataFrame | None = None

    def fit(
        self,
        train: pd.DataFrame,
        n_users: int,
        n_items: int,
        valid: pd.DataFrame | None = None,
    ) -> NeuralRecommender:
        """Train on ``train`` (one pair per row, repeats included); returns ``self``.

        Args:
            train, n_users, n_items: as in
                :meth:`Estimator.fit <recsys_lib.models.base.Estimator.fit>`.
            valid: optional validation interactions; if given, NDCG@10 (full
                ranking, train items masked) is tracked per epoch, training
                stops after ``patience`` epochs without improvement and the
                best epoch's weights are kept (see ``restore_best``).

        Raises:
            TypeError: if ``build`` does not return a ``PairScorer``.
            ValueError: for bad interactions, a model built for other sizes,
                or a user with no item left to sample as a negative.
        """
        self._train, self._valid = train, valid
        try:
            return super().fit(train, n_users, n_items)
        finally:
            self._train = self._valid = None

    def _build(self, n_users: int, n_items: int) -> PairScorer:
        model = self.build(n_users, n_items)
        if not isinstance(model, PairScorer):
            raise TypeError(
                "build(n_users, n_items) must return a recsys_lib.models.PairScorer "
                f"(MF, GMF, MLPRecommender, NeuMF, ...), got {type(model).__name__}"
            )
        if (model.n_users, model.n_items) != (n_users, n_items):
            raise ValueError(
                f"build(n_users={n_users}, n_items={n_items}) returned a model for "
                f"{model.n_users} users and {model.n_items} items"
            )
        return model

    def _fit(self, X: sp.csr_matrix) -> None:
        n_users, n_items = X.shape
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.model = self._make_model(n_users, n_items)
            loader, loss_fn = self._make_training(X)
            val_fn = None
            if self._valid is not None:
                valid = interactions_to_csr(self._valid, n_users, n_items, name="valid")

                def val_fn(model: PairScorer) -> float:
                    return evaluate_full(model, X, valid, k=10, n_items=n_items)[
                        "ndcg@10"
                    ]

            self.history = fit(
                self.model,
                loader,
                loss_fn,
                self._make_optimizer(),
                epochs=self.epochs,
                val_fn=val_fn,
                monitor="max",
                patience=self.patience if val_fn is not None else None,
                restore_best=self.restore_best,
                show_progress=self.show_progress,
                desc=self.progress_label or type(self.model).__name__,
            )

    # -- the three steps a subclass may change (BPRMF does)
    def _make_model(self, n_users: int, n_items: int) -> PairScorer:
        """A new model for these sizes (from ``build``; global torch RNG seeded)."""
        return self._build(n_users, n_items)

    def _make_training(self, X: sp.csr_matrix) -> tuple:
        """``(loader, loss_fn)`` for :func:`recsys_lib.training.fit`."""
        n_users, n_items = X.shape
        sampler = None
        if self.loss != "softmax":
            sampler = NegativeSampler(
                self._train,
                n_items,
                n_users,
                distribution="popularity"
                if self.loss == "sampled_softmax"
                else "uniform",
                seed=self.seed,
            )
        loader = pair_loader(
            self._train,
            n_users,
            n_items,
            batch_size=self.batch_size,
            seed=self.seed,
            sampler=sampler,
            n_negatives=self.n_negatives,
        )
        return loader, self._loss_fn(sampler)

    def _make_optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(
            self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay
        )

    def _loss_fn(self, sampler: NegativeSampler | None) -> Callable:
        kind = self.loss

        def loss_fn(model: PairScorer, batch) -> torch.Tensor:
            if kind == "softmax":
                users, items = batch
                return softmax_cross_entropy(model._softmax_logits(users), items)
            users, items, negatives = batch  # negatives (B, K)
            k = negatives.shape[1]
            neg = model(users.repeat_interleave(k), negatives.reshape(-1)).view(-1, k)
            pos = model(users, items)
            if kind == "bce":
                return sampled_bce_loss(pos, neg)
            if kind == "bpr":
                return bpr_loss(pos, neg)
            return sampled_softmax_loss(
                pos, neg, sampler.log_q(items), sampler.log_q(negatives)
            )

        return loss_fn

    def _score(self, users: np.ndarray) -> torch.Tensor:
        return self.model.score(users)
