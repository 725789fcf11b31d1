"""A model that keeps learning from the feedback on its own recommendations.

Introduced in Chapter 10 ("The feedback loop"). :class:`OnlineMF` is Chapter
6's matrix factorization (:class:`recsys_lib.models.MF`) trained on
*labelled impressions* -- every product shown, with 1 if it was clicked and 0
if not -- by binary cross-entropy with the slot's examination in the logit,

.. math:: P(\\text{click}) = \\sigma\\big(s(u, i) + \\log \\theta_k\\big),

so a product is not blamed for the slot it was shown in (the position term
is used in training only; serving ranks by ``s(u, i)``). Three ways to live
with new feedback, chosen by ``mode``:

* ``"frozen"`` -- train once on the history, never again;
* ``"incremental"`` -- after each round, a few more Adam steps on that
  round's impressions only, from the current weights and optimizer state
  (cheap: the cost of one round, whatever the history);
* ``"retrain"`` -- after each round, train a new model from scratch on the
  history plus every round so far (the batch baseline: its cost grows with
  the log).

Training is :func:`recsys_lib.training.fit` over shuffled batches from
:class:`recsys_lib.data.ShuffledBatchSampler`; one ``seed`` fixes the
initialization and every batch order, and the global PyTorch generator is
left alone.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from ..checks import check_choice, check_id_array, check_int, check_number
from ..data import ShuffledBatchSampler
from ..models import MF, MFConfig
from ..models.losses import bce_loss
from ..recommender import RecommendMixin
from ..training import fit
from ..utils import inference
from .beliefs import as_observations

__all__ = ["UPDATE_MODES", "OnlineMF"]

UPDATE_MODES = ("frozen", "incremental", "retrain")


class OnlineMF(RecommendMixin):
    """MF on labelled impressions that updates itself from feedback. Introduced in Chapter 10.

    Args:
        n_users, n_items: id ranges.
        dim: factors per user and item.
        lr, weight_decay: Adam's settings.
        epochs: passes over the data when training from scratch (:meth:`fit`
            and every retrain).
        update_epochs: passes over a round's impressions in incremental mode.
        batch_size: impressions per step.
        mode: ``"frozen"``, ``"incremental"`` or ``"retrain"`` (module doc).
        position_bias: exponent of the examination curve ``theta_k = (1 +
            k) ** -position_bias`` used in training (0: positions ignored).
        seed: seeds the initialization and the batch orders.

    Attributes:
        model: the :class:`~recsys_lib.models.MF` being trained.
        n_updates: rounds of feedback seen by :meth:`update`.
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 16,
        lr: float = 0.02,
        weight_decay: float = 0.0,
        epochs: int = 10,
        update_epochs: int = 1,
        batch_size: int = 256,
        mode: str = "incremental",
        position_bias: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.n_users = check_int(n_users, "n_users", low=1)
        self.n_items = check_int(n_items, "n_items", low=1)
        self.dim = check_int(dim, "dim", low=1)
        self.lr = check_number(lr, "lr", low=0.0, low_open=True)
        self.weight_decay = check_number(weight_decay, "weight_decay", low=0.0)
        self.epochs = check_int(epochs, "epochs", low=1)
        self.update_epochs = check_int(update_epochs, "update_epochs", low=1)
        self.batch_size = check_int(batch_size, "batch_size", low=1)
        self.mode = check_choice(mode, "mode", UPDATE_MODES)
        self.position_bias = check_number(position_bias, "position_bias", low=0.0)
        self.seed = check_int(seed, "seed", low=0)
        self.model: MF | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.n_updates = 0
        self._log: list[tuple[np.ndarray, ...]] = []

    # ------------------------------------------------------------ training
    def _tensors(self, log) -> tuple[np.ndarray, ...]:
        users, items, clicks, positions = as_observations(
            log, self.n_users, self.n_items
        )
        log_theta = -self.position_bias * np.log1p(positions.astype(np.float64))
        return users, items, log_theta.astype(np.float32), clicks.astype(np.float32)

    def _new_model(self) -> None:
        gen = torch.Generator().manual_seed(self.seed)
        self.model = MF(MFConfig(self.n_users, self.n_items, dim=self.dim), gen)
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay
        )

    def _train(self, arrays: tuple[np.ndarray, ...], epochs: int, stream: int) -> None:
        data = TensorDataset(
            *(torch.from_numpy(np.ascontiguousarray(a)) for a in arrays)
        )
        order = torch.Generator().manual_seed(self.seed * 100_003 + stream)
        batches = ShuffledBatchSampler(len(data), self.batch_size, order)
        loader = DataLoader(data, sampler=batches, batch_size=None)

        def loss_fn(model: MF, batch) -> torch.Tensor:
            users, items, log_theta, clicks = batch
            return bce_loss(model(users, items) + log_theta, clicks)

        fit(self.model, loader, loss_fn, self.optimizer, epochs, show_progress=False)

    def fit(self, log) -> OnlineMF:
        """Train a new model from scratch on a log of labelled impressions; returns ``self``.

        Args:
            log: a DataFrame with ``user_id``, ``item_id``, ``position`` and
                ``click`` (e.g. :func:`~recsys_lib.online.logged_impressions`)
                or a :class:`~recsys_lib.online.Feedback`.
        """
        arrays = self._tensors(log)
        if arrays[0].size == 0:
            raise ValueError("the log is empty: there is nothing to train on")
        self._log = [arrays]
        self.n_updates = 0
        self._new_model()
        self._train(arrays, self.epochs, stream=0)
        return self

    def update(self, feedback) -> None:
        """Learn from one round of feedback, as ``mode`` says (a no-op when frozen)."""
        if self.model is None:
            raise RuntimeError("OnlineMF.update() called before fit()")
        arrays = self._tensors(feedback)
        self.n_updates += 1
        if self.mode == "frozen" or arrays[0].size == 0:
            return
        if self.mode == "incremental":
            self._train(arrays, self.update_epochs, stream=self.n_updates)
            return
        self._log.append(arrays)
        everything = tuple(
            np.concatenate(parts) for parts in zip(*self._log, strict=True)
        )
        self._new_model()
        self._train(everything, self.epochs, stream=0)

    # ------------------------------------------------------------ scoring
    def score(self, user_ids, items=None) -> torch.Tensor:
        """Logits ``s(u, i)``, float32 ``(B, n_items)`` (the Scorer protocol)."""
        if self.model is None:
            raise RuntimeError("OnlineMF.score() called before fit()")
        users = check_id_array(user_ids, "user_ids", self.n_users)
        with inference(self.model):
            return self.model.score(users, items)

    def mean(self, user_ids) -> np.ndarray:
        """Estimated attraction ``sigmoid(s(u, i))``, float64 ``(B, n_items)``."""
        s = self.score(user_ids).double()
        return torch.sigmoid(s).numpy()

    def __repr__(self) -> str:
        return (
            f"OnlineMF(dim={self.dim}, lr={self.lr:g}, mode={self.mode!r}, "
            f"epochs={self.epochs}, update_epochs={self.update_epochs}, "
            f"updates={self.n_updates})"
        )
