"""Candidate sources: rules, any scorer, embeddings with a search index.

Introduced in Chapter 8 ("Two-stage recall and ranking"). Every source is a
:class:`Retriever`: ``retrieve(user_ids, k, exclude=None, on_short="raise")``
returns a :class:`~recsys_lib.retrieval.Candidates` (see
:mod:`recsys_lib.retrieval` for the interface).

* :class:`ScoreRetriever` -- any scorer of the library's recommender protocol
  (or a score function) as a source: the top ``k`` of its catalog scores;
  :class:`PopularityRetriever` (the cold-start fallback, with
  :func:`item_popularity`) and :class:`RecentCategoryRetriever` ("more from
  the categories you just looked at") are score retrievers too;
* :class:`EmbeddingRetriever` -- the largest ``user . item`` inner products,
  found by a search index of :mod:`recsys_lib.retrieval.index`;
  :class:`MFRetriever` (matrix factorization) and :class:`TwoTowerRetriever`
  (:class:`~recsys_lib.models.two_tower.TwoTowerModel`) build one from a
  trained model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..checks import check_int, check_number
from ..config import ITEM_COL, TIMESTAMP_COL
from ..models.two_tower import TwoTowerModel, check_histories
from .candidates import (
    PAD_ITEM,
    Candidates,
    _check_item_vector,
    _check_k,
    _check_on_short,
    _check_users,
    _check_vectors,
    _compact,
    _Exclusion,
    _handle_short,
    _single_source,
    _to_numpy,
)
from .index import INDEX_KINDS, make_index

__all__ = [
    "EmbeddingRetriever",
    "MFRetriever",
    "PopularityRetriever",
    "RecentCategoryRetriever",
    "Retriever",
    "ScoreRetriever",
    "TwoTowerRetriever",
    "item_popularity",
]

_SECONDS_PER_DAY = 86_400


class Retriever:
    """Base class of candidate sources. Introduced in Chapter 8.

    Subclasses set ``name``, ``n_items`` and ``n_users`` (``None`` = any
    non-negative user id) and implement
    ``_retrieve_batch(users (b,), k, excl) -> (items (b, k), scores (b, k))``
    with padding (``-1``, ``-inf``) at the end of short rows; excluded items
    must already be gone. :meth:`retrieve` does the checks, batching and the
    short-row policy.
    """

    name: str = "retriever"
    n_items: int
    n_users: int | None = None
    #: users per internal batch (bounds the ``(batch, n_items)`` score matrices).
    batch_size: int = 1024

    def retrieve(
        self, user_ids, k: int, exclude=None, on_short: str = "raise"
    ) -> Candidates:
        """Top-``k`` candidates per user; see the module docstring.

        Args:
            user_ids: int ``(B,)`` user ids (repeats allowed).
            k: candidates per user, ``1 <= k <= n_items``.
            exclude: items never to return (module docstring lists the forms).
            on_short: ``"raise"`` or ``"pad"``: what to do when a user has
                fewer than ``k`` items available.

        Returns:
            :class:`Candidates` (unpacks as ``items, scores``).

        Raises:
            TypeError, ValueError: for bad ids, ``k``, ``exclude`` or
                ``on_short``, and (``on_short="raise"``) users with fewer than
                ``k`` items available.
        """
        users = _check_users(user_ids, self.n_users)
        k = _check_k(k, self.n_items)
        _check_on_short(on_short)
        excl = _Exclusion.build(exclude, users, self.n_items, users.size)
        B = users.size
        items = np.empty((B, k), dtype=np.int64)
        scores = np.empty((B, k), dtype=np.float32)
        step = self._rows_per_batch()
        for lo in range(0, B, step):
            hi = min(B, lo + step)
            sub = None if excl is None else excl.subset(np.arange(lo, hi))
            items[lo:hi], scores[lo:hi] = self._retrieve_batch(users[lo:hi], k, sub)
        _handle_short(items, users, k, on_short, f"{type(self).__name__} {self.name!r}")
        return _single_source(items, scores, users, self.name)

    def _rows_per_batch(self) -> int:
        return self.batch_size

    def _retrieve_batch(self, users, k, excl):
        raise NotImplementedError  # pragma: no cover

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, n_items={self.n_items})"


def _stable_topk(s: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.topk`` of each row with ties broken by the smaller column index.

    ``torch.topk`` leaves the order of equal scores to the implementation; rule
    sources (popularity, categories) have many ties, and their candidates
    should not depend on it.
    """
    v, _ = torch.topk(s, k, dim=1)
    kth = v[:, -1:]  # (b, 1)
    above, tied = s > kth, s == kth
    need = k - above.sum(dim=1, keepdim=True)
    chosen = above | (tied & (tied.cumsum(dim=1) <= need))  # exactly k per row
    idx = chosen.nonzero()[:, 1].view(s.shape[0], k)  # ascending ids in each row
    vals = s.gather(1, idx)
    order = torch.sort(vals, dim=1, descending=True, stable=True).indices
    return vals.gather(1, order), idx.gather(1, order)


