"""Serving policies: how a belief (or any model) becomes slates, with propensities.

Introduced in Chapter 10 ("The feedback loop"). A policy looks at a model of
the clicks and shows each visitor a slate of ``slate_size`` products, best
first. The four rules of the chapter differ only in the scores they rank by:

* :class:`Greedy` -- the model's estimate (exploitation only);
* :class:`EpsilonGreedy` -- greedy, except that with probability ``epsilon``
  the whole slate is drawn uniformly at random (an exploration bucket, like
  the random traffic of the Open Bandit Dataset);
* :class:`ThompsonSampling` -- a draw from the belief's posterior (Thompson,
  1933; Chapelle & Li, 2011);
* :class:`UCB` -- posterior mean plus ``alpha`` posterior standard
  deviations (with :class:`~recsys_lib.online.LinearGaussian`: LinUCB, Li et
  al., 2010);

plus :class:`UniformRandom`. Ties are broken towards the lower item id, so
greedy policies are deterministic.

**Propensities.** For off-policy evaluation a log must say how likely the
shown item was. A policy's :meth:`~Policy.probabilities` returns, per
visitor and slot, the distribution over the catalog of the item placed there
(each ``[b, k, :]`` sums to 1); :meth:`~Policy.act` returns the shown items
with their propensities. For greedy policies these are 1, for
epsilon-greedy ``(1 - epsilon) [i = g_k] + epsilon / n_items`` exactly,
for Thompson sampling a Monte Carlo estimate (``n_sim`` draws, as in the
Open Bandit Pipeline; counting the executed draw keeps it positive).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from ..checks import check_id_array, check_int, check_number

__all__ = [
    "EpsilonGreedy",
    "Greedy",
    "Policy",
    "Slates",
    "ThompsonSampling",
    "UCB",
    "UniformRandom",
    "top_k",
]


class Slates(NamedTuple):
    """What :meth:`Policy.act` returns: ``items (B, K)`` and their ``propensities (B, K)`` (or ``None``)."""

    items: np.ndarray
    propensities: np.ndarray | None


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores per row, best first; ties to the lower index."""
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (users, items), got shape {scores.shape}")
    k = check_int(k, "k", low=1, high=scores.shape[1])
    if np.isnan(scores).any():
        raise ValueError("scores hold NaN; a policy cannot rank them")
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def _one_hot(items: np.ndarray, n_items: int) -> np.ndarray:
    b, k = items.shape
    out = np.zeros((b, k, n_items))
    np.put_along_axis(out, items[:, :, None], 1.0, axis=2)
    return out


class Policy:
    """Base of the policies: a model, a slate size and a seeded generator.

    Args:
        model: what the policy ranks by -- a belief of
            :mod:`recsys_lib.online.beliefs` or any
            :class:`~recsys_lib.recommender.Scorer` (``n_items`` and
            ``score(users)``).
        slate_size: products per slate.
        seed: seeds the policy's own randomness.
        learn: call ``model.update(feedback)`` in :meth:`update`; ``False``
            keeps the model frozen.
    """

    name = "policy"

    def __init__(self, model, slate_size: int = 10, seed: int = 0, learn: bool = True):
        if model is not None and not hasattr(model, "n_items"):
            raise TypeError(
                "model must be a belief or a Scorer (with n_items and score), got "
                f"{type(model).__name__}"
            )
        self.model = model
        n_items = model.n_items if model is not None else None
        self.slate_size = check_int(slate_size, "slate_size", low=1, high=n_items)
        self.seed = check_int(seed, "seed", low=0)
        self.learn = bool(learn)
        self.rng = np.random.default_rng(self.seed)

    @property
    def n_items(self) -> int:
        return self.model.n_items

    def _users(self, user_ids) -> np.ndarray:
        n_users = getattr(self.model, "n_users", None)
        return check_id_array(user_ids, "user_ids", n_users)

    def _mean(self, users: np.ndarray) -> np.ndarray:
        """The model's estimate, float64 ``(B, n_items)``."""
        if hasattr(self.model, "mean"):
            return np.asarray(self.model.mean(users), dtype=np.float64)
        scores = self.model.score(users)
        if isinstance(scores, torch.Tensor):
            scores = scores.detach().cpu().numpy()
        return np.asarray(scores, dtype=np.float64)

    def act(self, user_ids) -> Slates:
        """A slate per visitor, with propensities. Subclasses implement it."""
        raise NotImplementedError  # pragma: no cover

    def probabilities(self, user_ids) -> np.ndarray:
        """``(B, K, n_items)``: the chance of each item at each slot (rows sum to 1)."""
        raise NotImplementedError  # pragma: no cover

    def update(self, feedback) -> None:
        """Learn from a round of feedback (unless frozen with ``learn=False``)."""
        if self.learn and hasattr(self.model, "update"):
            self.model.update(feedback)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model!r}, slate_size={self.slate_size})"


