"""Strong simple baselines for implicit-feedback top-k recommendation.

Introduced in Chapter 3 ("Measuring a recommender"): before any deep model,
the book measures what a popularity list, an item-kNN, EASE and BPR matrix
factorization reach under the same protocol and the same tuning budget.

Every recommender shares one tiny interface::

    model = EASE(l2_reg=200.0).fit(train, n_users, n_items)
    scores = model.score(np.array([0, 1, 2]))  # (3, n_items) float32

``train`` is a ``pandas.DataFrame`` with ``user_id`` and ``item_id`` columns
(a ``rating`` column, if present, is ignored: every row is one positive
interaction, so keep only the rows that count as positive, e.g. rating >= 4,
before fitting). Ids must be 0-based and contiguous -- map raw ids to
``0..n_users-1`` and ``0..n_items-1`` first. ``score`` returns raw scores
for all items; :func:`recsys_lib.evaluation.full_ranking_topk` masks the
items seen in training.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse as sp
import torch
from torch import nn

from .config import ITEM_COL, USER_COL
from .evaluation import PROTOCOL_FULL, evaluate_full, interactions_to_csr
from .metrics import _check_k
from .training import History, fit

__all__ = [
    "BPRMF",
    "EASE",
    "ItemKNN",
    "MostPopular",
    "Recommender",
    "TuneResult",
    "tune",
]


def _check_number(name: str, value, low: float, low_inclusive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        raise TypeError(
            f"{name} must be a number, got {type(value).__name__}: {value!r}"
        )
    value = float(value)
    ok = value >= low if low_inclusive else value > low
    if not math.isfinite(value) or not ok:
        sign = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be a finite number {sign} {low}, got {value}")
    return value


class Recommender:
    """Base class: the shared ``fit``/``score`` interface and its input checks.

    Introduced in Chapter 3. Subclasses implement ``_fit(X)`` with ``X`` the
    binary CSR matrix ``(n_users, n_items)`` of training interactions, and
    ``_score(user_ids)`` returning ``(len(user_ids), n_items)`` scores.

    Attributes:
        n_users, n_items: sizes given to :meth:`fit` (``None`` before).
        train_matrix: the binary ``scipy.sparse`` CSR training matrix.
        fit_seconds: wall time of the last :meth:`fit`.
    """

    def __init__(self) -> None:
        self.n_users: int | None = None
        self.n_items: int | None = None
        self.train_matrix: sp.csr_matrix | None = None
        self.fit_seconds = 0.0

    # -- public interface
    def fit(self, train: pd.DataFrame, n_users: int, n_items: int) -> Recommender:
        """Learn from training interactions.

        Args:
            train: DataFrame with integer ``user_id`` and ``item_id`` columns
                (one positive interaction per row; repeats count once).
            n_users: number of users; ids must be in ``[0, n_users)``.
            n_items: number of items; ids must be in ``[0, n_items)``.

        Returns:
            ``self``, so that ``Model().fit(...).score(...)`` chains.

        Raises:
            TypeError: if ``train`` is not a DataFrame or ids are not integers.
            ValueError: for missing columns, an empty ``train`` or ids out of range.
        """
        X = self._check_train(train, n_users, n_items)
        start = time.perf_counter()
        self.n_users, self.n_items = X.shape
        self.train_matrix = X
        self._fit(X)
        self.fit_seconds = time.perf_counter() - start
        return self

    def score(self, user_ids) -> np.ndarray:
        """Scores of every item for some users.

        Args:
            user_ids: integer array ``(B,)`` of user ids in ``[0, n_users)``.

        Returns:
            float32 array ``(B, n_items)``; higher means more recommended.
            Items seen in training are *not* masked here.

        Raises:
            RuntimeError: before :meth:`fit`.
            TypeError, ValueError: for non-integer or unknown user ids.
        """
        if self.n_users is None:
            raise RuntimeError(f"{type(self).__name__}.score() called before fit()")
        users = np.asarray(user_ids)
        if users.ndim == 0:
            users = users[None]
        if users.ndim != 1:
            raise ValueError(f"user_ids must be 1-D, got shape {users.shape}")
        if users.size and not np.issubdtype(users.dtype, np.integer):
            raise TypeError(f"user_ids must be integers, got dtype {users.dtype}")
        users = users.astype(np.int64, copy=False)
        unknown = users[(users < 0) | (users >= self.n_users)]
        if unknown.size:
            raise ValueError(
                f"unknown user id(s) {unknown[:5].tolist()}: the model was fit on "
                f"n_users={self.n_users} (ids 0..{self.n_users - 1})"
            )
        out = np.asarray(self._score(users), dtype=np.float32)
        return out.reshape(users.size, self.n_items)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def get_params(self) -> dict:
        """Hyperparameters, as given to the constructor."""
        return {}

    # -- for subclasses
    def _fit(self, X: sp.csr_matrix) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _score(self, users: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _check_train(train, n_users, n_items, name: str = "train") -> sp.csr_matrix:
        if not isinstance(train, pd.DataFrame):
            raise TypeError(
                f"{name} must be a pandas DataFrame with '{USER_COL}' and '{ITEM_COL}' "
                f"columns, got {type(train).__name__}"
            )
        n_users = _check_k(n_users, name="n_users")
        n_items = _check_k(n_items, name="n_items")
        if len(train) == 0:
            raise ValueError(
                f"{name} is empty: there is nothing to learn from or score"
            )
        return interactions_to_csr(train, n_users=n_users, n_items=n_items, name=name)


class MostPopular(Recommender):
    """Recommend the items most users interacted with, to everyone.

    Introduced in Chapter 3. The score of item ``i`` is the number of training
    users who interacted with it -- the same for every user.
    """

    def _fit(self, X: sp.csr_matrix) -> None:
        self.item_counts = np.asarray(
            X.sum(axis=0), dtype=np.float32
        ).ravel()  # (n_items,)

    def _score(self, users: np.ndarray) -> np.ndarray:
        return np.repeat(self.item_counts[None, :], users.size, axis=0)


def _topk_per_row(mat: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of every row of a CSR matrix (vectorized)."""
    mat = mat.tocsr()
    lengths = np.diff(mat.indptr)
    rows = np.repeat(np.arange(mat.shape[0]), lengths)
    order = np.lexsort((-mat.data, rows))  # by row, largest first
    rank = np.arange(mat.nnz) - mat.indptr[rows[order]]
    keep = order[rank < k]
    out = sp.csr_matrix(
        (mat.data[keep], (rows[keep], mat.indices[keep])),
        shape=mat.shape,
        dtype=mat.dtype,
    )
    out.sort_indices()
    return out


