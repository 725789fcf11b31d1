"""Static profiles: what a user told us, as codes, one-hot vectors or embeddings.

Introduced in Chapter 4 ("User profiles"). Demographic columns (age, gender,
occupation, region, ...) become integer codes: :class:`CategoryVocab` maps
each value of one column to a code with an explicit ``<unk>`` slot (code 0)
for values never seen in training; :class:`DemographicEncoder` does it for a
whole users table and gives codes or one-hot vectors (:func:`one_hot`), and
:class:`DemographicEmbedding` learns a vector per value. Numeric ages are
bucketed first (:func:`age_bucket`, the buckets of MovieLens-1M).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ...checks import check_choice, check_int

__all__ = [
    "AGE_EDGES",
    "UNKNOWN",
    "CategoryVocab",
    "DemographicEmbedding",
    "DemographicEncoder",
    "age_bucket",
    "one_hot",
]

#: Age bucket edges of MovieLens-1M: under 18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+.
AGE_EDGES: tuple[int, ...] = (18, 25, 35, 45, 50, 56)
#: The label (and code 0) of values never seen in training.
UNKNOWN = "<unk>"
_UNKNOWN_POLICIES = ("unknown", "error")


def one_hot(codes, n_classes: int) -> np.ndarray:
    """One-hot encode integer codes.

    Introduced in Chapter 4.

    Args:
        codes: integer array ``(n,)`` with values in ``[0, n_classes)``.
        n_classes: number of columns.

    Returns:
        float32 array ``(n, n_classes)`` with a single 1 per row.

    Raises:
        TypeError: for non-integer codes.
        ValueError: for codes out of range (they are never silently dropped).
    """
    codes = np.asarray(codes)
    if codes.ndim != 1:
        raise ValueError(f"codes must be 1-D, got shape {codes.shape}")
    if codes.size and not np.issubdtype(codes.dtype, np.integer):
        raise TypeError(f"codes must be integers, got dtype {codes.dtype}")
    n_classes = check_int(n_classes, "n_classes", low=1)
    codes = codes.astype(np.int64)
    if codes.size and (codes.min() < 0 or codes.max() >= n_classes):
        raise ValueError(
            f"codes must lie in [0, {n_classes}), got {codes.min()}..{codes.max()}"
        )
    out = np.zeros((codes.size, n_classes), dtype=np.float32)
    out[np.arange(codes.size), codes] = 1.0
    return out


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def age_bucket(ages, edges: Sequence[float] = AGE_EDGES) -> np.ndarray:
    """Map ages to bucket labels such as ``"25-34"``.

    Introduced in Chapter 4. With the default :data:`AGE_EDGES` the labels are
    ``"<18"``, ``"18-24"``, ``"25-34"``, ``"35-44"``, ``"45-49"``, ``"50-55"``
    and ``"56+"``.

    Args:
        ages: ``(n,)`` numbers; ``None``/``nan`` are missing.
        edges: increasing bucket edges; bucket ``k`` is ``[edges[k-1], edges[k])``.

    Returns:
        object array ``(n,)`` of labels, ``None`` where the age is missing (an
        encoder then maps it to ``<unk>`` or raises, as asked).

    Raises:
        ValueError: for negative ages or edges that do not increase.
    """
    edges = [float(e) for e in edges]
    if not edges or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise ValueError(f"edges must be a non-empty increasing sequence, got {edges}")
    values = pd.to_numeric(pd.Series(np.asarray(ages, dtype=object)), errors="raise")
    values = values.to_numpy(dtype=np.float64)
    if (values[~np.isnan(values)] < 0).any():
        raise ValueError("ages must be >= 0")

    def fmt(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else str(x)

    labels = [f"<{fmt(edges[0])}"]
    labels += [f"{fmt(a)}-{fmt(b - 1)}" for a, b in zip(edges, edges[1:], strict=False)]
    labels.append(f"{fmt(edges[-1])}+")
    idx = np.searchsorted(np.asarray(edges), values, side="right")
    out = np.asarray(labels, dtype=object)[np.minimum(idx, len(labels) - 1)]
    out[np.isnan(values)] = None
    return out


class CategoryVocab:
    """Map the values of one categorical feature to integer codes.

    Introduced in Chapter 4. Code 0 is reserved for :data:`UNKNOWN`
    (``"<unk>"``): values never seen in training, rare values (below
    ``min_count``) and missing values (``None``/``nan``). The known values get
    codes ``1 .. len(categories)`` in sorted order, so the same data always
    gives the same codes.

    Args:
        categories: the known values (unique, none missing).
        name: the feature's name, used in error messages and feature names.

    Attributes:
        categories: tuple of known values; ``categories[c - 1]`` has code ``c``.
        size: ``len(categories) + 1`` (the ``<unk>`` slot included).
    """

    def __init__(self, categories: Sequence, name: str = "feature") -> None:
        cats = list(categories)
        if any(_is_missing(c) for c in cats):
            raise ValueError(f"{name}: categories must not contain missing values")
        if len(set(cats)) != len(cats):
            raise ValueError(f"{name}: categories must be unique")
        if UNKNOWN in cats:
            raise ValueError(f"{name}: {UNKNOWN!r} is reserved for unknown values")
        self.name = name
        self.categories = tuple(cats)
        self._code = {c: k + 1 for k, c in enumerate(cats)}

    @classmethod
    def fit(cls, values, name: str = "feature", min_count: int = 1) -> CategoryVocab:
        """Learn the vocabulary from training values.

        Args:
            values: ``(n,)`` values; missing ones are not learned (they encode
                as ``<unk>``).
            name: the feature's name.
            min_count: values seen fewer times are left out of the vocabulary,
                so they encode as ``<unk>`` (and ``<unk>`` gets trained).
        """
        min_count = check_int(min_count, "min_count", low=1)
        counts = pd.Series(list(values), dtype=object).dropna().value_counts()
        kept = [c for c, n in counts.items() if n >= min_count]
        if not kept:
            raise ValueError(
                f"{name}: no value occurs at least min_count={min_count} times"
            )
        return cls(sorted(kept, key=lambda c: (str(type(c)), c)), name=name)

    @property
    def size(self) -> int:
        return len(self.categories) + 1

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"CategoryVocab(name={self.name!r}, size={self.size})"

    def encode(self, values, unknown: str = "unknown") -> np.ndarray:
        """Codes of ``values``: int64 ``(n,)``.

        Args:
            values: ``(n,)`` values.
            unknown: ``"unknown"`` maps unseen or missing values to code 0
                (``<unk>``); ``"error"`` raises instead.

        Raises:
            ValueError: for unseen values when ``unknown="error"``, naming them.
        """
        check_choice(unknown, "unknown", _UNKNOWN_POLICIES)
        values = list(values)
        codes = np.fromiter(
            (self._code.get(v, 0) if not _is_missing(v) else 0 for v in values),
            dtype=np.int64,
            count=len(values),
        )
        if unknown == "error" and (codes == 0).any():
            bad = sorted(
                {repr(v) for v, c in zip(values, codes, strict=True) if c == 0}
            )
            raise ValueError(
                f"{self.name}: unknown or missing value(s) {', '.join(bad[:5])}; "
                f"known: {list(self.categories)[:10]} (use unknown='unknown' to map "
                f"them to {UNKNOWN!r})"
            )
        return codes

    def decode(self, codes) -> list:
        """The values of ``codes`` (``"<unk>"`` for code 0)."""
        codes = np.asarray(codes, dtype=np.int64)
        if codes.size and (codes.min() < 0 or codes.max() >= self.size):
            raise ValueError(f"{self.name}: codes must lie in [0, {self.size})")
        table = (UNKNOWN, *self.categories)
        return [table[c] for c in codes]


class DemographicEncoder:
    """Turn a users table into codes or one-hot vectors.

    Introduced in Chapter 4. Works with ShopSim users (``age``, ``gender``,
    ``region``, ``segment``) and MovieLens users (``age``, ``gender``,
    ``occupation``). Numeric columns listed in ``buckets`` are bucketed first
    (:func:`age_bucket`). Every column has its own :class:`CategoryVocab`
    with an explicit ``<unk>`` slot, and the one-hot output has a column for
    it, so unknown values stay visible instead of becoming an all-zero row.

    Args:
        columns: the columns to encode, in order.
        buckets: ``{column: edges}`` for numeric columns (default: ``age``
            with :data:`AGE_EDGES`).
        unknown: what :meth:`codes` does with unseen values: ``"unknown"``
            (code 0) or ``"error"``.
        min_count: values rarer than this in training become ``<unk>``.

    Example::

        enc = DemographicEncoder(("age", "gender", "occupation")).fit(ml.users)
        X = enc.one_hot(ml.users)        # (943, n_features) float32
        emb = enc.embedding(dim=8)       # nn.Module: codes (B, 3) -> (B, 24)
    """

    def __init__(
        self,
        columns: Sequence[str] = ("age", "gender"),
        buckets: Mapping[str, Sequence[float]] | None = None,
        unknown: str = "unknown",
        min_count: int = 1,
    ) -> None:
        if isinstance(columns, str) or not columns:
            raise ValueError(
                f"columns must be a non-empty list of names, got {columns!r}"
            )
        check_choice(unknown, "unknown", _UNKNOWN_POLICIES)
        self.columns = tuple(columns)
        self.buckets = dict({"age": AGE_EDGES} if buckets is None else buckets)
        self.unknown = unknown
        self.min_count = check_int(min_count, "min_count", low=1)
        self.vocabs: dict[str, CategoryVocab] | None = None

    def _values(self, users: pd.DataFrame, col: str) -> np.ndarray:
        if not isinstance(users, pd.DataFrame):
            raise TypeError(
                f"users must be a pandas DataFrame, got {type(users).__name__}"
            )
        if col not in users.columns:
            raise ValueError(
                f"users has no '{col}' column (columns: {list(users.columns)})"
            )
        values = users[col].to_numpy(dtype=object)
        if col in self.buckets:
            values = age_bucket(values, self.buckets[col])
        return values

    def fit(self, users: pd.DataFrame) -> DemographicEncoder:
        """Learn one vocabulary per column from the training users."""
        if len(users) == 0:
            raise ValueError("users is empty")
        self.vocabs = {
            c: CategoryVocab.fit(self._values(users, c), c, self.min_count)
            for c in self.columns
        }
        return self

    def _check_fitted(self) -> dict[str, CategoryVocab]:
        if self.vocabs is None:
            raise RuntimeError(
                "DemographicEncoder is not fitted: call fit(users) first"
            )
        return self.vocabs

    @property
    def cardinalities(self) -> list[int]:
        """Vocabulary size of each column, ``<unk>`` included."""
        return [v.size for v in self._check_fitted().values()]

    @property
    def feature_names(self) -> list[str]:
        """Names of the one-hot columns, e.g. ``"gender=F"``, ``"gender=<unk>"``."""
        return [
            f"{c}={v}"
            for c, vocab in self._check_fitted().items()
            for v in (UNKNOWN, *vocab.categories)
        ]

    def codes(self, users: pd.DataFrame) -> np.ndarray:
        """int64 codes ``(n_users, n_columns)``; 0 means ``<unk>``."""
        vocabs = self._check_fitted()
        if len(users) == 0:
            raise ValueError("users is empty")
        return np.stack(
            [
                vocabs[c].encode(self._values(users, c), self.unknown)
                for c in self.columns
            ],
            axis=1,
        )

    def one_hot(self, users: pd.DataFrame) -> np.ndarray:
        """float32 ``(n_users, sum(cardinalities))``: one 1 per column block."""
        codes = self.codes(users)
        return np.concatenate(
            [one_hot(codes[:, j], n) for j, n in enumerate(self.cardinalities)], axis=1
        )

    def embedding(self, dim: int | Sequence[int] = 8) -> DemographicEmbedding:
        """A :class:`DemographicEmbedding` sized for this encoder."""
        return DemographicEmbedding(self.cardinalities, dim)


class DemographicEmbedding(nn.Module):
    """Learned embeddings of categorical user features, concatenated.

    Introduced in Chapter 4. Column ``j`` has a table of
    ``cardinalities[j]`` rows; row 0 is the learned vector of ``<unk>``, so a
    user with an unseen occupation still gets a trained, generic vector.

    Args:
        cardinalities: vocabulary size per column (``<unk>`` included).
        dim: embedding size, one for all columns or one per column.

    Shape:
        ``forward(codes)``: int64 ``(B, F)`` -> float ``(B, out_dim)`` with
        ``out_dim = sum(dims)``.
    """

    def __init__(self, cardinalities: Sequence[int], dim: int | Sequence[int] = 8):
        super().__init__()
        cards = [check_int(c, "cardinality", low=1) for c in cardinalities]
        if not cards:
            raise ValueError("cardinalities must not be empty")
        dims = [dim] * len(cards) if isinstance(dim, int | np.integer) else list(dim)
        if len(dims) != len(cards):
            raise ValueError(f"got {len(dims)} dims for {len(cards)} columns")
        dims = [check_int(d, "dim", low=1) for d in dims]
        self.cardinalities = cards
        self.dims = dims
        self.tables = nn.ModuleList(
            nn.Embedding(c, d) for c, d in zip(cards, dims, strict=True)
        )

    @property
    def out_dim(self) -> int:
        return sum(self.dims)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        if not isinstance(codes, torch.Tensor):
            codes = torch.as_tensor(np.asarray(codes))
        if codes.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"codes must be an integer tensor, got {codes.dtype}")
        if codes.ndim != 2 or codes.shape[1] != len(self.tables):
            raise ValueError(
                f"codes must have shape (B, {len(self.tables)}), got {tuple(codes.shape)}"
            )
        if codes.shape[0] == 0:
            raise ValueError("codes is an empty batch")
        for j, n in enumerate(self.cardinalities):
            col = codes[:, j]
            if col.min() < 0 or col.max() >= n:
                raise ValueError(
                    f"codes of column {j} must lie in [0, {n}) (0 = <unk>), "
                    f"got {int(col.min())}..{int(col.max())}"
                )
        return torch.cat([t(codes[:, j]) for j, t in enumerate(self.tables)], dim=1)
