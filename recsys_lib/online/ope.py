"""Off-policy evaluation: a new policy's value from the logs of another.

Introduced in Chapter 10 ("The feedback loop"). A log holds, for ``n``
slates of ``K`` slots, the reward ``r[t, k]`` (a click) of the item the
*logging* policy showed, its propensity ``p0[t, k]`` (the probability that the
logging policy put that item in that slot) and, for the policy we want to
evaluate, the probability ``p1[t, k]`` that it would have put the same item
there. Under a position-based click model (a slot's click depends on the item
in that slot only, as in :class:`~recsys_lib.online.ShopEnv`) the value of a
policy -- expected clicks per slate -- is the sum over slots, and each slot
is a one-step bandit problem (the "independent IPS" of Li et al., 2018 and of
the Open Bandit Pipeline). With ``w = p1 / p0`` the importance weight:

* **IPS** (inverse propensity scoring, Horvitz & Thompson 1952):
  ``mean_t sum_k w r`` -- unbiased when ``p0 > 0`` wherever ``p1 > 0``, but
  its variance grows with the weights;
* **SNIPS** (self-normalized): ``sum_k [sum_t w r / sum_t w]`` -- divides by
  the weights' sum instead of ``n`` (slightly biased, much steadier);
* **DM** (direct method): ``mean_t sum_k qhat1[t, k]``, with ``qhat1`` the
  expected reward of the new policy's slot under a reward model -- no
  weights, so little variance, but as biased as the model;
* **DR** (doubly robust, Dudik et al., 2011): DM plus IPS on the model's
  residuals, ``mean_t sum_k (qhat1 + w (r - qhat0))`` with ``qhat0`` the
  model's prediction for the logged item -- unbiased if the propensities are
  right, low variance if the model is good.

``clip`` caps the weights (``min(w, clip)``): less variance, some bias
downwards. Intervals are percentile bootstraps over slates
(:func:`recsys_lib.eval.bootstrap_statistic`).

Arrays are ``(n, K)`` (slates x slots) or ``(n,)`` (one slot). Bad logs fail
loudly: a propensity of 0 or above 1, NaN rewards or arrays of different
shapes raise ``ValueError``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..checks import check_int, check_number
from ..eval import bootstrap_statistic

__all__ = [
    "ESTIMATORS",
    "OPEEstimate",
    "direct_method",
    "doubly_robust",
    "estimate_policy_value",
    "importance_weights",
    "ips",
    "policy_terms",
    "snips",
]

ESTIMATORS = ("IPS", "SNIPS", "DM", "DR")


class OPEEstimate(NamedTuple):
    """An estimate of a policy's value (expected reward per slate) with a bootstrap interval."""

    value: float
    low: float
    high: float


# ---------------------------------------------------------------- checks
def _array(x, name: str, *, low=None, high=None, low_open=False) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype == bool:
        arr = arr.astype(np.float64)
    if not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must be numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(
            f"{name} must be a non-empty (n,) or (n, K) array, got shape {np.shape(x)}"
        )
    if np.isnan(arr).any():
        raise ValueError(f"{name} holds NaN (row {int(np.isnan(arr).any(1).argmax())})")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds inf")
    if low is not None:
        bad = arr <= low if low_open else arr < low
        if bad.any():
            op = ">" if low_open else ">="
            raise ValueError(
                f"{name} must be {op} {low}; it holds {arr[bad].min():g} "
                f"(row {int(bad.any(1).argmax())})"
            )
    if high is not None and (arr > high + 1e-12).any():
        raise ValueError(f"{name} must be <= {high}; it holds {arr.max():g}")
    return arr if high is None else np.minimum(arr, high)