class ItemKNN(Recommender):
    """Item-based k-nearest neighbours with shrunk cosine similarity.

    Introduced in Chapter 3. With ``c_ij`` the number of users who interacted
    with both items and ``n_i`` the number who interacted with ``i``,

    ``sim(i, j) = c_ij / (sqrt(n_i) * sqrt(n_j) + shrinkage)``

    (the shrinkage pulls similarities supported by few users towards 0). For
    every target item only its ``k_neighbors`` most similar items are kept, and
    a user's score for item ``i`` is the sum of the similarities between
    ``i`` and the items in the user's history. Everything stays in
    ``scipy.sparse``.

    Args:
        k_neighbors: neighbours kept per item (>= 1).
        shrinkage: shrinkage term (>= 0).
    """

    def __init__(self, k_neighbors: int = 100, shrinkage: float = 10.0) -> None:
        super().__init__()
        self.k_neighbors = _check_k(k_neighbors, name="k_neighbors")
        self.shrinkage = _check_number("shrinkage", shrinkage, 0.0)

    def get_params(self) -> dict:
        return {"k_neighbors": self.k_neighbors, "shrinkage": self.shrinkage}

    def _fit(self, X: sp.csr_matrix) -> None:
        Xc = X.tocsc().astype(np.float64)
        co = (Xc.T @ Xc).tocoo()  # (n_items, n_items) co-occurrence counts
        off = co.row != co.col  # an item is not its own neighbour
        row, col, count = co.row[off], co.col[off], co.data[off]
        norms = np.sqrt(np.asarray(Xc.sum(axis=0)).ravel())  # (n_items,)
        data = count / (norms[row] * norms[col] + self.shrinkage + 1e-12)
        sim = sp.csr_matrix((data, (row, col)), shape=co.shape)
        # Row i of `sim` holds the neighbours of target item i; keep the top k,
        # then transpose so that scores = X @ W with W[j, i] = sim(j, i).
        self.similarity = (
            _topk_per_row(sim, self.k_neighbors).T.tocsr().astype(np.float32)
        )

    def _score(self, users: np.ndarray) -> np.ndarray:
        return (self.train_matrix[users] @ self.similarity).toarray()


