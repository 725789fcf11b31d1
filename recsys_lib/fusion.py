"""Fusing modality embeddings into one item vector, with missing modalities.

Introduced in Chapter 5 ("Multimodal data fusion").

An item may come with an ID embedding, a text vector, an image vector and a
price-history vector -- of different sizes, and some of them missing (a
product without a picture yet, a brand-new product without interactions).
Every fusion module here takes

* ``xs``: a sequence of ``M`` tensors, ``xs[m]`` of shape ``(B, d_m)``;
* ``mask``: a bool tensor ``(B, M)``, ``True`` where modality ``m`` of row
  ``b`` is present (``None`` = all present),

and returns a :class:`Fused` pair ``(vector (B, out_dim), weights (B, M))``.
Missing entries are replaced by zeros *before* any arithmetic, so whatever
they hold (zeros, garbage, ``nan``) changes nothing, and their weight is
exactly 0. Present entries must be finite.

A row with *every* modality missing has nothing to fuse. By default
(``on_all_missing="error"``) that raises a ``ValueError`` naming the rows;
with ``on_all_missing="learned"`` such rows get a learned "missing item"
vector (all weights 0).

The modules:

* :class:`ConcatFusion` -- concatenate (missing = zeros, plus the mask
  itself as features), optionally followed by a linear layer;
* :class:`GatedFusion` -- project each modality to ``out_dim`` and scale it
  by a per-modality sigmoid gate computed from its own input; average over
  the present modalities;
* :class:`AttentionFusion` -- project each modality, score it against a
  query (learned, or e.g. the user vector) and take the softmax-weighted
  sum over present modalities.

:class:`MultimodalItemTower` treats the item-ID embedding as one more
modality -- missing for items without training interactions -- and
:class:`TwoTowerRecommender` scores users against it, so cold items are
scored from their content alone. :func:`train_two_tower` trains it with BPR.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from .config import ITEM_COL, USER_COL
from .training import History, fit

__all__ = [
    "ON_ALL_MISSING",
    "AttentionFusion",
    "ConcatFusion",
    "Fused",
    "GatedFusion",
    "MultimodalItemTower",
    "TwoTowerRecommender",
    "make_fusion",
    "train_two_tower",
]

ON_ALL_MISSING = ("error", "learned")


class Fused(NamedTuple):
    """Output of a fusion module.

    Introduced in Chapter 5.

    Attributes:
        vector: ``(B, out_dim)`` fused vectors.
        weights: ``(B, M)`` how much each modality contributed (0 where missing):
            the mask for :class:`ConcatFusion`, the gates for
            :class:`GatedFusion`, the attention weights (rows sum to 1) for
            :class:`AttentionFusion`.
    """

    vector: torch.Tensor
    weights: torch.Tensor


def _check_dims(input_dims: Sequence[int]) -> list[int]:
    if isinstance(input_dims, int) or len(input_dims) == 0:
        raise ValueError(
            f"input_dims must be a non-empty list of modality sizes, got {input_dims!r}"
        )
    dims = []
    for d in input_dims:
        if isinstance(d, bool) or not isinstance(d, int | np.integer) or d < 1:
            raise ValueError(
                f"modality sizes must be positive ints, got {input_dims!r}"
            )
        dims.append(int(d))
    return dims


def _check_pos_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


class _Fusion(nn.Module):
    """Input checks, masking and the all-missing policy shared by every fusion."""

    def __init__(
        self, input_dims: Sequence[int], out_dim: int, on_all_missing: str = "error"
    ) -> None:
        super().__init__()
        self.input_dims = _check_dims(input_dims)
        self.out_dim = _check_pos_int(out_dim, "out_dim")
        if on_all_missing not in ON_ALL_MISSING:
            raise ValueError(
                f"on_all_missing must be one of {ON_ALL_MISSING}, got {on_all_missing!r}"
            )
        self.on_all_missing = on_all_missing
        if on_all_missing == "learned":
            self.missing = nn.Parameter(torch.randn(self.out_dim) * 0.01)

    @property
    def n_modalities(self) -> int:
        return len(self.input_dims)

    def _prepare(self, xs, mask):
        """Zero-filled inputs, bool mask ``(B, M)`` and the all-missing rows ``(B,)``."""
        if isinstance(xs, torch.Tensor) or not isinstance(xs, Sequence):
            raise TypeError(
                "xs must be a list of M tensors [(B, d_1), ..., (B, d_M)], "
                f"got {type(xs).__name__}"
            )
        M = self.n_modalities
        if len(xs) != M:
            raise ValueError(f"expected {M} modalities, got {len(xs)}")
        for m, (x, d) in enumerate(zip(xs, self.input_dims, strict=True)):
            if not isinstance(x, torch.Tensor):
                raise TypeError(
                    f"xs[{m}] must be a torch.Tensor, got {type(x).__name__}"
                )
            if x.ndim != 2 or x.shape[1] != d:
                raise ValueError(
                    f"xs[{m}] must have shape (B, {d}), got {tuple(x.shape)}"
                )
            if not x.is_floating_point():
                raise TypeError(f"xs[{m}] must be a float tensor, got {x.dtype}")
        B = xs[0].shape[0]
        if B == 0:
            raise ValueError("empty batch: B = 0")
        if any(x.shape[0] != B for x in xs):
            raise ValueError(
                f"modalities have different batch sizes {[x.shape[0] for x in xs]}"
            )
        device = xs[0].device
        if mask is None:
            mask = torch.ones(B, M, dtype=torch.bool, device=device)
        else:
            if not isinstance(mask, torch.Tensor):
                mask = torch.as_tensor(np.asarray(mask))
            if tuple(mask.shape) != (B, M):
                raise ValueError(
                    f"mask must have shape (B, M) = ({B}, {M}), got {tuple(mask.shape)}"
                )
            if mask.dtype != torch.bool:
                if not ((mask == 0) | (mask == 1)).all():
                    raise ValueError("mask must be boolean (or hold only 0 and 1)")
                mask = mask != 0
            mask = mask.to(device)
        filled = []
        for m, x in enumerate(xs):
            present = mask[:, m]
            bad = present & ~torch.isfinite(x).all(dim=1)
            if bad.any():
                row = int(torch.nonzero(bad)[0, 0])
                raise ValueError(
                    f"xs[{m}] has nan or inf in row {row}, where the mask says the "
                    "modality is present; mark it missing (mask False) or fix the features"
                )
            filled.append(
                torch.where(present[:, None], x, torch.zeros((), dtype=x.dtype))
            )
        none = ~mask.any(dim=1)
        if none.any() and self.on_all_missing == "error":
            rows = torch.nonzero(none)[:, 0].tolist()
            raise ValueError(
                f"row(s) {rows[:10]} have every modality missing: nothing to fuse. "
                "Drop them, or build the module with on_all_missing='learned' to use "
                "a learned 'missing' vector"
            )
        return filled, mask, none

    def _finish(self, vector, weights, none) -> Fused:
        if none.any():
            vector = torch.where(none[:, None], self.missing.expand_as(vector), vector)
            weights = weights.masked_fill(none[:, None], 0.0)
        return Fused(vector, weights)


class ConcatFusion(_Fusion):
    """Concatenate the modalities (missing ones as zeros), then optionally project.

    Introduced in Chapter 5. The mask itself is appended as ``M`` extra
    features (``append_mask=True``), so the next layer can tell "missing"
    from "all features zero".

    Args:
        input_dims: ``[d_1, ..., d_M]``.
        out_dim: size after a linear layer, or ``None`` to return the raw
            concatenation (size ``sum(d_m) (+ M)``).
        append_mask: append the mask as features.
        on_all_missing: ``"error"`` or ``"learned"`` (see the module docstring).

    Shape:
        ``forward(xs, mask)``: ``M`` tensors ``(B, d_m)`` and ``(B, M)`` ->
        :class:`Fused` with ``vector (B, out_dim)`` and ``weights (B, M)``
        (the mask as 0/1 floats).
    """

    def __init__(
        self,
        input_dims: Sequence[int],
        out_dim: int | None = None,
        append_mask: bool = True,
        on_all_missing: str = "error",
    ) -> None:
        dims = _check_dims(input_dims)
        concat_dim = sum(dims) + (len(dims) if append_mask else 0)
        super().__init__(
            dims, concat_dim if out_dim is None else out_dim, on_all_missing
        )
        self.append_mask = bool(append_mask)
        self.project = None if out_dim is None else nn.Linear(concat_dim, self.out_dim)

    def forward(self, xs, mask=None) -> Fused:
        xs, mask, none = self._prepare(xs, mask)
        parts = list(xs) + ([mask.to(xs[0].dtype)] if self.append_mask else [])
        z = torch.cat(parts, dim=1)  # (B, sum d_m (+ M))
        if self.project is not None:
            z = self.project(z)
        return self._finish(z, mask.to(z.dtype), none)


class GatedFusion(_Fusion):
    """Per-modality sigmoid gates over projected modality vectors.

    Introduced in Chapter 5::

        h_m = W_m x_m + b_m                  (B, out_dim)
        g_m = sigmoid(v_m . x_m + c_m)       (B,)  in (0, 1)
        z   = sum_{m present} g_m h_m / (number of present modalities)

    Each gate looks only at its own modality, so the model can learn, per
    item, to trust a clear picture more than a vague text.

    Args:
        input_dims: ``[d_1, ..., d_M]``.
        out_dim: size of the fused vector.
        on_all_missing: ``"error"`` or ``"learned"``.

    Shape:
        ``forward(xs, mask)`` -> :class:`Fused` with ``vector (B, out_dim)`` and
        ``weights (B, M)`` the gates (0 where missing).
    """

    def __init__(
        self, input_dims: Sequence[int], out_dim: int, on_all_missing: str = "error"
    ) -> None:
        super().__init__(input_dims, out_dim, on_all_missing)
        self.project = nn.ModuleList(
            nn.Linear(d, self.out_dim) for d in self.input_dims
        )
        self.gate = nn.ModuleList(nn.Linear(d, 1) for d in self.input_dims)

    def forward(self, xs, mask=None) -> Fused:
        xs, mask, none = self._prepare(xs, mask)
        h = torch.stack([p(x) for p, x in zip(self.project, xs, strict=True)], 1)
        g = torch.cat(
            [torch.sigmoid(a(x)) for a, x in zip(self.gate, xs, strict=True)], 1
        )
        g = g * mask.to(g.dtype)  # (B, M), exactly 0 where missing
        count = mask.sum(dim=1, keepdim=True).clamp(min=1).to(h.dtype)  # (B, 1)
        z = (g.unsqueeze(-1) * h).sum(dim=1) / count  # (B, out_dim)
        return self._finish(z, g, none)


class AttentionFusion(_Fusion):
    """Attention over projected modality vectors.

    Introduced in Chapter 5::

        h_m = W_m x_m + b_m + e_m             values (B, M, out_dim); e_m = type embedding
        k_m = K h_m                           keys
        q   = learned vector, or Q query      (B, out_dim)
        a   = softmax_m over present m of (k_m . q / sqrt(out_dim))    (B, M)
        z   = sum_m a_m h_m

    With ``query_dim`` set, the query is computed from a per-row input (for
    example the user's vector), so different users can attend to different
    modalities of the same item.

    Args:
        input_dims: ``[d_1, ..., d_M]``.
        out_dim: size of the fused vector.
        query_dim: size of the external query, or ``None`` for a learned one.
        on_all_missing: ``"error"`` or ``"learned"``.

    Shape:
        ``forward(xs, mask, query)`` with ``query (B, query_dim)`` when
        ``query_dim`` is set -> :class:`Fused`: ``vector (B, out_dim)`` and the
        attention ``weights (B, M)`` (each row sums to 1 over present
        modalities, 0 where missing).
    """

    def __init__(
        self,
        input_dims: Sequence[int],
        out_dim: int,
        query_dim: int | None = None,
        on_all_missing: str = "error",
    ) -> None:
        super().__init__(input_dims, out_dim, on_all_missing)
        d = self.out_dim
        self.project = nn.ModuleList(nn.Linear(k, d) for k in self.input_dims)
        self.type_embedding = nn.Parameter(torch.randn(self.n_modalities, d) * 0.1)
        self.key = nn.Linear(d, d, bias=False)
        self.query_dim = (
            None if query_dim is None else _check_pos_int(query_dim, "query_dim")
        )
        if self.query_dim is None:
            self.query = nn.Parameter(torch.randn(d) / math.sqrt(d))
        else:
            self.query = nn.Linear(self.query_dim, d)

    def forward(self, xs, mask=None, query: torch.Tensor | None = None) -> Fused:
        xs, mask, none = self._prepare(xs, mask)
        B = xs[0].shape[0]
        h = torch.stack([p(x) for p, x in zip(self.project, xs, strict=True)], 1)
        h = h + self.type_embedding  # (B, M, d)
        if self.query_dim is None:
            if query is not None:
                raise ValueError(
                    "this AttentionFusion has a learned query (query_dim=None); "
                    "build it with query_dim=... to pass a query"
                )
            q = self.query.expand(B, -1)  # (B, d)
        else:
            if not isinstance(query, torch.Tensor) or tuple(query.shape) != (
                B,
                self.query_dim,
            ):
                got = None if query is None else tuple(getattr(query, "shape", ()))
                raise ValueError(
                    f"query must be a tensor ({B}, {self.query_dim}), got {got}"
                )
            if not torch.isfinite(query).all():
                raise ValueError("query contains nan or inf")
            q = self.query(query)
        scores = (self.key(h) @ q.unsqueeze(-1)).squeeze(-1) / math.sqrt(self.out_dim)
        # Rows with nothing present would be softmax(-inf, ...) = nan: let them
        # see every modality here; _finish() overwrites them.
        visible = mask | none[:, None]
        a = torch.softmax(scores.masked_fill(~visible, float("-inf")), dim=1)  # (B, M)
        z = (a.unsqueeze(-1) * h).sum(dim=1)  # (B, d)
        return self._finish(z, a, none)


def make_fusion(
    kind: str, input_dims: Sequence[int], out_dim: int, on_all_missing: str = "error"
) -> _Fusion:
    """Build a fusion module by name: ``"concat"``, ``"gated"`` or ``"attention"``.

    Introduced in Chapter 5. ``"concat"`` is a :class:`ConcatFusion` with a
    linear layer to ``out_dim``.
    """
    if kind == "concat":
        return ConcatFusion(input_dims, out_dim, on_all_missing=on_all_missing)
    if kind == "gated":
        return GatedFusion(input_dims, out_dim, on_all_missing)
    if kind == "attention":
        return AttentionFusion(input_dims, out_dim, on_all_missing=on_all_missing)
    raise ValueError(f"fusion must be 'concat', 'gated' or 'attention', got {kind!r}")


def _feature_table(values, name: str, n_items: int) -> torch.Tensor:
    if isinstance(values, pd.DataFrame):
        values = values.to_numpy()
    t = (
        values.detach().cpu()
        if isinstance(values, torch.Tensor)
        else torch.as_tensor(np.asarray(values, dtype=np.float32))
    )
    if t.ndim != 2 or t.shape[0] != n_items or t.shape[1] == 0:
        raise ValueError(f"{name} must have shape ({n_items}, d), got {tuple(t.shape)}")
    return t.float()


class MultimodalItemTower(nn.Module):
    """Item vectors from an ID embedding plus content features, fused.

    Introduced in Chapter 5. Modality 0 is the learned item-ID embedding;
    modalities ``1..M`` are fixed content features (text, image, price
    vectors from :mod:`recsys_lib.encoders`) stored as buffers. The ID is
    *missing* for items outside ``known_items`` -- items without training
    interactions, whose ID embedding never got a gradient -- so a cold item
    is described by its content alone. ``id_dropout`` hides the ID of warm
    items at random during training, so the content path learns to stand on
    its own (the DropoutNet idea, Volkovs et al., 2017).

    Args:
        n_items: catalogue size.
        features: ``M`` arrays/tensors, ``features[m]`` of shape ``(n_items, d_m)``.
        feature_mask: bool ``(n_items, M)``, ``False`` where an item lacks a
            modality (its row in ``features[m]`` is then ignored, even if nan).
        id_dim: size of the ID embedding.
        out_dim: size of the item vector.
        fusion: ``"attention"``, ``"gated"`` or ``"concat"``.
        id_dropout: probability of hiding a warm item's ID in training.
        known_items: ids of items whose ID embedding is used (default: all);
            :func:`train_two_tower` sets it to the items in the training data.
        on_all_missing: what to do with an item that has no ID and no
            content: ``"learned"`` (default) gives it a learned "unknown
            item" vector, ``"error"`` raises.
        modality_names: names for plots; default ``["id", "m1", ...]``.

    Shape:
        ``forward(item_ids (B,))`` -> :class:`Fused` with ``vector (B, out_dim)``
        and ``weights (B, 1 + M)``.
    """

    def __init__(
        self,
        n_items: int,
        features: Sequence,
        feature_mask=None,
        id_dim: int = 32,
        out_dim: int = 32,
        fusion: str = "attention",
        id_dropout: float = 0.0,
        known_items=None,
        on_all_missing: str = "learned",
        modality_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        self.n_items = _check_pos_int(n_items, "n_items")
        if isinstance(features, np.ndarray | torch.Tensor):
            features = [features]
        tables = [
            _feature_table(f, f"features[{m}]", n_items) for m, f in enumerate(features)
        ]
        M = len(tables)
        if feature_mask is None:
            fmask = torch.ones(n_items, M, dtype=torch.bool)
        else:
            fmask = torch.as_tensor(np.asarray(feature_mask))
            if tuple(fmask.shape) != (n_items, M):
                raise ValueError(
                    f"feature_mask must have shape ({n_items}, {M}), got {tuple(fmask.shape)}"
                )
            fmask = fmask.bool()
        for m, t in enumerate(tables):
            bad = fmask[:, m] & ~torch.isfinite(t).all(dim=1)
            if bad.any():
                item = int(torch.nonzero(bad)[0, 0])
                raise ValueError(
                    f"features[{m}] of item {item} has nan or inf but feature_mask says "
                    "it is present"
                )
            # Missing rows are stored as zeros so that nothing downstream sees nan.
            self.register_buffer(
                f"feature_{m}", torch.where(fmask[:, m : m + 1], t, 0.0)
            )
        self.register_buffer("feature_mask", fmask)
        self.register_buffer("known", torch.ones(n_items, dtype=torch.bool))
        if known_items is not None:
            self.set_known_items(known_items)
        if not 0.0 <= float(id_dropout) < 1.0:
            raise ValueError(f"id_dropout must lie in [0, 1), got {id_dropout}")
        self.id_dropout = float(id_dropout)
        self.id_embedding = nn.Embedding(n_items, _check_pos_int(id_dim, "id_dim"))
        nn.init.normal_(self.id_embedding.weight, std=0.1)
        dims = [id_dim] + [t.shape[1] for t in tables]
        self.fusion = make_fusion(fusion, dims, out_dim, on_all_missing)
        self.out_dim = self.fusion.out_dim
        names = (
            list(modality_names)
            if modality_names is not None
            else [f"m{m + 1}" for m in range(M)]
        )
        if len(names) != M:
            raise ValueError(f"got {len(names)} modality_names for {M} feature tables")
        self.modality_names = ["id", *names]

    @property
    def n_modalities(self) -> int:
        """``1 + M`` (the ID counts)."""
        return 1 + self.feature_mask.shape[1]

    def set_known_items(self, item_ids) -> None:
        """Use the ID embedding only for ``item_ids`` (e.g. items seen in training)."""
        ids = torch.as_tensor(np.asarray(item_ids, dtype=np.int64)).ravel()
        if ids.numel() and (ids.min() < 0 or ids.max() >= self.n_items):
            raise ValueError(f"known item ids must lie in [0, {self.n_items})")
        self.known.zero_()
        self.known[ids] = True

    def _check_items(self, item_ids) -> torch.Tensor:
        ids = (
            item_ids
            if isinstance(item_ids, torch.Tensor)
            else torch.as_tensor(np.asarray(item_ids))
        )
        if ids.ndim != 1:
            raise ValueError(f"item_ids must be 1-D, got shape {tuple(ids.shape)}")
        if ids.numel() == 0:
            raise ValueError("item_ids is an empty batch")
        if ids.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"item_ids must be integers, got {ids.dtype}")
        if ids.min() < 0 or ids.max() >= self.n_items:
            raise ValueError(f"item_ids must lie in [0, {self.n_items})")
        return ids.long()

    def forward(self, item_ids) -> Fused:
        ids = self._check_items(item_ids)
        id_present = self.known[ids]
        if self.training and self.id_dropout > 0:
            id_present = id_present & (torch.rand(ids.shape) >= self.id_dropout)
        xs = [self.id_embedding(ids)] + [
            getattr(self, f"feature_{m}")[ids] for m in range(self.n_modalities - 1)
        ]
        mask = torch.cat(
            [id_present[:, None], self.feature_mask[ids]], dim=1
        )  # (B, 1+M)
        return self.fusion(xs, mask)

    def all_items(self, batch_size: int = 4096) -> torch.Tensor:
        """Vectors of every item, ``(n_items, out_dim)`` (no ID dropout)."""
        was = self.training
        self.eval()
        try:
            out = [
                self(torch.arange(lo, min(lo + batch_size, self.n_items))).vector
                for lo in range(0, self.n_items, batch_size)
            ]
        finally:
            self.train(was)
        return torch.cat(out)


class TwoTowerRecommender(nn.Module):
    """Dot-product recommender: user embedding . multimodal item vector.

    Introduced in Chapter 5::

        score(u, i) = p_u . item_tower(i)

    Because the item tower can build a vector from content alone, items
    without any training interaction ("cold" items) get meaningful scores.
    ``.score(user_ids)`` has the interface of
    :func:`recsys_lib.evaluation.full_ranking_topk`.

    Args:
        n_users: number of users.
        item_tower: a :class:`MultimodalItemTower`.

    Shape:
        ``forward(user_ids (B,), item_ids (B,))`` -> ``(B,)``;
        ``score(user_ids (B,))`` -> float32 numpy ``(B, n_items)``.
    """

    def __init__(self, n_users: int, item_tower: MultimodalItemTower) -> None:
        super().__init__()
        if not isinstance(item_tower, MultimodalItemTower):
            raise TypeError(
                f"item_tower must be a MultimodalItemTower, got {type(item_tower).__name__}"
            )
        self.n_users = _check_pos_int(n_users, "n_users")
        self.item_tower = item_tower
        self.user_embedding = nn.Embedding(self.n_users, item_tower.out_dim)
        nn.init.normal_(self.user_embedding.weight, std=0.1)

    @property
    def n_items(self) -> int:
        return self.item_tower.n_items

    def _check_users(self, user_ids) -> torch.Tensor:
        ids = (
            user_ids
            if isinstance(user_ids, torch.Tensor)
            else torch.as_tensor(np.atleast_1d(np.asarray(user_ids)))
        )
        if ids.ndim != 1 or ids.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                f"user_ids must be a 1-D integer array, got {ids.dtype} {tuple(ids.shape)}"
            )
        if ids.numel() == 0:
            raise ValueError("user_ids is an empty batch")
        if ids.min() < 0 or ids.max() >= self.n_users:
            raise ValueError(f"user_ids must lie in [0, {self.n_users})")
        return ids.long()

    def forward(self, user_ids, item_ids) -> torch.Tensor:
        u = self.user_embedding(self._check_users(user_ids))  # (B, d)
        v = self.item_tower(item_ids).vector  # (B, d)
        if u.shape[0] != v.shape[0]:
            raise ValueError(f"{u.shape[0]} users but {v.shape[0]} items")
        return (u * v).sum(dim=1)

    def score(self, user_ids) -> np.ndarray:
        """float32 ``(B, n_items)`` scores of every item (train items not masked)."""
        users = self._check_users(user_ids)
        was = self.training
        self.eval()
        try:
            with torch.no_grad():
                items = self.item_tower.all_items()  # (n_items, d)
                return (self.user_embedding(users) @ items.T).numpy()
        finally:
            self.train(was)


class _PairBatches:
    """Re-iterable ``(users, positives, negatives)`` batches; negatives uniform, unseen."""

    def __init__(self, users, items, n_items: int, batch_size: int, seed: int) -> None:
        self.users, self.items = users, items
        self.n_items, self.batch_size = n_items, batch_size
        self.keys = np.unique(users * n_items + items)
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return math.ceil(self.users.size / self.batch_size)

    def _negatives(self, users: np.ndarray) -> np.ndarray:
        neg = self.rng.integers(0, self.n_items, users.size)
        for _ in range(100):
            query = users * self.n_items + neg
            pos = np.minimum(np.searchsorted(self.keys, query), self.keys.size - 1)
            bad = self.keys[pos] == query
            if not bad.any():
                break
            neg[bad] = self.rng.integers(0, self.n_items, int(bad.sum()))
        return neg

    def __iter__(self):
        order = self.rng.permutation(self.users.size)
        u, i = self.users[order], self.items[order]
        j = self._negatives(u)
        for lo in range(0, u.size, self.batch_size):
            sl = slice(lo, lo + self.batch_size)
            yield tuple(torch.from_numpy(a[sl]) for a in (u, i, j))


def train_two_tower(
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

    Introduced in Chapter 5. Each positive ``(u, i)`` is paired with an item
    ``j`` drawn uniformly among those ``u`` did not interact with, and
    ``-log sigmoid(score(u, i) - score(u, j))`` is minimized with Adam
    (``weight_decay`` as AdamW-style decoupled decay). The same ``seed`` gives
    the same model.

    Args:
        model: the recommender.
        train: DataFrame with ``user_id`` and ``item_id`` (one positive per row).
        epochs: passes over ``train``.
        lr, batch_size, weight_decay: optimizer settings.
        seed: seeds initialization-independent randomness (batches, negatives,
            ID dropout).
        mark_cold: set the tower's known items to the items in ``train``, so
            items never seen in training use content only (recommended).
        show_progress: print a progress bar.

    Returns:
        the :class:`recsys_lib.training.History`.
    """
    if not isinstance(model, TwoTowerRecommender):
        raise TypeError(
            f"model must be a TwoTowerRecommender, got {type(model).__name__}"
        )
    if not isinstance(train, pd.DataFrame) or len(train) == 0:
        raise ValueError("train must be a non-empty DataFrame with user_id and item_id")
    for col in (USER_COL, ITEM_COL):
        if col not in train.columns:
            raise ValueError(f"train has no '{col}' column")
        if not np.issubdtype(train[col].dtype, np.integer):
            raise TypeError(f"train['{col}'] must hold integers")
    users = train[USER_COL].to_numpy(np.int64)
    items = train[ITEM_COL].to_numpy(np.int64)
    if users.min() < 0 or users.max() >= model.n_users:
        raise ValueError(f"train user ids must lie in [0, {model.n_users})")
    if items.min() < 0 or items.max() >= model.n_items:
        raise ValueError(f"train item ids must lie in [0, {model.n_items})")
    if mark_cold:
        model.item_tower.set_known_items(np.unique(items))
    loader = _PairBatches(
        users, items, model.n_items, _check_pos_int(batch_size, "batch_size"), seed
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
