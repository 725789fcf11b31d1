"""Interactions as sparse matrices: the conversions every model and metric needs.

Introduced in Chapter 3 ("Measuring a recommender"), where evaluation first
needs "which items did each user interact with" as a matrix, and used from
then on by the estimators, the losses' negative sampler and the retrieval
stage of Chapter 8.

* :func:`interactions_to_csr` turns interactions -- a ``pandas.DataFrame``
  with ``user_id``/``item_id`` columns, a ``(users, items)`` pair of arrays,
  an integer array of shape ``(n, 2)`` or a scipy sparse matrix -- into a
  binary ``(n_users, n_items)`` CSR matrix; :func:`resize_rows` pads one with
  empty rows.
* :func:`relevant_to_csr` turns "the relevant items of each row" (one
  collection per row, or a sparse matrix) into sorted CSR arrays, and
  :func:`hit_matrix` tells, for a table of ranked items, which are relevant.
* :func:`exclusions_to_csr` turns "items never to recommend to each user"
  (a DataFrame, a sparse matrix, a ``dict`` or one collection per row) into
  one CSR row per requested user.

Ids are 0-based and contiguous: map raw ids first (:func:`map_ids`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ..checks import check_id_array, check_int
from ..config import ITEM_COL, USER_COL

__all__ = [
    "DENSE_BUDGET",
    "exclusions_to_csr",
    "hit_matrix",
    "interactions_to_csr",
    "relevant_to_csr",
    "resize_rows",
]

#: Largest ``n_rows * n_items`` for which a dense boolean table (<= 64 MB) is
#: used by :func:`hit_matrix` (and by the duplicate check of the rankings in
#: :mod:`recsys_lib.eval.metrics`); larger inputs take a sorting path.
DENSE_BUDGET = 2**26


# ---------------------------------------------------------------- interactions
def interactions_to_csr(
    data,
    n_users: int | None = None,
    n_items: int | None = None,
    name: str = "interactions",
) -> sp.csr_matrix:
    """Turn interactions into a binary ``(n_users, n_items)`` CSR matrix.

    Introduced in Chapter 3.

    Args:
        data: a DataFrame with ``user_id`` and ``item_id`` columns (other
            columns are ignored), a ``(users, items)`` tuple of 1-D integer
            arrays, an integer array of shape ``(n, 2)``, or a scipy sparse
            matrix (its non-zeros are the interactions).
        n_users, n_items: the matrix shape; default ``max id + 1``. Ids must
            be in ``[0, n_users)`` and ``[0, n_items)``.
        name: what to call ``data`` in error messages.

    Returns:
        A float32 CSR matrix with ones at the interactions (repeated pairs
        count once) and sorted column indices.

    Raises:
        TypeError: for an unsupported kind of ``data`` or non-integer ids.
        ValueError: for negative ids, ids out of range, or a sparse matrix of
            the wrong shape.
    """
    if n_users is not None:
        n_users = check_int(n_users, "n_users", low=1)
    if n_items is not None:
        n_items = check_int(n_items, "n_items", low=1)
    if sp.issparse(data):
        mat = sp.csr_matrix(data, dtype=np.float32, copy=True)
        shape = (n_users or mat.shape[0], n_items or mat.shape[1])
        if mat.shape != shape:
            raise ValueError(
                f"{name} is a sparse matrix of shape {mat.shape}, expected {shape} "
                "(n_users, n_items)"
            )
        mat.eliminate_zeros()
        mat.sum_duplicates()
        mat.data[:] = 1.0
        mat.sort_indices()
        return mat
    if isinstance(data, pd.DataFrame):
        missing = [c for c in (USER_COL, ITEM_COL) if c not in data.columns]
        if missing:
            raise ValueError(
                f"{name} lacks column(s) {missing}; it has {list(data.columns)} "
                f"(expected '{USER_COL}' and '{ITEM_COL}')"
            )
        users, items = data[USER_COL].to_numpy(), data[ITEM_COL].to_numpy()
    elif isinstance(data, tuple) and len(data) == 2:
        users, items = data
    elif isinstance(data, np.ndarray) and data.ndim == 2 and data.shape[1] == 2:
        users, items = data[:, 0], data[:, 1]
    else:
        raise TypeError(
            f"{name} must be a DataFrame with '{USER_COL}'/'{ITEM_COL}', a (users, items) "
            f"tuple, an (n, 2) integer array or a scipy sparse matrix; got {type(data).__name__}"
        )
    users = check_id_array(users, f"{name} user ids")
    items = check_id_array(items, f"{name} item ids")
    if users.shape != items.shape:
        raise ValueError(f"{name}: {users.size} user ids but {items.size} item ids")
    for ids, size, what in ((users, n_users, "user"), (items, n_items, "item")):
        if size is not None and ids.size and ids.max() >= size:
            bad = int((ids >= size).sum())
            raise ValueError(
                f"{name} holds {what} id {int(ids.max())} but n_{what}s={size} "
                f"({bad} row(s) out of range); map ids to 0..n_{what}s-1 first"
            )
    shape = (
        n_users if n_users is not None else (int(users.max()) + 1 if users.size else 0),
        n_items if n_items is not None else (int(items.max()) + 1 if items.size else 0),
    )
    mat = sp.csr_matrix(
        (np.ones(users.size, dtype=np.float32), (users, items)),
        shape=shape,
        dtype=np.float32,
    )
    mat.sum_duplicates()
    mat.data[:] = 1.0
    mat.sort_indices()
    return mat


def resize_rows(mat: sp.csr_matrix, n_rows: int) -> sp.csr_matrix:
    """Pad a CSR matrix with empty rows up to ``n_rows`` rows (never shrinks it).

    Users with ids past the last row of a matrix built from their
    interactions have none; this gives them their (empty) rows.
    """
    if mat.shape[0] >= n_rows:
        return mat
    indptr = np.concatenate(
        [mat.indptr, np.full(n_rows - mat.shape[0], mat.indptr[-1])]
    )
    return sp.csr_matrix((mat.data, mat.indices, indptr), shape=(n_rows, mat.shape[1]))


# ---------------------------------------------------------------- item sets per row
def _collections_to_csr(
    rows, n_items: int | None, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """One collection of item ids per row -> sorted, de-duplicated ``(indptr, indices)``.

    Every row is checked (a collection of integer ids, 1-D); errors name the
    first bad row.
    """
    arrays = []
    for row, entry in enumerate(rows):
        if isinstance(entry, str | bytes) or not hasattr(entry, "__len__"):
            raise TypeError(
                f"each entry of {name} must be a collection of item ids (set, list or "
                f"array); {name}[{row}] is {type(entry).__name__}"
            )
        if isinstance(entry, torch.Tensor):
            a = entry.detach().cpu().numpy()
        elif isinstance(entry, np.ndarray):
            a = entry
        else:
            a = np.asarray(list(entry))
        if a.ndim != 1:
            raise ValueError(f"{name}[{row}] must be 1-D, got shape {a.shape}")
        if a.size and (a.dtype == bool or not np.issubdtype(a.dtype, np.integer)):
            raise TypeError(
                f"{name} must hold integer item ids; {name}[{row}] has dtype {a.dtype}"
            )
        arrays.append(a.astype(np.int64, copy=False))
    n_rows = len(arrays)
    lengths = np.array([a.size for a in arrays], dtype=np.int64)
    flat = np.concatenate(arrays) if arrays else np.zeros(0, np.int64)
    row_of = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
    if flat.size:
        low = int(np.argmin(flat))
        if flat[low] < 0:
            raise ValueError(
                f"{name} holds negative item ids (first: {int(flat[low])} in row "
                f"{int(row_of[low])}); ids must be >= 0"
            )
        high = int(np.argmax(flat))
        if n_items is not None and flat[high] >= n_items:
            raise ValueError(
                f"{name} holds item id {int(flat[high])} (row {int(row_of[high])}) but "
                f"the catalog has only {n_items} items (ids 0..{n_items - 1})"
            )
    # Sort by (row, item) and drop repeated ids: a set of items per row.
    order = np.lexsort((flat, row_of))
    row_of, flat = row_of[order], flat[order]
    if flat.size:
        keep = np.ones(flat.size, dtype=bool)
        keep[1:] = (row_of[1:] != row_of[:-1]) | (flat[1:] != flat[:-1])
        row_of, flat = row_of[keep], flat[keep]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of, minlength=n_rows), out=indptr[1:])
    return indptr, flat


def relevant_to_csr(
    relevant, n_rows: int, name: str = "relevant"
) -> tuple[np.ndarray, np.ndarray]:
    """The relevant item ids of each row as CSR arrays: sorted, de-duplicated.

    Introduced in Chapter 3 (the input of :func:`recsys_lib.eval.ranking_metrics`).

    Args:
        relevant: a sequence of ``n_rows`` collections of item ids (set, list,
            array or tensor), or a scipy sparse matrix with ``n_rows`` rows
            whose non-zeros mark the relevant items.
        n_rows: the number of rows expected (the rows of the rankings).
        name: what to call ``relevant`` in error messages.

    Returns:
        ``(indptr, indices)``: int64 arrays; the items of row ``r`` are
        ``indices[indptr[r]:indptr[r + 1]]``, ascending, each once.

    Raises:
        TypeError: for a string or another non-sequence, an entry that is not
            a collection, or non-integer ids.
        ValueError: for a different number of rows or negative ids.
    """
    if sp.issparse(relevant):
        mat = sp.csr_matrix(relevant, copy=True)
        if mat.ndim != 2 or mat.shape[0] != n_rows:
            raise ValueError(
                f"{name} has {mat.shape[0]} rows but top_items has {n_rows}; "
                "they must describe the same users in the same order"
            )
        mat.eliminate_zeros()
        mat.sum_duplicates()
        mat.sort_indices()
        return mat.indptr.astype(np.int64), mat.indices.astype(np.int64)
    if isinstance(relevant, str | bytes) or not isinstance(
        relevant, Sequence | np.ndarray
    ):
        raise TypeError(
            f"{name} must be a sequence (one collection of item ids per user) or a "
            f"scipy sparse matrix, got {type(relevant).__name__}"
        )
    if len(relevant) != n_rows:
        raise ValueError(
            f"{name} has {len(relevant)} entries but top_items has {n_rows} rows; "
            "they must describe the same users in the same order"
        )
    return _collections_to_csr(relevant, None, name)


def hit_matrix(top: np.ndarray, indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Boolean ``(n_rows, k)`` matrix: is ``top[u, j]`` in the item set of row ``u``?

    Introduced in Chapter 3. ``top`` is an int64 ``(n_rows, k)`` array of
    item ids (>= 0); ``(indptr, indices)`` are the sorted item sets of the
    rows, as :func:`relevant_to_csr` returns them.

    Vectorized membership test. For small inputs (see :data:`DENSE_BUDGET`),
    a dense boolean ``(n_rows, n_items)`` table is filled and gathered.
    Otherwise each (row, item) pair is encoded as one integer, the pairs of
    the sets (sorted by construction) are searched for every ranked pair with
    one ``np.searchsorted``.
    """
    n_rows, k = top.shape
    if indices.size == 0 or top.size == 0:
        return np.zeros((n_rows, k), dtype=bool)
    width = int(max(top.max(), indices.max())) + 1
    row_ids = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(indptr))
    if n_rows * width <= DENSE_BUDGET:  # small enough: dense lookup table
        table = np.zeros((n_rows, width), dtype=bool)
        table[row_ids, indices] = True
        return np.take_along_axis(table, top, axis=1)
    if n_rows * width >= 2**62:  # ids too large to pack: compress them first
        _, inverse = np.unique(
            np.concatenate([top.ravel(), indices]), return_inverse=True
        )
        top = inverse[: top.size].reshape(top.shape)
        indices = inverse[top.size :]
        width = int(inverse.max()) + 1
    rel_keys = row_ids * width + indices  # sorted: rows ascend, items within rows
    top_keys = np.arange(n_rows, dtype=np.int64)[:, None] * width + top
    pos = np.searchsorted(rel_keys, top_keys)
    pos[pos == rel_keys.size] = 0
    return rel_keys[pos] == top_keys