class EASE(Recommender):
    """Embarrassingly Shallow Autoencoder (Steck, 2019), closed form.

    Introduced in Chapter 3. With ``X`` the binary ``(n_users, n_items)``
    matrix, ``P = (X^T X + l2_reg * I)^-1`` and
    ``B = I - P / diag(P)`` (each column ``j`` divided by ``P_jj``), which has
    a zero diagonal, so an item cannot recommend itself. Scores are ``X B``.
    It needs a dense ``n_items x n_items`` matrix: fine up to ~20,000 items.

    Args:
        l2_reg: the ridge penalty ``lambda`` (> 0); Steck used values in the
            hundreds for data sets with thousands of items.
        max_items: refuse larger catalogs (memory grows as ``8 * n_items^2`` bytes).
    """

    def __init__(self, l2_reg: float = 500.0, max_items: int = 20_000) -> None:
        super().__init__()
        self.l2_reg = _check_number("l2_reg", l2_reg, 0.0, low_inclusive=False)
        self.max_items = _check_k(max_items, name="max_items")

    def get_params(self) -> dict:
        return {"l2_reg": self.l2_reg}

    def _fit(self, X: sp.csr_matrix) -> None:
        n_items = X.shape[1]
        if n_items > self.max_items:
            raise ValueError(
                f"EASE needs a dense {n_items} x {n_items} matrix "
                f"({8 * n_items**2 / 1e9:.1f} GB); raise max_items if you have the memory"
            )
        gram = (X.T @ X).toarray().astype(np.float64)
        gram[np.diag_indices(n_items)] += self.l2_reg
        # gram is symmetric positive definite: invert through a Cholesky factor.
        P = scipy.linalg.cho_solve(scipy.linalg.cho_factor(gram), np.eye(n_items))
        B = -P / np.diag(P)[None, :]
        B[np.diag_indices(n_items)] = 0.0
        self.weights = B.astype(np.float32)  # (n_items, n_items)

    def _score(self, users: np.ndarray) -> np.ndarray:
        return self.train_matrix[users] @ self.weights


class _MF(nn.Module):
    """``score(u, i) = p_u . q_i + b_i``."""

    def __init__(
        self, n_users: int, n_items: int, dim: int, generator: torch.Generator
    ):
        super().__init__()
        self.user = nn.Embedding(n_users, dim)
        self.item = nn.Embedding(n_items, dim)
        self.item_bias = nn.Embedding(n_items, 1)
        with torch.no_grad():
            self.user.weight.normal_(0.0, 0.1, generator=generator)
            self.item.weight.normal_(0.0, 0.1, generator=generator)
            self.item_bias.weight.zero_()

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return (self.user(users) * self.item(items)).sum(-1) + self.item_bias(
            items
        ).squeeze(-1)

    def all_scores(self, users: torch.Tensor) -> torch.Tensor:
        return self.user(users) @ self.item.weight.T + self.item_bias.weight.T


