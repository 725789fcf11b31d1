"""Checked claims: the numbers a chapter teaches, asserted with tolerances.

Introduced in the contributor guide (``book/contributing.md``) and used by every
chapter notebook.

A notebook is a test (``make test`` runs it with nbval). nbval compares the
*text* of stored and fresh outputs, which is right for counts, shapes, ids and
messages but wrong for numbers that come out of floating-point arithmetic: a
learner's laptop has another CPU, BLAS kernel and thread count, and the last
printed digit of a metric may differ. The test suite therefore masks decimal
numbers in compared outputs (``tests/nbval_sanitize.cfg``), and each number the
prose relies on is checked here, in one readable line, with a band around the
claim::

    check_close("EASE test NDCG@10", ndcg, 0.071, atol=0.004)
    check_greater("SASRec NDCG@10", sasrec, 0.041, margin=0.01, than_name="EASE")
    check_interval("SASRec - EASE, 95% CI", (ci.low, ci.high), above=0.0)
    check_small("max |online - batch|", err, 1e-9)

Each function returns the checked value and raises :class:`ClaimError` (an
``AssertionError``) whose message names the value, the expectation and the
tolerance. Bands are chosen from measured variation (``make portability`` runs
every notebook under several CPU settings and ``tests/tolerance_report.py``
prints how far each checked value moved and how much room its band leaves).

When the environment variable ``RECSYS_CHECK_LOG`` names a file, every check
appends one JSON line to it (notebook, name, value, band, pass/fail); that is
what the tolerance report reads.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Sequence

__all__ = [
    "CHECK_LOG_ENV_VAR",
    "NOTEBOOK_ENV_VAR",
    "ClaimError",
    "check_between",
    "check_close",
    "check_greater",
    "check_interval",
    "check_less",
    "check_small",
]

CHECK_LOG_ENV_VAR = "RECSYS_CHECK_LOG"
# Set by the repository's conftest.py to the notebook's file name while nbval
# runs it, so that logged checks say which chapter they came from.
NOTEBOOK_ENV_VAR = "RECSYS_NOTEBOOK"


class ClaimError(AssertionError):
    """A checked number is outside the band the chapter claims for it."""


def _name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    return name


def _number(value, what: str, name: str) -> float:
    """``value`` as a finite-or-infinite float; NaN and non-numbers are refused."""
    if isinstance(value, bool) or value is None:
        raise TypeError(f"{name}: {what} must be a number, got {value!r}")
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()  # numpy scalar, 0-d array or 0-d tensor
    if not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name}: {what} must be a real number, got {type(value).__name__}"
        )
    value = float(value)
    if math.isnan(value):
        raise ClaimError(f"{name}: {what} is nan")
    return value


def _tolerance(value, what: str, name: str) -> float:
    tol = _number(value, what, name)
    if tol < 0 or math.isinf(tol):
        raise ValueError(f"{name}: {what} must be finite and >= 0, got {value!r}")
    return tol


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _log(kind: str, name: str, value, low: float, high: float, passed: bool) -> None:
    path = os.environ.get(CHECK_LOG_ENV_VAR)
    if not path:
        return
    record = {
        "notebook": os.environ.get(NOTEBOOK_ENV_VAR, ""),
        "kind": kind,
        "name": name,
        "value": value,
        "low": low,
        "high": high,
        "passed": passed,
        "pid": os.getpid(),
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, allow_nan=True) + "\n")


def _finish(
    kind: str, name: str, value, low: float, high: float, passed: bool, message: str
):
    """Log the check, then raise :class:`ClaimError` with ``message`` if it failed."""
    _log(kind, name, value, low, high, passed)
    if not passed:
        raise ClaimError(message)


def check_close(
    name: str,
    value,
    expected,
    *,
    atol: float | None = None,
    rtol: float | None = None,
) -> float:
    """Check ``|value - expected| <= max(atol, rtol * |expected|)``.

    Args:
        name: what the value is, as the prose calls it ("EASE test NDCG@10").
        value: the computed number (float, numpy scalar or 0-d tensor).
        expected: the number the text quotes.
        atol: absolute tolerance.
        rtol: tolerance relative to ``|expected|``; at least one of the two.

    Returns:
        ``value`` as a float.

    Raises:
        ClaimError: if the value is outside the band (or nan).
        TypeError / ValueError: for a bad name, non-numbers, no tolerance or a
            negative one.
    """
    name = _name(name)
    value = _number(value, "value", name)
    expected = _number(expected, "expected", name)
    if atol is None and rtol is None:
        raise ValueError(f"{name}: give atol or rtol (the band around {expected})")
    tol = max(
        _tolerance(atol, "atol", name) if atol is not None else 0.0,
        _tolerance(rtol, "rtol", name) * abs(expected) if rtol is not None else 0.0,
    )
    low, high = expected - tol, expected + tol
    off = value - high if value > high else low - value
    side = "above" if value > high else "below"
    _finish(
        "close",
        name,
        value,
        low,
        high,
        low <= value <= high,
        f"{name} = {_fmt(value)}, expected {_fmt(expected)} +- {_fmt(tol)} "
        f"(band [{_fmt(low)}, {_fmt(high)}]); it is {_fmt(off)} {side} the band",
    )
    return value


def check_between(name: str, value, low, high) -> float:
    """Check ``low <= value <= high`` (either bound may be ``None``: open).

    Returns:
        ``value`` as a float.

    Raises:
        ClaimError: if the value is outside ``[low, high]``.
        ValueError: if ``low > high`` or both bounds are ``None``.
    """
    name = _name(name)
    value = _number(value, "value", name)
    if low is None and high is None:
        raise ValueError(f"{name}: give low, high or both")
    lo = -math.inf if low is None else _number(low, "low", name)
    hi = math.inf if high is None else _number(high, "high", name)
    if lo > hi:
        raise ValueError(f"{name}: low {lo} is above high {hi}")
    _finish(
        "between",
        name,
        value,
        lo,
        hi,
        lo <= value <= hi,
        f"{name} = {_fmt(value)}, expected within [{_fmt(lo)}, {_fmt(hi)}]",
    )
    return value


def check_greater(
    name: str, value, than, *, margin: float = 0.0, than_name: str | None = None
) -> float:
    """Check ``value > than + margin``: "A beats B by more than ``margin``".

    Args:
        name: what ``value`` is ("SASRec NDCG@10").
        value: the number that must be larger.
        than: the number it must beat.
        margin: by how much at least (>= 0).
        than_name: what ``than`` is ("EASE NDCG@10"), for the message.

    Returns:
        ``value`` as a float.
    """
    name = _name(name)
    value = _number(value, "value", name)
    than = _number(than, "the compared value", name)
    margin = _tolerance(margin, "margin", name)
    other = than_name or "the compared value"
    _finish(
        "greater",
        name,
        value,
        than + margin,
        math.inf,
        value > than + margin,
        f"{name} = {_fmt(value)} should exceed {other} = {_fmt(than)} by more "
        f"than {_fmt(margin)}; the difference is {_fmt(value - than)}",
    )
    return value


def check_less(
    name: str, value, than, *, margin: float = 0.0, than_name: str | None = None
) -> float:
    """Check ``value < than - margin``: "A stays below B by more than ``margin``"."""
    name = _name(name)
    value = _number(value, "value", name)
    than = _number(than, "the compared value", name)
    margin = _tolerance(margin, "margin", name)
    other = than_name or "the compared value"
    _finish(
        "less",
        name,
        value,
        -math.inf,
        than - margin,
        value < than - margin,
        f"{name} = {_fmt(value)} should be below {other} = {_fmt(than)} by more "
        f"than {_fmt(margin)}; the difference is {_fmt(than - value)}",
    )
    return value


def _bounds(interval, name: str) -> tuple[float, float]:
    if hasattr(interval, "low") and hasattr(interval, "high"):
        low, high = interval.low, interval.high
    elif isinstance(interval, Sequence) and not isinstance(interval, str):
        if len(interval) != 2:
            raise ValueError(
                f"{name}: an interval is (low, high), got {len(interval)} numbers"
            )
        low, high = interval
    else:
        raise TypeError(
            f"{name}: interval must be (low, high) or have .low/.high, "
            f"got {type(interval).__name__}"
        )
    low, high = _number(low, "low end", name), _number(high, "high end", name)
    if low > high:
        raise ValueError(f"{name}: the interval's low end {low} is above {high}")
    return low, high


def check_interval(
    name: str,
    interval,
    *,
    above: float | None = None,
    below: float | None = None,
    contains: float | None = None,
) -> tuple[float, float]:
    """Check a claim about a confidence interval.

    ``above=0`` claims the whole interval lies above 0 ("A beats B, the
    interval excludes 0"); ``below=x`` that it lies below ``x``; ``contains=x``
    that it covers ``x`` ("the estimate is consistent with the true value").

    Args:
        name: what the interval is for.
        interval: ``(low, high)`` or an object with ``.low`` and ``.high``
            (``ConfidenceInterval``, ``PairedTest``).
        above, below, contains: the claim(s); at least one.

    Returns:
        ``(low, high)`` as floats.
    """
    name = _name(name)
    low, high = _bounds(interval, name)
    if above is None and below is None and contains is None:
        raise ValueError(f"{name}: give above, below or contains")
    shown = f"[{_fmt(low)}, {_fmt(high)}]"
    if above is not None:
        a = _number(above, "above", name)
        _finish(
            "above",
            name,
            [low, high],
            a,
            math.inf,
            low > a,
            f"{name}: interval {shown} should lie above {_fmt(a)}",
        )
    if below is not None:
        b = _number(below, "below", name)
        _finish(
            "below",
            name,
            [low, high],
            -math.inf,
            b,
            high < b,
            f"{name}: interval {shown} should lie below {_fmt(b)}",
        )
    if contains is not None:
        c = _number(contains, "contains", name)
        _finish(
            "contains",
            name,
            [low, high],
            c,
            c,
            low <= c <= high,
            f"{name}: interval {shown} should contain {_fmt(c)}",
        )
    return low, high


def check_small(name: str, value, bound: float) -> float:
    """Check ``|value| < bound``, for errors that should be at rounding level.

    Print a rounded statement ("agree to 1e-9"), never the tiny number itself:
    its digits depend on the CPU.
    """
    name = _name(name)
    value = _number(value, "value", name)
    bound = _tolerance(bound, "bound", name)
    if bound == 0:
        raise ValueError(f"{name}: bound must be > 0")
    _finish(
        "small",
        name,
        value,
        -bound,
        bound,
        abs(value) < bound,
        f"{name}: |{_fmt(value)}| is not below {_fmt(bound)}",
    )
    return value
