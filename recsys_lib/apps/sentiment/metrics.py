"""Macro-F1, confusion tables and bootstrap intervals over test examples.

Introduced in Chapter 14. :func:`macro_f1` weighs every class the same,
however rare; :func:`bootstrap_macro_f1` and :func:`paired_bootstrap` give
percentile intervals by resampling the test examples (the resampling kernel is
shared with Chapter 13's cluster bootstrap).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ...checks import check_int
from ...eval.uncertainty import bootstrap_distribution, percentile_interval

__all__ = [
    "bootstrap_ci",
    "bootstrap_macro_f1",
    "confusion_table",
    "macro_f1",
    "paired_bootstrap",
]


def _encode_pair(y_true, y_pred, labels=None) -> tuple[np.ndarray, np.ndarray, list]:
    t = np.asarray(list(y_true), dtype=object)
    p = np.asarray(list(y_pred), dtype=object)
    if t.shape != p.shape or t.ndim != 1:
        raise ValueError(
            f"y_true {t.shape} and y_pred {p.shape} must be equal 1-d shapes"
        )
    if len(t) == 0:
        raise ValueError("no examples to score")
    if labels is None:
        labels = sorted(set(t.tolist()) | set(p.tolist()), key=str)
    index = {c: k for k, c in enumerate(labels)}
    try:
        ti = np.array([index[v] for v in t])
        pi = np.array([index[v] for v in p])
    except KeyError as exc:
        raise ValueError(
            f"label {exc.args[0]!r} is not in labels {list(labels)}"
        ) from exc
    return ti, pi, list(labels)


def _macro_f1_from_confusion(cm: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Macro-F1 for a stack of confusion matrices ``(..., K, K)`` (rows: truth).

    A class counts if it occurs in the truth or the predictions (as in
    scikit-learn); F1 of a class is ``2 TP / (2 TP + FP + FN)``.
    """
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(-1)
    predicted = cm.sum(-2)
    denom = support + predicted
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    used = present & (denom > 0) if present is not None else denom > 0
    return (f1 * used).sum(-1) / np.maximum(used.sum(-1), 1)


def macro_f1(
    y_true: Sequence, y_pred: Sequence, labels: Sequence | None = None
) -> float:
    """Unweighted mean of the per-class F1 scores (classes in truth or predictions).

    Introduced in Chapter 14. Equal to ``sklearn.metrics.f1_score(...,
    average="macro")``; every class counts the same, however rare, so a model
    that ignores the minority class is penalised, unlike with accuracy.
    """
    ti, pi, labels = _encode_pair(y_true, y_pred, labels)
    k = len(labels)
    cm = np.bincount(ti * k + pi, minlength=k * k).reshape(k, k)
    return float(_macro_f1_from_confusion(cm, None))


def confusion_table(
    y_true: Sequence, y_pred: Sequence, labels: Sequence
) -> pd.DataFrame:
    """Counts with the true class in rows and the predicted class in columns."""
    ti, pi, labels = _encode_pair(y_true, y_pred, labels)
    k = len(labels)
    cm = np.bincount(ti * k + pi, minlength=k * k).reshape(k, k)
    return pd.DataFrame(
        cm,
        index=pd.Index(labels, name="true"),
        columns=pd.Index(labels, name="predicted"),
    )


def _check_boot(n_boot, level) -> tuple[int, float]:
    n_boot = check_int(n_boot, "n_boot", low=1)
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    return n_boot, float(level)


def _boot_f1(
    ti: np.ndarray, pis: Sequence[np.ndarray], k: int, n_boot: int, seed: int
) -> np.ndarray:
    """``(len(pis), n_boot)`` macro-F1 of each prediction on the same resamples."""

    def resampled_f1(idx: np.ndarray) -> np.ndarray:  # idx: (b, n) -> (b, len(pis))
        b = idx.shape[0]
        offset = (np.arange(b) * k * k)[:, None]
        t = ti[idx]
        out = np.empty((b, len(pis)))
        for m, pi in enumerate(pis):
            codes = (t * k + pi[idx] + offset).ravel()
            cm = np.bincount(codes, minlength=b * k * k).reshape(b, k, k)
            out[:, m] = _macro_f1_from_confusion(cm, None)
        return out

    rng = np.random.default_rng(seed)
    boot = bootstrap_distribution(
        resampled_f1, len(ti), n_boot, rng, max_cells=2_000_000
    )
    return boot.T


def bootstrap_macro_f1(
    y_true: Sequence,
    y_pred: Sequence,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Macro-F1 and a percentile bootstrap interval over test examples.

    Introduced in Chapter 14.

    Returns:
        ``(macro_f1, low, high)``: resampling the test examples with
        replacement ``n_boot`` times (seeded) and taking the
        ``(1-level)/2`` and ``(1+level)/2`` quantiles.
    """
    n_boot, level = _check_boot(n_boot, level)
    ti, pi, labels = _encode_pair(y_true, y_pred)
    boots = _boot_f1(ti, [pi], len(labels), n_boot, seed)[0]
    low, high = percentile_interval(boots, 1 - level)
    return macro_f1(y_true, y_pred), low, high


#: The name Chapter 14 was written with (it is the bootstrap of macro-F1, see
#: :func:`bootstrap_macro_f1`); kept while notebook 14 uses it.
bootstrap_ci = bootstrap_macro_f1


def paired_bootstrap(
    y_true: Sequence,
    pred_a: Sequence,
    pred_b: Sequence,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """Macro-F1 difference ``a - b`` on the same resampled test sets.

    Introduced in Chapter 14. Resampling the same examples for both models
    removes the variation that both share (which examples happen to be hard),
    so the interval of the difference is narrower than comparing two separate
    intervals.

    Returns:
        ``{"diff", "low", "high", "p_a_not_better"}`` -- the last is the share
        of resamples where ``a`` does not beat ``b``.
    """
    n_boot, level = _check_boot(n_boot, level)
    ti, pa, labels = _encode_pair(y_true, pred_a)
    _, pb, _ = _encode_pair(y_true, pred_b, labels)
    if set(pb.tolist()) - set(range(len(labels))):
        raise ValueError("pred_b has labels that y_true and pred_a lack")
    boots = _boot_f1(ti, [pa, pb], len(labels), n_boot, seed)
    d = boots[0] - boots[1]
    low, high = percentile_interval(d, 1 - level)
    return {
        "diff": macro_f1(y_true, pred_a, labels) - macro_f1(y_true, pred_b, labels),
        "low": low,
        "high": high,
        "p_a_not_better": float(np.mean(d <= 0)),
    }
