"""Fairness and popularity bias: exposure, calibration, user-side gaps, re-ranking.

Introduced in Chapter 11 ("Trust").

* item side -- :func:`popularity_groups` splits the catalogue into head,
  middle and tail by interaction mass; :func:`exposure_shares` measures how
  much position-discounted exposure each group (or brand) gets;
* calibration -- :func:`calibration_kl`, the KL divergence between the
  category mix of a user's history and of their list {cite}`steck2018calibrated`;
* user side -- :func:`group_gap`, a metric's mean in two user groups and a
  bootstrap interval of the gap;
* a re-ranking -- :func:`boost_rerank` adds ``weight`` to the (per-user
  min-max normalized) score of items of an under-exposed group, trading a
  measured amount of accuracy for exposure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..checks import check_id_array, check_int, check_number
from ..eval import ConfidenceInterval, bootstrap_ci, bootstrap_statistic

__all__ = [
    "GroupGap",
    "boost_rerank",
    "calibration_kl",
    "exposure_shares",
    "group_gap",
    "popularity_groups",
]


def popularity_groups(item_counts, n_groups: int = 3) -> np.ndarray:
    """Split items into ``n_groups`` of equal interaction mass, most popular first.

    Introduced in Chapter 11. Items are sorted by count (ties: lower id
    first); group 0 (the *head*) holds the most popular items that together
    account for the first ``1/n_groups`` of all interactions, the last group
    (the *tail*) the many rare items that account for the last share.

    Returns:
        int64 array ``(n_items,)`` of group ids.
    """
    counts = np.asarray(item_counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(
            f"popularity_groups: item_counts must be a non-empty 1-D array, got shape {counts.shape}"
        )
    if (counts < 0).any() or not np.isfinite(counts).all():
        raise ValueError("popularity_groups: item_counts must be finite and >= 0")
    n_groups = check_int(
        n_groups, "n_groups", low=1, high=counts.size, where="popularity_groups"
    )
    total = counts.sum()
    if total == 0:
        raise ValueError(
            "popularity_groups: every count is 0; no interactions to split"
        )
    order = np.lexsort((np.arange(counts.size), -counts))
    before = (
        np.concatenate([[0.0], np.cumsum(counts[order])[:-1]]) / total
    )  # mass before each item
    groups = np.empty(counts.size, dtype=np.int64)
    groups[order] = np.minimum((before * n_groups).astype(np.int64), n_groups - 1)
    return groups


def exposure_shares(
    top_items, item_groups, n_groups: int | None = None, discount: bool = True
) -> np.ndarray:
    """Each user's share of exposure per item group, ``(n_users, n_groups)``.

    Introduced in Chapter 11. Position ``r`` (1 = top) gets attention
    ``1 / log2(r + 1)`` (the NDCG discount) or 1 with ``discount=False``;
    a row is the attention each group received divided by the row's total,
    so rows sum to 1. ``item_groups`` can be popularity groups, brands,
    providers.
    """
    top = np.asarray(top_items)
    if top.ndim != 2 or top.shape[1] == 0:
        raise ValueError(
            f"exposure_shares: top_items must be (n_users, k) with k >= 1, got shape {top.shape}"
        )
    groups = check_id_array(item_groups, "item_groups", where="exposure_shares")
    if top.size and (top.min() < 0 or top.max() >= groups.size):
        raise ValueError(
            f"exposure_shares: top_items holds ids outside [0, {groups.size})"
        )
    n_groups = (
        int(groups.max()) + 1
        if n_groups is None
        else check_int(n_groups, "n_groups", low=int(groups.max()) + 1)
    )
    k = top.shape[1]
    weight = 1.0 / np.log2(np.arange(2, k + 2)) if discount else np.ones(k)
    out = np.zeros((top.shape[0], n_groups))
    rows = np.repeat(np.arange(top.shape[0]), k)
    np.add.at(out, (rows, groups[top].ravel()), np.tile(weight, top.shape[0]))
    return out / weight.sum()


def calibration_kl(
    top_items, history: sp.spmatrix, item_categories, alpha: float = 0.01
) -> np.ndarray:
    """Miscalibration of each list: ``KL(p_u || q~_u)`` {cite}`steck2018calibrated`.

    Introduced in Chapter 11. ``p_u`` is the category distribution of the
    user's history and ``q_u`` that of the recommended list (each item
    spreads weight 1 evenly over its categories), smoothed as
    ``q~ = (1 - alpha) q + alpha p`` so that the KL stays finite. 0 means
    the list mirrors the user's tastes in their proportions.

    Args:
        top_items: int ``(n_users, k)`` lists, one row per row of ``history``.
        history: sparse ``(n_users, n_items)`` interactions of the same users.
        item_categories: ``(n_items, C)`` 0/1 (or weight) matrix.
        alpha: smoothing in ``(0, 1)``.

    Raises:
        ValueError: for a user with an empty history or a history/list of
            items without any category.
    """
    alpha = check_number(
        alpha,
        "alpha",
        low=0.0,
        high=1.0,
        low_open=True,
        high_open=True,
        where="calibration_kl",
    )
    cats = np.asarray(item_categories, dtype=np.float64)
    top = np.asarray(top_items)
    if not sp.issparse(history):
        raise TypeError("calibration_kl: history must be a scipy sparse matrix")
    if cats.ndim != 2 or cats.shape[0] != history.shape[1]:
        raise ValueError(
            f"calibration_kl: item_categories must be (n_items={history.shape[1]}, C), got {cats.shape}"
        )
    if top.ndim != 2 or top.shape[0] != history.shape[0]:
        raise ValueError(
            f"calibration_kl: top_items must be (n_users={history.shape[0]}, k), got {top.shape}"
        )
    per_item = cats / np.maximum(
        cats.sum(axis=1, keepdims=True), 1e-12
    )  # rows sum to 1 (or 0)
    p = sp.csr_matrix(history, dtype=np.float64) @ per_item  # (n_users, C)
    q = per_item[top].sum(axis=1)  # (n_users, C)
    for dist, what in ((p, "history"), (q, "recommended list")):
        empty = np.flatnonzero(dist.sum(axis=1) == 0)
        if empty.size:
            raise ValueError(
                f"calibration_kl: {empty.size} user(s) (rows {empty[:5].tolist()}) have a "
                f"{what} without any categorised item; drop them first"
            )
    p /= p.sum(axis=1, keepdims=True)
    q /= q.sum(axis=1, keepdims=True)
    q_smooth = (1 - alpha) * q + alpha * p
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / q_smooth), 0.0)
    return terms.sum(axis=1)


@dataclass(frozen=True)
class GroupGap:
    """Output of :func:`group_gap`.

    Attributes:
        names: the two group labels ``(a, b)``.
        sizes: number of users in each.
        means: :class:`~recsys_lib.eval.ConfidenceInterval` of the metric in each group.
        gap: interval of ``mean_a - mean_b`` (users resampled, labels kept).
    """

    names: tuple
    sizes: tuple[int, int]
    means: tuple[ConfidenceInterval, ConfidenceInterval]
    gap: ConfidenceInterval


def group_gap(values, groups, a, b, n_boot: int = 2000, seed: int = 0) -> GroupGap:
    """Mean of a per-user metric in groups ``a`` and ``b``, and a bootstrap interval of the gap.

    Introduced in Chapter 11. Users are resampled with replacement (keeping
    their group), so the interval covers which users happened to be in the
    test set. A gap whose interval contains 0 is not evidence of unfairness
    -- nor of fairness: it may be too small for this many users to detect.

    Raises:
        ValueError: if a label is not in ``groups`` (unknown attribute value)
            or a group is empty, or lengths differ.
    """
    vals = np.asarray(values, dtype=np.float64)
    labels = np.asarray(groups)
    if vals.ndim != 1 or labels.shape != vals.shape:
        raise ValueError(
            f"group_gap: values {vals.shape} and groups {labels.shape} must be aligned 1-D arrays"
        )
    known = sorted(set(labels.tolist()), key=str)
    masks = []
    for g in (a, b):
        mask = labels == g
        if not mask.any():
            raise ValueError(
                f"group_gap: group {g!r} is empty; the groups present are {known}"
            )
        masks.append(mask)
    ia, ib = masks

    def gap(v, in_a, in_b):  # (b, n) -> (b,)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (v * in_a).sum(1) / in_a.sum(1) - (v * in_b).sum(1) / in_b.sum(1)

    ci = bootstrap_statistic(
        (vals, ia.astype(float), ib.astype(float)), gap, n_boot=n_boot, seed=seed
    )
    means = (
        bootstrap_ci(vals[ia], n_boot=n_boot, seed=seed),
        bootstrap_ci(vals[ib], n_boot=n_boot, seed=seed),
    )
    return GroupGap(
        names=(a, b), sizes=(int(ia.sum()), int(ib.sum())), means=means, gap=ci
    )


def boost_rerank(
    scores,
    item_groups,
    boosted_group: int,
    weight: float,
    k: int,
    exclude: sp.spmatrix | None = None,
) -> np.ndarray:
    """Top-k after adding ``weight`` to the normalized score of one item group.

    Introduced in Chapter 11. Each user's scores are min-max normalized to
    ``[0, 1]`` over the items they may be shown, then items of
    ``boosted_group`` (e.g. the popularity tail) get ``+ weight``:
    ``weight = 0`` is the model's own ranking, ``weight = 1`` puts every
    boosted item that scored above the user's minimum ahead of every other.
    A simple, transparent relative of the popularity-aware re-rankers of
    {cite:t}`abdollahpouri2019managing`.

    Args:
        scores: float ``(n_users, n_items)``.
        item_groups: int ``(n_items,)``.
        boosted_group: the group to boost; must occur in ``item_groups``.
        weight: >= 0.
        k: list length.
        exclude: optional sparse ``(n_users, n_items)``; its non-zeros
            (e.g. training items) are never recommended.

    Returns:
        int64 ``(n_users, k)`` item ids, best first.
    """
    s = np.array(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(
            f"boost_rerank: scores must be (n_users, n_items), got shape {s.shape}"
        )
    groups = check_id_array(item_groups, "item_groups", where="boost_rerank")
    if groups.size != s.shape[1]:
        raise ValueError(
            f"boost_rerank: item_groups has {groups.size} entries for {s.shape[1]} items"
        )
    if not (groups == boosted_group).any():
        raise ValueError(f"boost_rerank: no item is in boosted_group={boosted_group!r}")
    weight = check_number(weight, "weight", low=0.0, where="boost_rerank")
    k = check_int(k, "k", low=1, high=s.shape[1], where="boost_rerank")
    if exclude is not None:
        if exclude.shape != s.shape:
            raise ValueError(
                f"boost_rerank: exclude has shape {exclude.shape}, scores {s.shape}"
            )
        rows, cols = sp.coo_matrix(exclude).nonzero()
        s[rows, cols] = -np.inf
    finite = np.isfinite(s)
    lo = np.where(finite, s, np.inf).min(axis=1, keepdims=True)
    hi = np.where(finite, s, -np.inf).max(axis=1, keepdims=True)
    z = (s - lo) / np.maximum(hi - lo, 1e-12)
    z = z + weight * (groups == boosted_group)[None, :]
    z[~finite] = -np.inf
    order = np.argsort(-z, axis=1, kind="stable")[:, :k]
    return order.astype(np.int64)
