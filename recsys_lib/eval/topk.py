"""Top-k over the whole catalog: from scores to ranked lists, seen items masked.

Introduced in Chapter 3 ("Measuring a recommender"). Both evaluation
protocols (:mod:`.protocols`) and every model's ``recommend`` rank through
:func:`full_ranking_topk`.

Scores come from one of three sources, read through one adapter:

* a model following the :class:`recsys_lib.models.base.Recommender`
  protocol: ``model.score(user_ids) -> (B, n_items)`` scores (its
  ``n_users``/``n_items`` tell the sizes);
* a function ``score_fn(user_ids) -> (B, n_items)``, NumPy or torch;
* a precomputed score matrix ``(n_users, n_items)``, NumPy or torch.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..checks import check_id_array, check_int
from ..data.interactions import interactions_to_csr, resize_rows

__all__ = ["full_ranking_topk"]


class _Scorer:
    """Scores of users as float32 CPU tensors, whatever ``source`` is.

    ``source``: a model with ``.score``, a function, or a score matrix (see
    the module doc). ``n_users``/``n_items`` are ``None`` when the source
    does not tell them (a bare function).
    """

    def __init__(self, source) -> None:
        self.n_users = self.n_items = None
        self.matrix = None
        if callable(getattr(source, "score", None)):  # the Recommender protocol
            self.fn = source.score
            self.n_users = getattr(source, "n_users", None)
            self.n_items = getattr(source, "n_items", None)
        elif callable(source):
            self.fn = source
        else:
            self.matrix = _score_matrix(source)
            self.n_users, self.n_items = (int(s) for s in self.matrix.shape)
            self.fn = self._rows

    def _rows(self, users: np.ndarray):
        # Fancy indexing copies, so the caller's matrix is never modified.
        if isinstance(self.matrix, torch.Tensor):
            return self.matrix[torch.from_numpy(users).to(self.matrix.device)]
        return self.matrix[users]

    def __call__(
        self, users: np.ndarray, n_items: int | None
    ) -> tuple[torch.Tensor, bool]:
        """Scores of ``users`` as a float32 CPU tensor ``(B, n_items)``.

        Returns:
            ``(scores, owned)``: ``owned`` is ``False`` when ``scores`` shares
            memory with what the score function returned (a model's own data,
            maybe). Such scores may be changed only temporarily and must be
            restored; read-only, broadcast or autograd-tracked outputs are
            copied, and so is anything that needed a dtype or device change.
            Rows of a score matrix are fresh copies already.
        """
        scores, owned = _as_float32_cpu(self.fn(users))
        owned = owned or self.matrix is not None
        expected = (len(users), n_items if n_items is not None else scores.shape[-1])
        if scores.ndim != 2 or tuple(scores.shape) != expected:
            raise ValueError(
                f"scores for a batch of {len(users)} users must have shape {expected} "
                f"(users, n_items), got {tuple(scores.shape)}"
            )
        return scores, owned


def _score_matrix(source) -> torch.Tensor | np.ndarray:
    """A 2-D numeric NumPy array or a detached tensor, or a clear error."""
    if isinstance(source, torch.Tensor):
        mat = source.detach()
    else:
        mat = np.asarray(source)
        if not np.issubdtype(mat.dtype, np.number) or np.issubdtype(
            mat.dtype, np.complexfloating
        ):
            raise TypeError(
                "scores_or_fn must be a (n_users, n_items) score array, a function "
                "score_fn(user_ids) -> (B, n_items) scores, or a model with .score; "
                f"got {type(source).__name__}"
            )
    if mat.ndim != 2:
        raise ValueError(
            f"a score matrix must be 2-D (n_users, n_items), got shape {tuple(mat.shape)}"
        )
    return mat


def _as_float32_cpu(out) -> tuple[torch.Tensor, bool]:
    """``(scores, owned)``: ``out`` as a float32 CPU tensor, copied only if needed."""
    if isinstance(out, torch.Tensor):
        src = out.detach()
        scores = src.to(device="cpu", dtype=torch.float32)
        owned = scores is not src
        if not owned and (out.requires_grad or 0 in scores.stride()):
            scores, owned = scores.clone(), True
        return scores, owned
    scores_np = np.asarray(out, dtype=np.float32)
    owned = scores_np is not out
    if not owned and (not scores_np.flags.writeable or 0 in scores_np.strides):
        scores_np, owned = scores_np.copy(), True
    return torch.from_numpy(scores_np), owned


def _raise_on_nan(values: torch.Tensor | np.ndarray, users: np.ndarray) -> None:
    """``values`` has one row per entry of ``users``; name the first user with a nan."""
    nan = np.asarray(torch.as_tensor(values).isnan().any(dim=1))
    if nan.any():
        user = int(users[int(np.flatnonzero(nan)[0])])
        raise ValueError(f"scores of user {user} contain nan; check the model")


def _default_users(users, n_users: int | None, name: str = "users") -> np.ndarray:
    if users is None:
        if n_users is None:
            raise ValueError(
                "cannot tell how many users there are; pass users=... (the user ids to rank)"
            )
        return np.arange(n_users, dtype=np.int64)
    if np.ndim(users) != 1:
        raise ValueError(f"{name} must be 1-D, got shape {np.shape(users)}")
    users = check_id_array(users, name)
    if n_users is not None and users.size and users.max() >= n_users:
        raise ValueError(
            f"{name} holds id {int(users.max())} but there are only {n_users} users "
            f"(ids 0..{n_users - 1})"
        )
    return users


def _resolve_n_items(scorer: _Scorer, train, n_items) -> int | None:
    if n_items is not None:
        n_items = check_int(n_items, "n_items", low=1)
    for known in (scorer.n_items, train.shape[1] if sp.issparse(train) else None):
        if known is None:
            continue
        if n_items is not None and known != n_items:
            raise ValueError(
                f"inconsistent catalog sizes: {known} vs n_items={n_items}"
            )
        n_items = int(known)
    return n_items


# ---------------------------------------------------------------- full ranking
def full_ranking_topk(
    scores_or_fn,
    train=None,
    k: int = 10,
    users=None,
    batch_size: int = 1024,
    n_items: int | None = None,
    return_scores: bool = False,
):
    """Top-k items per user over the whole catalog, train items masked.

    Introduced in Chapter 3. Users are scored in batches; in each batch the
    items a user interacted with in ``train`` get the score ``-inf`` and
    ``torch.topk`` picks the ``k`` best of the rest.

    Args:
        scores_or_fn: one of

            * a score matrix of shape ``(n_users, n_items)`` (NumPy or torch);
            * ``score_fn(user_ids)`` taking an int64 array of shape ``(B,)``
              and returning scores of shape ``(B, n_items)``;
            * a model with a ``.score(user_ids)`` method of that kind (every
              recommender of :mod:`recsys_lib.models`).
        train: the interactions to mask (any form accepted by
            :func:`recsys_lib.data.interactions.interactions_to_csr`), or
            ``None`` to mask nothing.
        k: number of items to return per user.
        users: int array ``(n_eval,)`` of user ids to rank; default all users
            (known from the score matrix, the model or a sparse ``train``).
        batch_size: users per batch; memory is about
            ``batch_size * n_items * 4`` bytes.
        n_items: catalog size, if neither the scores nor ``train`` tell it.
        return_scores: also return the scores of the chosen items.

    Returns:
        ``top_items``: int64 array ``(n_eval, k)``, best first; with
        ``return_scores=True`` a tuple ``(top_items, top_scores)`` with
        ``top_scores`` float32 ``(n_eval, k)``.

    Raises:
        ValueError: if scores have the wrong shape or contain nan, a user has
            fewer than ``k`` unmasked items, or ids are out of range.
    """
    scorer = _Scorer(scores_or_fn)
    k = check_int(k, "k", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    n_items = _resolve_n_items(scorer, train, n_items)
    train_csr = None
    n_users = scorer.n_users
    if train is not None:
        train_csr = interactions_to_csr(
            train, n_users=None, n_items=n_items, name="train"
        )
        if n_users is None and sp.issparse(train):
            n_users = train_csr.shape[0]
    users = _default_users(users, n_users)
    if users.size == 0:
        raise ValueError("users is empty: nobody to rank")
    if train_csr is not None:
        train_csr = resize_rows(train_csr, int(users.max()) + 1)
    return _topk(scorer, train_csr, k, users, batch_size, n_items, return_scores)


def _check_room(train_csr, users, n_items: int, k: int) -> None:
    """Every user needs at least ``k`` items left after masking."""
    if k > n_items:
        raise ValueError(f"k={k} but the catalog has only {n_items} items")
    if train_csr is None:
        return
    if train_csr.shape[1] > n_items:
        raise ValueError(
            f"train holds item id {train_csr.shape[1] - 1} but the scores cover only "
            f"{n_items} items"
        )
    unmasked = n_items - np.diff(train_csr.indptr)[users]
    short = np.flatnonzero(unmasked < k)
    if short.size:
        u = int(users[short[0]])
        raise ValueError(
            f"{short.size} user(s) have fewer than k={k} items left after masking "
            f"their train items (e.g. user {u}: {int(unmasked[short[0]])} left); "
            "use a smaller k or drop these users"
        )


def _topk(scorer, train_csr, k, users, batch_size, n_items, return_scores):
    if n_items is not None:
        _check_room(train_csr, users, n_items, k)
    tops, vals = [], []
    for start in range(0, users.size, batch_size):
        batch = users[start : start + batch_size]
        scores, owned = scorer(batch, n_items)  # (B, n_items) float32
        if n_items is None:  # a score_fn: the first batch tells the catalog size
            n_items = scores.shape[1]
            _check_room(train_csr, users, n_items, k)
        saved = None
        if train_csr is not None:
            sub = train_csr[batch]
            rows = torch.from_numpy(
                np.repeat(np.arange(batch.size), np.diff(sub.indptr))
            )
            cols = torch.from_numpy(sub.indices.astype(np.int64))
            if not owned:  # not ours to keep: remember the few values we overwrite
                saved = scores[rows, cols]
            scores[rows, cols] = -torch.inf
        top_v, top_i = torch.topk(scores, k, dim=1, largest=True, sorted=True)
        if saved is not None:
            scores[rows, cols] = saved  # hand the caller's data back unchanged
        _raise_on_nan(top_v, batch)  # topk ranks nan above everything: a cheap check
        tops.append(top_i.numpy())
        vals.append(top_v.numpy())
    top_items = np.concatenate(tops).astype(np.int64, copy=False)
    if return_scores:
        return top_items, np.concatenate(vals)
    return top_items