class Greedy(Policy):
    """Show the ``K`` items the model rates highest. Introduced in Chapter 10."""

    name = "greedy"

    def act(self, user_ids) -> Slates:
        users = self._users(user_ids)
        items = top_k(self._mean(users), self.slate_size)
        return Slates(items, np.ones(items.shape))

    def probabilities(self, user_ids) -> np.ndarray:
        users = self._users(user_ids)
        return _one_hot(top_k(self._mean(users), self.slate_size), self.n_items)


class EpsilonGreedy(Policy):
    """Greedy, but with probability ``epsilon`` a uniformly random slate.

    Introduced in Chapter 10. Item ``i`` lands in slot ``k`` with probability
    ``(1 - epsilon) [i = g_k] + epsilon / n_items`` (``g`` the greedy
    slate): every item has a positive propensity at every slot, which is
    what off-policy evaluation needs from a logging policy.
    """

    name = "epsilon-greedy"

    def __init__(
        self,
        model,
        slate_size: int = 10,
        epsilon: float = 0.1,
        seed: int = 0,
        learn: bool = True,
    ):
        super().__init__(model, slate_size, seed, learn)
        self.epsilon = check_number(epsilon, "epsilon", low=0.0, high=1.0)

    def act(self, user_ids) -> Slates:
        users = self._users(user_ids)
        greedy = top_k(self._mean(users), self.slate_size)
        explore = self.rng.random(users.size) < self.epsilon
        items = greedy.copy()
        if explore.any():
            keys = self.rng.random((int(explore.sum()), self.n_items))
            items[explore] = np.argsort(keys, axis=1)[:, : self.slate_size]
        prop = self.epsilon / self.n_items + (1.0 - self.epsilon) * (items == greedy)
        return Slates(items, prop)

    def probabilities(self, user_ids) -> np.ndarray:
        users = self._users(user_ids)
        greedy = top_k(self._mean(users), self.slate_size)
        p = _one_hot(greedy, self.n_items) * (1.0 - self.epsilon)
        return p + self.epsilon / self.n_items

    def __repr__(self) -> str:
        return (
            f"EpsilonGreedy({self.model!r}, slate_size={self.slate_size}, "
            f"epsilon={self.epsilon:g})"
        )


class UCB(Policy):
    """Rank by ``mean + alpha * std`` of the belief: optimism under uncertainty.

    Introduced in Chapter 10; with a :class:`~recsys_lib.online.LinearGaussian`
    belief this is LinUCB (Li et al., 2010). Deterministic, so its
    propensities are 1.
    """

    name = "UCB"

    def __init__(
        self,
        model,
        slate_size: int = 10,
        alpha: float = 1.0,
        seed: int = 0,
        learn: bool = True,
    ):
        if not hasattr(model, "std"):
            raise TypeError(
                f"UCB needs a belief with std(users); {type(model).__name__} has none"
            )
        super().__init__(model, slate_size, seed, learn)
        self.alpha = check_number(alpha, "alpha", low=0.0)

    def _bound(self, users) -> np.ndarray:
        return self._mean(users) + self.alpha * self.model.std(users)

    def act(self, user_ids) -> Slates:
        users = self._users(user_ids)
        items = top_k(self._bound(users), self.slate_size)
        return Slates(items, np.ones(items.shape))

    def probabilities(self, user_ids) -> np.ndarray:
        users = self._users(user_ids)
        return _one_hot(top_k(self._bound(users), self.slate_size), self.n_items)

    def __repr__(self) -> str:
        return (
            f"UCB({self.model!r}, slate_size={self.slate_size}, alpha={self.alpha:g})"
        )


