"""Merging candidate sources: quotas or round-robin, no duplicates, a cold-start fallback.

Introduced in Chapter 8 ("Two-stage recall and ranking"). Each source is
good at something -- the two-tower model at personal taste, popularity at
what everyone buys, the recent category at the current session -- so a shop
asks several and merges their lists:

* :func:`merge_candidates` -- the merge itself, on arrays: quotas (shares
  scaled to integers by the largest-remainder rule) or round-robin, skipping
  items already taken, refilling from the others when a source runs short;
* :class:`MergedRetriever` -- sources as one :class:`~recsys_lib.retrieval.Retriever`
  whose candidates remember their source, with users without history sent to
  a fallback source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..checks import check_int, check_number
from .candidates import (
    PAD_ITEM,
    Candidates,
    _check_k,
    _check_on_short,
    _check_users,
    _Exclusion,
    _first_in_row,
    _handle_short,
    _in_rows,
    _to_numpy,
)
from .retrievers import Retriever

__all__ = ["MergedRetriever", "merge_candidates"]


def _largest_remainder(weights: np.ndarray, k: int) -> np.ndarray:
    """Integer quotas summing to ``k``, proportional to ``weights``."""
    raw = weights / weights.sum() * k
    quota = np.floor(raw).astype(np.int64)
    left = k - int(quota.sum())
    order = np.argsort(-(raw - quota), kind="stable")
    quota[order[:left]] += 1
    return quota


def _taken_csr(taken: np.ndarray, width: int, n_rows: int):
    """Sorted keys ``row * width + item`` -> the CSR ``(indptr, indices)`` of each row's items."""
    rows = taken // width
    return np.searchsorted(rows, np.arange(n_rows + 1)), taken % width


