"""What a bandit believes about clicks: posteriors it can average, sample and update.

Introduced in Chapter 10 ("The feedback loop"). A *belief* estimates the
attraction ``mu(u, i)`` -- the chance that a shopper clicks a product she
looked at -- and knows how unsure it is. The policies of
:mod:`recsys_lib.online.policies` act on it: greedy ranks by the mean,
Thompson sampling by a draw, UCB by an optimistic bound.

Both beliefs learn from clicks *corrected for position*: a product shown in
slot ``k`` was looked at with probability ``theta_k = (1 + k) **
-position_bias`` (the examination curve of the environment, assumed known
here, e.g. from a randomised experiment), so a miss low on the page says
less than a miss at the top.

* :class:`BetaBernoulli` -- one Beta posterior per product, shared by every
  shopper (non-contextual: the best products for everybody). A click adds 1
  to ``alpha``; a slot seen without a click adds ``theta_k`` to ``beta``
  (the position-based model's usual conjugate approximation,
  ``1 - theta * mu ~ (1 - mu) ** theta`` for small ``mu``).
* :class:`LinearGaussian` -- per product, a Bayesian ridge regression of the
  click on the shopper's features (the *disjoint* model of LinUCB, Li et al.
  2010): ``mu(u, i) = prior_mean + x_u . w_i``, fitted by weighted least
  squares of ``click - theta * prior_mean`` on ``theta * x_u``.

Both follow the :class:`~recsys_lib.recommender.Scorer` protocol (``score``
is the posterior mean), so evaluation and the greedy policy treat them like
any model of the library.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ..checks import check_id_array, check_int, check_number
from ..config import ITEM_COL, USER_COL
from ..recommender import RecommendMixin
from .env import Feedback

__all__ = ["BetaBernoulli", "LinearGaussian", "as_observations"]


def as_observations(log, n_users: int, n_items: int):
    """``(users, items, clicks, positions)`` 1-D arrays from feedback or a frame.

    Accepts a :class:`~recsys_lib.online.Feedback`, or a DataFrame with
    ``user_id``, ``item_id``, ``position`` and ``click`` columns (e.g.
    :func:`~recsys_lib.online.logged_impressions` or ``Feedback.to_frame()``).

    Raises:
        TypeError: for another kind of input or non-boolean clicks.
        ValueError: for missing columns, ids out of range or negative positions.
    """
    if isinstance(log, pd.DataFrame):
        missing = [c for c in (USER_COL, ITEM_COL, "position", "click") if c not in log]
        if missing:
            raise ValueError(f"the log lacks column(s) {missing}")
        users, items = log[USER_COL].to_numpy(), log[ITEM_COL].to_numpy()
        clicks, positions = log["click"].to_numpy(), log["position"].to_numpy()
    elif isinstance(log, Feedback):
        b, k = log.items.shape
        users = np.repeat(log.users, k)
        items, clicks = log.items.ravel(), log.clicks.ravel()
        positions = np.tile(np.arange(k), b)
    else:
        raise TypeError(
            "expected Feedback or a DataFrame with user_id, item_id, position and "
            f"click columns, got {type(log).__name__}"
        )
    users = check_id_array(users, "user ids", n_users)
    items = check_id_array(items, "item ids", n_items)
    positions = check_id_array(positions, "positions")
    clicks = np.asarray(clicks)
    if clicks.dtype != bool:
        if not np.isin(clicks, (0, 1)).all():
            raise TypeError("clicks must be booleans (or 0/1)")
        clicks = clicks.astype(bool)
    if not users.size == items.size == clicks.size == positions.size:
        raise ValueError("users, items, clicks and positions must have one entry each")
    return users, items, clicks, positions


class _Belief(RecommendMixin):
    """Shared parts: checks, examination weights and the Scorer protocol."""

    def __init__(self, n_users, n_items, prior_mean, position_bias) -> None:
        self.n_users = check_int(n_users, "n_users", low=1)
        self.n_items = check_int(n_items, "n_items", low=1)
        self.prior_mean = check_number(
            prior_mean, "prior_mean", low=0.0, high=1.0, low_open=True, high_open=True
        )
        self.position_bias = check_number(position_bias, "position_bias", low=0.0)
        self.n_observations = 0

    def theta(self, positions) -> np.ndarray:
        """Examination probability of each position, ``(1 + k) ** -position_bias``."""
        return (1.0 + np.asarray(positions, dtype=np.float64)) ** -self.position_bias

    def update(self, log) -> None:
        """Learn from a round's :class:`~recsys_lib.online.Feedback` (or a log frame)."""
        users, items, clicks, positions = as_observations(
            log, self.n_users, self.n_items
        )
        self._observe(users, items, clicks.astype(np.float64), self.theta(positions))
        self.n_observations += int(users.size)

    def fit(self, log):
        """Learn from a whole log (a frame with positions and clicks); returns ``self``."""
        self.update(log)
        return self

    def _users(self, user_ids) -> np.ndarray:
        return check_id_array(user_ids, "user_ids", self.n_users)

    def score(self, user_ids, items=None) -> torch.Tensor:
        """Posterior mean of the attraction, float32 ``(B, n_items)`` (the Scorer protocol)."""
        out = torch.from_numpy(self.mean(user_ids).astype(np.float32))
        return self._select_items(out, items)

    def _observe(self, users, items, clicks, theta) -> None:  # pragma: no cover
        raise NotImplementedError

    def mean(self, user_ids) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class BetaBernoulli(_Belief):
    """A Beta posterior of each product's attraction, the same for every shopper.

    Introduced in Chapter 10.

    Args:
        n_users, n_items: id ranges.
        prior_mean: the attraction believed before any click (e.g. the
            shop's average).
        prior_strength: how many looks the prior is worth (``alpha + beta``
            before data).
        position_bias: exponent of the examination curve (0 ignores
            positions).

    Attributes:
        alpha, beta: ``(n_items,)`` posterior parameters.
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        prior_mean: float = 0.1,
        prior_strength: float = 2.0,
        position_bias: float = 0.0,
    ) -> None:
        super().__init__(n_users, n_items, prior_mean, position_bias)
        self.prior_strength = check_number(
            prior_strength, "prior_strength", low=0.0, low_open=True
        )
        self.alpha = np.full(self.n_items, self.prior_mean * self.prior_strength)
        self.beta = np.full(self.n_items, (1 - self.prior_mean) * self.prior_strength)

    def _observe(self, users, items, clicks, theta) -> None:
        self.alpha += np.bincount(items, weights=clicks, minlength=self.n_items)
        self.beta += np.bincount(
            items, weights=theta * (1.0 - clicks), minlength=self.n_items
        )

    def mean(self, user_ids) -> np.ndarray:
        """Posterior mean, float64 ``(B, n_items)`` (the same row for every user)."""
        users = self._users(user_ids)
        m = self.alpha / (self.alpha + self.beta)
        return np.broadcast_to(m, (users.size, self.n_items)).copy()

    def std(self, user_ids) -> np.ndarray:
        """Posterior standard deviation, ``(B, n_items)``."""
        users = self._users(user_ids)
        a, b = self.alpha, self.beta
        s = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
        return np.broadcast_to(s, (users.size, self.n_items)).copy()

    def sample(self, user_ids, rng: np.random.Generator) -> np.ndarray:
        """One posterior draw per (user, item): Thompson sampling's scores."""
        users = self._users(user_ids)
        return rng.beta(self.alpha, self.beta, size=(users.size, self.n_items))

    def __repr__(self) -> str:
        return (
            f"BetaBernoulli({self.n_items} items, prior_mean={self.prior_mean:g}, "
            f"prior_strength={self.prior_strength:g}, "
            f"position_bias={self.position_bias:g}, {self.n_observations} observations)"
        )