class ScoreRetriever(Retriever):
    """Any scorer as a retriever: the top ``k`` of its scores. Introduced in Chapter 8.

    ``scorer`` is anything that follows the recommender protocol of
    :mod:`recsys_lib.models.base`: it has ``n_items`` (and ``n_users``) and
    ``score(user_ids) -> (B, n_items)`` float scores, a tensor or an array --
    a fitted :class:`~recsys_lib.models.EASE` or
    :class:`~recsys_lib.models.BPRMF`, an :class:`~recsys_lib.models.MF`, a
    :class:`~recsys_lib.models.TwoTowerModel`, a
    :class:`~recsys_lib.models.NextItemScorer`, ... It may also be a function
    ``f(user_ids (b,) int64) -> (b, n_items)``; then give ``n_items``.

    Every item is scored; ``-inf`` marks an item that is not a candidate (it
    ends up as padding). Ties are broken by the smaller item id. Users are
    scored in batches of at most ``2**24 / n_items`` rows (a 64 MB float32
    score matrix). The rule sources below (:class:`PopularityRetriever`,
    :class:`RecentCategoryRetriever`) are score retrievers that compute
    their scores themselves (they override ``_score_matrix``).

    Args:
        scorer: a scorer, or a function of user ids.
        name: the source's name; default the scorer's class (or function) name.
        n_items: catalog size, for a function.
        n_users: number of users, for a function (``None``: any id >= 0).
    """

    def __init__(
        self,
        scorer,
        name: str | None = None,
        *,
        n_items: int | None = None,
        n_users: int | None = None,
    ) -> None:
        if hasattr(scorer, "score"):
            if n_items is not None or n_users is not None:
                raise ValueError(
                    "n_items and n_users are read from the scorer; give them only "
                    "with a function"
                )
            n_items, n_users = scorer.n_items, getattr(scorer, "n_users", None)
            if n_items is None:
                raise ValueError(
                    f"this {type(scorer).__name__} has no n_items: is it fitted?"
                )
            self._score_fn = scorer.score
        elif callable(scorer):
            if n_items is None:
                raise ValueError("a score function needs n_items (the catalog size)")
            self._score_fn = scorer
        else:
            raise TypeError(
                "scorer must have score(user_ids) -> (B, n_items) or be a function "
                f"of user ids, got {type(scorer).__name__}"
            )
        self.scorer = scorer
        self.n_items = check_int(n_items, "n_items", low=1)
        self.n_users = None if n_users is None else check_int(n_users, "n_users", low=1)
        if name is None:
            name = getattr(scorer, "__name__", type(scorer).__name__)
        self.name = name

    def _score_matrix(self, users: np.ndarray) -> torch.Tensor:
        """float32 ``(b, n_items)`` scores of ``users``; ``-inf`` = not a candidate."""
        s = self._score_fn(users)
        if isinstance(s, torch.Tensor):
            s = s.detach().to(device="cpu", dtype=torch.float32)
        else:
            s = torch.from_numpy(np.asarray(s, dtype=np.float32))
        if tuple(s.shape) != (users.size, self.n_items):
            raise ValueError(
                f"{self.name}: the scorer returned shape {tuple(s.shape)} for "
                f"{users.size} users, expected ({users.size}, {self.n_items})"
            )
        return s

    def _rows_per_batch(self) -> int:
        return max(1, min(self.batch_size, (1 << 24) // self.n_items))

    def _retrieve_batch(self, users, k, excl):
        s = self._score_matrix(users).clone()  # (b, n_items); the copy is ours
        if torch.isnan(s).any():
            row = int(torch.isnan(s).any(dim=1).nonzero()[0, 0])
            raise ValueError(
                f"{self.name}: the scores of user {int(users[row])} hold nan"
            )
        if excl is not None and excl.indices.size:
            s[torch.from_numpy(excl.rows), torch.from_numpy(excl.indices)] = -torch.inf
        top_s, top_i = _stable_topk(s, k)
        top_s, top_i = top_s.numpy(), top_i.numpy().astype(np.int64)
        valid = np.isfinite(top_s)  # -inf sorts last: padding ends up at the end
        return np.where(valid, top_i, PAD_ITEM), np.where(valid, top_s, -np.inf).astype(
            np.float32
        )


def _check_item_ids(arr: np.ndarray, n_items: int, name: str) -> None:
    if arr.size == 0:
        return
    if arr.min() < 0:
        raise ValueError(f"{name} holds a negative item id ({int(arr.min())})")
    if arr.max() >= n_items:
        raise ValueError(
            f"{name} holds item id {int(arr.max())} but the catalog has only "
            f"{n_items} items (ids 0..{n_items - 1})"
        )


def item_popularity(
    interactions,
    n_items: int,
    window_days: float | None = None,
    now: float | None = None,
) -> np.ndarray:
    """Interactions per item, optionally only in a recent window.

    Introduced in Chapter 8.

    Args:
        interactions: DataFrame with ``item_id`` (and ``timestamp`` in Unix
            seconds for a window); filter the event types first (e.g. clicks
            and purchases only).
        n_items: catalog size.
        window_days: count only events in the last ``window_days`` days
            before ``now``; ``None`` counts everything.
        now: end of the window (Unix seconds); default the latest timestamp.

    Returns:
        float64 ``(n_items,)`` counts.

    Raises:
        TypeError, ValueError: for a missing column, non-integer or
            out-of-range ids, an empty frame or a bad window.
    """
    n_items = check_int(n_items, "n_items", low=1)
    if not isinstance(interactions, pd.DataFrame):
        raise TypeError(
            f"interactions must be a DataFrame, got {type(interactions).__name__}"
        )
    if len(interactions) == 0:
        raise ValueError("interactions is empty: no popularity to count")
    if ITEM_COL not in interactions.columns:
        raise ValueError(f"interactions has no '{ITEM_COL}' column")
    items = interactions[ITEM_COL].to_numpy()
    if not np.issubdtype(items.dtype, np.integer):
        raise TypeError(
            f"interactions['{ITEM_COL}'] must hold integers, got {items.dtype}"
        )
    items = items.astype(np.int64)
    _check_item_ids(items, n_items, f"interactions['{ITEM_COL}']")
    if window_days is not None:
        window_days = check_number(window_days, "window_days", low=0.0, low_open=True)
        if TIMESTAMP_COL not in interactions.columns:
            raise ValueError(f"a window needs a '{TIMESTAMP_COL}' column")
        t = interactions[TIMESTAMP_COL].to_numpy(dtype=np.float64)
        if np.isnan(t).any():
            raise ValueError(f"interactions['{TIMESTAMP_COL}'] holds missing values")
        end = float(t.max()) if now is None else float(now)
        items = items[(t > end - window_days * _SECONDS_PER_DAY) & (t <= end)]
    return np.bincount(items, minlength=n_items).astype(np.float64)


class PopularityRetriever(ScoreRetriever):
    """The most popular items, the same for everyone. Introduced in Chapter 8.

    The classic cold-start fallback: it needs no history. Use
    :func:`item_popularity` for all-time or recent-window counts.

    Args:
        popularity: float ``(n_items,)`` scores (e.g. counts); every item
            is a candidate.
        name: the source's name.
    """

    def __init__(self, popularity, name: str = "popularity") -> None:
        self.popularity = torch.from_numpy(
            _check_item_vector(popularity, "popularity").astype(np.float32)
        )
        self.n_items = self.popularity.numel()
        self.name = name

    def _score_matrix(self, users):
        return self.popularity.expand(users.size, -1)


class RecentCategoryRetriever(ScoreRetriever):
    """ "More from the categories you just looked at." Introduced in Chapter 8.

    The candidates of user ``u`` are the items of the categories of her last
    ``n_recent`` viewed items, scored

    .. math:: s(u, i) = P(c_i \\mid u) \\, P(i \\mid c_i)

    with :math:`P(c \\mid u)` the share of the last ``n_recent`` views in
    category ``c`` and :math:`P(i \\mid c)` the item's share of its category's
    popularity: pick a category as the user recently did, then a popular item
    in it. A user without views has no candidate (``on_short`` decides;
    :class:`MergedRetriever` sends such users to a fallback).

    Args:
        item_categories: int ``(n_items,)`` category of each item.
        popularity: float ``(n_items,)`` non-negative popularity (e.g.
            :func:`item_popularity`).
        histories: int ``(n_users, L)`` recent items, left-padded with
            ``n_items`` (:func:`build_histories`).
        n_recent: how many of the newest history items to look at.
        name: the source's name.
    """

    def __init__(
        self,
        item_categories,
        popularity,
        histories,
        n_recent: int = 5,
        name: str = "recent_category",
    ) -> None:
        cats = np.asarray(_to_numpy(item_categories))
        if cats.ndim != 1 or cats.size == 0:
            raise ValueError(
                f"item_categories must be 1-D (n_items,), got shape {cats.shape}"
            )
        if not np.issubdtype(cats.dtype, np.integer):
            raise TypeError(
                f"item_categories must hold integer codes, got {cats.dtype}"
            )
        if cats.min() < 0:
            raise ValueError("item_categories holds negative codes")
        n_items = cats.size
        pop = _check_item_vector(popularity, "popularity", n_items)
        if (pop < 0).any():
            raise ValueError("popularity must be >= 0")
        hist = check_histories(histories, None, n_items)
        self.n_recent = check_int(n_recent, "n_recent", low=1)
        self.n_items, self.n_users, self.name = n_items, hist.shape[0], name
        n_cats = int(cats.max()) + 1
        recent = hist[:, -self.n_recent :]  # (n_users, n_recent), newest last
        seen = recent < n_items
        counts = np.zeros((self.n_users, n_cats))
        rows = np.repeat(np.arange(self.n_users), seen.sum(axis=1))
        np.add.at(counts, (rows, cats[recent[seen]]), 1.0)
        self.user_category_share = counts / np.maximum(
            seen.sum(axis=1, keepdims=True), 1
        )
        cat_total = np.bincount(cats, weights=pop, minlength=n_cats)
        self.item_share = np.where(
            cat_total[cats] > 0, pop / np.maximum(cat_total[cats], 1e-300), 0.0
        ).astype(np.float32)
        self.item_categories = cats.astype(np.int64)

    @property
    def has_history(self) -> np.ndarray:
        """bool ``(n_users,)``: users with at least one recent view."""
        return self.user_category_share.sum(axis=1) > 0

    def _score_matrix(self, users):
        share = self.user_category_share[users].astype(np.float32)
        share = share[:, self.item_categories]  # (b, n_items)
        scores = np.where(share > 0, share * self.item_share, np.float32(-np.inf))
        return torch.from_numpy(scores)


class EmbeddingRetriever(Retriever):
    """Items with the largest ``user_vector . item_vector``. Introduced in Chapter 8.

    The search runs on an index over the item vectors (:class:`ExactIndex`
    by default, or a :class:`FaissIndex`). Excluded items are removed by
    fetching ``k + (most exclusions of a user in the batch)`` items and
    filtering, which is exact for an exact index.

    Args:
        user_vectors: float ``(n_users, d)``, or a function
            ``f(user_ids (b,) int64) -> (b, d)`` (then give ``n_users``).
        item_vectors: float ``(n_items, d)``.
        index: ``"exact"``, ``"hnsw"``, ``"ivf"``, ``"flat"`` or an index
            object already built on ``item_vectors`` (with ``search``,
            ``n_items`` and ``dim``).
        index_params: keyword arguments of :func:`make_index`.
        n_users: number of users when ``user_vectors`` is a function.
        name: the source's name.
    """

    def __init__(
        self,
        user_vectors,
        item_vectors,
        index="exact",
        index_params: dict | None = None,
        n_users: int | None = None,
        name: str = "embedding",
    ) -> None:
        self.item_vectors = _check_vectors(item_vectors, "item_vectors")
        self.n_items, d = self.item_vectors.shape
        if callable(user_vectors):
            self._user_fn = user_vectors
            self.user_vectors = None
            self.n_users = (
                None if n_users is None else check_int(n_users, "n_users", low=1)
            )
        else:
            self.user_vectors = _check_vectors(user_vectors, "user_vectors", d)
            self._user_fn = None
            self.n_users = self.user_vectors.shape[0]
        if isinstance(index, str):
            self.index = make_index(self.item_vectors, index, **(index_params or {}))
        else:
            if index_params:
                raise ValueError("index_params only apply when index is a kind name")
            if not hasattr(index, "search"):
                raise TypeError(
                    f"index must be a kind name {INDEX_KINDS} or an index with .search, "
                    f"got {type(index).__name__}"
                )
            if (index.n_items, index.dim) != (self.n_items, d):
                raise ValueError(
                    f"the index holds {index.n_items} vectors of dimension {index.dim}, "
                    f"but item_vectors has shape {self.item_vectors.shape}"
                )
            self.index = index
        self.name = name

    def query_vectors(self, user_ids) -> np.ndarray:
        """float32 ``(B, d)`` query vectors of some users."""
        users = _check_users(user_ids, self.n_users)
        if self._user_fn is None:
            return self.user_vectors[users]
        return _check_vectors(self._user_fn(users), "user vectors", self.index.dim)

    def _retrieve_batch(self, users, k, excl):
        q = self.query_vectors(users)
        if q.shape[0] != users.size:
            raise ValueError(
                f"the user-vector function returned {q.shape[0]} rows for {users.size} users"
            )
        return _search_excluding(self.index, q, k, excl, self.n_items)


class MFRetriever(EmbeddingRetriever):
    """Dot-product retrieval with a matrix-factorization model. Introduced in Chapter 8.

    Takes any scorer whose scores are ``p_u . q_i + b_i`` plus per-user
    terms, with the factors in its ``user`` and ``item`` embeddings and the
    optional item bias in ``item_bias``: a :class:`recsys_lib.models.MF`, or
    an estimator holding one in ``.model`` such as a fitted
    :class:`recsys_lib.models.BPRMF`. That the scores really are these dot
    products is checked on a few users (GMF, MLP, NeuMF and the feature ranker
    also have ``user``/``item`` embeddings, but score through layers). For
    other dot-product models pass their vectors to :class:`EmbeddingRetriever`.

    The item bias ``b_i`` becomes one more dimension -- items ``[q_i, b_i]``,
    users ``[p_u, 1]`` -- so that the inner product is the model's score up
    to per-user terms, which do not change a user's ranking: retrieval returns
    exactly the model's top k.

    Args:
        model: the trained model.
        index, index_params: as in :class:`EmbeddingRetriever`.
        name: the source's name.
    """

    def __init__(
        self, model, index="exact", index_params: dict | None = None, name: str = "mf"
    ) -> None:
        net = _factor_model(model)
        with torch.no_grad():
            users = net.user.weight.detach().float().cpu()
            items = net.item.weight.detach().float().cpu()
            bias = getattr(net, "item_bias", None)
            if isinstance(bias, nn.Embedding):
                bias = bias.weight.squeeze(-1)
            if bias is not None:
                bias = bias.detach().float().cpu().reshape(-1, 1)  # (n_items, 1)
                items = torch.cat([items, bias], dim=1)
                users = torch.cat([users, torch.ones(users.shape[0], 1)], dim=1)
        _check_dot_product(model, net, users, items)
        super().__init__(users.numpy(), items.numpy(), index, index_params, name=name)


_NOT_A_DOT_PRODUCT = (
    "(GMF, MLP, NeuMF and the feature ranker score through layers, not a dot "
    "product); for other dot-product models pass their vectors to EmbeddingRetriever"
)


def _factor_model(model):
    """The module holding the factors: ``model`` or, for an estimator, ``model.model``."""
    net = model
    if not hasattr(model, "user") and hasattr(model, "model"):  # e.g. BPRMF
        net = model.model
        if net is None:
            raise ValueError(
                f"this {type(model).__name__} is not fitted yet; call .fit first"
            )
    if not (
        isinstance(getattr(net, "user", None), nn.Embedding)
        and isinstance(getattr(net, "item", None), nn.Embedding)
        and hasattr(net, "score")
    ):
        raise TypeError(
            "MFRetriever needs a matrix-factorization scorer with `user` and `item` "
            "embeddings, such as recsys_lib.models.MF or a fitted BPRMF; got "
            f"{type(model).__name__} {_NOT_A_DOT_PRODUCT}"
        )
    return net


def _check_dot_product(model, net, users: torch.Tensor, items: torch.Tensor) -> None:
    """The scores of a few users must be ``users @ items.T`` plus one term per user."""
    probe = torch.arange(min(8, users.shape[0]))
    try:
        got = torch.as_tensor(net.score(probe)).double()  # (p, n_items)
    except (TypeError, ValueError, RuntimeError) as e:  # e.g. features missing
        raise TypeError(
            f"MFRetriever could not score users with this {type(model).__name__} "
            f"({e}) {_NOT_A_DOT_PRODUCT}"
        ) from e
    diff = got - (users[probe].double() @ items.double().T)
    tol = 1e-4 * (1.0 + float(got.abs().max()))
    if got.shape != diff.shape or (diff - diff[:, :1]).abs().max() > tol:
        raise TypeError(
            f"MFRetriever needs a dot-product model, but the scores of this "
            f"{type(model).__name__} are not p_u . q_i + b_i of its `user` and `item` "
            f"embeddings {_NOT_A_DOT_PRODUCT}"
        )


def _search_excluding(index, queries, k: int, excl: _Exclusion | None, n_items: int):
    """Top-k of an index with excluded items removed (fetch enough extra, filter)."""
    extra = int(excl.counts.max()) if excl is not None and excl.n_rows else 0
    fetch = min(n_items, k + extra)
    scores, ids = index.search(queries, fetch)
    keep = ids >= 0
    if excl is not None:
        keep &= ~excl.contains(ids)
    return _compact(ids, scores, keep, k)


class TwoTowerRetriever(EmbeddingRetriever):
    """Retrieval with a trained :class:`~recsys_lib.models.two_tower.TwoTowerModel`. Introduced in Chapter 8.

    Item vectors are computed once, when the retriever is built (build it
    again after more training); user vectors are computed per request from
    the model's stored histories, so a new click (:meth:`~recsys_lib.models.two_tower.TwoTowerModel.set_histories`)
    changes the candidates at once. Scores are cosine similarities.

    Args:
        model: the trained model.
        index, index_params: as in :class:`EmbeddingRetriever`.
        name: the source's name.
    """

    def __init__(
        self,
        model: TwoTowerModel,
        index="exact",
        index_params: dict | None = None,
        name: str = "two_tower",
    ) -> None:
        if not isinstance(model, TwoTowerModel):
            raise TypeError(
                f"model must be a TwoTowerModel, got {type(model).__name__}"
            )
        self.model = model
        super().__init__(
            lambda users: model.user_vectors(users).numpy(),
            model.item_vectors().numpy(),
            index,
            index_params,
            n_users=model.n_users,
            name=name,
        )
