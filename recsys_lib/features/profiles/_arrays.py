"""Input conversions shared by the profile modules (private to this package).

Event-log columns become int64 id arrays, feature tables finite float64
matrices; the half-life and normalisation arguments are checked here once.
Argument checks come from :mod:`recsys_lib.checks`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ...checks import check_choice, check_id_array, check_int, check_number

#: Accepted values of ``normalize``.
NORMALIZE = ("mean", "l2", None)


def check_half_life(half_life_days) -> float | None:
    """``None`` (no decay) or a finite number of days ``> 0``."""
    if half_life_days is None:
        return None
    return check_number(
        half_life_days, "half_life_days (None = no decay)", low=0.0, low_open=True
    )


def check_normalize(normalize) -> None:
    check_choice(normalize, "normalize", NORMALIZE)


def int_column(df: pd.DataFrame, col: str, name: str = "events") -> np.ndarray:
    """Column ``col`` of ``df`` as an int64 array; a missing or float column raises."""
    if col not in df.columns:
        raise ValueError(f"{name} has no '{col}' column (columns: {list(df.columns)})")
    values = df[col].to_numpy()
    if values.size and not np.issubdtype(values.dtype, np.integer):
        raise TypeError(
            f"{name}['{col}'] must hold integers, got dtype {values.dtype} "
            "(missing values? map raw ids to 0..n-1 first)"
        )
    return values.astype(np.int64, copy=False)


def id_range(ids: np.ndarray, n: int | None, name: str) -> int:
    """The number of ``name`` (``n``, or ``max + 1``); ids outside it raise."""
    if n is not None:
        n = check_int(n, f"n_{name}", low=1)
    elif ids.size == 0:
        raise ValueError(f"cannot infer the number of {name} from an empty array")
    check_id_array(ids, name, n)
    return int(ids.max()) + 1 if n is None else n


def as_matrix(values, name: str, n_rows: int | None = None) -> np.ndarray:
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


def as_vector(values, name: str, n: int | None = None) -> np.ndarray:
    """A finite float64 ``(n,)`` array; a 2-D input raises instead of being cut."""
    arr = np.asarray(
        values.detach().cpu() if isinstance(values, torch.Tensor) else values
    )
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return as_matrix(arr, name, n)[:, 0]


def normalize_rows(S: np.ndarray, W: np.ndarray, normalize: str | None) -> np.ndarray:
    """``S / W`` (``"mean"``), ``S / |S|`` (``"l2"``) or ``S``; zero rows stay zero."""
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