class _BPRBatches:
    """Re-iterable loader of ``(users, pos, neg)`` batches, new negatives each epoch.

    ``fit`` iterates it once per epoch; every pass shuffles the interactions
    and draws fresh negatives from the seeded generator.
    """

    def __init__(self, X: sp.csr_matrix, batch_size: int, rng: np.random.Generator):
        coo = X.tocoo()
        self.users = coo.row.astype(np.int64)
        self.items = coo.col.astype(np.int64)
        self.n_items = X.shape[1]
        # Sorted (user, item) keys for a vectorized "did u see i?" test.
        self.keys = np.sort(self.users * self.n_items + self.items)
        self.batch_size = batch_size
        self.rng = rng

    def sample_negatives(self, users: np.ndarray) -> np.ndarray:
        """One item per entry, drawn uniformly among the items its user did not see."""
        neg = self.rng.integers(0, self.n_items, size=users.size)
        for _ in range(1000):
            query = users * self.n_items + neg
            pos = np.minimum(np.searchsorted(self.keys, query), self.keys.size - 1)
            bad = self.keys[pos] == query
            if not bad.any():
                return neg
            neg[bad] = self.rng.integers(0, self.n_items, size=int(bad.sum()))
        raise RuntimeError(  # pragma: no cover - users who saw nearly every item
            "could not draw negatives: some users interacted with almost every item"
        )

    def __len__(self) -> int:
        return math.ceil(self.users.size / self.batch_size)

    def __iter__(self):
        order = self.rng.permutation(self.users.size)
        users, pos = self.users[order], self.items[order]
        neg = self.sample_negatives(users)
        for lo in range(0, users.size, self.batch_size):
            sl = slice(lo, lo + self.batch_size)
            yield (
                torch.from_numpy(users[sl]),
                torch.from_numpy(pos[sl]),
                torch.from_numpy(neg[sl]),
            )


