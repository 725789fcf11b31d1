"""Re-ranking the ranked candidates: diversity (MMR) and the shop's business rules.

Introduced in Chapter 8 ("Two-stage recall and ranking"), the third stage
after retrieval and ranking:

* :func:`mmr_rerank` -- maximal marginal relevance (Carbonell & Goldstein,
  1998): trade some relevance for items unlike the ones already chosen;
* :func:`apply_business_rules` -- drop what must not be shown (out of stock,
  already bought) and cap the items per category, keeping the order of the
  rest.

Both take candidates as int ``(B, C)`` item ids, best first, with ``-1``
padding, and their ``(B, C)`` scores.
"""

from __future__ import annotations

import numpy as np

from ..checks import check_int, check_number
from .candidates import (
    PAD_ITEM,
    _check_k,
    _check_on_short,
    _check_users,
    _check_vectors,
    _compact,
    _Exclusion,
    _first_in_row,
    _handle_short,
    _to_numpy,
)

__all__ = ["apply_business_rules", "mmr_rerank"]


def _check_candidates(candidates, scores, n_items: int | None = None):
    """``(items (B, C) int64, scores (B, C) float64)``; -1 = padding."""
    items = np.asarray(_to_numpy(candidates))
    sc = np.asarray(_to_numpy(scores))
    if items.ndim != 2:
        raise ValueError(f"candidates must be 2-D (B, C), got shape {items.shape}")
    if items.shape[0] == 0 or items.shape[1] == 0:
        raise ValueError(f"candidates is empty, shape {items.shape}")
    if not np.issubdtype(items.dtype, np.integer):
        raise TypeError(
            f"candidates must hold integer item ids, got dtype {items.dtype}"
        )
    if sc.shape != items.shape:
        raise ValueError(
            f"scores has shape {sc.shape} but candidates has shape {items.shape}"
        )
    if not np.issubdtype(sc.dtype, np.floating) and not np.issubdtype(
        sc.dtype, np.integer
    ):
        raise TypeError(f"scores must be numeric, got dtype {sc.dtype}")
    items = items.astype(np.int64)
    sc = sc.astype(np.float64)
    if (items < PAD_ITEM).any():
        raise ValueError("candidates holds negative ids other than the padding id -1")
    valid = items >= 0
    if n_items is not None and items.max() >= n_items:
        raise ValueError(
            f"candidates holds item id {int(items.max())} but the catalog has {n_items} items"
        )
    if np.isnan(sc[valid]).any():
        row = int(np.flatnonzero(np.isnan(np.where(valid, sc, 0.0)).any(axis=1))[0])
        raise ValueError(f"scores hold nan (first in row {row})")
    dup = ~_first_in_row(np.where(valid, items, -1)) & valid
    if dup.any():
        row = int(np.flatnonzero(dup.any(axis=1))[0])
        raise ValueError(
            f"candidates row {row} repeats an item; candidates must be unique"
        )
    return items, sc, valid


def mmr_rerank(
    candidates,
    scores,
    item_vectors,
    lambda_: float = 0.5,
    k: int = 10,
    normalize: bool = True,
    on_short: str = "raise",
) -> tuple[np.ndarray, np.ndarray]:
    r"""Maximal marginal relevance re-ranking (Carbonell & Goldstein, 1998).

    Introduced in Chapter 8. Greedily builds each list: the next item is

    .. math:: \arg\max_{i \notin S} \; \lambda\, r_i
              - (1 - \lambda) \max_{j \in S} \cos(v_i, v_j)

    where ``r`` is the relevance score and ``S`` the items chosen so far.
    ``lambda_ = 1`` keeps the relevance order; smaller values trade
    relevance for items unlike the ones already shown. Ties go to the
    earlier candidate.

    Args:
        candidates: int ``(B, C)`` item ids (``-1`` = padding, never chosen).
        scores: float ``(B, C)`` relevance (e.g. the ranker's logits).
        item_vectors: float ``(n_items, d)``; similarity is their cosine
            (the rows of candidates must not be all zero).
        lambda_: in ``[0, 1]``.
        k: list length, ``1 <= k <= C``.
        normalize: min-max scale each row's relevance to ``[0, 1]`` first,
            so that ``lambda_`` means the same whatever the score scale
            (cosines lie in ``[-1, 1]``).
        on_short: rows with fewer than ``k`` real candidates: ``"raise"``
            or ``"pad"`` (``-1``, score ``-inf``).

    Returns:
        ``(items (B, k) int64, scores (B, k) float32)``: the chosen items and
        their original relevance scores, in the order chosen.

    Raises:
        TypeError, ValueError: for bad shapes or dtypes, nan scores, ids out
            of range, repeated candidates, ``lambda_`` outside ``[0, 1]``, bad
            ``k``, zero vectors, or short rows with ``on_short="raise"``.
    """
    V = _check_vectors(item_vectors, "item_vectors").astype(np.float64)
    items, sc, valid = _check_candidates(candidates, scores, V.shape[0])
    lam = check_number(lambda_, "lambda_", low=0.0, high=1.0)
    B, C = items.shape
    k = _check_k(k, C, "each candidate list")
    _check_on_short(on_short)
    _handle_short(np.where(valid, items, -1), None, k, on_short, "mmr_rerank")
    norms = np.linalg.norm(V, axis=1)
    used = np.unique(items[valid])
    if (norms[used] == 0).any():
        raise ValueError(
            f"item {int(used[norms[used] == 0][0])} has an all-zero vector; its cosine is undefined"
        )
    unit = V / np.where(norms > 0, norms, 1.0)[:, None]
    vecs = unit[np.maximum(items, 0)]  # (B, C, d)
    rel = np.where(valid, sc, 0.0)
    if normalize:
        lo = np.where(valid, sc, np.inf).min(axis=1, keepdims=True)
        hi = np.where(valid, sc, -np.inf).max(axis=1, keepdims=True)
        span = np.where(hi > lo, hi - lo, 1.0)
        rel = np.where(valid, (sc - lo) / span, 0.0)
    available = valid.copy()
    max_sim = np.zeros((B, C))
    out_items = np.full((B, k), PAD_ITEM, dtype=np.int64)
    out_scores = np.full((B, k), -np.inf, dtype=np.float32)
    rows = np.arange(B)
    for step in range(k):
        penalty = max_sim if step else 0.0
        obj = np.where(available, lam * rel - (1.0 - lam) * penalty, -np.inf)
        pick = obj.argmax(axis=1)  # first maximum: ties go to the earlier candidate
        ok = available[rows, pick]
        out_items[ok, step] = items[rows[ok], pick[ok]]
        out_scores[ok, step] = sc[rows[ok], pick[ok]]
        available[rows, pick] = False
        sim = np.einsum("bcd,bd->bc", vecs, vecs[rows, pick])  # (B, C)
        max_sim = np.maximum(max_sim, sim) if step else sim
    return out_items, out_scores


