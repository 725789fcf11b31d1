"""Argument checks shared by every package of the library.

Introduced in Chapter 1 and used everywhere: a public function checks its
arguments first and fails with a message that names the argument, what was
expected and what it got. One convention throughout:

* ``TypeError`` for a value of the wrong *kind* (a float where an int is
  needed, a bool passed as a number, text where ids are needed);
* ``ValueError`` for a value of the right kind but out of range (``k=0``,
  ``dropout=1.5``, an id past the catalog).

Every check returns the value converted to the type the caller works with
(``int``, ``float``, an ``int64`` array or tensor), so a call reads
``k = check_int(k, "k", low=1)``. The optional ``where`` names the calling
function and prefixes the message (``"split_by_time: n_test must be >= 1"``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Integral, Real

import numpy as np
import torch

__all__ = [
    "INT_DTYPES",
    "as_long",
    "check_choice",
    "check_fraction",
    "check_id_array",
    "check_ids",
    "check_int",
    "check_number",
    "check_texts",
]

INT_DTYPES = (torch.int64, torch.int32, torch.int16, torch.uint8, torch.int8)


def _prefix(where: str | None) -> str:
    return f"{where}: " if where else ""


def check_int(
    value,
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
    where: str | None = None,
) -> int:
    """``value`` as an ``int`` in ``[low, high]`` (either bound optional).

    Raises:
        TypeError: for a non-integer, a bool, or a float such as ``3.0``.
        ValueError: below ``low`` or above ``high``.
    """
    p = _prefix(where)
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(
            f"{p}{name} must be an int, got {type(value).__name__}: {value!r}"
        )
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{p}{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{p}{name} must be <= {high}, got {value}")
    return value


def check_number(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    where: str | None = None,
) -> float:
    """``value`` as a finite ``float`` within the given bounds.

    Args:
        low, high: bounds (``None`` = unbounded).
        low_open, high_open: exclude the bound itself (``low_open=True`` with
            ``low=0`` means "> 0").

    Raises:
        TypeError: for a non-number or a bool.
        ValueError: for NaN, an infinity or a value outside the bounds.
    """
    p = _prefix(where)
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(
            f"{p}{name} must be a number, got {type(value).__name__}: {value!r}"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{p}{name} must be a finite number, got {value}")
    if low is not None and (value <= low if low_open else value < low):
        op = ">" if low_open else ">="
        raise ValueError(f"{p}{name} must be {op} {low}, got {value}")
    if high is not None and (value >= high if high_open else value > high):
        op = "<" if high_open else "<="
        raise ValueError(f"{p}{name} must be {op} {high}, got {value}")
    return value


def check_fraction(value, name: str, *, where: str | None = None) -> float:
    """A rate such as dropout in ``[0, 1)``."""
    return check_number(value, name, low=0.0, high=1.0, high_open=True, where=where)


def check_choice(value, name: str, choices: Sequence, *, where: str | None = None):
    """``value`` must be one of ``choices`` (compared with ``==``)."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(
            f"{_prefix(where)}{name} must be one of {options}; got {value!r}"
        )
    return value


def check_texts(
    texts, name: str = "texts", *, allow_empty: bool = False, where: str | None = None
) -> list[str]:
    """A list (or other iterable, not a single string) of strings.

    Raises:
        TypeError: for a single string, a non-iterable, or a non-string entry.
        ValueError: for an empty collection (unless ``allow_empty``).
    """
    p = _prefix(where)
    if isinstance(texts, str | bytes):
        raise TypeError(
            f"{p}{name} must be a list of strings, got a single string; wrap it: [text]"
        )
    if not isinstance(texts, Iterable):
        raise TypeError(
            f"{p}{name} must be a list of strings, got {type(texts).__name__}"
        )
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(
                f"{p}{name}[{i}] is {type(t).__name__} ({t!r}); every entry must be a str"
            )
    if not out and not allow_empty:
        raise ValueError(f"{p}{name} is empty; give at least one text")
    return out


def check_id_array(
    values, name: str, n: int | None = None, *, where: str | None = None
) -> np.ndarray:
    """Integer ids as a 1-D ``int64`` NumPy array, each in ``[0, n)``.

    A scalar becomes a length-1 array. ``n=None`` only checks ``>= 0``.

    Raises:
        TypeError: for float, bool or text ids.
        ValueError: for more than one dimension, negative ids or ids ``>= n``.
    """
    p = _prefix(where)
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr[None]
    if arr.ndim != 1:
        raise ValueError(f"{p}{name} must be 1-D, got shape {arr.shape}")
    if arr.size and (arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{p}{name} must hold integer ids, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if not arr.flags.writeable:  # e.g. a pandas view: torch.from_numpy wants a copy
        arr = arr.copy()
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0:
            raise ValueError(f"{p}{name} holds a negative id ({lo}); ids must be >= 0")
        if n is not None and hi >= n:
            raise ValueError(
                f"{p}{name} holds id {hi} but only {n} exist (ids 0..{n - 1}); "
                "map raw ids to contiguous 0-based ids first"
            )
    return arr


def as_long(x, name: str) -> torch.Tensor:
    """An integer tensor (or NumPy array) as int64; floats and bools are refused."""
    if isinstance(x, np.ndarray):
        if x.dtype == bool or not np.issubdtype(x.dtype, np.integer):
            raise TypeError(f"{name} must hold integer ids, got NumPy dtype {x.dtype}")
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor (or NumPy array) of integer ids, "
            f"got {type(x).__name__}"
        )
    if x.dtype not in INT_DTYPES:
        raise TypeError(
            f"{name} must hold integer ids (int64), got dtype {x.dtype}; "
            "ids are never floats or bools"
        )
    return x.long()


def check_ids(x, n: int, name: str, dim: int | None = 1) -> torch.Tensor:
    """Integer ids in ``[0, n)`` as an int64 tensor; ``dim`` = required dims."""
    x = as_long(x, name)
    if dim is not None and x.dim() != dim:
        raise ValueError(f"{name} must be {dim}-D, got shape {tuple(x.shape)}")
    if x.numel():
        lo, hi = int(x.min()), int(x.max())
        if lo < 0:
            raise ValueError(f"{name} holds a negative id ({lo}); ids must be >= 0")
        if hi >= n:
            raise ValueError(
                f"{name} holds id {hi} but only {n} exist (ids 0..{n - 1}); "
                "map raw ids to contiguous 0-based ids first"
            )
    return x