# ---------------------------------------------------------------- exclusions
def exclusions_to_csr(
    exclude,
    user_ids=None,
    n_items: int | None = None,
    n_rows: int | None = None,
    name: str = "exclude",
) -> sp.csr_matrix | None:
    """Items never to recommend, one CSR row per requested user.

    Introduced in Chapter 8, where every retriever and re-ranking rule takes
    an ``exclude`` argument (e.g. what the user already bought).

    Args:
        exclude: ``None`` (nothing to exclude), or one of

            * a DataFrame with ``user_id``/``item_id`` columns or a scipy
              sparse ``(n_users, n_items)`` matrix -- rows are looked up by
              **user id** (users past its last row exclude nothing);
            * a ``dict`` ``{user_id: collection of item ids}`` (also by user
              id; missing users exclude nothing);
            * a list or tuple (or object array) of ``n_rows`` collections,
              one per entry of ``user_ids``, aligned by **position**.
        user_ids: int array ``(B,)`` of the users of the rows; needed by the
            forms keyed by user id.
        n_items: catalog size; item ids must lie in ``[0, n_items)``.
        n_rows: number of rows expected (default ``len(user_ids)``); a list
            must have exactly that many entries.
        name: what to call ``exclude`` in error messages.

    Returns:
        ``None`` for ``exclude=None``; otherwise a CSR matrix of shape
        ``(n_rows, width)`` whose row ``r`` holds the excluded items of the
        ``r``-th user, ascending and each once. ``width`` is ``n_items``
        when given (or the number of columns of a sparse ``exclude``), else
        ``max excluded id + 1`` (at least 1).

    Raises:
        TypeError: for another kind of ``exclude``, non-integer user keys or
            non-integer item ids.
        ValueError: for a keyed form without ``user_ids``, a list of the
            wrong length, negative ids or ids outside the catalog.
    """
    if exclude is None:
        return None
    users = None if user_ids is None else check_id_array(user_ids, "user_ids")
    if n_rows is None:
        if users is None:
            n_rows = len(exclude)
        else:
            n_rows = users.size
    keyed = sp.issparse(exclude) or isinstance(exclude, pd.DataFrame | Mapping)
    if keyed and users is None:
        raise ValueError(
            f"{name} is keyed by user id, so user_ids must be given too "
            "(or pass one collection per row as a list)"
        )
    width = n_items
    if sp.issparse(exclude) or isinstance(exclude, pd.DataFrame):
        csr = interactions_to_csr(exclude, n_items=n_items, name=name)
        if users.size:  # users without any row: nothing to drop
            csr = resize_rows(csr, int(users.max()) + 1)
        sub = csr[users]
        indptr, indices = sub.indptr, sub.indices
        width = csr.shape[1]
    elif isinstance(exclude, Mapping):
        for key in exclude:
            if isinstance(key, bool) or not isinstance(key, int | np.integer):
                raise TypeError(
                    f"{name} keys must be integer user ids, got {type(key).__name__}: "
                    f"{key!r}"
                )
            if key < 0:
                raise ValueError(f"{name} has a negative user id key ({key})")
        indptr, indices = _collections_to_csr(
            [exclude.get(int(u), ()) for u in users], n_items, name
        )
    elif isinstance(exclude, list | tuple) or (
        isinstance(exclude, np.ndarray) and exclude.dtype == object
    ):
        if len(exclude) != n_rows:
            raise ValueError(
                f"{name} has {len(exclude)} entries but there are {n_rows} users; a "
                "list gives one collection per entry of user_ids (by position). For "
                "exclusions keyed by user id pass a dict, a DataFrame or a sparse matrix"
            )
        indptr, indices = _collections_to_csr(exclude, n_items, name)
    else:
        raise TypeError(
            f"{name} must be None, a DataFrame with '{USER_COL}'/'{ITEM_COL}', a scipy "
            "sparse (n_users, n_items) matrix, a dict {user_id: item ids} or a list "
            f"of one collection per user; got {type(exclude).__name__}"
        )
    indptr, indices = np.asarray(indptr, np.int64), np.asarray(indices, np.int64)
    if width is None:
        width = int(indices.max()) + 1 if indices.size else 1
    return sp.csr_matrix(
        (np.ones(indices.size, dtype=np.float32), indices, indptr),
        shape=(indptr.size - 1, width),
    )
