"""User profiles: who a shopper is and what she has been doing.

Introduced in Chapter 4 ("User profiles").

A *profile* is a fixed-length description of a user that a model can read.
The chapter builds two kinds and then combines them:

* **Static profiles** from what the user told us (age, gender, occupation,
  region, ...): :class:`CategoryVocab` maps each value to an integer code
  with an explicit ``<unk>`` slot (code 0) for values never seen in training;
  :class:`DemographicEncoder` turns a users table into codes or one-hot
  vectors, and :class:`DemographicEmbedding` learns a vector per value.
* **Behavioural profiles** from the event log. Every event gets a weight::

      w(e) = type_weight[event_e] * 2 ** (-(now - t_e) / half_life)

  (:data:`EVENT_WEIGHTS`: a purchase says more than a cart, a cart more than
  a click, an impression nothing). From these weights come the category (or
  genre) affinity vector (:func:`affinity_profiles`,
  :func:`category_affinity`), price sensitivity (:func:`price_sensitivity`),
  brand loyalty (:func:`brand_loyalty`) and recency-frequency-monetary
  features (:func:`rfm_features`).
* A **long-term** vector over all history and a **short-term** vector of the
  last session (:func:`last_session_profiles`) are blended with
  :func:`blend_profiles`.
* :class:`OnlineProfile` keeps the same vectors up to date one event at a
  time, in ``O(d)`` per event, and equals the batch computation on a
  replayed log (up to float64 rounding).
* :class:`ProfileScorer` ranks items by ``profile . item_features`` with the
  ``.score(user_ids)`` interface of :func:`recsys_lib.evaluation.full_ranking_topk`.

Event logs are ``pandas.DataFrame`` objects with ``user_id``, ``item_id``,
``timestamp`` (Unix seconds) and, usually, ``event`` columns -- the layout of
``Shop.events`` (:mod:`recsys_lib.shopsim`). MovieLens ratings work too: pass
``event_weights=None`` (every row counts 1) or ``weight_col="rating"``. Ids
must be 0-based and contiguous.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch import nn

from .config import EVENT_COL, ITEM_COL, PRICE_COL, SESSION_COL, TIMESTAMP_COL, USER_COL

__all__ = [
    "AGE_EDGES",
    "EVENT_WEIGHTS",
    "SECONDS_PER_DAY",
    "UNKNOWN",
    "CategoryVocab",
    "DemographicEmbedding",
    "DemographicEncoder",
    "OnlineProfile",
    "ProfileScorer",
    "affinity_profiles",
    "age_bucket",
    "blend_profiles",
    "brand_loyalty",
    "category_affinity",
    "decay_weights",
    "event_weights",
    "last_session_profiles",
    "one_hot",
    "price_sensitivity",
    "rfm_features",
]

#: How much each event type says about a user's taste. An impression (the
#: product was shown) says nothing by itself; a purchase costs the user money,
#: so it is the strongest signal. The ratios are a common starting point, not
#: a law: Chapter 4's exercises tune them.
EVENT_WEIGHTS: dict[str, float] = {
    "impression": 0.0,
    "click": 1.0,
    "add_to_cart": 3.0,
    "purchase": 5.0,
}
#: Age bucket edges of MovieLens-1M: under 18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+.
AGE_EDGES: tuple[int, ...] = (18, 25, 35, 45, 50, 56)
#: The label (and code 0) of values never seen in training.
UNKNOWN = "<unk>"
SECONDS_PER_DAY = 86_400
_NORMALIZE = ("mean", "l2", None)


# ================================================================ helpers
def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _check_half_life(half_life_days) -> float | None:
    if half_life_days is None:
        return None
    if isinstance(half_life_days, bool) or not isinstance(
        half_life_days, int | float | np.integer | np.floating
    ):
        raise TypeError(
            f"half_life_days must be a number or None, got {type(half_life_days).__name__}"
        )
    value = float(half_life_days)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(
            f"half_life_days must be a finite number > 0 (or None for no decay), got {value}"
        )
    return value


def _check_normalize(normalize) -> None:
    if normalize not in _NORMALIZE:
        raise ValueError(f"normalize must be one of {_NORMALIZE}, got {normalize!r}")


def _int_column(df: pd.DataFrame, col: str, name: str = "events") -> np.ndarray:
    if col not in df.columns:
        raise ValueError(f"{name} has no '{col}' column (columns: {list(df.columns)})")
    values = df[col].to_numpy()
    if values.size and not np.issubdtype(values.dtype, np.integer):
        raise TypeError(
            f"{name}['{col}'] must hold integers, got dtype {values.dtype} "
            "(missing values? map raw ids to 0..n-1 first)"
        )
    return values.astype(np.int64, copy=False)


def _check_ids(ids: np.ndarray, n: int | None, name: str) -> int:
    """Return the id range size (``n`` or ``max + 1``); raise for ids outside it."""
    if ids.size and ids.min() < 0:
        raise ValueError(f"{name} must be >= 0, got {int(ids.min())}")
    if n is None:
        if ids.size == 0:
            raise ValueError(f"cannot infer the number of {name} from an empty array")
        return int(ids.max()) + 1
    n = _check_positive_int(n, f"n_{name}")
    if ids.size and ids.max() >= n:
        raise ValueError(
            f"{name} holds id {int(ids.max())} but n_{name}={n} (ids 0..{n - 1})"
        )
    return n


def _as_matrix(values, name: str, n_rows: int | None = None) -> np.ndarray:
    """A finite float64 ``(n, d)`` array (a 1-D array is one column)."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    if isinstance(values, pd.DataFrame):
        values = values.to_numpy()
    if sp.issparse(values):
        values = values.toarray()
    arr = np.asarray(values)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
    ):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows, features), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty, shape {arr.shape}")
    if n_rows is not None and arr.shape[0] != n_rows:
        raise ValueError(f"{name} must have {n_rows} rows, got {arr.shape[0]}")
    bad = ~np.isfinite(arr)
    if bad.any():
        row = int(np.argwhere(bad)[0, 0])
        raise ValueError(f"{name} contains nan or inf (first in row {row})")
    return arr