def merge_candidates(
    lists: Sequence[tuple[np.ndarray, np.ndarray]],
    k: int,
    quotas: Sequence[float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge the candidate lists of several sources, without duplicates.

    Introduced in Chapter 8.

    * with ``quotas`` (relative shares, scaled to integers summing to ``k`` by
      the largest-remainder rule): source 0 contributes its best
      ``quota_0`` items, then source 1 its best ``quota_1`` items *not taken
      yet*, and so on; if a source runs out, the free places are filled
      round-robin from what the sources have left;
    * without: round-robin -- the best of each source in turn, then the
      second best, ..., skipping items already taken.

    Args:
        lists: one ``(items (B, k_s), scores (B, k_s))`` pair per source, with
            ``-1`` padding at the end of rows.
        k: length of the merged lists.
        quotas: one non-negative share per source, or ``None``.

    Returns:
        ``(items (B, k), scores (B, k), source (B, k))``: source index of each
        entry; ``-1``/``-inf``/``-1`` where nothing was left.
    """
    if len(lists) == 0:
        raise ValueError("merge_candidates needs at least one source")
    k = check_int(k, "k", low=1)
    B = lists[0][0].shape[0]
    S = len(lists)
    for s, (it, sc) in enumerate(lists):
        if it.ndim != 2 or it.shape[0] != B or sc.shape != it.shape:
            raise ValueError(
                f"source {s}: items {it.shape} and scores {sc.shape} must be (B={B}, k_s)"
            )
    width = int(max(int(it.max()) for it, _ in lists)) + 1
    width = max(width, 1)
    rows = np.arange(B, dtype=np.int64)[:, None]
    filled = np.zeros(B, dtype=np.int64)
    taken = np.zeros(0, dtype=np.int64)  # sorted keys row * width + item
    out_rows, out_pos, out_items, out_scores, out_src = [], [], [], [], []

    def take(mask, items, scores, source, rank):
        r = np.broadcast_to(rows, mask.shape)[mask]
        pos = filled[r] + rank[mask] - 1
        out_rows.append(r)
        out_pos.append(pos)
        out_items.append(items[mask])
        out_scores.append(scores[mask])
        out_src.append(np.broadcast_to(source, mask.shape)[mask])

    if quotas is not None:
        shares = np.asarray(quotas, dtype=np.float64)
        if shares.shape != (S,):
            raise ValueError(
                f"quotas has shape {shares.shape}, expected one per source ({S},)"
            )
        if not np.isfinite(shares).all() or (shares < 0).any() or shares.sum() == 0:
            raise ValueError(
                f"quotas must be finite, >= 0 and not all 0, got {shares.tolist()}"
            )
        q = _largest_remainder(shares, k)
        for s, (it, sc) in enumerate(lists):
            if q[s] == 0:
                continue
            keys = rows * width + np.maximum(it, 0)
            new = (it >= 0) & ~_in_rows(it, *_taken_csr(taken, width, B))
            rank = np.cumsum(new, axis=1)
            chosen = new & (rank <= q[s])
            take(chosen, it, sc, np.int64(s), rank)
            taken = np.sort(np.concatenate([taken, keys[chosen]]))
            filled += chosen.sum(axis=1)
    if (filled < k).any():  # round-robin over everything left
        kmax = max(it.shape[1] for it, _ in lists)
        its = np.full((B, kmax, S), PAD_ITEM, dtype=np.int64)
        scs = np.full((B, kmax, S), -np.inf, dtype=np.float32)
        for s, (it, sc) in enumerate(lists):
            its[:, : it.shape[1], s], scs[:, : it.shape[1], s] = it, sc
        src = np.broadcast_to(np.arange(S, dtype=np.int64), (B, kmax, S)).reshape(B, -1)
        its, scs = its.reshape(B, -1), scs.reshape(B, -1)
        new = (
            (its >= 0)
            & ~_in_rows(its, *_taken_csr(taken, width, B))
            & _first_in_row(np.where(its >= 0, its, -1))
        )
        rank = np.cumsum(new, axis=1)
        chosen = new & (rank <= (k - filled)[:, None])
        take(chosen, its, scs, src, rank)
        filled += chosen.sum(axis=1)
    items = np.full((B, k), PAD_ITEM, dtype=np.int64)
    scores = np.full((B, k), -np.inf, dtype=np.float32)
    source = np.full((B, k), -1, dtype=np.int64)
    r, p = np.concatenate(out_rows), np.concatenate(out_pos)
    items[r, p] = np.concatenate(out_items)
    scores[r, p] = np.concatenate(out_scores)
    source[r, p] = np.concatenate(out_src)
    return items, scores, source


class MergedRetriever(Retriever):
    """Several candidate sources merged into one list. Introduced in Chapter 8.

    Each source retrieves ``k`` candidates (excluded items removed); the
    lists are merged by :func:`merge_candidates` (quotas or round-robin, no
    duplicates), and every candidate remembers its source
    (:attr:`Candidates.source`), so that a chapter can measure what each
    source contributes.

    **Cold start**: users for whom ``has_history`` is False are not sent to
    the sources at all (an MF or two-tower vector of a user without history
    is noise) but to the ``fallback`` source; their rows have
    ``Candidates.fallback = True`` and the fallback's name as source.

    Args:
        sources: ``{name: retriever}``, in priority order (quota mode takes
            them in this order).
        quotas: ``{name: share}`` for every source (relative shares, e.g.
            ``{"two_tower": 2, "mf": 1, "popularity": 1}`` = half, a quarter, a
            quarter), or ``None`` for round-robin.
        fallback: the cold-start source: the name of one of ``sources`` or a
            separate retriever (its ``name`` is used).
        has_history: bool ``(n_users,)``, True for users the sources can
            serve; needed with ``fallback``.
        name: this retriever's name.
    """

    def __init__(
        self,
        sources: Mapping[str, Retriever],
        quotas: Mapping[str, float] | None = None,
        fallback: str | Retriever | None = None,
        has_history=None,
        name: str = "merged",
    ) -> None:
        if not isinstance(sources, Mapping) or len(sources) == 0:
            raise TypeError("sources must be a non-empty dict {name: retriever}")
        for key, r in sources.items():
            if not isinstance(key, str):
                raise TypeError(f"source names must be strings, got {key!r}")
            if not isinstance(r, Retriever):
                raise TypeError(
                    f"source {key!r} is a {type(r).__name__}, not a Retriever"
                )
        sizes = {key: r.n_items for key, r in sources.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"the sources disagree on the catalog size: {sizes}")
        self.sources = dict(sources)
        self.n_items = next(iter(sizes.values()))
        self.name = name
        if quotas is not None:
            if not isinstance(quotas, Mapping):
                raise TypeError(
                    f"quotas must be a dict {{name: share}}, got {type(quotas).__name__}"
                )
            if set(quotas) != set(sources):
                raise ValueError(
                    f"quotas must name every source exactly: sources {sorted(sources)}, "
                    f"quotas {sorted(quotas)}"
                )
            shares = [
                check_number(quotas[key], f"quota of {key!r}", low=0.0)
                for key in sources
            ]
            if sum(shares) == 0:
                raise ValueError("quotas are all 0: no source would contribute")
            self.quotas = np.array(shares)
        else:
            self.quotas = None
        if isinstance(fallback, str):
            if fallback not in sources:
                raise ValueError(
                    f"fallback {fallback!r} is not one of the sources {list(sources)}"
                )
            self.fallback_name, self.fallback = fallback, sources[fallback]
        elif isinstance(fallback, Retriever):
            if fallback.n_items != self.n_items:
                raise ValueError(
                    f"the fallback has {fallback.n_items} items, the sources {self.n_items}"
                )
            if fallback.name in sources and sources[fallback.name] is not fallback:
                raise ValueError(
                    f"the fallback's name {fallback.name!r} is already used by another source"
                )
            self.fallback_name, self.fallback = fallback.name, fallback
        elif fallback is None:
            self.fallback_name, self.fallback = None, None
        else:
            raise TypeError(
                f"fallback must be a source name, a Retriever or None, got {type(fallback).__name__}"
            )
        if (fallback is None) != (has_history is None):
            raise ValueError(
                "give fallback and has_history together: has_history says who falls back"
            )
        if has_history is not None:
            h = np.asarray(_to_numpy(has_history))
            if h.ndim != 1 or h.dtype != bool:
                raise TypeError(
                    f"has_history must be a 1-D bool array (n_users,), got {h.dtype} {h.shape}"
                )
            self.has_history = h
            self.n_users = h.size
        else:
            self.has_history = None
            known = [r.n_users for r in sources.values() if r.n_users is not None]
            self.n_users = min(known) if known else None
        names = list(sources)
        if self.fallback_name is not None and self.fallback_name not in names:
            names.append(self.fallback_name)
        self.source_names = tuple(names)

    def retrieve(
        self, user_ids, k: int, exclude=None, on_short: str = "raise"
    ) -> Candidates:
        """Merged top-``k`` candidates; see :meth:`Retriever.retrieve`.

        Returns:
            :class:`Candidates` with ``source`` and ``fallback`` filled in.
        """
        users = _check_users(user_ids, self.n_users)
        k = _check_k(k, self.n_items)
        _check_on_short(on_short)
        B = users.size
        excl = _Exclusion.build(exclude, users, self.n_items, B)
        warm = (
            np.ones(B, dtype=bool)
            if self.has_history is None
            else self.has_history[users]
        )
        items = np.full((B, k), PAD_ITEM, dtype=np.int64)
        scores = np.full((B, k), -np.inf, dtype=np.float32)
        source = np.full((B, k), -1, dtype=np.int64)
        idx = np.flatnonzero(warm)
        if idx.size:
            sub = None if excl is None else excl.subset(idx)
            lists = [
                tuple(r.retrieve(users[idx], k, sub, on_short="pad"))
                for r in self.sources.values()
            ]
            items[idx], scores[idx], source[idx] = merge_candidates(
                lists, k, self.quotas
            )
        idx = np.flatnonzero(~warm)
        if idx.size:
            sub = None if excl is None else excl.subset(idx)
            fb = self.fallback.retrieve(users[idx], k, sub, on_short="pad")
            items[idx], scores[idx] = fb.items, fb.scores
            source[idx] = np.where(
                fb.items >= 0, self.source_names.index(self.fallback_name), -1
            )
        _handle_short(items, users, k, on_short, f"MergedRetriever {self.name!r}")
        return Candidates(items, scores, source, self.source_names, ~warm, users)

    def __repr__(self) -> str:
        mode = (
            "round-robin" if self.quotas is None else f"quotas {self.quotas.tolist()}"
        )
        return f"MergedRetriever({list(self.sources)}, {mode}, fallback={self.fallback_name!r})"
