"""When is the assistant right, and when should it hand off to a person?

Introduced in Chapter 13. Evaluation helpers for intent matchers and the
hand-off rule: :func:`intent_ranks` (rank of the true intent),
:func:`cluster_bootstrap_ci` (an interval that resamples whole clusters of
related questions), :func:`confusions`, :func:`confidence` (how sure a matcher
is), :func:`precision_coverage` (what each threshold gives) and
:func:`choose_threshold` (the threshold that reaches a target precision on
validation data).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ...checks import check_choice, check_int, check_number
from ...eval.uncertainty import bootstrap_distribution, percentile_interval

__all__ = [
    "CONFIDENCE_KINDS",
    "bootstrap_ci",
    "choose_threshold",
    "cluster_bootstrap_ci",
    "confidence",
    "confusions",
    "intent_ranks",
    "precision_coverage",
]


def intent_ranks(scores: np.ndarray, true_idx) -> np.ndarray:
    """1-based rank of the true intent in each row of ``scores`` (ties count against it).

    A question whose true intent ties with another gets the worse rank, so a
    matcher that scores everything 0 does not look perfect.
    """
    scores = np.asarray(scores)
    true_idx = np.asarray(true_idx, dtype=np.int64)
    if scores.ndim != 2 or true_idx.shape != (scores.shape[0],):
        raise ValueError(
            f"scores must be (n, k) and true_idx (n,), got {scores.shape}, {true_idx.shape}"
        )
    true_score = scores[np.arange(len(true_idx)), true_idx]
    return (scores >= true_score[:, None]).sum(axis=1)


CONFIDENCE_KINDS = ("best", "best+margin")


def confidence(scores, kind: str = "best") -> np.ndarray:
    """How sure a matcher is, per question, from its ``(n, n_intents)`` scores.

    ``"best"``: the best intent's score. ``"best+margin"``: the best score plus
    its lead over the runner-up, ``2 s_(1) - s_(2)``; a question that sits
    between two neighbouring intents gets a low value even when both scores
    are high. Both are in the matcher's units.
    """
    check_choice(kind, "kind", CONFIDENCE_KINDS)
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"scores must be (n, k) with k >= 2, got shape {scores.shape}")
    top2 = np.sort(scores, axis=1)[:, -2:]
    if kind == "best":
        return top2[:, 1]
    return 2 * top2[:, 1] - top2[:, 0]


def cluster_bootstrap_ci(
    values,
    groups: Iterable | None = None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean of ``values`` and a cluster-bootstrap interval ``(mean, low, high)``.

    With ``groups``, whole groups are resampled (a cluster bootstrap): the
    renderings of one phrasing are not independent questions, so resampling
    them one by one would give too narrow an interval. A resample's mean is
    the sum of its groups' values over the number of values they hold. Without
    ``groups`` every value is its own group (the ordinary bootstrap of a
    mean). The interval is the percentile interval at level ``1 - alpha``.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("values must be a non-empty 1-d array")
    n_boot = check_int(n_boot, "n_boot", low=1)
    if groups is None:
        codes = np.arange(values.size)
    else:
        codes = pd.factorize(pd.Series(list(groups)))[0]
        if codes.size != values.size:
            raise ValueError("groups must have one entry per value")
    sums = np.bincount(codes, weights=values)
    counts = np.bincount(codes).astype(np.float64)

    def resampled_mean(idx: np.ndarray) -> np.ndarray:  # idx: (b, n_groups)
        return sums[idx].sum(axis=1) / counts[idx].sum(axis=1)

    rng = np.random.default_rng(seed)
    boot = bootstrap_distribution(resampled_mean, sums.size, n_boot, rng)
    lo, hi = percentile_interval(boot, alpha)
    return float(values.mean()), lo, hi


#: The name Chapter 13 was written with (it resamples clusters, see
#: :func:`cluster_bootstrap_ci`); kept while notebook 13 imports it.
bootstrap_ci = cluster_bootstrap_ci


def confusions(true, pred, top: int = 10) -> pd.DataFrame:
    """The most frequent (true intent, predicted intent) mistakes.

    Columns: ``true``, ``predicted``, ``count`` and ``share`` (of the true
    intent's questions that went to that wrong intent).
    """
    df = pd.DataFrame({"true": list(true), "predicted": list(pred)})
    n_true = df["true"].value_counts()
    wrong = df[df["true"] != df["predicted"]]
    out = wrong.groupby(["true", "predicted"]).size().rename("count").reset_index()
    out["share"] = out["count"] / out["true"].map(n_true)
    return (
        out.sort_values(["count", "true", "predicted"], ascending=[False, True, True])
        .head(top)
        .reset_index(drop=True)
    )


def precision_coverage(confidence, correct, in_scope) -> pd.DataFrame:
    """Answer only when ``confidence >= threshold``: what each threshold gives.

    One row per distinct threshold (the observed confidences, high to low):
    ``threshold``; ``coverage`` = share of in-scope questions answered;
    ``precision`` = share of answered questions answered correctly (an
    answered out-of-scope question counts as wrong); ``oos_handoff`` = share of
    out-of-scope questions handed off.
    """
    conf = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    in_scope = np.asarray(in_scope, dtype=bool)
    if not conf.shape == correct.shape == in_scope.shape or conf.ndim != 1:
        raise ValueError(
            "confidence, correct and in_scope must be 1-d arrays of one length"
        )
    if (correct & ~in_scope).any():
        raise ValueError("an out-of-scope question cannot be 'correct'")
    order = np.argsort(-conf, kind="stable")
    c, ok, ins = conf[order], correct[order], in_scope[order]
    last = np.r_[c[1:] != c[:-1], True]  # answer all questions with conf >= c[k]
    n_answered = np.arange(1, c.size + 1)[last]
    n_ok = np.cumsum(ok)[last]
    n_in = np.cumsum(ins)[last]
    n_oos = max(int((~in_scope).sum()), 1)
    return pd.DataFrame(
        {
            "threshold": c[last],
            "coverage": n_in / max(int(in_scope.sum()), 1),
            "precision": n_ok / n_answered,
            "oos_handoff": 1.0 - (n_answered - n_in) / n_oos,
        }
    )


def choose_threshold(
    confidence, correct, in_scope, min_precision: float = 0.9
) -> float:
    """The lowest threshold whose answered questions reach ``min_precision``.

    Lowest = most questions answered. Choose it on validation data, never on
    the test set. If no threshold reaches the target, the returned threshold
    is above every confidence (the assistant hands off everything).
    """
    min_precision = check_number(min_precision, "min_precision", low=0.0, high=1.0)
    table = precision_coverage(confidence, correct, in_scope)
    ok = table[table["precision"] >= min_precision]
    if ok.empty:
        return float(np.nextafter(table["threshold"].max(), np.inf))
    return float(ok["threshold"].min())