def _same_shape(**arrays) -> None:
    shapes = {k: v.shape for k, v in arrays.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{k} {s}" for k, s in shapes.items())
        raise ValueError(f"the log's arrays must have the same shape; got {listed}")


def _log_arrays(rewards, target_probability, logging_propensity):
    r = _array(rewards, "rewards")
    p1 = _array(target_probability, "target_probability", low=0.0, high=1.0)
    p0 = _array(
        logging_propensity, "logging_propensity", low=0.0, low_open=True, high=1.0
    )
    _same_shape(rewards=r, target_probability=p1, logging_propensity=p0)
    return r, p1, p0


def _clip(clip) -> float | None:
    if clip is None:
        return None
    return check_number(clip, "clip", low=0.0, low_open=True)


# ---------------------------------------------------------------- the estimators
# Each kernel works on arrays (..., n, K): the leading axes are bootstrap resamples.
def _ips(w, r):
    return (w * r).sum(-1).mean(-1)


def _snips(w, r):
    num, den = (w * r).sum(-2), w.sum(-2)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0).sum(-1)


def _dm(q1):
    return q1.sum(-1).mean(-1)


def _dr(w, r, q0, q1):
    return (q1 + w * (r - q0)).sum(-1).mean(-1)


def importance_weights(target_probability, logging_propensity, clip=None) -> np.ndarray:
    """``w = target_probability / logging_propensity``, capped at ``clip`` if given, ``(n, K)``."""
    p1 = _array(target_probability, "target_probability", low=0.0, high=1.0)
    p0 = _array(logging_propensity, "logging_propensity", low=0.0, low_open=True)
    if (p0 > 1.0 + 1e-12).any():
        raise ValueError(
            f"logging_propensity must be <= 1 (a probability); it holds {p0.max():g}"
        )
    _same_shape(target_probability=p1, logging_propensity=p0)
    w = p1 / np.minimum(p0, 1.0)
    clip = _clip(clip)
    return w if clip is None else np.minimum(w, clip)


def ips(rewards, target_probability, logging_propensity, clip=None) -> float:
    """Inverse propensity scoring: ``mean over slates of sum_k w r``. Introduced in Chapter 10."""
    r, p1, p0 = _log_arrays(rewards, target_probability, logging_propensity)
    return float(_ips(importance_weights(p1, p0, clip), r))


def snips(rewards, target_probability, logging_propensity, clip=None) -> float:
    """Self-normalized IPS: per slot ``sum w r / sum w``, summed over slots.

    Introduced in Chapter 10. A slot where every weight is 0 (the new policy
    never agrees with the log there) contributes 0.
    """
    r, p1, p0 = _log_arrays(rewards, target_probability, logging_propensity)
    return float(_snips(importance_weights(p1, p0, clip), r))


def direct_method(target_rewards) -> float:
    """Direct method: mean over slates of the reward model's ``sum_k qhat1``. Introduced in Chapter 10.

    Args:
        target_rewards: ``(n, K)``; ``[t, k]`` is the reward the model
            expects in slot ``k`` of slate ``t`` under the new policy,
            ``sum_i p1(i | t, k) qhat(t, i, k)``.
    """
    return float(_dm(_array(target_rewards, "target_rewards")))


def doubly_robust(
    rewards,
    target_probability,
    logging_propensity,
    logged_rewards,
    target_rewards,
    clip=None,
) -> float:
    """Doubly robust: DM plus IPS of the residuals. Introduced in Chapter 10.

    Args:
        rewards, target_probability, logging_propensity: the log (module doc).
        logged_rewards: ``(n, K)`` the model's expected reward for the logged
            item, ``qhat(t, a_tk, k)``.
        target_rewards: ``(n, K)`` as in :func:`direct_method`.
        clip: cap on the weights.
    """
    r, p1, p0 = _log_arrays(rewards, target_probability, logging_propensity)
    q0 = _array(logged_rewards, "logged_rewards")
    q1 = _array(target_rewards, "target_rewards")
    _same_shape(rewards=r, logged_rewards=q0, target_rewards=q1)
    return float(_dr(importance_weights(p1, p0, clip), r, q0, q1))


