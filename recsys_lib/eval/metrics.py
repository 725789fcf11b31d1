"""Ranking metrics and beyond-accuracy measures for top-k recommendation.

Introduced in Chapter 3 ("Measuring a recommender"), the book's yardstick:
every later chapter reports its models with these functions.

Conventions used throughout:

* a *ranking* is a 2-D integer array ``top_items`` of shape
  ``(n_users, n_cols)``; row ``u`` lists item ids best first, and only its
  first ``k`` columns are read;
* ``relevant`` holds, for each row, the collection of item ids that count as
  hits (the held-out test items of that user);
* item ids are 0-based non-negative integers (map raw ids to ``0..n_items-1``
  first);
* metrics are computed per user and then averaged over users (macro average),
  so every user weighs the same however many test items they have.
"""

from __future__ import annotations

import numpy as np

from ..checks import check_int
from ..data import interactions
from ..data.interactions import hit_matrix, relevant_to_csr

__all__ = [
    "METRIC_NAMES",
    "RankingMetrics",
    "catalog_coverage",
    "gini_index",
    "intra_list_diversity",
    "latency_summary",
    "mean_item_age",
    "novelty",
    "popularity_bias",
    "ranking_metrics",
]

#: Metric families returned by :func:`ranking_metrics` (each gets an ``@k`` suffix).
METRIC_NAMES = ("precision", "recall", "f1", "ndcg", "hit_rate", "mrr", "map")

_EMPTY_RULES = ("raise", "skip")


class RankingMetrics(dict):
    """The dict returned by :func:`ranking_metrics`, plus who was evaluated.

    It is an ordinary ``dict`` from metric name (``"ndcg@10"``) to the mean
    over users (a ``float``) or, with ``per_user=True``, to a float array of
    shape ``(n_users,)``. Two attributes tell how many users stand behind it.

    Attributes:
        n_users: number of users (rows) that were scored.
        n_skipped: number of rows left out because they had no relevant item
            (only non-zero with ``empty="skip"``).
        rows: integer array of shape ``(n_users,)`` -- the indices of the
            scored rows in the input, aligned with the per-user arrays.
    """

    def __init__(
        self, values: dict, n_users: int, n_skipped: int, rows: np.ndarray
    ) -> None:
        super().__init__(values)
        self.n_users = int(n_users)
        self.n_skipped = int(n_skipped)
        self.rows = rows

    def __repr__(self) -> str:
        parts = []
        for name, value in self.items():
            if np.ndim(value) == 0:
                parts.append(f"{name!r}: {float(value):.4f}")
            else:
                parts.append(f"{name!r}: <{np.shape(value)[0]} per-user values>")
        skipped = f", n_skipped={self.n_skipped}" if self.n_skipped else ""
        return (
            f"RankingMetrics({{{', '.join(parts)}}}, n_users={self.n_users}{skipped})"
        )


# ---------------------------------------------------------------- validation
def _as_rankings(
    top_items, k: int | None, name: str = "top_items"
) -> tuple[np.ndarray, int]:
    """Validate ``top_items`` and return its first ``k`` columns as int64."""
    if hasattr(top_items, "detach"):  # a torch tensor
        top_items = top_items.detach().cpu().numpy()
    arr = np.asarray(top_items)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (n_users, n_ranked), got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer item ids, got dtype {arr.dtype}")
    if k is not None:
        k = check_int(k, "k", low=1)
        if k > arr.shape[1]:
            raise ValueError(
                f"k={k} but the rankings have only {arr.shape[1]} columns; "
                f"ask for at least {k} items per user"
            )
    else:
        k = arr.shape[1]
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no columns")
    top = arr[:, :k].astype(np.int64, copy=False)
    if top.size and top.min() < 0:
        row = int(np.flatnonzero((top < 0).any(axis=1))[0])
        raise ValueError(
            f"{name} holds negative item ids (first in row {row}); ids must be >= 0"
        )
    if k > 1 and top.shape[0]:
        n_rows = top.shape[0]
        width = int(top.max()) + 1
        if (
            n_rows * width <= interactions.DENSE_BUDGET
        ):  # scatter into a dense mask: O(n * width)
            mask = np.zeros((n_rows, width), dtype=bool)
            mask[np.arange(n_rows)[:, None], top] = True
            dup_rows = np.flatnonzero(mask.sum(axis=1) < k)
        else:  # sort each row: O(n * k log k)
            srt = np.sort(top, axis=1)
            dup_rows = np.flatnonzero((srt[:, 1:] == srt[:, :-1]).any(axis=1))
        if dup_rows.size:
            row = int(dup_rows[0])
            s = np.sort(top[row])
            item = int(s[1:][s[1:] == s[:-1]][0])
            raise ValueError(
                f"{name} row {row} lists item {item} more than once in its first {k} "
                f"columns ({dup_rows.size} row(s) have duplicates); a ranking must not "
                "repeat items"
            )
    return top, k


