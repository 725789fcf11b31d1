"""Matrix factorization for implicit feedback, with biases.

Introduced in Chapter 6 ("The MLP ranker"): the model inside Chapter 3's
:class:`recsys_lib.models.BPRMF` as a plain ``nn.Module``, so the chapter can
train the same scorer with every loss of :mod:`recsys_lib.models.losses`
(pointwise BCE, pairwise BPR, sampled softmax) and compare them.

.. math:: s(u, i) = p_u^\\top q_i + b_i + b_u + b
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import PairScorer, check_positive_int

__all__ = ["MF", "MFConfig"]


@dataclass
class MFConfig:
    """Hyperparameters of :class:`MF`. Introduced in Chapter 6.

    Attributes:
        n_users, n_items: id ranges.
        dim: factors per user and item; 64 is plenty for catalogs of
            thousands of items and still fast on a CPU.
        user_bias: add a per-user bias ``b_u`` (and a global ``b``). It never
            changes one user's ranking, but pointwise losses (BCE, MSE) need it
            to fit how active each user is.
        item_bias: add a per-item bias ``b_i`` -- the popularity term that
            ranking losses do use.
        init_std: std of the normal initialization of the factors. Small,
            so initial scores are near 0 and the sigmoid is not saturated
            (``dim * init_std**2 = 0.16``); biases start at 0.
    """

    n_users: int
    n_items: int
    dim: int = 64
    user_bias: bool = True
    item_bias: bool = True
    init_std: float = 0.05

    def __post_init__(self) -> None:
        check_positive_int(self.n_users, "n_users")
        check_positive_int(self.n_items, "n_items")
        check_positive_int(self.dim, "dim")

    @classmethod
    def tiny(cls, n_users: int = 8, n_items: int = 10, **overrides) -> MFConfig:
        """A configuration that builds and runs in milliseconds (tests, demos)."""
        return cls(**{"n_users": n_users, "n_items": n_items, "dim": 4, **overrides})


class MF(PairScorer):
    """Dot-product matrix factorization with optional biases.

    Introduced in Chapter 6.

    ``forward(user_ids (B,), item_ids (B,)) -> (B,)`` logits;
    ``score(user_ids (B,)) -> (B, n_items)`` logits over the catalog
    (inference: no_grad, eval mode).

    Args:
        cfg: the configuration.
        generator: draw the initial factors (users, then items) from this
            ``torch.Generator`` instead of the global one, which is then left
            untouched (BPRMF seeds its model this way).
    """

    def __init__(self, cfg: MFConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.n_users, self.n_items = cfg.n_users, cfg.n_items
        if generator is None:
            self.user = nn.Embedding(cfg.n_users, cfg.dim)
            self.item = nn.Embedding(cfg.n_items, cfg.dim)
            nn.init.normal_(self.user.weight, 0.0, cfg.init_std)
            nn.init.normal_(self.item.weight, 0.0, cfg.init_std)
        else:  # no default initialization: every draw comes from `generator`
            self.user = nn.Embedding(
                cfg.n_users, cfg.dim, _weight=torch.empty(cfg.n_users, cfg.dim)
            )
            self.item = nn.Embedding(
                cfg.n_items, cfg.dim, _weight=torch.empty(cfg.n_items, cfg.dim)
            )
            with torch.no_grad():
                self.user.weight.normal_(0.0, cfg.init_std, generator=generator)
                self.item.weight.normal_(0.0, cfg.init_std, generator=generator)
        self.item_bias = (
            nn.Parameter(torch.zeros(cfg.n_items)) if cfg.item_bias else None
        )
        self.user_bias = (
            nn.Parameter(torch.zeros(cfg.n_users)) if cfg.user_bias else None
        )
        self.global_bias = nn.Parameter(torch.zeros(())) if cfg.user_bias else None

    def _bias(self, users: torch.Tensor, items: torch.Tensor | None) -> torch.Tensor:
        """Bias terms, broadcast to ``(B,)`` (pairs) or ``(B, n_items)`` (all items)."""
        b = torch.zeros(())
        if self.item_bias is not None:
            b = b + (self.item_bias if items is None else self.item_bias[items])
        if self.user_bias is not None:
            ub = self.user_bias[users]  # (B,)
            b = b + (ub.unsqueeze(1) if items is None else ub) + self.global_bias
        return b

    def _pairs(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        dot = (self.user(users) * self.item(items)).sum(-1)  # (B,)
        return dot + self._bias(users, items)

    def _all_items(self, users: torch.Tensor) -> torch.Tensor:
        dot = self.user(users) @ self.item.weight.T  # (B, n_items)
        return dot + self._bias(users, None)

    def _softmax_logits(self, users: torch.Tensor) -> torch.Tensor:
        # b_u and b cancel in a softmax over items: leaving them out gives the
        # same loss, and no gradient (instead of rounding noise) to the user bias.
        dot = self.user(users) @ self.item.weight.T  # (B, n_items)
        return dot if self.item_bias is None else dot + self.item_bias