def _as_vector(values, name: str, n: int | None = None) -> np.ndarray:
    """A finite float64 ``(n,)`` array; a 2-D input raises instead of being cut."""
    arr = np.asarray(
        values.detach().cpu() if isinstance(values, torch.Tensor) else values
    )
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return _as_matrix(arr, name, n)[:, 0]


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
    n_classes = _check_positive_int(n_classes, "n_classes")
    codes = codes.astype(np.int64)
    if codes.size and (codes.min() < 0 or codes.max() >= n_classes):
        raise ValueError(
            f"codes must lie in [0, {n_classes}), got {codes.min()}..{codes.max()}"
        )
    out = np.zeros((codes.size, n_classes), dtype=np.float32)
    out[np.arange(codes.size), codes] = 1.0
    return out


# ================================================================ static profiles
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
        min_count = _check_positive_int(min_count, "min_count")
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
        if unknown not in ("unknown", "error"):
            raise ValueError(f"unknown must be 'unknown' or 'error', got {unknown!r}")
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
        if unknown not in ("unknown", "error"):
            raise ValueError(f"unknown must be 'unknown' or 'error', got {unknown!r}")
        self.columns = tuple(columns)
        self.buckets = dict({"age": AGE_EDGES} if buckets is None else buckets)
        self.unknown = unknown
        self.min_count = _check_positive_int(min_count, "min_count")
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
        cards = [_check_positive_int(c, "cardinality") for c in cardinalities]
        if not cards:
            raise ValueError("cardinalities must not be empty")
        dims = [dim] * len(cards) if isinstance(dim, int | np.integer) else list(dim)
        if len(dims) != len(cards):
            raise ValueError(f"got {len(dims)} dims for {len(cards)} columns")
        dims = [_check_positive_int(d, "dim") for d in dims]
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


# ================================================================ event weights
def event_weights(
    events: pd.DataFrame,
    weights: Mapping[str, float] | None = EVENT_WEIGHTS,
    event_col: str = EVENT_COL,
    weight_col: str | None = None,
) -> np.ndarray:
    """Type weight of every event: float64 ``(n_events,)``.

    Introduced in Chapter 4.

    Args:
        events: the log.
        weights: ``{event type: weight}`` (default :data:`EVENT_WEIGHTS`), or
            ``None`` to give every row weight 1 (e.g. MovieLens ratings).
        event_col: the column holding the event type.
        weight_col: optional numeric column multiplied in (e.g. ``"rating"``).

    Raises:
        ValueError: for event types missing from ``weights`` (an event is
            never dropped silently: give it weight 0 to ignore it), negative
            or non-finite weights.
    """
    if not isinstance(events, pd.DataFrame):
        raise TypeError(
            f"events must be a pandas DataFrame, got {type(events).__name__}"
        )
    n = len(events)
    if weights is None:
        w = np.ones(n)
    else:
        if event_col not in events.columns:
            raise ValueError(
                f"events has no '{event_col}' column; pass weights=None to count "
                "every row once"
            )
        bad_w = {k: v for k, v in weights.items() if not (math.isfinite(v) and v >= 0)}
        if bad_w:
            raise ValueError(f"event weights must be finite and >= 0, got {bad_w}")
        kinds = events[event_col].astype(object)
        w = kinds.map(dict(weights)).to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isnan(w).any():
            unknown = sorted({repr(k) for k in kinds[np.isnan(w)]})
            raise ValueError(
                f"event type(s) {', '.join(unknown)} have no weight in {dict(weights)}; "
                "add them (weight 0 ignores a type)"
            )
    if weight_col is not None:
        if weight_col not in events.columns:
            raise ValueError(f"events has no '{weight_col}' column")
        extra = pd.to_numeric(events[weight_col], errors="raise").to_numpy(np.float64)
        if not np.isfinite(extra).all() or (extra < 0).any():
            raise ValueError(f"events['{weight_col}'] must be finite and >= 0")
        w = w * extra
    return w