# ---------------------------------------------------------------- accuracy
def ranking_metrics(
    top_items,
    relevant,
    k: int,
    per_user: bool = False,
    empty: str = "raise",
) -> RankingMetrics:
    """Top-k accuracy metrics of ranked lists against sets of relevant items.

    Introduced in Chapter 3.

    For one user with ranked list ``r_1..r_k``, relevant set ``R``, hit
    indicator ``h_j = [r_j in R]`` and ``n_hits = sum_j h_j``:

    * ``precision@k`` = ``n_hits / k``;
    * ``recall@k`` = ``n_hits / |R|`` (so it cannot reach 1 when ``|R| > k``);
    * ``f1@k`` = harmonic mean of the two (0 when both are 0);
    * ``ndcg@k`` = ``DCG / IDCG`` with binary gains, ``DCG = sum_j h_j / log2(j + 1)``
      and the ideal ``IDCG`` putting ``min(|R|, k)`` hits on top;
    * ``hit_rate@k`` = 1 if ``n_hits > 0`` else 0;
    * ``mrr@k`` = ``1 / j`` for the first hit at rank ``j <= k``, else 0;
    * ``map@k`` = ``sum_j h_j * precision@j / min(|R|, k)``. The denominator
      is ``min(|R|, k)`` (not ``|R|`` and not ``n_hits``), so a list that puts
      hits in all of its ``k`` places scores 1 even when ``|R| > k``.

    Args:
        top_items: integer array of shape ``(n_users, n_ranked)`` with
            ``n_ranked >= k`` -- item ids per user, best first. Only the first
            ``k`` columns are read (and checked). A torch tensor works too.
        relevant: the relevant item ids of each row: a sequence of length
            ``n_users`` of collections (set, list, array), or a scipy sparse
            matrix of shape ``(n_users, n_items)`` whose non-zeros mark them.
            Repeated ids count once.
        k: list length, ``1 <= k <= n_ranked``.
        per_user: return arrays of shape ``(n_users,)`` (one value per scored
            row, e.g. for :func:`recsys_lib.eval.bootstrap_ci`) instead
            of means.
        empty: what to do with rows whose relevant set is empty, where recall
            and NDCG are undefined. ``"raise"`` (default) raises a
            ``ValueError`` that says how many such rows there are;
            ``"skip"`` leaves them out and reports their number in
            ``result.n_skipped`` (they are never counted silently as zeros).

    Returns:
        A :class:`RankingMetrics` dict with keys ``precision@k``, ``recall@k``,
        ``f1@k``, ``ndcg@k``, ``hit_rate@k``, ``mrr@k`` and ``map@k``; values
        are floats (means over the scored rows) or float64 arrays of shape
        ``(n_scored,)`` with ``per_user=True``.

    Raises:
        TypeError: if ids are not integers or ``k`` is not an int.
        ValueError: if ``top_items`` is not 2-D, has fewer than ``k``
            columns, repeats an item within a row's first ``k`` columns (the
            row is named), holds negative ids; if ``relevant`` has a different
            number of rows; if rows have no relevant item and
            ``empty="raise"``; if nothing is left to score.

    Example:
        >>> m = ranking_metrics([[4, 7, 1]], [{4, 1}], k=3)
        >>> round(m["ndcg@3"], 4), m["mrr@3"]
        (0.9197, 1.0)
    """
    if empty not in _EMPTY_RULES:
        raise ValueError(f"empty must be one of {_EMPTY_RULES}, got {empty!r}")
    top, k = _as_rankings(top_items, k)
    n_rows = top.shape[0]
    if n_rows == 0:
        raise ValueError("top_items has no rows: there is nobody to evaluate")
    indptr, indices = relevant_to_csr(relevant, n_rows)
    n_rel = np.diff(indptr)

    rows = np.arange(n_rows)
    empty_rows = np.flatnonzero(n_rel == 0)
    if empty_rows.size:
        if empty == "raise":
            raise ValueError(
                f"{empty_rows.size} of {n_rows} users have no relevant items (first: row "
                f"{int(empty_rows[0])}); recall and NDCG are undefined for them. Drop them "
                "or pass empty='skip' to leave them out (their count is reported)."
            )
        rows = np.flatnonzero(n_rel > 0)
        if rows.size == 0:
            raise ValueError(f"none of the {n_rows} users has a relevant item")
        # Empty rows own no entries of `indices`, so only the row pointers change.
        top = top[rows]
        n_rel = n_rel[rows]
        indptr = np.concatenate([[0], np.cumsum(n_rel)])

    hits = hit_matrix(top, indptr, indices)  # (n, k) bool
    # Work on the hit positions only: (row, 0-based rank) pairs in row-major order.
    n = top.shape[0]
    hit_row, hit_col = np.nonzero(hits)
    discounts = 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))  # (k,)
    n_hits = np.bincount(hit_row, minlength=n).astype(np.float64)
    n_rel = n_rel.astype(np.float64)
    n_ideal = np.minimum(n_rel, k).astype(np.int64)

    precision = n_hits / k
    recall = n_hits / n_rel
    denom = precision + recall
    f1 = np.divide(
        2.0 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0
    )
    dcg = np.bincount(hit_row, weights=discounts[hit_col], minlength=n)
    ndcg = dcg / np.cumsum(discounts)[n_ideal - 1]
    any_hit = n_hits > 0
    # The first hit of each row is where the row index changes.
    first_of_row = np.ones(hit_row.size, dtype=bool)
    first_of_row[1:] = hit_row[1:] != hit_row[:-1]
    mrr = np.zeros(n)
    mrr[hit_row[first_of_row]] = 1.0 / (hit_col[first_of_row] + 1.0)
    # precision@j at the m-th hit (1-based m) of a row sitting at rank j is m / j.
    row_start = np.maximum.accumulate(
        np.where(first_of_row, np.arange(hit_row.size), 0)
    )
    m_th = np.arange(hit_row.size) - row_start + 1.0
    ap = np.bincount(hit_row, weights=m_th / (hit_col + 1.0), minlength=n) / n_ideal

    values = {
        f"precision@{k}": precision,
        f"recall@{k}": recall,
        f"f1@{k}": f1,
        f"ndcg@{k}": ndcg,
        f"hit_rate@{k}": any_hit.astype(np.float64),
        f"mrr@{k}": mrr,
        f"map@{k}": ap,
    }
    if not per_user:
        values = {name: float(v.mean()) for name, v in values.items()}
    return RankingMetrics(
        values, n_users=rows.size, n_skipped=empty_rows.size, rows=rows
    )