def apply_business_rules(
    candidates,
    scores,
    *,
    in_stock=None,
    exclude=None,
    user_ids=None,
    item_categories=None,
    max_per_category: int | None = None,
    k: int | None = None,
    on_short: str = "pad",
) -> tuple[np.ndarray, np.ndarray]:
    """Drop candidates that break shop rules, keeping the order of the rest.

    Introduced in Chapter 8. Three rules, applied together:

    * ``in_stock``: drop items marked False;
    * ``exclude``: drop items a user must not see again (e.g. bought); any
      form :meth:`Retriever.retrieve` accepts -- the forms keyed by user id
      need ``user_ids``;
    * ``max_per_category``: keep at most this many items of one category
      per list (the best ones, in list order); needs ``item_categories``.

    Args:
        candidates: int ``(B, C)`` item ids, best first (``-1`` = padding).
        scores: float ``(B, C)``.
        in_stock: bool ``(n_items,)``.
        exclude: see above.
        user_ids: int ``(B,)``, the users of the rows.
        item_categories: int ``(n_items,)``.
        max_per_category: a positive int.
        k: length of the output rows (default ``C``).
        on_short: ``"pad"`` (default: rules often remove items, the rest is
            padded with ``-1``/``-inf``) or ``"raise"`` for rows with fewer than
            ``k`` items left.

    Returns:
        ``(items (B, k) int64, scores (B, k) float32)``.

    Raises:
        TypeError, ValueError: for bad shapes, dtypes or ids, a rule without
            what it needs, or short rows with ``on_short="raise"``.
    """
    n_items = None
    stock = None
    if in_stock is not None:
        stock = np.asarray(_to_numpy(in_stock))
        if stock.ndim != 1 or stock.dtype != bool:
            raise TypeError(
                f"in_stock must be a 1-D bool array (n_items,), got {stock.dtype} {stock.shape}"
            )
        n_items = stock.size
    cats = None
    if max_per_category is not None:
        max_per_category = check_int(max_per_category, "max_per_category", low=1)
        if item_categories is None:
            raise ValueError("max_per_category needs item_categories")
    if item_categories is not None:
        cats = np.asarray(_to_numpy(item_categories))
        if cats.ndim != 1 or not np.issubdtype(cats.dtype, np.integer):
            raise TypeError(
                f"item_categories must be a 1-D integer array, got {cats.dtype} {cats.shape}"
            )
        if n_items is not None and cats.size != n_items:
            raise ValueError(
                f"item_categories has {cats.size} entries but in_stock has {n_items}"
            )
        n_items = cats.size
    items, sc, valid = _check_candidates(candidates, scores, n_items)
    B, C = items.shape
    k = C if k is None else check_int(k, "k", low=1)
    _check_on_short(on_short)
    users = None if user_ids is None else _check_users(user_ids, None)
    if users is not None and users.size != B:
        raise ValueError(
            f"user_ids has {users.size} entries but candidates has {B} rows"
        )
    keep = valid.copy()
    if stock is not None:
        keep &= stock[np.maximum(items, 0)]
    excl = _Exclusion.build(exclude, users, n_items, B)
    if excl is not None:
        keep &= ~excl.contains(items)
    if max_per_category is not None:
        c = np.where(keep, cats[np.maximum(items, 0)], -1)
        # rank of each entry among the kept entries of its category, in list order
        order = np.argsort(c, axis=1, kind="stable")
        srt = np.take_along_axis(c, order, axis=1)
        pos = np.broadcast_to(np.arange(C), (B, C))
        start = np.maximum.accumulate(
            np.where(np.c_[np.ones((B, 1), bool), srt[:, 1:] != srt[:, :-1]], pos, 0),
            axis=1,
        )
        rank_sorted = pos - start
        rank = np.empty_like(rank_sorted)
        np.put_along_axis(rank, order, rank_sorted, axis=1)
        keep &= rank < max_per_category
    out_items, out_scores = _compact(items, sc, keep, k)
    _handle_short(out_items, users, k, on_short, "apply_business_rules")
    return out_items, out_scores
