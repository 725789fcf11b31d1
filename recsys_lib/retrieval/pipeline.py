"""The two-stage pipeline: retrieval -> ranking -> re-ranking, timed stage by stage.

Introduced in Chapter 8 ("Two-stage recall and ranking"). :class:`Pipeline`
asks a retriever for ``N`` candidates per user, has a ranker score only
those, re-ranks the best (MMR, business rules) and keeps every stage's
output and wall time, so that a chapter can report

* candidate recall@N (:func:`candidate_recall`): does the held-out item
  reach the ranker at all? An item that is not a candidate can never be
  recommended, whatever the ranker does;
* the final lists, for NDCG@10;
* the latency of every stage (:meth:`PipelineResult.latency`).

:func:`two_stage_recommend` is the one-call version.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..checks import check_int
from ..data.interactions import relevant_to_csr
from ..models.base import PairScorer, inference
from .candidates import (
    Candidates,
    _check_k,
    _check_on_short,
    _check_users,
    _Exclusion,
    _in_rows,
    _to_numpy,
)
from .retrievers import Retriever

__all__ = ["Pipeline", "PipelineResult", "candidate_recall", "two_stage_recommend"]


def candidate_recall(candidates, relevant, per_user: bool = False):
    """Share of each user's relevant items that are among her candidates.

    Introduced in Chapter 8: recall@N of the retrieval stage -- an item that
    is not a candidate can never be recommended, whatever the ranker does.

    Args:
        candidates: int ``(B, N)`` (``-1`` = padding) or a :class:`Candidates`.
        relevant: ``B`` collections of relevant item ids (e.g. the held-out
            item), or a sparse ``(B, n_items)`` matrix.
        per_user: return the ``(B,)`` array instead of its mean.

    Raises:
        TypeError, ValueError: for bad shapes or ids, or a user without
            relevant items (recall is undefined for her).
    """
    if isinstance(candidates, Candidates):
        candidates = candidates.items
    items = np.asarray(_to_numpy(candidates))
    if items.ndim != 2 or items.size == 0:
        raise ValueError(
            f"candidates must be a non-empty 2-D array, got shape {items.shape}"
        )
    if not np.issubdtype(items.dtype, np.integer):
        raise TypeError(f"candidates must hold integer ids, got dtype {items.dtype}")
    items = items.astype(np.int64)
    indptr, indices = relevant_to_csr(relevant, items.shape[0])
    n_rel = np.diff(indptr)
    if (n_rel == 0).any():
        row = int(np.flatnonzero(n_rel == 0)[0])
        raise ValueError(
            f"{int((n_rel == 0).sum())} user(s) have no relevant item (first: row {row}); "
            "recall is undefined for them -- drop them"
        )
    hits = _in_rows(items, indptr, indices).sum(
        axis=1
    )  # candidates are unique in a row
    per = hits / n_rel
    return per if per_user else float(per.mean())


@dataclass
class PipelineResult:
    """What :class:`Pipeline` returns. Introduced in Chapter 8.

    Attributes:
        user_ids: int64 ``(B,)``.
        items: int64 ``(B, k)`` final recommendations (``-1`` = padding).
        scores: float32 ``(B, k)`` their scores (ranker scores, or the
            re-ranker's).
        candidates: the retrieval stage's :class:`Candidates` ``(B, N)``.
        ranked_items: int64 ``(B, N)`` the candidates in the ranker's order.
        ranked_scores: float32 ``(B, N)`` the ranker's scores.
        stage_seconds: ``{"retrieval", "ranking", "reranking"}`` -> float
            array with the wall time of every batch of users.
        batch_sizes: int64 array, users per batch.
    """

    user_ids: np.ndarray
    items: np.ndarray
    scores: np.ndarray
    candidates: Candidates
    ranked_items: np.ndarray
    ranked_scores: np.ndarray
    stage_seconds: dict[str, np.ndarray] = field(repr=False)
    batch_sizes: np.ndarray = field(repr=False)

    def candidate_recall(self, relevant, per_user: bool = False):
        """:func:`candidate_recall` of the retrieval stage."""
        return candidate_recall(self.candidates.items, relevant, per_user)

    def latency(self) -> pd.DataFrame:
        """Per stage: total seconds, ms per user, and p50/p99 ms per batch.

        With ``batch_size=1`` a batch is one request, so p50/p99 are request
        latencies.
        """
        stages = dict(self.stage_seconds)
        stages["total"] = sum(self.stage_seconds.values())  # per batch, all stages
        n = int(self.batch_sizes.sum())
        rows = {}
        for stage, t in stages.items():
            ms = np.asarray(t) * 1000.0
            rows[stage] = {
                "total_s": float(ms.sum() / 1000.0),
                "ms_per_user": float(ms.sum() / n),
                "p50_ms_per_batch": float(np.percentile(ms, 50)),
                "p99_ms_per_batch": float(np.percentile(ms, 99)),
            }
        return pd.DataFrame(rows).T


def _pair_scores(ranker, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """Scores ``(M,)`` of the pairs ``(users[m], items[m])``, for inference.

    A scorer that is not a pair scorer (an estimator, a two-tower model, ...)
    scores the catalog for each distinct user; its scores are read at the
    pairs. A pair scorer (e.g. the feature ranker) or a function scores only
    the pairs, a torch module in eval mode, everything under ``no_grad``.
    """
    if hasattr(ranker, "score") and not isinstance(ranker, PairScorer):
        uniq, row = torch.unique(users, return_inverse=True)
        s = torch.as_tensor(ranker.score(uniq.numpy()))  # (distinct users, n_items)
        return s[row, items]
    with inference(ranker) if isinstance(ranker, nn.Module) else torch.no_grad():
        return ranker(users, items)


def _rank(ranker, users: np.ndarray, items: np.ndarray, chunk: int = 1 << 18):
    """Scores ``(b, N)`` of the ranker for every valid candidate; ``-inf`` at padding."""
    valid = items >= 0
    r, c = np.nonzero(valid)
    out = np.full(items.shape, -np.inf, dtype=np.float32)
    if r.size == 0:
        return out
    pair_u, pair_i = torch.from_numpy(users[r]), torch.from_numpy(items[r, c])
    parts = []
    for lo in range(0, pair_u.numel(), chunk):
        s = _pair_scores(ranker, pair_u[lo : lo + chunk], pair_i[lo : lo + chunk])
        s = np.asarray(_to_numpy(s), dtype=np.float32).reshape(-1)
        if s.size != min(chunk, pair_u.numel() - lo):
            raise ValueError(
                f"the ranker returned {s.size} scores for "
                f"{min(chunk, pair_u.numel() - lo)} pairs; it must score "
                "(user_ids (M,), item_ids (M,)) -> (M,)"
            )
        parts.append(s)
    s = np.concatenate(parts)
    if np.isnan(s).any():
        raise ValueError("the ranker returned nan scores")
    out[r, c] = s
    return out


@dataclass
class Pipeline:
    """Retrieval -> ranking -> re-ranking, timed stage by stage. Introduced in Chapter 8.

    Attributes:
        retriever: any :class:`~recsys_lib.retrieval.Retriever` (often a
            :class:`~recsys_lib.retrieval.MergedRetriever`).
        ranker: scores the candidates: a pair scorer or function
            ``ranker(user_ids, item_ids) -> (M,)`` with int64 tensors ``(M,)``
            (a tensor or array back), e.g. a
            :class:`recsys_lib.models.FeatureMLPRanker`, which scores only
            the candidate pairs (a torch module runs in eval mode under
            ``no_grad``); or any other scorer of the recommender protocol
            (``score(user_ids) -> (B, n_items)``, e.g. a fitted
            :class:`recsys_lib.models.EASE`), read at the candidates;
            ``None`` keeps the retrieval order.
        n_candidates: candidates per user (``N``).
        k: final list length.
        rerank: ``None`` (the ranker's top k), or a function
            ``rerank(user_ids (b,), items (b, N), scores (b, N), k) ->
            (items (b, k), scores (b, k))``, e.g.
            ``lambda u, i, s, k: mmr_rerank(i, s, item_vectors, 0.7, k)``.
        batch_size: users per batch; ``1`` times every request alone.
        on_short: passed to retrieval.
    """

    retriever: Retriever
    ranker: Callable | None = None
    n_candidates: int = 100
    k: int = 10
    rerank: Callable | None = None
    batch_size: int = 256
    on_short: str = "raise"

    def __post_init__(self) -> None:
        if not isinstance(self.retriever, Retriever):
            raise TypeError(
                f"retriever must be a Retriever, got {type(self.retriever).__name__}"
            )
        if not (
            self.ranker is None
            or callable(self.ranker)
            or hasattr(self.ranker, "score")
        ):
            raise TypeError(
                "ranker must score pairs, ranker(user_ids, item_ids) -> scores, or "
                f"have score(user_ids) -> (B, n_items); got {type(self.ranker).__name__}"
            )
        if self.rerank is not None and not callable(self.rerank):
            raise TypeError(
                "rerank must be callable: rerank(user_ids, items, scores, k)"
            )
        self.n_candidates = _check_k(self.n_candidates, self.retriever.n_items)
        self.k = check_int(self.k, "k", low=1)
        if self.k > self.n_candidates:
            raise ValueError(
                f"k={self.k} is larger than n_candidates={self.n_candidates}"
            )
        self.batch_size = check_int(self.batch_size, "batch_size", low=1)
        _check_on_short(self.on_short)

    def recommend(self, user_ids, exclude=None) -> PipelineResult:
        """Run the three stages for ``user_ids``; ``exclude`` goes to retrieval."""
        users = _check_users(user_ids, self.retriever.n_users)
        B, N, k = users.size, self.n_candidates, self.k
        excl = _Exclusion.build(exclude, users, self.retriever.n_items, B)
        cand_parts, ranked_i, ranked_s, final_i, final_s = [], [], [], [], []
        times = {"retrieval": [], "ranking": [], "reranking": []}
        sizes = []
        for lo in range(0, B, self.batch_size):
            idx = np.arange(lo, min(B, lo + self.batch_size))
            u = users[idx]
            sub = None if excl is None else excl.subset(idx)
            t0 = time.perf_counter()
            cand = self.retriever.retrieve(u, N, sub, on_short=self.on_short)
            t1 = time.perf_counter()
            if self.ranker is None:
                scores = np.where(
                    cand.items >= 0, -np.arange(N, dtype=np.float32), -np.inf
                ).astype(np.float32)
            else:
                scores = _rank(self.ranker, u, cand.items)
            order = np.argsort(-scores, axis=1, kind="stable")
            r_items = np.take_along_axis(cand.items, order, axis=1)
            r_scores = np.take_along_axis(scores, order, axis=1)
            t2 = time.perf_counter()
            if self.rerank is None:
                f_items, f_scores = r_items[:, :k], r_scores[:, :k]
            else:
                f_items, f_scores = self.rerank(u, r_items, r_scores, k)
                f_items, f_scores = np.asarray(f_items), np.asarray(f_scores)
                if f_items.shape != (u.size, k) or f_scores.shape != (u.size, k):
                    raise ValueError(
                        f"rerank returned shapes {f_items.shape} and {f_scores.shape}, "
                        f"expected ({u.size}, {k})"
                    )
            t3 = time.perf_counter()
            times["retrieval"].append(t1 - t0)
            times["ranking"].append(t2 - t1)
            times["reranking"].append(t3 - t2)
            sizes.append(u.size)
            cand_parts.append(cand)
            ranked_i.append(r_items)
            ranked_s.append(r_scores)
            final_i.append(f_items)
            final_s.append(f_scores)
        first = cand_parts[0]
        candidates = Candidates(
            np.concatenate([c.items for c in cand_parts]),
            np.concatenate([c.scores for c in cand_parts]),
            np.concatenate([c.source for c in cand_parts]),
            first.source_names,
            np.concatenate([c.fallback for c in cand_parts]),
            users,
        )
        return PipelineResult(
            user_ids=users,
            items=np.concatenate(final_i).astype(np.int64),
            scores=np.concatenate(final_s).astype(np.float32),
            candidates=candidates,
            ranked_items=np.concatenate(ranked_i),
            ranked_scores=np.concatenate(ranked_s),
            stage_seconds={s: np.array(t) for s, t in times.items()},
            batch_sizes=np.array(sizes, dtype=np.int64),
        )


def two_stage_recommend(
    retriever: Retriever,
    user_ids,
    ranker: Callable | None = None,
    *,
    n_candidates: int = 100,
    k: int = 10,
    exclude=None,
    rerank: Callable | None = None,
    batch_size: int = 256,
    on_short: str = "raise",
) -> PipelineResult:
    """One call of :class:`Pipeline`: ``Pipeline(...).recommend(user_ids, exclude)``.

    Introduced in Chapter 8.
    """
    pipe = Pipeline(retriever, ranker, n_candidates, k, rerank, batch_size, on_short)
    return pipe.recommend(user_ids, exclude)
