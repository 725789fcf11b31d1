"""Caser: convolutional sequence embedding (Tang & Wang, 2018).

Introduced in Chapter 7 ("Sequence models and the Transformer ranker").

Caser looks at the last ``L`` items as an ``L x d`` "image" of embeddings:

* horizontal filters of heights ``1..L`` span the full embedding width and
  slide over time -- they detect union-level patterns ("these 2 items
  together"); each is max-pooled over time;
* vertical filters of size ``L x 1`` take weighted sums of the ``L``
  embeddings -- point-level patterns.

Both are concatenated, passed through a fully connected layer to ``z``
``(d,)``, joined with the user's embedding and scored against separate
output item embeddings of width ``2d`` (plus an item bias):
:math:`y = W'[z; P_u] + b'`.

The model at position ``t`` reads the window of items ``t-L+1..t`` only, so
all positions of a sequence are trained at once like SASRec (each window is
one row of a batched convolution); windows reaching before the first item
are filled with padding, whose embedding is zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .base import (
    SequentialRecommender,
    check_fraction,
    check_positive_int,
    tied_score_items,
)

__all__ = ["Caser", "CaserConfig"]


@dataclass
class CaserConfig:
    """Hyperparameters of :class:`Caser`. Introduced in Chapter 7.

    Attributes:
        n_items: catalog size; ``n_items`` is the padding id.
        n_users: number of users (Caser has a user embedding).
        window: ``L``, the items read per prediction; the paper's default 5.
        dim: item and user embedding size; the paper uses 50, 64 matches
            the book's other models.
        n_h: horizontal filters per height; the paper's 16.
        n_v: vertical filters; the paper's 4.
        dropout: before the fully connected layer; the paper's 0.5.
        max_len: longest sequence accepted (only the last ``window`` items
            matter for a prediction; 200 keeps batches shared with SASRec).
        init_std: std of the normal initialization of embeddings.
    """

    n_items: int
    n_users: int
    window: int = 5
    dim: int = 64
    n_h: int = 16
    n_v: int = 4
    dropout: float = 0.5
    max_len: int = 200
    init_std: float = 0.02

    def __post_init__(self) -> None:
        for name in ("n_items", "n_users", "window", "dim", "max_len"):
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.n_h, "n_h", low=0)
        check_positive_int(self.n_v, "n_v", low=0)
        if self.n_h + self.n_v == 0:
            raise ValueError("Caser needs horizontal (n_h) or vertical (n_v) filters")
        check_fraction(self.dropout, "dropout")

    @classmethod
    def tiny(cls, n_items: int = 10, n_users: int = 8, **overrides) -> CaserConfig:
        """A configuration that builds and runs in milliseconds (tests, demos)."""
        base = dict(
            n_items=n_items,
            n_users=n_users,
            window=3,
            dim=8,
            n_h=4,
            n_v=2,
            dropout=0.0,
            max_len=12,
        )
        return cls(**{**base, **overrides})


class Caser(SequentialRecommender):
    """Convolutional sequence embedding recommender. Introduced in Chapter 7.

    ``forward(seq (B, T), user_ids (B,)) -> (B, T, 2 dim)`` hidden states
    ``[z_t; P_u]`` (zero at padding); ``score_last(seq, user_ids) ->
    (B, n_items)``. ``user_ids`` are required.
    """

    needs_users = True

    def __init__(self, cfg: CaserConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.n_items, self.n_users, self.max_len = cfg.n_items, cfg.n_users, cfg.max_len
        L, d = cfg.window, cfg.dim
        self.item_emb = nn.Embedding(cfg.n_items + 1, d, padding_idx=cfg.n_items)
        self.user_emb = nn.Embedding(cfg.n_users, d)
        self.conv_v = nn.Conv2d(1, cfg.n_v, (L, 1)) if cfg.n_v else None
        self.conv_h = nn.ModuleList(
            nn.Conv2d(1, cfg.n_h, (h, d)) for h in range(1, L + 1)
        )
        if not cfg.n_h:
            self.conv_h = nn.ModuleList()
        self.fc = nn.Linear(cfg.n_v * d + cfg.n_h * L, d)
        self.drop = nn.Dropout(cfg.dropout)
        # Output: separate item embeddings of width 2d and an item bias.
        self.out_emb = nn.Embedding(cfg.n_items, 2 * d)
        self.out_bias = nn.Embedding(cfg.n_items, 1)
        for emb in (self.item_emb, self.user_emb, self.out_emb):
            nn.init.normal_(emb.weight, 0.0, cfg.init_std)
        nn.init.zeros_(self.out_bias.weight)
        with torch.no_grad():
            self.item_emb.weight[cfg.n_items].zero_()

    def _windows(self, seq: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` -> ``(B, T, L)``: the last ``L`` items up to each position."""
        L = self.cfg.window
        padded = F.pad(seq, (L - 1, 0), value=self.n_items)  # (B, T + L - 1)
        return padded.unfold(1, L, 1)  # (B, T, L)

    def _encode(self, windows: torch.Tensor) -> torch.Tensor:
        """``(N, L)`` item windows -> ``z`` ``(N, d)``.

        The convolutions are written as matrix products with the ``Conv2d``
        weights (a filter spanning the full embedding width is a linear map of
        the flattened ``h x d`` window): the same numbers as ``conv(E)``
        (``tests/models/test_caser.py`` checks outputs and gradients), without
        the backward pass of a one-channel ``Conv2d``, which was the slowest
        part of a training step on a CPU.
        """
        N, L = windows.shape
        E = self.item_emb(windows)  # (N, L, d)
        parts = []
        if self.conv_v is not None:  # vertical: weighted sums of the L rows
            w = self.conv_v.weight.view(-1, L)  # (n_v, L)
            v = torch.einsum("nld,vl->nvd", E, w) + self.conv_v.bias.view(1, -1, 1)
            parts.append(v.reshape(N, -1))  # (N, n_v * d)
        for conv in self.conv_h:  # horizontal: filters over h consecutive rows
            h = conv.kernel_size[0]
            win = E.unfold(1, h, 1).transpose(2, 3)  # (N, L - h + 1, h, d)
            c = F.relu(
                F.linear(win.flatten(2), conv.weight.flatten(1), conv.bias)
            )  # (N, L - h + 1, n_h)
            parts.append(c.max(dim=1).values)  # (N, n_h): max-pooled over time
        o = self.drop(torch.cat(parts, dim=1))  # (N, n_v * d + n_h * L)
        return F.relu(self.fc(o))  # (N, d)

    def _hidden(self, seq: torch.Tensor, users: torch.Tensor) -> torch.Tensor:
        B, T = seq.shape
        z = self._encode(self._windows(seq).reshape(B * T, -1)).view(
            B, T, -1
        )  # (B, T, d)
        p = self.user_emb(users).unsqueeze(1).expand(-1, T, -1)  # (B, T, d)
        keep = (seq != self.n_items).unsqueeze(-1)  # (B, T, 1)
        return torch.cat([z, p], dim=-1) * keep  # (B, T, 2d)

    def _score_last(self, seq, users) -> torch.Tensor:
        # Only the last window matters: encode it alone instead of all T.
        z = self._encode(self._windows(seq)[:, -1])  # (B, d)
        return self.item_logits(torch.cat([z, self.user_emb(users)], dim=-1))

    def item_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits over all items: ``(..., 2d) -> (..., n_items)``."""
        return hidden @ self.out_emb.weight.T + self.out_bias.weight.squeeze(1)

    def score_items(self, hidden: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Logits of chosen items: ``hidden (N, 2d)``, ``items (N,)`` or ``(N, K)``."""
        return tied_score_items(
            hidden,
            self.out_emb.weight,
            items,
            self.n_items,
            bias=self.out_bias.weight.squeeze(1),
        )