def decay_weights(timestamps, now: float, half_life_days: float | None) -> np.ndarray:
    """Exponential time decay ``2 ** (-(now - t) / half_life)``: float64 ``(n,)``.

    Introduced in Chapter 4. An event one half-life old counts half, two
    half-lives old a quarter, and so on. ``half_life_days=None`` means no
    decay (all ones).

    Raises:
        ValueError: for events after ``now`` (the future cannot be weighted)
            or non-finite timestamps.
    """
    half_life = _check_half_life(half_life_days)
    t = np.asarray(timestamps, dtype=np.float64)
    if not np.isfinite(t).all():
        raise ValueError("timestamps must be finite")
    if t.size and t.max() > now:
        raise ValueError(
            f"an event at t={t.max():.0f} is after now={now:.0f}; profiles can only "
            "look at the past (pass a later `now`, or filter the log)"
        )
    if half_life is None:
        return np.ones_like(t)
    return np.exp2(-(now - t) / (half_life * SECONDS_PER_DAY))


class _Log:
    """Validated arrays of an event log."""

    def __init__(
        self,
        events: pd.DataFrame,
        n_users: int | None,
        n_items: int | None,
        weights: Mapping[str, float] | None,
        half_life_days: float | None,
        now: float | None,
        weight_col: str | None = None,
    ) -> None:
        if not isinstance(events, pd.DataFrame):
            raise TypeError(
                f"events must be a pandas DataFrame, got {type(events).__name__}"
            )
        if len(events) == 0:
            raise ValueError("events is empty: there is no behaviour to profile")
        self.users = _int_column(events, USER_COL)
        self.items = _int_column(events, ITEM_COL)
        self.n_users = _check_ids(self.users, n_users, "users")
        self.n_items = _check_ids(self.items, n_items, "items")
        if TIMESTAMP_COL not in events.columns:
            raise ValueError(f"events has no '{TIMESTAMP_COL}' column")
        self.t = pd.to_numeric(events[TIMESTAMP_COL], errors="raise").to_numpy(
            np.float64
        )
        if not np.isfinite(self.t).all():
            raise ValueError("events contain missing or infinite timestamps")
        self.now = float(self.t.max()) if now is None else float(now)
        self.type_w = event_weights(events, weights, weight_col=weight_col)
        self.w = self.type_w * decay_weights(self.t, self.now, half_life_days)


def _indicator_weights(events: pd.DataFrame, kinds: Sequence[str]) -> dict[str, float]:
    """Weight 1 for the event types in ``kinds``, 0 for every other type in the log."""
    if not isinstance(events, pd.DataFrame):
        raise TypeError(
            f"events must be a pandas DataFrame, got {type(events).__name__}"
        )
    if EVENT_COL not in events.columns:
        raise ValueError(f"events has no '{EVENT_COL}' column to find {list(kinds)}")
    weights = {k: 0.0 for k in events[EVENT_COL].astype(object).unique()}
    weights.update({k: 1.0 for k in kinds})
    return weights


