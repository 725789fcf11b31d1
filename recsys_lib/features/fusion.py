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
modality -- missing for items without training interactions -- so cold
items get vectors from their content alone;
:class:`recsys_lib.models.multimodal_two_tower.TwoTowerRecommender` scores
users against it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..checks import check_choice, check_fraction, check_id_array, check_ids, check_int

__all__ = [
    "ON_ALL_MISSING",
    "AttentionFusion",
    "ConcatFusion",
    "Fused",
    "GatedFusion",
    "MultimodalItemTower",
    "make_fusion",
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
    """The modality sizes ``[d_1, ..., d_M]`` as a list of ints ``>= 1``."""
    if not isinstance(input_dims, Sequence) or isinstance(input_dims, str):
        raise TypeError(
            "input_dims must be a non-empty list of modality sizes, "
            f"got {type(input_dims).__name__}: {input_dims!r}"
        )
    if len(input_dims) == 0:
        raise ValueError(
            "input_dims must be a non-empty list of modality sizes, got []"
        )
    return [
        check_int(d, f"input_dims[{m}] (a modality size)", low=1)
        for m, d in enumerate(input_dims)
    ]


class _Fusion(nn.Module):
    """Input checks, masking and the all-missing policy shared by every fusion."""

    def __init__(
        self, input_dims: Sequence[int], out_dim: int, on_all_missing: str = "error"
    ) -> None:
        super().__init__()
        self.input_dims = _check_dims(input_dims)
        self.out_dim = check_int(out_dim, "out_dim", low=1)
        self.on_all_missing = check_choice(
            on_all_missing, "on_all_missing", ON_ALL_MISSING
        )
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
            None if query_dim is None else check_int(query_dim, "query_dim", low=1)
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
    vectors from :mod:`recsys_lib.features`) stored as buffers. The ID is
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
            :func:`recsys_lib.models.multimodal_two_tower.train_multimodal_two_tower`
            sets it to the items in the training data.
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
        self.n_items = check_int(n_items, "n_items", low=1)
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
        self.id_dropout = check_fraction(id_dropout, "id_dropout")
        self.id_embedding = nn.Embedding(n_items, check_int(id_dim, "id_dim", low=1))
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
        ids = check_id_array(item_ids, "known item ids", self.n_items)
        self.known.zero_()
        self.known[torch.from_numpy(ids)] = True

    def _check_items(self, item_ids) -> torch.Tensor:
        if not isinstance(item_ids, torch.Tensor | np.ndarray):
            item_ids = np.asarray(item_ids)  # a list of ids
        ids = check_ids(item_ids, self.n_items, "item_ids")
        if ids.numel() == 0:
            raise ValueError("item_ids is an empty batch")
        return ids

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