# ---------------------------------------------------------------- beyond accuracy
def _check_n_items(top: np.ndarray, n_items, name: str = "top_items") -> int:
    n_items = check_int(n_items, "n_items", low=1)
    if top.size and top.max() >= n_items:
        raise ValueError(
            f"{name} holds item id {int(top.max())} but n_items={n_items}; "
            f"ids must be in [0, {n_items})"
        )
    return n_items


def _item_vector(values, n_items_needed: int, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one value per item), got shape {arr.shape}"
        )
    if arr.shape[0] < n_items_needed:
        raise ValueError(
            f"{name} has {arr.shape[0]} entries but top_items holds item id "
            f"{n_items_needed - 1}; give one value per item"
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds nan or inf")
    return arr


def catalog_coverage(top_items, n_items: int, k: int | None = None) -> float:
    """Share of the catalog that appears in at least one recommendation list.

    Introduced in Chapter 3.

    Args:
        top_items: integer array ``(n_users, n_ranked)`` of ranked item ids.
        n_items: catalog size; ids must lie in ``[0, n_items)``.
        k: read only the first ``k`` columns (default: all of them).

    Returns:
        A float in ``[0, 1]``: ``|union of lists| / n_items``.

    Raises:
        TypeError, ValueError: for malformed rankings (see
            :func:`ranking_metrics`) or ids ``>= n_items``.
    """
    top, _ = _as_rankings(top_items, k)
    n_items = _check_n_items(top, n_items)
    return float(np.unique(top).size / n_items)


def gini_index(top_items, n_items: int, k: int | None = None) -> float:
    """Gini index of how recommendation exposure is spread over the catalog.

    Introduced in Chapter 3.

    Each item's exposure is the number of lists (among the first ``k``
    columns) it appears in; items never recommended have exposure 0. With
    exposures sorted ascending, ``x_(1) <= ... <= x_(n)``,
    ``G = sum_i (2i - n - 1) x_(i) / (n * sum_i x_(i))``.
    0 means every item is shown equally often; the maximum ``(n - 1) / n``
    means one item takes all exposure.

    Args:
        top_items: integer array ``(n_users, n_ranked)`` of ranked item ids.
        n_items: catalog size ``n``; ids must lie in ``[0, n_items)``.
        k: read only the first ``k`` columns (default: all of them).

    Returns:
        The Gini index as a float in ``[0, 1)``.

    Raises:
        TypeError, ValueError: for malformed rankings or ids ``>= n_items``.
    """
    top, _ = _as_rankings(top_items, k)
    n_items = _check_n_items(top, n_items)
    exposure = np.sort(np.bincount(top.ravel(), minlength=n_items)).astype(np.float64)
    total = exposure.sum()
    if total == 0:
        raise ValueError("top_items is empty: no exposure to measure")
    i = np.arange(1, n_items + 1, dtype=np.float64)
    return float(((2 * i - n_items - 1) * exposure).sum() / (n_items * total))


def intra_list_diversity(
    top_items,
    item_features=None,
    item_categories=None,
    k: int | None = None,
    per_user: bool = False,
):
    """How different the items within each list are from one another.

    Introduced in Chapter 3.

    Give exactly one of ``item_features`` or ``item_categories``:

    * with features, the diversity of a list is the mean pairwise cosine
      *distance* ``1 - cos(f_i, f_j)`` over its ``k (k - 1) / 2`` pairs;
    * with categories, it is the share of pairs whose two items belong to
      different categories.

    Args:
        top_items: integer array ``(n_users, n_ranked)`` of ranked item ids.
        item_features: float array ``(n_items, d)``; rows of recommended items
            must not be all zero.
        item_categories: integer array ``(n_items,)`` with a category label
            per item.
        k: read only the first ``k`` columns (default: all; needs ``k >= 2``).
        per_user: return the ``(n_users,)`` array instead of its mean.

    Returns:
        The mean diversity over users (a float in ``[0, 2]`` for features,
        ``[0, 1]`` for categories), or the per-user array.

    Raises:
        ValueError: if both or neither of the item descriptions are given,
            lists are shorter than 2, shapes do not fit, or a recommended
            item has an all-zero feature vector.
    """
    top, k = _as_rankings(top_items, k)
    if (item_features is None) == (item_categories is None):
        raise ValueError("give exactly one of item_features or item_categories")
    if k < 2:
        raise ValueError(
            "intra_list_diversity needs lists of at least 2 items (k >= 2)"
        )
    n_pairs = k * (k - 1) / 2.0
    needed = int(top.max()) + 1 if top.size else 0
    if item_features is not None:
        feats = np.asarray(item_features, dtype=np.float64)
        if feats.ndim != 2 or feats.shape[0] < needed:
            raise ValueError(
                f"item_features must have shape (n_items, d) with n_items >= {needed}, "
                f"got {feats.shape}"
            )
        if not np.isfinite(feats).all():
            raise ValueError("item_features holds nan or inf")
        norms = np.linalg.norm(feats, axis=1)
        used = np.unique(top)
        zero = used[norms[used] == 0]
        if zero.size:
            raise ValueError(
                f"{zero.size} recommended item(s) have an all-zero feature vector "
                f"(first: item {int(zero[0])}); cosine distance is undefined for them"
            )
        unit = feats / np.where(norms > 0, norms, 1.0)[:, None]
        vecs = unit[top]  # (n, k, d)
        summed = vecs.sum(axis=1)  # (n, d)
        # sum_{i<j} cos_ij = (|sum v|^2 - sum |v|^2) / 2, with |v| = 1
        sim = ((summed**2).sum(axis=1) - k) / 2.0
        per = 1.0 - sim / n_pairs
    else:
        cats = np.asarray(item_categories)
        if cats.ndim != 1 or cats.shape[0] < needed:
            raise ValueError(
                f"item_categories must have shape (n_items,) with n_items >= {needed}, "
                f"got {cats.shape}"
            )
        labels = np.sort(cats[top], axis=1)  # (n, k)
        new_run = np.ones(labels.shape, dtype=bool)
        new_run[:, 1:] = labels[:, 1:] != labels[:, :-1]
        pos = np.broadcast_to(np.arange(k), labels.shape)
        run_start = np.maximum.accumulate(np.where(new_run, pos, 0), axis=1)
        same_pairs = (pos - run_start).sum(
            axis=1
        )  # each item pairs with earlier equals
        per = 1.0 - same_pairs / n_pairs
    return per if per_user else float(per.mean())


def novelty(top_items, item_popularity, k: int | None = None, per_user: bool = False):
    """Mean self-information ``-log2 p(i)`` of the recommended items.

    Introduced in Chapter 3 (after Zhou et al., 2010). Recommending rarely
    seen items scores high; recommending what everyone has seen scores low.

    Args:
        top_items: integer array ``(n_users, n_ranked)`` of ranked item ids.
        item_popularity: float array ``(n_items,)`` of probabilities
            ``p(i)`` in ``(0, 1]``, typically the share of training users who
            interacted with item ``i``:
            ``np.bincount(train_items, minlength=n_items) / n_users``. Items
            never seen in training have ``p = 0``; smooth them first, e.g.
            ``(count + 1) / (n_users + 1)``.
        k: read only the first ``k`` columns (default: all of them).
        per_user: return the ``(n_users,)`` array instead of its mean.

    Returns:
        Mean novelty in bits over users (or the per-user array).

    Raises:
        ValueError: if a probability is outside ``(0, 1]`` for a recommended
            item (e.g. raw counts were passed), or shapes do not fit.
    """
    top, _ = _as_rankings(top_items, k)
    pop = _item_vector(item_popularity, int(top.max()) + 1, "item_popularity")
    p = pop[top]
    if (p > 1).any():
        raise ValueError(
            "item_popularity must be probabilities in (0, 1], got values > 1; "
            "divide interaction counts by the number of users"
        )
    if (p <= 0).any():
        item = int(top[p <= 0][0])
        raise ValueError(
            f"item {item} is recommended but has popularity {pop[item]} (never seen in "
            "training?); -log2(0) is infinite -- smooth, e.g. (count + 1) / (n_users + 1)"
        )
    per = (-np.log2(p)).mean(axis=1)
    return per if per_user else float(per.mean())


def popularity_bias(
    top_items, item_popularity, k: int | None = None, per_user: bool = False
):
    """Average Recommendation Popularity (ARP) of the lists.

    Introduced in Chapter 3 (after Abdollahpouri et al., 2019). The mean, over
    users, of the mean popularity of the items in each list. Compare it with
    the catalog's mean popularity: a model that only shows hits has a far
    higher ARP.

    Args:
        top_items: integer array ``(n_users, n_ranked)`` of ranked item ids.
        item_popularity: non-negative float array ``(n_items,)``, e.g. the
            number of training interactions per item (the result is in the
            same unit).
        k: read only the first ``k`` columns (default: all of them).
        per_user: return the ``(n_users,)`` array instead of its mean.

    Returns:
        ARP as a float (or the per-user array).

    Raises:
        ValueError: for negative popularity values or shapes that do not fit.
    """
    top, _ = _as_rankings(top_items, k)
    pop = _item_vector(item_popularity, int(top.max()) + 1, "item_popularity")
    if (pop < 0).any():
        raise ValueError("item_popularity must be >= 0")
    per = pop[top].mean(axis=1)
    return per if per_user else float(per.mean())


def mean_item_age(
    top_items, item_launch_time, serve_time, k: int | None = None, per_user=False
):
    """Freshness: the mean age of the recommended items when the list is served.

    Introduced in Chapter 8. The age of item ``i`` on a list served at time
    ``t`` is ``t - item_launch_time[i]``, in the unit of the inputs (days for
    ShopSim's ``launch_day``); a lower mean age is a fresher list.

    Args:
        top_items: integer array ``(n_users, n_ranked)`` of ranked item ids.
        item_launch_time: array ``(n_items,)``, when each item became available.
        serve_time: when each list was served: one number for all rows or an
            array ``(n_users,)``, in the unit of ``item_launch_time``.
        k: read only the first ``k`` columns (default: all of them).
        per_user: return the ``(n_users,)`` array instead of its mean.

    Returns:
        The mean age over users (each user's list averaged first), or the
        per-user array.

    Raises:
        TypeError: for non-integer item ids.
        ValueError: for shapes that do not fit, nan/inf times, or an item
            listed before its launch (a negative age; drop items not launched
            on the serving day first, as a shop's business rules do).
    """
    top, _ = _as_rankings(top_items, k)
    launch = _item_vector(item_launch_time, int(top.max()) + 1, "item_launch_time")
    t = np.asarray(serve_time, dtype=np.float64)
    if t.ndim == 0:
        t = np.full(top.shape[0], float(t))
    if t.shape != (top.shape[0],):
        raise ValueError(
            f"serve_time must be one number or one per row of top_items "
            f"({top.shape[0]},), got shape {t.shape}"
        )
    if not np.isfinite(t).all():
        raise ValueError("serve_time holds nan or inf")
    age = t[:, None] - launch[top]
    if (age < 0).any():
        row, col = (int(x[0]) for x in np.nonzero(age < 0))
        raise ValueError(
            f"row {row} lists item {int(top[row, col])}, launched at "
            f"{launch[top[row, col]]:g}, before its launch (served at {t[row]:g}); "
            f"{int((age < 0).sum())} such entries -- drop unlaunched items first"
        )
    per = age.mean(axis=1)
    return per if per_user else float(per.mean())


def latency_summary(seconds_per_user) -> dict[str, float]:
    """Summarize per-request latencies, as a serving dashboard would.

    Introduced in Chapter 3. Means hide tail latency; report the median and
    the 99th percentile too.

    Args:
        seconds_per_user: 1-D array-like of wall times in seconds, one per
            request (user), shape ``(n,)``.

    Returns:
        ``{"n", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms"}`` --
        the count and the times in milliseconds.

    Raises:
        ValueError: if the input is empty, not 1-D, negative or not finite.
    """
    t = np.asarray(seconds_per_user, dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(
            f"seconds_per_user must be a non-empty 1-D array, got shape {t.shape}"
        )
    if not np.isfinite(t).all() or (t < 0).any():
        raise ValueError("seconds_per_user must hold finite times >= 0")
    ms = t * 1000.0
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return {
        "n": int(t.size),
        "mean_ms": float(ms.mean()),
        "p50_ms": float(p50),
        "p90_ms": float(p90),
        "p99_ms": float(p99),
        "max_ms": float(ms.max()),
    }