# ================================================================ behavioural profiles
def affinity_profiles(
    events: pd.DataFrame,
    item_features,
    n_users: int | None = None,
    *,
    weights: Mapping[str, float] | None = EVENT_WEIGHTS,
    half_life_days: float | None = 30.0,
    now: float | None = None,
    normalize: str | None = "mean",
    weight_col: str | None = None,
    return_weight: bool = False,
):
    """Time-decayed, event-weighted profile over item features.

    Introduced in Chapter 4. For user ``u``::

        S_u = sum_e w(e) * x_{item(e)}      W_u = sum_e w(e)

    with ``w(e)`` the event-type weight times ``2 ** (-(now - t_e) / half_life)``.
    With one-hot categories as ``x`` this is the *category affinity*; with
    MovieLens multi-hot genres the *genre affinity*.

    Args:
        events: log with ``user_id``, ``item_id``, ``timestamp`` (Unix seconds)
            and ``event`` columns (any row order).
        item_features: ``(n_items, d)`` features of every item (numpy, torch,
            scipy sparse or DataFrame), finite.
        n_users: number of users (default ``max(user_id) + 1``).
        weights: event-type weights (:func:`event_weights`), ``None`` = 1 each.
        half_life_days: half-life of the decay; ``None`` = no decay.
        now: the time the profile describes (default: the last event).
        normalize: ``"mean"`` returns ``S_u / W_u`` (a weighted mean; for
            one-hot categories, shares that sum to 1), ``"l2"`` returns
            ``S_u / |S_u|``, ``None`` the raw decayed sum ``S_u``. Users with
            ``W_u = 0`` (no events, or impressions only) get a zero row.
        weight_col: an optional numeric column multiplied into the weights.
        return_weight: also return ``W`` ``(n_users,)``.

    Returns:
        float64 ``(n_users, d)``; with ``return_weight=True`` a tuple
        ``(profiles, W)``.

    Raises:
        ValueError / TypeError: for an empty log, ids out of range, missing
            columns, unknown event types, events after ``now`` or nan features.
    """
    _check_normalize(normalize)
    X = _as_matrix(item_features, "item_features")
    log = _Log(events, n_users, X.shape[0], weights, half_life_days, now, weight_col)
    A = sp.csr_matrix(
        (log.w, (log.users, log.items)), shape=(log.n_users, log.n_items)
    )  # (n_users, n_items), duplicates summed
    S = np.asarray(A @ X)  # (n_users, d)
    W = np.asarray(A.sum(axis=1)).ravel()  # (n_users,)
    out = _normalize_rows(S, W, normalize)
    return (out, W) if return_weight else out


def _normalize_rows(S: np.ndarray, W: np.ndarray, normalize: str | None) -> np.ndarray:
    if normalize is None:
        return S
    if normalize == "mean":
        denom = W
    else:  # "l2"
        denom = np.linalg.norm(S, axis=1)
    out = np.zeros_like(S)
    ok = denom > 0
    out[ok] = S[ok] / denom[ok, None]
    return out


def category_affinity(
    events: pd.DataFrame,
    item_categories,
    n_categories: int | None = None,
    n_users: int | None = None,
    **kwargs,
) -> np.ndarray:
    """Category affinity: :func:`affinity_profiles` over one-hot categories.

    Introduced in Chapter 4.

    Args:
        events: the log (see :func:`affinity_profiles`).
        item_categories: int ``(n_items,)`` category code of every item
            (``Shop.products["category_id"]``).
        n_categories: number of categories (default ``max + 1``).
        n_users: number of users.
        **kwargs: passed on (``weights``, ``half_life_days``, ``now``,
            ``normalize``, ...).

    Returns:
        float64 ``(n_users, n_categories)``; with ``normalize="mean"`` each
        row with any weight sums to 1.
    """
    cats = np.asarray(item_categories)
    if cats.ndim != 1 or cats.size == 0:
        raise ValueError(
            f"item_categories must be a non-empty 1-D array, got {cats.shape}"
        )
    if not np.issubdtype(cats.dtype, np.integer):
        raise TypeError(
            f"item_categories must be integer codes, got dtype {cats.dtype}"
        )
    if n_categories is None:
        n_categories = int(cats.max()) + 1
    return affinity_profiles(events, one_hot(cats, n_categories), n_users, **kwargs)


def last_session_profiles(
    events: pd.DataFrame,
    item_features,
    n_users: int | None = None,
    *,
    session_col: str = SESSION_COL,
    half_life_days: float | None = None,
    **kwargs,
) -> np.ndarray:
    """Short-term profile: :func:`affinity_profiles` of each user's last session.

    Introduced in Chapter 4. A user's last session is the session of her
    latest event (ties go to the larger session id). Within a session there
    is no decay by default (``half_life_days=None``): a session is minutes
    long. Users without events get a zero row.

    Returns:
        float64 ``(n_users, d)``.
    """
    if not isinstance(events, pd.DataFrame):
        raise TypeError(
            f"events must be a pandas DataFrame, got {type(events).__name__}"
        )
    if len(events) == 0:
        raise ValueError("events is empty: there is no behaviour to profile")
    sessions = _int_column(events, session_col)
    users = _int_column(events, USER_COL)
    if TIMESTAMP_COL not in events.columns:
        raise ValueError(f"events has no '{TIMESTAMP_COL}' column")
    order = np.lexsort((sessions, events[TIMESTAMP_COL].to_numpy(), users))
    last_row = order[np.r_[users[order][1:] != users[order][:-1], True]]
    last = pd.Series(sessions[last_row], index=users[last_row])
    keep = sessions == last.reindex(users).to_numpy()
    return affinity_profiles(
        events[keep], item_features, n_users, half_life_days=half_life_days, **kwargs
    )