class ThompsonSampling(Policy):
    """Rank by one draw from the belief's posterior, per visitor. Introduced in Chapter 10.

    Args:
        model: a belief with ``sample(users, rng)``.
        slate_size, seed, learn: as in :class:`Policy`.
        n_sim: Monte Carlo draws for the propensities :meth:`act` logs
            (0: log none, which is faster). The estimate counts the executed
            draw too, ``(count + 1) / (n_sim + 1)``, so it is never 0.
    """

    name = "Thompson sampling"

    def __init__(
        self,
        model,
        slate_size: int = 10,
        seed: int = 0,
        learn: bool = True,
        n_sim: int = 0,
    ):
        if not hasattr(model, "sample"):
            raise TypeError(
                "ThompsonSampling needs a belief with sample(users, rng); "
                f"{type(model).__name__} has none"
            )
        super().__init__(model, slate_size, seed, learn)
        self.n_sim = check_int(n_sim, "n_sim", low=0)
        # a second stream for the Monte Carlo propensities: logging them does
        # not change the slates that are shown
        self.sim_rng = np.random.default_rng([self.seed, 1])

    def _counts(self, users: np.ndarray, n_sim: int) -> np.ndarray:
        counts = np.zeros((users.size, self.slate_size, self.n_items))
        b = np.arange(users.size)[:, None]
        k = np.arange(self.slate_size)[None, :]
        for _ in range(n_sim):
            draw = top_k(self.model.sample(users, self.sim_rng), self.slate_size)
            counts[b, k, draw] += 1.0
        return counts

    def act(self, user_ids) -> Slates:
        users = self._users(user_ids)
        items = top_k(self.model.sample(users, self.rng), self.slate_size)
        if self.n_sim == 0:
            return Slates(items, None)
        counts = self._counts(users, self.n_sim)
        shown = np.take_along_axis(counts, items[:, :, None], axis=2)[:, :, 0]
        return Slates(items, (shown + 1.0) / (self.n_sim + 1.0))

    def probabilities(self, user_ids, n_sim: int | None = None) -> np.ndarray:
        """Monte Carlo estimate of the slot distributions (``n_sim`` draws, default 1000)."""
        users = self._users(user_ids)
        n_sim = check_int(1000 if n_sim is None else n_sim, "n_sim", low=1)
        return self._counts(users, n_sim) / n_sim


class UniformRandom(Policy):
    """Every slate uniformly at random (no repeats). Introduced in Chapter 10."""

    name = "uniform random"

    def __init__(self, n_items: int, slate_size: int = 10, seed: int = 0):
        self._n_items = check_int(n_items, "n_items", low=1)
        self.model = None
        self.slate_size = check_int(slate_size, "slate_size", low=1, high=n_items)
        self.seed = check_int(seed, "seed", low=0)
        self.learn = False
        self.rng = np.random.default_rng(self.seed)

    @property
    def n_items(self) -> int:
        return self._n_items

    def act(self, user_ids) -> Slates:
        users = self._users(user_ids)
        keys = self.rng.random((users.size, self.n_items))
        items = np.argsort(keys, axis=1)[:, : self.slate_size]
        return Slates(items, np.full(items.shape, 1.0 / self.n_items))

    def probabilities(self, user_ids) -> np.ndarray:
        users = self._users(user_ids)
        return np.full((users.size, self.slate_size, self.n_items), 1.0 / self.n_items)

    def __repr__(self) -> str:
        return f"UniformRandom({self.n_items} items, slate_size={self.slate_size})"
