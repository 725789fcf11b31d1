"""A small seeded table of user-item ratings with a known truth.

Introduced in Chapter 1. Real data arrives in Chapter 2 (MovieLens-100K and
the ShopSim shop); this table is the tiny, fast stand-in that lets Chapter 1
and the unit tests train a model in seconds and compare it with the truth.

Generative story (all draws from one seeded ``numpy`` generator):

1. every user ``u`` and item ``i`` gets a latent taste vector
   ``p_u, q_i ~ N(0, I / sqrt(n_factors))`` and a bias ``b_u, b_i ~ N(0, bias_std)``;
2. item popularity follows a Zipf-like law, so a few items are rated often;
3. each user rates ``n_u ~ 1 + Poisson(mean_ratings_per_user - 1)`` distinct
   items drawn by popularity;
4. the true affinity is ``3.5 + b_u + b_i + 1.5 * p_u . q_i``; the observed
   rating is that plus ``N(0, noise_std)`` noise, rounded and clipped to 1..5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..checks import check_int, check_number
from ..config import ITEM_COL, RATING_COL, TIMESTAMP_COL, USER_COL

__all__ = ["SyntheticRatings", "make_ratings"]


@dataclass
class SyntheticRatings:
    """Output of :func:`make_ratings`.

    Attributes:
        ratings: one row per (user, item) with ``user_id``, ``item_id``,
            ``rating`` (int 1..5) and ``timestamp`` (int seconds), sorted by time.
        true_affinity: ``(n_users, n_items)`` noise-free affinity -- the oracle.
        user_factors: ``(n_users, n_factors)`` latent tastes.
        item_factors: ``(n_items, n_factors)`` latent item properties.
    """

    ratings: pd.DataFrame
    true_affinity: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray

    @property
    def n_users(self) -> int:
        return self.true_affinity.shape[0]

    @property
    def n_items(self) -> int:
        return self.true_affinity.shape[1]


def make_ratings(
    n_users: int = 500,
    n_items: int = 300,
    n_factors: int = 4,
    mean_ratings_per_user: float = 40.0,
    noise_std: float = 0.5,
    bias_std: float = 0.4,
    popularity_exponent: float = 0.8,
    seed: int = 0,
) -> SyntheticRatings:
    """Generate a seeded explicit-feedback table (see the module docstring).

    Args:
        n_users, n_items: table size (each >= 2).
        n_factors: dimension of the latent tastes (>= 1).
        mean_ratings_per_user: average number of items a user rates
            (>= 1 and at most ``n_items``).
        noise_std: standard deviation of the rating noise (>= 0).
        bias_std: standard deviation of user and item biases (>= 0).
        popularity_exponent: Zipf exponent of item popularity (0 = uniform).
        seed: random seed; the same seed gives the same table.

    Raises:
        TypeError, ValueError: for arguments of the wrong type or range.
    """
    fn = "make_ratings"
    n_users = check_int(n_users, "n_users", low=2, where=fn)
    n_items = check_int(n_items, "n_items", low=2, where=fn)
    n_factors = check_int(n_factors, "n_factors", low=1, where=fn)
    seed = check_int(seed, "seed", low=0, where=fn)
    mean = check_number(mean_ratings_per_user, "mean_ratings_per_user", where=fn)
    if not 1 <= mean <= n_items:
        raise ValueError(
            f"{fn}: mean_ratings_per_user must be in [1, n_items={n_items}], "
            f"got {mean_ratings_per_user}"
        )
    for name, value in (
        ("noise_std", noise_std),
        ("bias_std", bias_std),
        ("popularity_exponent", popularity_exponent),
    ):
        check_number(value, name, low=0, where=fn)

    rng = np.random.default_rng(seed)
    p = rng.normal(0.0, 1.0 / np.sqrt(n_factors), size=(n_users, n_factors))
    q = rng.normal(0.0, 1.0 / np.sqrt(n_factors), size=(n_items, n_factors))
    b_u = rng.normal(0.0, bias_std, size=n_users)
    b_i = rng.normal(0.0, bias_std, size=n_items)
    truth = 3.5 + b_u[:, None] + b_i[None, :] + 1.5 * p @ q.T  # (U, I)

    popularity = 1.0 / np.arange(1, n_items + 1) ** popularity_exponent
    popularity = popularity[rng.permutation(n_items)]
    popularity /= popularity.sum()
    counts = np.minimum(
        1 + rng.poisson(mean_ratings_per_user - 1, size=n_users), n_items
    )

    users, items = [], []
    for u, n in enumerate(counts):
        chosen = rng.choice(n_items, size=n, replace=False, p=popularity)
        users.append(np.full(n, u))
        items.append(chosen)
    users = np.concatenate(users)
    items = np.concatenate(items)
    noisy = truth[users, items] + rng.normal(0.0, noise_std, size=users.size)
    rating = np.clip(np.rint(noisy), 1, 5).astype(np.int64)
    timestamp = np.sort(
        rng.integers(1_600_000_000, 1_600_000_000 + 180 * 86_400, users.size)
    )
    order = rng.permutation(users.size)  # events interleave users over time
    ratings = pd.DataFrame(
        {
            USER_COL: users[order].astype(np.int64),
            ITEM_COL: items[order].astype(np.int64),
            RATING_COL: rating[order],
            TIMESTAMP_COL: timestamp,
        }
    )
    return SyntheticRatings(
        ratings=ratings, true_affinity=truth, user_factors=p, item_factors=q
    )
