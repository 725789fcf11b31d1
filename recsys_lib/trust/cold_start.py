"""Cold start: recommending to new users and new items.

Introduced in Chapter 11 ("Trust"). A new user has no history and a new item
has no interactions, so a collaborative model has nothing to work with. The
tools here are the baselines and simulations of the chapter:

* :class:`SegmentPopular` -- the most popular items *within the user's
  segment* (for example gender x age band), shrunk towards overall popularity;
* :func:`truncate_histories` -- keep only a user's first ``n`` interactions,
  to measure a model at 0, 1, 3, 10 interactions;
* :func:`onboarding_shortlist` and :func:`onboarding_answers` -- an
  onboarding question ("which of these do you like?") and a simulated answer;
* :func:`content_scores` -- a content profile (the mean feature vector of the
  history) matched to every item by cosine, which scores items nobody has
  interacted with yet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..checks import check_id_array, check_int, check_number
from ..config import ITEM_COL, USER_COL
from ..data import interactions_to_csr
from ..models import Estimator

__all__ = [
    "SegmentPopular",
    "content_scores",
    "onboarding_answers",
    "onboarding_shortlist",
    "truncate_histories",
]


class SegmentPopular(Estimator):
    """Popularity within a user segment, for users without history.

    Introduced in Chapter 11. The score of item ``i`` for a user of segment
    ``s`` is ``(c_si + shrinkage * p_i) / (n_s + shrinkage)`` with ``c_si``
    the number of users of ``s`` who interacted with ``i``, ``n_s`` the
    segment's number of users with at least one interaction and ``p_i`` the
    share of all such users who interacted with ``i``: a small segment falls
    back on overall popularity. Users without interactions (the new users
    themselves) are not counted.

    Args:
        segments: int array ``(n_users,)``, the segment of every user
            (known at sign-up: demographics, region, the landing page).
        shrinkage: pseudo-users of overall popularity added to each segment.
    """

    def __init__(self, segments, shrinkage: float = 20.0) -> None:
        super().__init__()
        self.segments = check_id_array(segments, "segments")
        self.shrinkage = check_number(shrinkage, "shrinkage", low=0.0)

    def _fit(self, X: sp.csr_matrix) -> None:
        if self.segments.size != X.shape[0]:
            raise ValueError(
                f"segments has {self.segments.size} entries but n_users={X.shape[0]}; "
                "give one segment per user"
            )
        n_seg = int(self.segments.max()) + 1 if self.segments.size else 0
        # Only users with at least one interaction count: new users (empty
        # rows) would dilute their segment's popularity.
        active = (X.getnnz(axis=1) > 0).astype(np.float64)
        onehot = sp.csr_matrix(
            (active, (self.segments, np.arange(X.shape[0]))),
            shape=(n_seg, X.shape[0]),
        )
        counts = np.asarray((onehot @ X).todense())  # (n_seg, n_items)
        sizes = np.asarray(onehot.sum(axis=1)).ravel()  # active users per segment
        share = np.asarray(X.sum(axis=0)).ravel() / max(active.sum(), 1.0)
        self.segment_scores = (counts + self.shrinkage * share) / (
            sizes[:, None] + self.shrinkage + 1e-12
        )

    def _score(self, users: np.ndarray) -> np.ndarray:
        return self.segment_scores[self.segments[users]]


def _check_frame(df, name: str, where: str, cols=(USER_COL, ITEM_COL)) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{where}: {name} must be a DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{where}: {name} lacks column(s) {missing}")


def truncate_histories(
    train: pd.DataFrame, users, n: int, time_col: str | None = "timestamp"
) -> pd.DataFrame:
    """The first ``n`` interactions of each of ``users`` (a new user's start).

    Introduced in Chapter 11. Rows are ordered per user by ``time_col``
    (stable sort; ``None`` keeps the row order), so the result is what the
    shop knew after the user's ``n``-th interaction. Users with fewer than
    ``n`` interactions keep all of theirs; ``n=0`` gives an empty frame.

    Raises:
        ValueError: for ``n < 0``, a missing column or a user with no rows.
    """
    where = "truncate_histories"
    _check_frame(train, "train", where)
    n = check_int(n, "n", low=0, where=where)
    users = check_id_array(users, "users")
    rows = train[train[USER_COL].isin(users)]
    missing = np.setdiff1d(users, rows[USER_COL].unique())
    if missing.size:
        raise ValueError(
            f"{where}: user(s) {missing[:5].tolist()} have no rows in train"
        )
    if time_col is not None:
        if time_col not in rows.columns:
            raise ValueError(f"{where}: train lacks the time column {time_col!r}")
        rows = rows.sort_values([USER_COL, time_col], kind="stable")
    else:
        rows = rows.sort_values(USER_COL, kind="stable")
    return rows[rows.groupby(USER_COL).cumcount() < n]


def onboarding_shortlist(train, n_users: int, n_items: int, size: int) -> np.ndarray:
    """Items to show in an onboarding question, chosen for coverage.

    Introduced in Chapter 11. Greedy maximum coverage: repeatedly pick the
    item liked by the most users not yet covered by an earlier pick (ties go
    to the lower id), so that as many new users as possible find something
    they know. Plain popularity would show ten blockbusters liked by the
    same crowd.

    Returns:
        int64 array ``(size,)`` of item ids in the order they were picked.
    """
    size = check_int(size, "size", low=1, high=n_items, where="onboarding_shortlist")
    X = interactions_to_csr(train, n_users, n_items, name="train").tocsc()
    covered = np.zeros(n_users, dtype=bool)
    picked: list[int] = []
    for _ in range(size):
        gain = np.asarray(X[~covered].sum(axis=0)).ravel()
        gain[picked] = -1
        best = int(np.argmax(gain))  # first maximum: the lowest id
        picked.append(best)
        covered[X[:, best].nonzero()[0]] = True
    return np.asarray(picked, dtype=np.int64)


def onboarding_answers(
    full_history: pd.DataFrame, users, shortlist, n: int
) -> pd.DataFrame:
    """Simulated answers: the shortlist items each user liked, up to ``n``.

    Introduced in Chapter 11. A user shown the shortlist ticks the items they
    like; we take the items of the shortlist that are in the user's (hidden)
    full history, in shortlist order. Users who like none answer nothing.

    Returns:
        A DataFrame with ``user_id`` and ``item_id`` columns.
    """
    where = "onboarding_answers"
    _check_frame(full_history, "full_history", where)
    n = check_int(n, "n", low=0, where=where)
    users = check_id_array(users, "users")
    shortlist = check_id_array(shortlist, "shortlist")
    if shortlist.size == 0:
        raise ValueError(f"{where}: shortlist is empty")
    order = pd.Series(np.arange(shortlist.size), index=shortlist)
    rows = full_history[
        full_history[USER_COL].isin(users) & full_history[ITEM_COL].isin(shortlist)
    ][[USER_COL, ITEM_COL]].drop_duplicates()
    rows = rows.assign(_order=order.loc[rows[ITEM_COL]].to_numpy())
    rows = rows.sort_values([USER_COL, "_order"], kind="stable")
    rows = rows[rows.groupby(USER_COL).cumcount() < n]
    return rows[[USER_COL, ITEM_COL]].reset_index(drop=True)


def content_scores(history: sp.spmatrix, item_features) -> np.ndarray:
    """Cosine between each user's content profile and every item.

    Introduced in Chapter 11. The profile of a user is the mean feature vector
    of the items in their history (rows of ``history``); items never
    interacted with are scored from their features alone, which is what a
    new item needs. A user with an empty history scores 0 everywhere.

    Args:
        history: ``(n_users, n_items)`` sparse binary matrix.
        item_features: float array ``(n_items, F)`` (genres, categories,
            text or image embeddings of Chapter 5).

    Returns:
        float32 array ``(n_users, n_items)``.
    """
    if not sp.issparse(history):
        raise TypeError(
            f"content_scores: history must be a scipy sparse matrix, got {type(history).__name__}"
        )
    feats = np.asarray(item_features, dtype=np.float64)
    if feats.ndim != 2 or feats.shape[0] != history.shape[1]:
        raise ValueError(
            f"content_scores: item_features must be (n_items={history.shape[1]}, F), "
            f"got shape {feats.shape}"
        )
    H = sp.csr_matrix(history, dtype=np.float64)
    counts = np.asarray(H.sum(axis=1)).ravel()
    profile = (H @ feats) / np.maximum(counts, 1.0)[:, None]  # (n_users, F)
    unit = feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
    profile /= np.maximum(np.linalg.norm(profile, axis=1, keepdims=True), 1e-12)
    return (profile @ unit.T).astype(np.float32)
