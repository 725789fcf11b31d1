"""A feature-based ranker: ids plus user, item and context features -> click logit.

Introduced in Chapter 6 ("The MLP ranker") and reused as the ranking stage
of Chapter 8 (two-stage recall and ranking) with multimodal item features:
whatever encoder turns a product into a vector, this model ranks with it.

The input of one ``(user, item)`` pair is the concatenation

``[user embedding; item embedding; user features; item features; context]``

(any part can be switched off) fed to an MLP that returns one logit. Train it
with :func:`recsys_lib.models.losses.bce_loss` on clicks / non-clicks, or with
:func:`~recsys_lib.models.losses.bpr_loss` on (clicked, shown-but-skipped) pairs.

Feature vectors are passed with each call, or stored once with
:meth:`FeatureMLPRanker.set_feature_tables` (one row per user / item) so that
only ids need to be passed and :meth:`FeatureMLPRanker.score` can rank the
whole catalog for :func:`recsys_lib.eval.evaluate_full`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import (
    PairScorer,
    check_fraction,
    check_ids,
    check_positive_int,
    inference,
)

__all__ = ["FeatureMLPRanker", "RankerConfig"]


@dataclass
class RankerConfig:
    """Hyperparameters of :class:`FeatureMLPRanker`. Introduced in Chapter 6.

    Attributes:
        n_users, n_items: id ranges.
        user_feat_dim: width of the dense user features (0 = none).
        item_feat_dim: width of the dense item features (0 = none).
        context_dim: width of per-request context features such as time of
            day or device (0 = none).
        id_dim: size of the user and item id embeddings; 0 drops the ids and
            gives a pure feature model that can score unseen items (cold
            start). 16 lets ids fix what features miss without dominating.
        hidden: widths of the MLP's hidden layers; two layers shrinking by
            half is a strong default for tabular inputs of tens to hundreds
            of features.
        dropout: after each hidden layer; 0.1 regularizes the small data
            sets of the book without slowing learning much.
        init_std: std of the normal initialization of the id embeddings.
    """

    n_users: int
    n_items: int
    user_feat_dim: int = 0
    item_feat_dim: int = 0
    context_dim: int = 0
    id_dim: int = 16
    hidden: tuple[int, ...] = (128, 64)
    dropout: float = 0.1
    init_std: float = 0.05

    def __post_init__(self) -> None:
        check_positive_int(self.n_users, "n_users")
        check_positive_int(self.n_items, "n_items")
        for name in ("user_feat_dim", "item_feat_dim", "context_dim", "id_dim"):
            check_positive_int(getattr(self, name), name, low=0)
        self.hidden = tuple(self.hidden)
        for w in self.hidden:
            check_positive_int(w, "hidden entries")
        check_fraction(self.dropout, "dropout")
        if self.input_dim == 0:
            raise ValueError(
                "the ranker has no input: set id_dim > 0 or give some feature dims"
            )

    @property
    def input_dim(self) -> int:
        """Width of the MLP input."""
        return (
            2 * self.id_dim + self.user_feat_dim + self.item_feat_dim + self.context_dim
        )

    @classmethod
    def tiny(cls, n_users: int = 8, n_items: int = 10, **overrides) -> RankerConfig:
        """A configuration that builds and runs in milliseconds (tests, demos)."""
        base = dict(
            n_users=n_users,
            n_items=n_items,
            user_feat_dim=3,
            item_feat_dim=5,
            context_dim=2,
            id_dim=4,
            hidden=(8,),
            dropout=0.0,
        )
        return cls(**{**base, **overrides})


class FeatureMLPRanker(PairScorer):
    """MLP ranker over ids and dense features. Introduced in Chapter 6.

    ``forward(user_ids (B,), item_ids (B,), user_feats=None (B, Fu),
    item_feats=None (B, Fi), context=None (B, Fc)) -> (B,)`` logits. Features
    left out are looked up in the stored tables (see
    :meth:`set_feature_tables`); a configured part that is neither passed nor
    stored is an error.
    """

    #: pairs per chunk in :meth:`score`: small enough that the hidden
    #: activations of a chunk stay in the CPU cache.
    score_chunk_pairs: int = 1 << 14

    def __init__(self, cfg: RankerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.n_users, self.n_items = cfg.n_users, cfg.n_items
        if cfg.id_dim:
            self.user = nn.Embedding(cfg.n_users, cfg.id_dim)
            self.item = nn.Embedding(cfg.n_items, cfg.id_dim)
            nn.init.normal_(self.user.weight, 0.0, cfg.init_std)
            nn.init.normal_(self.item.weight, 0.0, cfg.init_std)
        layers: list[nn.Module] = []
        width = cfg.input_dim
        for w in cfg.hidden:
            layers += [nn.Linear(width, w), nn.ReLU(), nn.Dropout(cfg.dropout)]
            width = w
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)
        self.register_buffer("user_table", None)
        self.register_buffer("item_table", None)

    def set_feature_tables(
        self,
        user_features: torch.Tensor | None = None,
        item_features: torch.Tensor | None = None,
    ) -> FeatureMLPRanker:
        """Store feature tables ``(n_users, Fu)`` / ``(n_items, Fi)`` as buffers."""
        for table, rows, cols, name in (
            (user_features, self.n_users, self.cfg.user_feat_dim, "user_features"),
            (item_features, self.n_items, self.cfg.item_feat_dim, "item_features"),
        ):
            if table is None:
                continue
            table = self._check_feats(table, (rows, cols), name)
            setattr(
                self, "user_table" if name.startswith("user") else "item_table", table
            )
        return self

    @staticmethod
    def _check_feats(x, shape: tuple[int, int], name: str) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"{name} must be floating point, got dtype {x.dtype}")
        if tuple(x.shape) != shape:
            raise ValueError(
                f"{name} has shape {tuple(x.shape)}, expected {shape} "
                "(rows, configured feature dim)"
            )
        return x

    def _part(self, given, table, ids, dim: int, name: str, batch: int):
        if dim == 0:
            if given is not None:
                raise ValueError(f"{name} given but the config says {name} dim = 0")
            return None
        if given is None:
            if table is None:
                raise ValueError(
                    f"{name} is missing: pass it or store a table "
                    "with set_feature_tables"
                )
            return table[ids]  # (B, dim)
        return self._check_feats(given, (batch, dim), name)

    def forward(
        self, user_ids, item_ids, user_feats=None, item_feats=None, context=None
    ) -> torch.Tensor:
        """Logits ``(B,)`` of ``(user, item)`` pairs; see the class docstring."""
        users, items = self._check_pairs(user_ids, item_ids)
        return self._logits(users, items, user_feats, item_feats, context)

    def _logits(self, users, items, user_feats, item_feats, context) -> torch.Tensor:
        B, cfg = users.shape[0], self.cfg
        parts = []
        if cfg.id_dim:
            parts += [self.user(users), self.item(items)]  # 2 x (B, id_dim)
        for given, table, ids, dim, name in (
            (user_feats, self.user_table, users, cfg.user_feat_dim, "user_feats"),
            (item_feats, self.item_table, items, cfg.item_feat_dim, "item_feats"),
            (context, None, None, cfg.context_dim, "context"),
        ):
            part = self._part(given, table, ids, dim, name, B)
            if part is not None:
                parts.append(part)
        x = torch.cat(parts, dim=-1)  # (B, input_dim)
        return self.mlp(x).squeeze(-1)  # (B,)

    def _pairs(self, users, items) -> torch.Tensor:
        return self._logits(users, items, None, None, None)

    def _side(self, ids, table, emb, dim: int, name: str) -> torch.Tensor:
        """``[id embedding; features]`` of users or items, ``(len(ids), width)``."""
        parts = [] if emb is None else [emb(ids)]
        feats = self._part(None, table, ids, dim, name, len(ids))  # None if dim 0
        if feats is not None:
            parts.append(feats)
        return torch.cat(parts, dim=-1) if parts else torch.zeros(len(ids), 0)

    def _all_items(self, users) -> torch.Tensor:
        """Every item for ``users``, with the first layer split by side.

        The first layer is linear in ``[user side; item side]``, so its user
        part ``(B, h)`` and item part ``(n_items, h)`` are computed once and
        added for every pair; only the later (narrower) layers see all pairs.
        """
        cfg = self.cfg
        if cfg.context_dim:  # context is per request: the generic path asks for it
            return super()._all_items(users)
        items = torch.arange(self.n_items)
        has_ids = cfg.id_dim > 0
        u_emb, i_emb = (self.user, self.item) if has_ids else (None, None)
        u_side = self._side(
            users, self.user_table, u_emb, cfg.user_feat_dim, "user_feats"
        )
        i_side = self._side(
            items, self.item_table, i_emb, cfg.item_feat_dim, "item_feats"
        )
        # Columns of the MLP input: [user id; item id; user feats; item feats].
        d, fu = cfg.id_dim, cfg.user_feat_dim
        cols = torch.arange(cfg.input_dim)
        is_user = (cols < d) | ((cols >= 2 * d) & (cols < 2 * d + fu))
        first, rest = self.mlp[0], self.mlp[1:]
        w = first.weight  # (h, input_dim)
        u_part = u_side @ w[:, is_user].T + first.bias  # (B, h)
        i_part = i_side @ w[:, ~is_user].T  # (n_items, h)
        return self._by_user_chunks(
            users.numel(),
            lambda lo, hi: rest(
                u_part[lo:hi].unsqueeze(1) + i_part.unsqueeze(0)
            ).squeeze(-1),
        )

    def score(self, user_ids, items=None, context=None) -> torch.Tensor:
        """Logits of every item ``(B, n_items)`` from the stored tables (inference).

        Args:
            user_ids: int ``(B,)``.
            items: optional int ``(m,)`` item ids; ``None`` = the whole catalog.
            context: optional float ``(B, Fc)``, one context per user.
        """
        users = check_ids(user_ids, self.n_users, "user_ids")
        if context is None:
            return super().score(users, items)
        context = self._check_feats(
            context, (users.numel(), self.cfg.context_dim), "context"
        )
        n = self.n_items
        with inference(self):
            out = []
            every_item = torch.arange(n)
            for b in range(users.numel()):
                u = users[b].expand(n)  # (n_items,)
                ctx = context[b].expand(n, -1)  # (n_items, Fc)
                out.append(self._logits(u, every_item, None, None, ctx))
            scores = torch.stack(out) if out else torch.empty(0, n)
        return self._select_items(scores, items)