class LinearGaussian(_Belief):
    """Per product, Bayesian ridge regression of the click on the shopper's features.

    Introduced in Chapter 10: LinUCB's "disjoint" model (Li et al., 2010).
    With ``A_i = ridge * I + sum theta^2 x x^T`` and ``b_i = sum theta
    (click - theta * prior_mean) x`` over the looks at product ``i``, the
    posterior of ``w_i`` is ``N(A_i^-1 b_i, noise^2 A_i^-1)``, so

    * mean: ``prior_mean + x_u . A_i^-1 b_i``;
    * std: ``noise * sqrt(x_u^T A_i^-1 x_u)`` -- large for shoppers unlike
      those who saw the product.

    Args:
        user_features: float ``(n_users, d)`` what the shop knows about each
            shopper (include a constant column for a per-product intercept).
        n_items: number of products.
        ridge: prior precision (>= 0 would allow singular systems; > 0).
        noise: scale of the posterior (the click noise's standard
            deviation in the Bayesian model); Thompson sampling's draws and
            UCB's bonus grow with it.
        prior_mean, position_bias: as in :class:`BetaBernoulli`.
    """

    def __init__(
        self,
        user_features,
        n_items: int,
        ridge: float = 1.0,
        noise: float = 0.3,
        prior_mean: float = 0.1,
        position_bias: float = 0.0,
    ) -> None:
        x = np.asarray(user_features)
        if x.dtype == bool or not np.issubdtype(x.dtype, np.number):
            raise TypeError(f"user_features must be numbers, got dtype {x.dtype}")
        if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(
                f"user_features must be a 2-D array (users, features), got shape {x.shape}"
            )
        x = x.astype(np.float64)
        if not np.isfinite(x).all():
            raise ValueError("user_features holds NaN or inf")
        super().__init__(x.shape[0], n_items, prior_mean, position_bias)
        self.features = x
        self.dim = x.shape[1]
        self.ridge = check_number(ridge, "ridge", low=0.0, low_open=True)
        self.noise = check_number(noise, "noise", low=0.0)
        self.A = np.tile(self.ridge * np.eye(self.dim), (self.n_items, 1, 1))
        self.b = np.zeros((self.n_items, self.dim))
        self._a_inv = np.tile(np.eye(self.dim) / self.ridge, (self.n_items, 1, 1))
        self._w = np.zeros((self.n_items, self.dim))
        self._dirty = np.zeros(self.n_items, dtype=bool)

    def _observe(self, users, items, clicks, theta) -> None:
        z = self.features[users] * theta[:, None]  # (n, d): regressors theta * x
        target = clicks - theta * self.prior_mean
        by_item = sp.csr_matrix(
            (np.ones(items.size), (items, np.arange(items.size))),
            shape=(self.n_items, items.size),
        )
        outer = (z[:, :, None] * z[:, None, :]).reshape(items.size, -1)
        self.A += np.asarray(by_item @ outer).reshape(self.A.shape)
        self.b += np.asarray(by_item @ (z * target[:, None]))
        self._dirty[items] = True

    def _solve(self) -> tuple[np.ndarray, np.ndarray]:
        """``(A^-1 (n_items, d, d), w (n_items, d))``; only products seen since the last call are re-solved."""
        if self._dirty.any():
            changed = np.flatnonzero(self._dirty)
            a_inv = np.linalg.inv(self.A[changed])
            self._a_inv[changed] = a_inv
            self._w[changed] = np.einsum("nij,nj->ni", a_inv, self.b[changed])
            self._dirty[:] = False
        return self._a_inv, self._w

    def mean(self, user_ids) -> np.ndarray:
        """Posterior mean attraction, float64 ``(B, n_items)``."""
        x = self.features[self._users(user_ids)]
        _, w = self._solve()
        return self.prior_mean + x @ w.T

    def std(self, user_ids) -> np.ndarray:
        """Posterior standard deviation of ``mu(u, i)``, ``(B, n_items)``."""
        x = self.features[self._users(user_ids)]
        a_inv, _ = self._solve()
        d, n = self.dim, self.n_items
        t = (x @ a_inv.transpose(1, 0, 2).reshape(d, n * d)).reshape(-1, n, d)
        var = np.matmul(t, x[:, :, None])[:, :, 0]  # x_u^T A_i^-1 x_u
        return self.noise * np.sqrt(np.maximum(var, 0.0))

    def sample(self, user_ids, rng: np.random.Generator) -> np.ndarray:
        """One posterior draw of ``mu(u, i)`` per (user, item): linear Thompson sampling."""
        users = self._users(user_ids)
        mean, std = self.mean(users), self.std(users)
        return mean + std * rng.standard_normal(mean.shape)

    def __repr__(self) -> str:
        return (
            f"LinearGaussian({self.n_items} items, {self.dim} user features, "
            f"ridge={self.ridge:g}, noise={self.noise:g}, prior_mean={self.prior_mean:g}, "
            f"position_bias={self.position_bias:g}, {self.n_observations} observations)"
        )
