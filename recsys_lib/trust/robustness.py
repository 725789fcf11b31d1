"""Robustness and stability: how much do recommendations move, and can they be pushed?

Introduced in Chapter 11 ("Trust").

* :func:`topk_jaccard` -- the overlap of two top-k lists of the same users
  (two training seeds, or the data before and after a small change);
* :func:`drop_interactions` -- remove a random share of interactions;
* :func:`inject_profiles` -- a shilling attack: fake users who all like a
  target item plus popular "filler" items, so that the target looks similar
  to what real users like (a *bandwagon* attack {cite}`lam2004shilling`);
* :func:`item_ranks` -- where one item lands in each user's ranking.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..checks import check_fraction, check_id_array, check_int
from ..config import ITEM_COL, USER_COL

__all__ = ["drop_interactions", "inject_profiles", "item_ranks", "topk_jaccard"]


def topk_jaccard(top_a, top_b) -> np.ndarray:
    """Per-user Jaccard overlap ``|A & B| / |A | B|`` of two top-k lists.

    Introduced in Chapter 11. Order inside the lists is ignored; 1 means the
    same items, 0 nothing in common.

    Returns:
        float64 ``(n_users,)``.
    """
    a, b = np.asarray(top_a), np.asarray(top_b)
    if a.ndim != 2 or a.shape != b.shape or a.shape[1] == 0:
        raise ValueError(
            f"topk_jaccard: top_a and top_b must be (n_users, k) of the same shape, got {a.shape} and {b.shape}"
        )
    k = a.shape[1]
    inter = (a[:, :, None] == b[:, None, :]).any(axis=2).sum(axis=1)
    return inter / (2 * k - inter)


def drop_interactions(df: pd.DataFrame, fraction: float, seed: int = 0) -> pd.DataFrame:
    """``df`` without a random ``fraction`` of its rows (a small change of the data)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"drop_interactions: df must be a DataFrame, got {type(df).__name__}"
        )
    fraction = check_fraction(fraction, "fraction", where="drop_interactions")
    rng = np.random.default_rng(seed)
    keep = rng.random(len(df)) >= fraction
    return df[keep]


def inject_profiles(
    train: pd.DataFrame,
    n_users: int,
    target_item: int,
    filler_items,
    n_profiles: int,
    filler_size: int,
    seed: int = 0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Add ``n_profiles`` fake users who like ``target_item`` and ``filler_size`` fillers.

    Introduced in Chapter 11. Fake users get ids ``n_users ..
    n_users + n_profiles - 1``; each likes the target and a random sample
    (without replacement) of ``filler_items``. Fit the model with
    ``n_users + n_profiles`` users afterwards.

    Returns:
        The training frame with the fake rows appended, and the fake ids.
    """
    where = "inject_profiles"
    if not isinstance(train, pd.DataFrame):
        raise TypeError(
            f"{where}: train must be a DataFrame, got {type(train).__name__}"
        )
    n_users = check_int(n_users, "n_users", low=1, where=where)
    target_item = check_int(target_item, "target_item", low=0, where=where)
    filler = check_id_array(filler_items, "filler_items", where=where)
    filler = filler[filler != target_item]
    n_profiles = check_int(n_profiles, "n_profiles", low=1, where=where)
    filler_size = check_int(
        filler_size, "filler_size", low=0, high=filler.size, where=where
    )
    rng = np.random.default_rng(seed)
    fake = np.arange(n_users, n_users + n_profiles, dtype=np.int64)
    rows = []
    for u in fake:
        items = np.concatenate(
            [[target_item], rng.choice(filler, filler_size, replace=False)]
        )
        rows.append(pd.DataFrame({USER_COL: u, ITEM_COL: items.astype(np.int64)}))
    extra = pd.concat(rows, ignore_index=True)
    for col in train.columns.difference([USER_COL, ITEM_COL]):
        extra[col] = (
            train[col].max()
            if pd.api.types.is_numeric_dtype(train[col])
            else train[col].iloc[0]
        )
    return pd.concat([train, extra[train.columns]], ignore_index=True), fake


def item_ranks(scores, item: int, exclude: sp.spmatrix | None = None) -> np.ndarray:
    """Rank (1 = top) of ``item`` in each user's scores, among items not excluded.

    Ties count against the item (an item tied with others is ranked below
    them). Users for whom the item is excluded get rank 0.
    """
    s = np.array(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(
            f"item_ranks: scores must be (n_users, n_items), got shape {s.shape}"
        )
    item = check_int(item, "item", low=0, high=s.shape[1] - 1, where="item_ranks")
    if exclude is not None:
        if exclude.shape != s.shape:
            raise ValueError(
                f"item_ranks: exclude has shape {exclude.shape}, scores {s.shape}"
            )
        rows, cols = sp.coo_matrix(exclude).nonzero()
        s[rows, cols] = -np.inf
    target = s[:, item]
    ranks = (s >= target[:, None]).sum(axis=1)
    ranks[~np.isfinite(target)] = 0
    return ranks.astype(np.int64)
