"""What every retrieval stage speaks: candidate lists, exclusions and input checks.

Introduced in Chapter 8 ("Two-stage recall and ranking").

* :class:`Candidates` -- what a retriever returns: ``(B, k)`` item ids and
  scores, best first, with the source of every candidate; it unpacks like
  the pair ``items, scores``;
* :data:`PAD_ITEM` (``-1``) marks an empty slot, always at the end of a row,
  with score ``-inf``; :data:`ON_SHORT` says what to do when a user has fewer
  than ``k`` items left (``"raise"`` or ``"pad"``);
* exclusions ("never return what this user already bought") in any of the
  forms of :func:`recsys_lib.data.interactions.exclusions_to_csr`, held as one
  CSR row per requested user.

The checks here are shared by the other modules of the package; they raise
``TypeError`` for a value of the wrong kind and ``ValueError`` for one out of
range, as :mod:`recsys_lib.checks` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..checks import check_choice, check_id_array, check_int
from ..data.interactions import exclusions_to_csr, hit_matrix

__all__ = ["ON_SHORT", "PAD_ITEM", "Candidates"]

#: Item id of an empty slot in a padded row (``on_short="pad"``); its score is ``-inf``.
PAD_ITEM = -1
#: What to do when a user has fewer than ``k`` items left.
ON_SHORT = ("raise", "pad")


# ================================================================ input checks
def _to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return x


def _check_k(k, n_items: int, what: str = "the catalog") -> int:
    """``1 <= k <= n_items``."""
    k = check_int(k, "k", low=1)
    if k > n_items:
        raise ValueError(
            f"k={k} but {what} has only {n_items} items; ask for at most {n_items}"
        )
    return k


def _check_on_short(on_short) -> str:
    return check_choice(on_short, "on_short", ON_SHORT)


def _check_users(user_ids, n_users: int | None, name: str = "user_ids") -> np.ndarray:
    """A non-empty 1-D int64 array of ids in ``[0, n_users)``."""
    arr = np.asarray(_to_numpy(user_ids))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (B,), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: nobody to recommend for")
    arr = check_id_array(arr, name)  # integer ids, none negative
    if n_users is not None and arr.max() >= n_users:
        raise ValueError(
            f"{name} holds id {int(arr.max())} but only {n_users} users exist "
            f"(ids 0..{n_users - 1})"
        )
    return arr


def _check_vectors(x, name: str, dim: int | None = None) -> np.ndarray:
    """A finite, non-empty, C-contiguous float32 ``(n, d)`` array."""
    arr = np.asarray(_to_numpy(x))
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"{name} must be a float array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n, d), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty, shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(
            f"{name} has {arr.shape[1]} dimensions but the index holds {dim}-d vectors"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{name} holds nan or inf ({int(bad.sum())} row(s), first: row "
            f"{int(np.flatnonzero(bad)[0])})"
        )
    return arr


def _check_item_vector(values, name: str, n_items: int | None = None) -> np.ndarray:
    """A finite float64 ``(n_items,)`` array."""
    arr = np.asarray(_to_numpy(values))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_items,), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if n_items is not None and arr.size != n_items:
        raise ValueError(f"{name} has {arr.size} entries, expected n_items={n_items}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        first = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name} holds nan or inf (first at item {first})")
    return arr


# ================================================================ item sets per row
def _in_rows(items: np.ndarray, indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """bool, shape of ``items`` ``(B, C)``: is ``items[r, j]`` in the item set of row ``r``?

    The sets are sorted CSR arrays (``indptr``, ``indices``); padding (``-1``)
    is in no set. :func:`recsys_lib.data.interactions.hit_matrix` does the lookup.
    """
    items = np.asarray(items, dtype=np.int64)
    return (items >= 0) & hit_matrix(np.maximum(items, 0), indptr, indices)


class _Exclusion:
    """Items to exclude for each of ``B`` rows, as a CSR ``(indptr, indices)``."""

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, width: int) -> None:
        self.indptr = indptr.astype(np.int64)
        self.indices = indices.astype(np.int64)
        self.width = int(width)
        self.counts = np.diff(self.indptr)
        self.rows = np.repeat(np.arange(self.counts.size, dtype=np.int64), self.counts)

    @property
    def n_rows(self) -> int:
        return self.counts.size

    @classmethod
    def build(
        cls,
        exclude,
        users: np.ndarray | None,
        n_items: int | None,
        n_rows: int,
        name: str = "exclude",
    ) -> _Exclusion | None:
        """Any form :func:`~recsys_lib.data.interactions.exclusions_to_csr` accepts."""
        if exclude is None:
            return None
        if isinstance(exclude, _Exclusion):
            if exclude.n_rows != n_rows:
                raise ValueError(f"{name} has {exclude.n_rows} rows, expected {n_rows}")
            return exclude
        m = exclusions_to_csr(exclude, users, n_items, n_rows, name)
        return cls(m.indptr, m.indices, m.shape[1])

    def subset(self, idx: np.ndarray) -> _Exclusion:
        """The rows ``idx`` (positions), in that order."""
        idx = np.asarray(idx, dtype=np.int64)
        starts, lengths = self.indptr[idx], self.counts[idx]
        indptr = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        pos = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        return _Exclusion(indptr, self.indices[pos], self.width)

    def contains(self, items: np.ndarray) -> np.ndarray:
        """bool, shape of ``items`` ``(B, C)``: is ``items[r, j]`` excluded for row ``r``?"""
        return _in_rows(items, self.indptr, self.indices)


# ================================================================ short rows
def _compact(items: np.ndarray, scores: np.ndarray, keep: np.ndarray, width: int):
    """Move the kept entries of each row to the front (order kept), pad, cut to width."""
    order = np.argsort(~keep, axis=1, kind="stable")[:, :width]
    kept = np.take_along_axis(keep, order, axis=1)
    items = np.where(kept, np.take_along_axis(items, order, axis=1), PAD_ITEM)
    scores = np.where(kept, np.take_along_axis(scores, order, axis=1), -np.inf)
    if items.shape[1] < width:  # fewer columns than asked: pad on the right
        extra = width - items.shape[1]
        items = np.pad(items, ((0, 0), (0, extra)), constant_values=PAD_ITEM)
        scores = np.pad(scores, ((0, 0), (0, extra)), constant_values=-np.inf)
    return items.astype(np.int64), scores.astype(np.float32)


def _handle_short(items: np.ndarray, users, k: int, on_short: str, who: str) -> None:
    n_valid = (items >= 0).sum(axis=1)
    short = np.flatnonzero(n_valid < k)
    if short.size and on_short == "raise":
        row = int(short[0])
        user = int(users[row]) if users is not None else row
        raise ValueError(
            f"{who}: {short.size} user(s) have fewer than k={k} items available "
            f"(e.g. user {user}: {int(n_valid[row])}) after exclusions; ask for fewer, "
            "or pass on_short='pad' to fill the rows with -1 (score -inf)"
        )


def _first_in_row(keys: np.ndarray) -> np.ndarray:
    """bool, same shape: is ``keys[r, j]`` the first occurrence of its value in row r?"""
    order = np.argsort(keys, axis=1, kind="stable")
    srt = np.take_along_axis(keys, order, axis=1)
    first_sorted = np.ones(keys.shape, dtype=bool)
    first_sorted[:, 1:] = srt[:, 1:] != srt[:, :-1]
    first = np.empty_like(first_sorted)
    np.put_along_axis(first, order, first_sorted, axis=1)
    return first


# ================================================================ candidates
@dataclass
class Candidates:
    """What a retriever returns. Introduced in Chapter 8.

    Unpacks like the pair ``items, scores = retriever.retrieve(...)``.

    Attributes:
        items: int64 ``(B, k)`` item ids, best first; :data:`PAD_ITEM` (``-1``)
            marks empty slots, always at the end of a row.
        scores: float32 ``(B, k)``, each source on its own scale; ``-inf`` at
            empty slots.
        source: int64 ``(B, k)``: index into ``source_names`` of the source
            that proposed each candidate (``-1`` at empty slots).
        source_names: the names of the sources.
        fallback: bool ``(B,)``: True for users served by the cold-start
            fallback of a :class:`~recsys_lib.retrieval.MergedRetriever`.
        user_ids: int64 ``(B,)``, the users of the rows.
    """

    items: np.ndarray
    scores: np.ndarray
    source: np.ndarray
    source_names: tuple[str, ...]
    fallback: np.ndarray
    user_ids: np.ndarray

    def __iter__(self):
        yield self.items
        yield self.scores

    def __len__(self) -> int:
        return self.items.shape[0]

    @property
    def n_valid(self) -> np.ndarray:
        """int64 ``(B,)``: real (non-padding) candidates per row."""
        return (self.items >= 0).sum(axis=1)

    def from_source(self, name: str) -> np.ndarray:
        """bool ``(B, k)``: which candidates come from source ``name``."""
        if name not in self.source_names:
            raise ValueError(
                f"unknown source {name!r}; the sources are {list(self.source_names)}"
            )
        return self.source == self.source_names.index(name)

    def source_counts(self) -> dict[str, int]:
        """Number of candidates from each source (all rows together)."""
        counts = np.bincount(
            self.source[self.source >= 0], minlength=len(self.source_names)
        )
        return {n: int(c) for n, c in zip(self.source_names, counts, strict=True)}

    def __repr__(self) -> str:
        B, k = self.items.shape
        return (
            f"Candidates({B} users x {k}, sources={list(self.source_names)}, "
            f"fallback users={int(self.fallback.sum())}, padded slots="
            f"{int((self.items < 0).sum())})"
        )


def _single_source(items, scores, users, name: str) -> Candidates:
    return Candidates(
        items=items,
        scores=scores,
        source=np.where(items >= 0, 0, -1).astype(np.int64),
        source_names=(name,),
        fallback=np.zeros(items.shape[0], dtype=bool),
        user_ids=users,
    )