def policy_terms(probabilities, items, attraction, examination):
    """The new policy's side of a log: ``(target_probability, logged_rewards, target_rewards)``.

    Introduced in Chapter 10, for a reward model of the position-based form
    ``qhat(t, i, k) = examination[k] * attraction[t, i]``.

    Args:
        probabilities: ``(n, K, n_items)`` the new policy's slot
            distributions for the logged visitors
            (:meth:`Policy.probabilities <recsys_lib.online.Policy.probabilities>`).
        items: ``(n, K)`` the logged items.
        attraction: ``(n, n_items)`` the reward model's attraction for the
            logged visitors.
        examination: ``(K,)`` the examination curve.

    Returns:
        ``p1[t, k] = probabilities[t, k, items[t, k]]``,
        ``qhat0[t, k] = examination[k] * attraction[t, items[t, k]]`` and
        ``qhat1[t, k] = examination[k] * sum_i probabilities[t, k, i] attraction[t, i]``.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    items = np.asarray(items)
    att = np.asarray(attraction, dtype=np.float64)
    theta = np.asarray(examination, dtype=np.float64)
    if (
        p.ndim != 3
        or items.shape != p.shape[:2]
        or att.shape != (p.shape[0], p.shape[2])
    ):
        raise ValueError(
            f"shapes do not fit: probabilities {p.shape}, items {items.shape}, "
            f"attraction {att.shape} (expected (n, K, n_items), (n, K), (n, n_items))"
        )
    if theta.shape != (p.shape[1],):
        raise ValueError(
            f"examination must have shape ({p.shape[1]},), got {theta.shape}"
        )
    p1 = np.take_along_axis(p, items[:, :, None], axis=2)[:, :, 0]
    q0 = theta * np.take_along_axis(att, items, axis=1)
    q1 = theta * np.einsum("tki,ti->tk", p, att)
    return p1, q0, q1


def estimate_policy_value(
    rewards,
    target_probability,
    logging_propensity,
    logged_rewards=None,
    target_rewards=None,
    *,
    clip=None,
    estimators=ESTIMATORS,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> pd.DataFrame:
    """Every estimator with a percentile-bootstrap interval over slates. Introduced in Chapter 10.

    Args:
        rewards, target_probability, logging_propensity, logged_rewards,
            target_rewards, clip: as in the estimators (DM and DR need the
            reward model's two arrays).
        estimators: which of ``"IPS"``, ``"SNIPS"``, ``"DM"``, ``"DR"``.
        n_boot, alpha, seed: the bootstrap (slates are resampled, with all
            their slots, so the interval covers the dependence within a slate).

    Returns:
        A DataFrame indexed by estimator with columns ``estimate``, ``low``, ``high``.
    """
    r, p1, p0 = _log_arrays(rewards, target_probability, logging_propensity)
    names = list(estimators)
    for name in names:
        if name not in ESTIMATORS:
            raise ValueError(f"unknown estimator {name!r}; use {', '.join(ESTIMATORS)}")
    needs_model = {"DM", "DR"} & set(names)
    if needs_model and (logged_rewards is None or target_rewards is None):
        raise ValueError(
            f"{' and '.join(sorted(needs_model))} need a reward model: give "
            "logged_rewards and target_rewards"
        )
    q0 = q1 = np.zeros_like(r)
    if needs_model:
        q0 = _array(logged_rewards, "logged_rewards")
        q1 = _array(target_rewards, "target_rewards")
        _same_shape(rewards=r, logged_rewards=q0, target_rewards=q1)
    n_boot = check_int(n_boot, "n_boot", low=1)
    w = importance_weights(p1, p0, clip)
    kernels = {
        "IPS": lambda i: _ips(w[i], r[i]),
        "SNIPS": lambda i: _snips(w[i], r[i]),
        "DM": lambda i: _dm(q1[i]),
        "DR": lambda i: _dr(w[i], r[i], q0[i], q1[i]),
    }
    rows = np.arange(r.shape[0])
    max_cells = max(r.shape[0], 2**20 // r.shape[1])  # bounds the (b, n, K) temporaries
    out = {}
    for name in names:
        ci = bootstrap_statistic(
            rows, kernels[name], n_boot, alpha, seed, max_cells=max_cells
        )
        out[name] = OPEEstimate(ci.mean, ci.low, ci.high)
    return pd.DataFrame(out, index=["estimate", "low", "high"]).T.rename_axis(
        "estimator"
    )