def blend_profiles(long_term, short_term, alpha: float = 0.3) -> np.ndarray:
    """Combine a long-term and a short-term profile.

    Introduced in Chapter 4::

        p_u = (1 - alpha) * long_u + alpha * short_u

    for users with a short-term profile; a user whose short-term row is all
    zero (no current session) keeps ``long_u`` unchanged rather than being
    shrunk towards zero. ``alpha = 0`` ignores the session, ``alpha = 1``
    uses only the session (when there is one).

    Args:
        long_term: ``(n_users, d)``.
        short_term: ``(n_users, d)``, same shape.
        alpha: weight of the short-term profile, in ``[0, 1]``.

    Returns:
        float64 ``(n_users, d)``.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.number):
        raise TypeError(f"alpha must be a number, got {type(alpha).__name__}")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    L = _as_matrix(long_term, "long_term")
    S = _as_matrix(short_term, "short_term")
    if L.shape != S.shape:
        raise ValueError(
            f"long_term {L.shape} and short_term {S.shape} differ in shape"
        )
    has_short = (S != 0).any(axis=1)
    out = L.copy()
    out[has_short] = (1 - alpha) * L[has_short] + alpha * S[has_short]
    return out


def price_sensitivity(
    events: pd.DataFrame,
    item_categories,
    item_prices,
    n_users: int | None = None,
    *,
    price_events: Sequence[str] = ("purchase",),
    half_life_days: float | None = None,
    now: float | None = None,
) -> pd.DataFrame:
    """How much a user pays compared with the typical price of the category.

    Introduced in Chapter 4. For each priced event (purchases by default)::

        r(e) = log2(price paid / median regular price of the item's category)

    and ``price_index_u`` is the (time-decayed) mean of ``r``: 0 means the
    user pays the category median, -1 half of it, +1 twice as much. Low
    values mark price-sensitive shoppers. The price paid is the event's
    ``price`` column if present (ShopSim: the price that day, promotions
    included), else the item's catalogue price.

    Args:
        events: the log (needs an ``event`` column).
        item_categories: int ``(n_items,)`` category of every item.
        item_prices: ``(n_items,)`` catalogue prices (> 0), used for the
            category medians.
        n_users: number of users.
        price_events: event types that count as a price paid.
        half_life_days, now: time decay, as in :func:`affinity_profiles`
            (no decay by default).

    Returns:
        DataFrame indexed by ``user_id`` (all users) with ``price_index``
        (``nan`` for users without a priced event) and ``n_priced`` (int).
    """
    cats = np.asarray(item_categories)
    prices = _as_vector(item_prices, "item_prices")
    if cats.shape != prices.shape:
        raise ValueError(
            f"item_categories {cats.shape} and item_prices {prices.shape} differ in shape"
        )
    if (prices <= 0).any():
        raise ValueError("item_prices must be > 0")
    if isinstance(price_events, str):
        price_events = (price_events,)
    weights = _indicator_weights(events, price_events)
    log = _Log(events, n_users, cats.size, weights, half_life_days, now)
    median = pd.Series(prices).groupby(cats).median()
    sel = log.type_w > 0
    if PRICE_COL in events.columns:
        paid = pd.to_numeric(events[PRICE_COL], errors="raise").to_numpy(np.float64)[
            sel
        ]
    else:
        paid = prices[log.items[sel]]
    if not (np.isfinite(paid) & (paid > 0)).all():
        raise ValueError(f"priced events ({price_events}) need a finite price > 0")
    r = np.log2(paid / median.reindex(cats[log.items[sel]]).to_numpy())
    u, w = log.users[sel], log.w[sel]
    W = np.bincount(u, weights=w, minlength=log.n_users)
    num = np.bincount(u, weights=w * r, minlength=log.n_users)
    index = np.full(log.n_users, np.nan)
    index[W > 0] = num[W > 0] / W[W > 0]
    return pd.DataFrame(
        {
            "price_index": index,
            "n_priced": np.bincount(u, minlength=log.n_users).astype(np.int64),
        },
        index=pd.RangeIndex(log.n_users, name=USER_COL),
    )


def brand_loyalty(
    events: pd.DataFrame,
    item_brands,
    n_users: int | None = None,
    *,
    weights: Mapping[str, float] | None = EVENT_WEIGHTS,
    half_life_days: float | None = 30.0,
    now: float | None = None,
) -> pd.DataFrame:
    """How concentrated a user's (weighted) interest is on few brands.

    Introduced in Chapter 4. With ``s_b`` the share of the user's event
    weight that went to brand ``b``:

    * ``top_share = max_b s_b`` (1 = only one brand);
    * ``entropy = -sum_b s_b ln s_b`` in nats (0 = one brand; ``ln k`` for
      ``k`` brands shared equally);
    * ``top_brand`` the brand with the largest share (-1 if none);
    * ``n_brands`` the number of brands with a positive share.

    Returns:
        DataFrame indexed by ``user_id``; ``top_share`` and ``entropy`` are
        ``nan`` for users with no weighted events.
    """
    brands = np.asarray(item_brands)
    if (
        brands.ndim != 1
        or not np.issubdtype(brands.dtype, np.integer)
        or brands.size == 0
    ):
        raise ValueError("item_brands must be a non-empty 1-D integer array")
    if brands.min() < 0:
        raise ValueError("item_brands must be >= 0")
    shares = category_affinity(
        events,
        brands,
        n_users=n_users,
        weights=weights,
        half_life_days=half_life_days,
        now=now,
        normalize="mean",
    )  # (n_users, n_brands), rows sum to 1 or are 0
    has = shares.sum(axis=1) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(shares > 0, shares * np.log(shares), 0.0)
    return pd.DataFrame(
        {
            "top_brand": np.where(has, shares.argmax(axis=1), -1),
            "top_share": np.where(has, shares.max(axis=1), np.nan),
            "entropy": np.where(has, 0.0 - plogp.sum(axis=1), np.nan),
            "n_brands": (shares > 0).sum(axis=1),
        },
        index=pd.RangeIndex(shares.shape[0], name=USER_COL),
    )


def rfm_features(
    events: pd.DataFrame,
    n_users: int | None = None,
    *,
    purchase_event: str | None = "purchase",
    now: float | None = None,
    item_prices=None,
    session_col: str | None = SESSION_COL,
) -> pd.DataFrame:
    """Recency, frequency and monetary value of every user's purchases.

    Introduced in Chapter 4. The classic marketing summary:

    * ``recency_days``: days from the last purchase to ``now`` (``nan`` if
      the user never bought);
    * ``frequency``: number of orders -- distinct sessions with a purchase
      when ``session_col`` is in the log, else purchase events;
    * ``monetary``: total amount paid (the event's ``price`` column, else
      ``item_prices``).

    Args:
        events: the log.
        n_users: number of users.
        purchase_event: the event type of a purchase; ``None`` counts every
            row (e.g. MovieLens ratings, as "engagement RFM").
        now: reference time in Unix seconds (default: the last event).
        item_prices: ``(n_items,)`` prices, needed only without a ``price`` column.
        session_col: column of session ids, or ``None``.

    Returns:
        DataFrame indexed by ``user_id`` with ``recency_days``, ``frequency``
        (int) and ``monetary``.
    """
    weights = None
    if purchase_event is not None:
        weights = _indicator_weights(events, (purchase_event,))
    log = _Log(events, n_users, None, weights, None, now)
    sel = log.type_w > 0
    u = log.users[sel]
    last = np.full(log.n_users, -np.inf)
    np.maximum.at(last, u, log.t[sel])
    recency = np.where(np.isfinite(last), (log.now - last) / SECONDS_PER_DAY, np.nan)
    if session_col is not None and session_col in events.columns:
        s = _int_column(events, session_col)[sel]
        pairs = (
            np.unique(np.stack([u, s], axis=1), axis=0) if u.size else np.empty((0, 2))
        )
        freq = np.bincount(pairs[:, 0].astype(np.int64), minlength=log.n_users)
    else:
        freq = np.bincount(u, minlength=log.n_users)
    if PRICE_COL in events.columns:
        paid = pd.to_numeric(events[PRICE_COL], errors="raise").to_numpy(np.float64)[
            sel
        ]
    elif item_prices is not None:
        prices = _as_vector(item_prices, "item_prices")
        if log.items.max() >= prices.size:
            raise ValueError("item_prices is shorter than the largest item id + 1")
        paid = prices[log.items[sel]]
    else:
        raise ValueError(f"events has no '{PRICE_COL}' column: pass item_prices")
    if not np.isfinite(paid).all():
        raise ValueError(
            "purchases with a missing price: cannot compute monetary value"
        )
    return pd.DataFrame(
        {
            "recency_days": recency,
            "frequency": freq.astype(np.int64),
            "monetary": np.bincount(u, weights=paid, minlength=log.n_users),
        },
        index=pd.RangeIndex(log.n_users, name=USER_COL),
    )


# ================================================================ online updates
class OnlineProfile:
    """Keep decayed profiles up to date one event at a time.

    Introduced in Chapter 4. Per user it stores the decayed sum ``S_u``
    ``(d,)``, the decayed weight ``W_u`` and the time ``t_u`` of her last
    event. A new event ``(u, i, type, t)`` costs ``O(d)``::

        f   = 2 ** (-(t - t_u) / half_life)
        S_u = f * S_u + w_type * x_i
        W_u = f * W_u + w_type

    Since ``2 ** (-a) * 2 ** (-b) = 2 ** (-(a + b))``, replaying a log gives
    the same vectors as :func:`affinity_profiles` on that log (up to float64
    rounding, about 1e-15 relative). Events of one user must arrive in time
    order; a late event raises instead of being merged wrongly.

    Args:
        item_features: ``(n_items, d)`` features of every item.
        n_users: number of users.
        half_life_days: half-life of the decay; ``None`` = no decay.
        weights: event-type weights (default :data:`EVENT_WEIGHTS`).
        normalize: as in :func:`affinity_profiles`.
    """

    def __init__(
        self,
        item_features,
        n_users: int,
        half_life_days: float | None = 30.0,
        weights: Mapping[str, float] = EVENT_WEIGHTS,
        normalize: str | None = "mean",
    ) -> None:
        _check_normalize(normalize)
        self.item_features = _as_matrix(item_features, "item_features")  # (n_items, d)
        self.n_users = _check_positive_int(n_users, "n_users")
        self.half_life_days = _check_half_life(half_life_days)
        bad = {k: v for k, v in weights.items() if not (math.isfinite(v) and v >= 0)}
        if bad:
            raise ValueError(f"event weights must be finite and >= 0, got {bad}")
        self.weights = dict(weights)
        self.normalize = normalize
        d = self.item_features.shape[1]
        self.S = np.zeros((self.n_users, d))  # decayed sums at each user's last event
        self.W = np.zeros(self.n_users)
        self.last_t = np.full(self.n_users, -np.inf)
        self.n_events = 0

    @property
    def n_items(self) -> int:
        return self.item_features.shape[0]

    def _factor(self, dt):
        if self.half_life_days is None:
            return np.ones_like(dt) if isinstance(dt, np.ndarray) else 1.0
        return np.exp2(-dt / (self.half_life_days * SECONDS_PER_DAY))

    def update(self, user_id: int, item_id: int, event: str, timestamp: float) -> None:
        """Add one event in ``O(d)``.

        Raises:
            ValueError: for unknown ids or event types, or an event earlier
                than the user's previous one (replay logs sorted by time).
        """
        u, i = int(user_id), int(item_id)
        if not 0 <= u < self.n_users:
            raise ValueError(f"user_id {u} outside [0, {self.n_users})")
        if not 0 <= i < self.n_items:
            raise ValueError(f"item_id {i} outside [0, {self.n_items})")
        if event not in self.weights:
            raise ValueError(
                f"event type {event!r} has no weight in {self.weights}; add it "
                "(weight 0 ignores a type)"
            )
        t = float(timestamp)
        if not math.isfinite(t):
            raise ValueError(f"timestamp must be finite, got {timestamp!r}")
        if t < self.last_t[u]:
            raise ValueError(
                f"events out of order: user {u} has an event at t={self.last_t[u]:.0f} "
                f"and now one at t={t:.0f}; feed each user's events sorted by timestamp"
            )
        if self.W[u] > 0 or self.S[u].any():
            f = self._factor(t - self.last_t[u])
            self.S[u] *= f
            self.W[u] *= f
        w = self.weights[event]
        if w:
            self.S[u] += w * self.item_features[i]
            self.W[u] += w
        self.last_t[u] = t
        self.n_events += 1

    def update_from(self, events: pd.DataFrame) -> OnlineProfile:
        """Replay a log row by row (in its row order); returns ``self``."""
        if not isinstance(events, pd.DataFrame):
            raise TypeError(
                f"events must be a pandas DataFrame, got {type(events).__name__}"
            )
        users = _int_column(events, USER_COL)
        items = _int_column(events, ITEM_COL)
        if EVENT_COL not in events.columns or TIMESTAMP_COL not in events.columns:
            raise ValueError(
                f"events needs '{EVENT_COL}' and '{TIMESTAMP_COL}' columns"
            )
        kinds = events[EVENT_COL].astype(object).to_numpy()
        times = events[TIMESTAMP_COL].to_numpy(np.float64)
        for u, i, k, t in zip(users, items, kinds, times, strict=True):
            self.update(u, i, k, t)
        return self

    def _state(self, user_ids, now):
        users = (
            np.arange(self.n_users)
            if user_ids is None
            else np.atleast_1d(np.asarray(user_ids, dtype=np.int64))
        )
        if users.size and (users.min() < 0 or users.max() >= self.n_users):
            raise ValueError(f"user_ids must lie in [0, {self.n_users})")
        if now is None:
            seen = self.last_t[np.isfinite(self.last_t)]
            now = float(seen.max()) if seen.size else 0.0
        last = self.last_t[users]
        seen = np.isfinite(last)
        if (last[seen] > now).any():
            raise ValueError(
                f"now={now:.0f} is before the last event of some users; "
                "profiles can only be read at or after the latest update"
            )
        f = np.where(seen, self._factor(np.where(seen, now - last, 0.0)), 1.0)
        return self.S[users] * f[:, None], self.W[users] * f

    def vectors(self, user_ids=None, now: float | None = None) -> np.ndarray:
        """Profiles at time ``now``: float64 ``(B, d)``.

        Args:
            user_ids: users (default: all).
            now: time in Unix seconds (default: the latest event seen), at or
                after each asked user's last event.
        """
        S, W = self._state(user_ids, now)
        return _normalize_rows(S, W, self.normalize)

    def total_weight(self, user_ids=None, now: float | None = None) -> np.ndarray:
        """Decayed total event weight ``W_u`` at ``now``: ``(B,)``."""
        return self._state(user_ids, now)[1]

    def __repr__(self) -> str:
        return (
            f"OnlineProfile(n_users={self.n_users}, d={self.item_features.shape[1]}, "
            f"half_life_days={self.half_life_days}, events={self.n_events})"
        )


# ================================================================ scoring
class ProfileScorer:
    """Rank items by how well they match a user profile.

    Introduced in Chapter 4::

        score(u, i) = profile_u . item_features_i  (+ bias_i)

    With category-affinity profiles and one-hot categories, every item of a
    category gets the user's share of that category; a small ``item_bias``
    (for example standardised popularity times 1e-3) breaks the ties.

    Args:
        user_profiles: ``(n_users, d)`` profiles.
        item_features: ``(n_items, d)`` item features in the same space.
        item_bias: optional ``(n_items,)`` added to every user's scores.

    Example::

        scorer = ProfileScorer(affinity, one_hot(cats, n_cats))
        top = full_ranking_topk(scorer, train, k=10)
    """

    def __init__(self, user_profiles, item_features, item_bias=None) -> None:
        self.user_profiles = _as_matrix(user_profiles, "user_profiles").astype(
            np.float32
        )
        self.item_features = _as_matrix(item_features, "item_features").astype(
            np.float32
        )
        if self.user_profiles.shape[1] != self.item_features.shape[1]:
            raise ValueError(
                f"user_profiles have {self.user_profiles.shape[1]} features but "
                f"item_features have {self.item_features.shape[1]}"
            )
        self.item_bias = None
        if item_bias is not None:
            bias = _as_vector(item_bias, "item_bias", self.n_items)
            self.item_bias = bias.astype(np.float32)

    @property
    def n_users(self) -> int:
        return self.user_profiles.shape[0]

    @property
    def n_items(self) -> int:
        return self.item_features.shape[0]

    def score(self, user_ids) -> np.ndarray:
        """float32 scores ``(B, n_items)`` of all items for ``user_ids`` ``(B,)``."""
        users = np.atleast_1d(np.asarray(user_ids))
        if users.ndim != 1:
            raise ValueError(f"user_ids must be 1-D, got shape {users.shape}")
        if users.size and not np.issubdtype(users.dtype, np.integer):
            raise TypeError(f"user_ids must be integers, got dtype {users.dtype}")
        if users.size and (users.min() < 0 or users.max() >= self.n_users):
            raise ValueError(f"user_ids must lie in [0, {self.n_users})")
        out = self.user_profiles[users] @ self.item_features.T  # (B, n_items)
        if self.item_bias is not None:
            out += self.item_bias[None, :]
        return out

    def __repr__(self) -> str:
        return f"ProfileScorer(n_users={self.n_users}, n_items={self.n_items})"