class BPRMF(Recommender):
    """Matrix factorization trained with Bayesian Personalized Ranking (Rendle et al., 2009).

    Introduced in Chapter 3. ``score(u, i) = p_u . q_i + b_i``; each training
    step takes observed pairs ``(u, i)``, draws for each a negative item ``j``
    uniformly among the items ``u`` did not interact with, and minimizes
    ``-log sigmoid(score(u, i) - score(u, j))`` plus
    ``weight_decay * (|p_u|^2 + |q_i|^2 + |q_j|^2)`` averaged over the batch
    (the L2 penalty of the BPR paper, on the rows in the batch). Training
    runs :func:`recsys_lib.training.fit` with Adam; with ``fit(...,
    valid=...)`` it early-stops on full-ranking NDCG@10 on the validation
    split. The same ``seed`` gives the same model.

    Args:
        dim: embedding size.
        lr: Adam learning rate.
        weight_decay: L2 penalty (>= 0), see above.
        epochs: maximum passes over the training interactions.
        batch_size: interactions per step.
        seed: seeds the initialization, shuffling and negative sampling.
        patience: early-stopping patience in epochs (needs ``valid``).
        show_progress: print a progress bar over epochs.

    Attributes:
        history: the :class:`recsys_lib.training.History` of the last fit.
    """

    def __init__(
        self,
        dim: int = 32,
        lr: float = 0.01,
        weight_decay: float = 0.01,
        epochs: int = 20,
        batch_size: int = 1024,
        seed: int = 0,
        patience: int | None = 3,
        show_progress: bool = False,
    ) -> None:
        super().__init__()
        self.dim = _check_k(dim, name="dim")
        self.lr = _check_number("lr", lr, 0.0, low_inclusive=False)
        self.weight_decay = _check_number("weight_decay", weight_decay, 0.0)
        self.epochs = _check_k(epochs, name="epochs")
        self.batch_size = _check_k(batch_size, name="batch_size")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        self.seed = int(seed)
        self.patience = (
            None if patience is None else _check_k(patience, name="patience")
        )
        self.show_progress = bool(show_progress)
        self._valid: pd.DataFrame | None = None
        self.history: History | None = None
        self.model: _MF | None = None

    def get_params(self) -> dict:
        return {
            "dim": self.dim,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "patience": self.patience,
        }

    def fit(
        self,
        train: pd.DataFrame,
        n_users: int,
        n_items: int,
        valid: pd.DataFrame | None = None,
    ) -> BPRMF:
        """Train; see :meth:`Recommender.fit`.

        Args:
            train, n_users, n_items: as in :meth:`Recommender.fit`.
            valid: optional validation interactions (same columns); if given,
                NDCG@10 (full ranking, train items masked) is tracked per
                epoch, the best epoch's weights are kept and training stops
                after ``patience`` epochs without improvement.
        """
        self._valid = valid
        try:
            return super().fit(train, n_users, n_items)
        finally:
            self._valid = None

    def _fit(self, X: sp.csr_matrix) -> None:
        n_users, n_items = X.shape
        full = np.flatnonzero(np.diff(X.indptr) >= n_items)
        if full.size:
            raise ValueError(
                f"user {int(full[0])} interacted with every item: BPR has no negative to "
                "sample for them; drop such users"
            )
        generator = torch.Generator().manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        self.model = _MF(n_users, n_items, self.dim, generator)
        loader = _BPRBatches(X, self.batch_size, rng)
        wd = self.weight_decay

        def bpr_loss(model: _MF, batch) -> torch.Tensor:
            u, i, j = batch
            pu, qi, qj = model.user(u), model.item(i), model.item(j)
            diff = (pu * (qi - qj)).sum(-1) + (
                model.item_bias(i) - model.item_bias(j)
            ).squeeze(-1)
            reg = (pu.pow(2).sum(-1) + qi.pow(2).sum(-1) + qj.pow(2).sum(-1)).mean()
            return -nn.functional.logsigmoid(diff).mean() + wd * reg

        val_fn = None
        if self._valid is not None:
            valid_csr = interactions_to_csr(self._valid, n_users, n_items, name="valid")

            def val_fn(model: _MF) -> float:
                return evaluate_full(
                    self._score, X, valid_csr, k=10, n_items=n_items, batch_size=2048
                )["ndcg@10"]

        optimizer = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        self.history = fit(
            self.model,
            loader,
            bpr_loss,
            optimizer,
            epochs=self.epochs,
            val_fn=val_fn,
            monitor="max",
            patience=self.patience if val_fn is not None else None,
            show_progress=self.show_progress,
            desc="BPR-MF",
        )

    def _score(self, users: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.model.all_scores(torch.from_numpy(users)).numpy()


# ---------------------------------------------------------------- tuning
class TuneResult:
    """Outcome of :func:`tune`.

    Attributes:
        best_params: the winning hyperparameters.
        best_value: their validation value of ``metric``.
        metric: the metric that was maximized, e.g. ``"ndcg@10"``.
        table: DataFrame with one row per configuration (its parameters,
            every metric at ``k``, fit and evaluation seconds), best first.
        best_model: the winning model, fitted on ``train``.
        protocol: how the validation numbers were made.
    """

    def __init__(
        self, best_params, best_value, metric, table, best_model, protocol
    ) -> None:
        self.best_params = best_params
        self.best_value = best_value
        self.metric = metric
        self.table = table
        self.best_model = best_model
        self.protocol = protocol

    def __repr__(self) -> str:
        return (
            f"TuneResult(best_params={self.best_params}, {self.metric}={self.best_value:.4f}, "
            f"configs={len(self.table)}, protocol={self.protocol!r})"
        )


def tune(
    model_factory: Callable[..., Recommender],
    param_grid: Mapping[str, list],
    train: pd.DataFrame,
    valid: pd.DataFrame,
    n_users: int,
    n_items: int,
    k: int = 10,
    metric: str = "ndcg@10",
    budget: int | None = None,
    seed: int = 0,
    tie_tolerance: float = 0.0,
) -> TuneResult:
    """Grid search with the same budget and protocol for every model.

    Introduced in Chapter 3. Comparing a tuned new model against untuned
    baselines is the most common flaw in published comparisons; ``tune``
    gives every model the same treatment: each configuration is fitted on
    ``train`` and scored by full ranking (train items masked) on ``valid``.

    Args:
        model_factory: called as ``model_factory(**params)`` and returning an
            unfitted recommender (a class such as ``EASE`` works).
        param_grid: ``{name: [values, ...]}``; the grid is the product of
            the lists.
        train: training interactions (DataFrame with ``user_id``/``item_id``).
        valid: validation interactions, disjoint from ``train``.
        n_users, n_items: id ranges.
        k: cut-off of the validation metrics.
        metric: the metric to maximize; must be one of the metrics at ``k``.
        budget: evaluate at most this many configurations, drawn at random
            (seeded) from the grid when it is larger; ``None`` = whole grid.
            Give every model the same budget for a fair comparison.
        seed: seed of that draw.
        tie_tolerance: configurations whose validation value is within this
            much of the best count as tied, and the *first* of them in grid
            order wins. Two configurations that differ in the last digits
            (which another CPU or thread count can change) then cannot swap
            places, so the chosen model is the same on every machine. List the
            simplest or most regularized value first in each grid list. 0
            picks the best value (the first on an exact tie).

    Returns:
        A :class:`TuneResult`.

    Raises:
        ValueError: for an empty grid, a grid value that is not a list, an
            unknown metric, ``budget < 1`` or a negative ``tie_tolerance``.
    """
    k = _check_k(k)
    valid_metrics = [
        f"{name}@{k}" for name in ("precision", "recall", "f1", "ndcg")
    ] + [f"{name}@{k}" for name in ("hit_rate", "mrr", "map")]
    if metric not in valid_metrics:
        raise ValueError(
            f"metric {metric!r} is not computed with k={k}; use one of {valid_metrics}"
        )
    if not isinstance(param_grid, Mapping):
        raise TypeError(
            f"param_grid must be a dict of lists, got {type(param_grid).__name__}"
        )
    for name, values in param_grid.items():
        if (
            isinstance(values, str)
            or not isinstance(values, list | tuple)
            or not values
        ):
            raise ValueError(
                f"param_grid[{name!r}] must be a non-empty list, got {values!r}"
            )
    names = list(param_grid)
    configs = [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*param_grid.values())
    ]
    if budget is not None:
        budget = _check_k(budget, name="budget")
        if budget < len(configs):
            pick = np.sort(
                np.random.default_rng(seed).choice(len(configs), budget, replace=False)
            )
            configs = [configs[i] for i in pick]

    if (
        isinstance(tie_tolerance, bool)
        or not isinstance(tie_tolerance, int | float)
        or not math.isfinite(tie_tolerance)
        or tie_tolerance < 0
    ):
        raise ValueError(
            f"tie_tolerance must be a finite number >= 0, got {tie_tolerance!r}"
        )
    Recommender._check_train(
        valid, n_users, n_items, name="valid"
    )  # fail before fitting
    rows, values, models = [], [], {}  # models: only those still within the tie band
    for params in configs:
        model = model_factory(**params)
        start = time.perf_counter()
        model.fit(train, n_users, n_items)
        fit_s = time.perf_counter() - start
        result = evaluate_full(model, train, valid, k=k, n_items=n_items)
        value = result[metric]
        rows.append(
            {**params, **result.metrics, "fit_s": fit_s, "eval_s": result.seconds}
        )
        values.append(value)
        models[len(values) - 1] = model
        top = max(values)
        models = {i: m for i, m in models.items() if values[i] >= top - tie_tolerance}
    chosen = next(i for i, v in enumerate(values) if v >= top - tie_tolerance)
    best, best_model, best_params = values[chosen], models[chosen], configs[chosen]
    table = (
        pd.DataFrame(rows)
        .sort_values(metric, ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    return TuneResult(
        best_params, float(best), metric, table, best_model, PROTOCOL_FULL
    )
