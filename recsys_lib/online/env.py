"""ShopSim as an environment: show slates to shoppers, observe what they click.

Introduced in Chapter 10 ("The feedback loop"). Chapter 2's shop knows the
*true affinity* ``a(u, i)`` of every shopper for every product; here it
answers recommendations. Each **round** (a day of traffic) some shoppers
visit; a policy shows each of them a **slate** of ``slate_size`` products,
best first; the environment draws clicks and purchases from the hidden truth
with ShopSim's position-based click model:

.. math::

    P(\\text{click at position } k) = \\theta_k \\, \\mu(u, i), \\qquad
    \\theta_k = (1 + k)^{-\\text{position\\_bias}}, \\qquad
    \\mu(u, i) = \\sigma(\\text{click\\_intercept} + a(u, i)),

``theta_k`` being the chance that the shopper looks at slot ``k`` at all
(*examination*) and ``mu`` the chance that she clicks a product she looked
at (*attraction*). A click becomes a purchase with ShopSim's funnel
(``sigmoid(cart_intercept + cart_affinity_weight * a)`` times
``sigmoid(purchase_intercept + purchase_affinity_weight * a)``). Unlike the
logged history of Chapter 2, the environment leaves out seasons, promotions
and the mood of the day: the truth does not change between rounds, so a
policy's *true value* -- its expected clicks per slate -- is a number the
oracle can compute exactly, and learning curves measure learning only.

Everything is vectorized over the shoppers of a round. Two random streams
come from one seed: one draws the visitors, one the clicks. Two policies run
against environments with the same seed therefore meet the same shoppers and
the same uniform numbers (common random numbers), so their difference is
not blurred by luck; and the same seed with the same slates always gives the
same feedback.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from ..checks import check_id_array, check_int, check_number
from ..config import EVENT_COL, ITEM_COL, USER_COL
from ..data import Shop

__all__ = [
    "Feedback",
    "ShopEnv",
    "check_propensities",
    "check_slates",
    "concat_feedback",
    "examination_curve",
    "logged_impressions",
]


def examination_curve(slate_size: int, position_bias: float) -> np.ndarray:
    """``theta_k = (1 + k) ** -position_bias`` for ``k = 0..slate_size-1``.

    Introduced in Chapter 10: the chance that a shopper looks at slot ``k``.
    """
    slate_size = check_int(slate_size, "slate_size", low=1)
    position_bias = check_number(position_bias, "position_bias", low=0.0)
    return (1.0 + np.arange(slate_size)) ** -position_bias


def check_slates(items, n_items: int, n_rows: int | None = None) -> np.ndarray:
    """Slates as an int64 ``(B, K)`` array of item ids, no item twice in a row.

    Raises:
        TypeError: for non-integer ids.
        ValueError: for the wrong shape, ids outside ``[0, n_items)`` or a
            repeated item within a slate.
    """
    arr = np.asarray(items)
    if arr.ndim != 2:
        raise ValueError(
            f"slates must be a 2-D array (users, positions), got shape {arr.shape}"
        )
    if n_rows is not None and arr.shape[0] != n_rows:
        raise ValueError(
            f"{arr.shape[0]} slates for {n_rows} users: give one slate per user"
        )
    flat = check_id_array(arr.ravel(), "slate items", n_items)
    arr = flat.reshape(arr.shape)
    if arr.shape[1] > 1:
        s = np.sort(arr, axis=1)
        rows = np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1))
        if rows.size:
            raise ValueError(
                f"slate {int(rows[0])} shows an item twice ({arr[rows[0]].tolist()}); "
                "a slate holds distinct items"
            )
    return arr


def check_propensities(propensities, shape: tuple, name: str = "propensities"):
    """Probabilities in ``(0, 1]`` of the shape of the slates (float64).

    A propensity is the probability with which the serving policy put the
    shown item at its position; 0 would mean the item could not have been
    shown, which is a bug in the logging, not a rare event.

    Raises:
        TypeError: for non-numbers.
        ValueError: for another shape, NaN, a value <= 0 or > 1.
    """
    arr = np.asarray(propensities)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must be numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} has shape {arr.shape}, expected {tuple(shape)}")
    if np.isnan(arr).any():
        raise ValueError(f"{name} holds NaN")
    if arr.size and arr.min() <= 0.0:
        raise ValueError(
            f"{name} holds {arr.min():g}: every shown item must have a propensity "
            "> 0 (the serving policy could not have shown it otherwise)"
        )
    if arr.size and arr.max() > 1.0 + 1e-12:
        raise ValueError(f"{name} holds {arr.max():g}; a probability is at most 1")
    return np.minimum(arr, 1.0)


@dataclass(frozen=True)
class Feedback:
    """What one round of the environment returns. Introduced in Chapter 10.

    Attributes:
        round: 0-based round number.
        users: int64 ``(B,)`` the visitors.
        items: int64 ``(B, K)`` the slates that were shown, best first.
        clicks: bool ``(B, K)``.
        purchases: bool ``(B, K)`` (a purchase is always also a click).
        propensities: float64 ``(B, K)`` probability with which the serving
            policy put each shown item at its position, or ``None`` if the
            policy did not log them.
    """

    round: int
    users: np.ndarray
    items: np.ndarray
    clicks: np.ndarray
    purchases: np.ndarray
    propensities: np.ndarray | None = None

    @property
    def slate_size(self) -> int:
        return int(self.items.shape[1])

    @property
    def n_impressions(self) -> int:
        return int(self.items.size)

    def to_frame(self) -> pd.DataFrame:
        """One row per impression: round, user_id, item_id, position, click, purchase, propensity."""
        n, k = self.items.shape
        return pd.DataFrame(
            {
                "round": np.full(n * k, self.round, dtype=np.int64),
                USER_COL: np.repeat(self.users, k),
                ITEM_COL: self.items.ravel(),
                "position": np.tile(np.arange(k, dtype=np.int64), n),
                "click": self.clicks.ravel(),
                "purchase": self.purchases.ravel(),
                "propensity": (
                    np.full(n * k, np.nan)
                    if self.propensities is None
                    else self.propensities.ravel()
                ),
            }
        )


def concat_feedback(feedbacks) -> Feedback:
    """Several rounds of :class:`Feedback` as one log (rows in round order).

    Introduced in Chapter 10: off-policy evaluation reads a whole log at once.
    ``round`` of the result is the first round; propensities are kept only if
    every round has them.

    Raises:
        TypeError: for something other than a sequence of ``Feedback``.
        ValueError: for no rounds or rounds with different slate sizes.
    """
    feedbacks = list(feedbacks)
    if not feedbacks:
        raise ValueError("concat_feedback needs at least one round of feedback")
    bad = [type(f).__name__ for f in feedbacks if not isinstance(f, Feedback)]
    if bad:
        raise TypeError(f"concat_feedback takes Feedback objects, got {bad[0]}")
    sizes = sorted({f.slate_size for f in feedbacks})
    if len(sizes) > 1:
        raise ValueError(f"the rounds have different slate sizes {sizes}")
    props = [f.propensities for f in feedbacks]
    return Feedback(
        feedbacks[0].round,
        np.concatenate([f.users for f in feedbacks]),
        np.concatenate([f.items for f in feedbacks]),
        np.concatenate([f.clicks for f in feedbacks]),
        np.concatenate([f.purchases for f in feedbacks]),
        None if any(p is None for p in props) else np.concatenate(props),
    )


class ShopEnv:
    """A ShopSim shop that answers slates with clicks. Introduced in Chapter 10.

    Args:
        shop: a :class:`~recsys_lib.data.Shop` (its hidden truth is the
            oracle).
        slate_size: products per slate ``K``.
        users_per_round: visitors per round, drawn without replacement;
            ``None`` means every shopper visits every round.
        seed: seeds the visitors and the clicks.
        position_bias, click_intercept: override the shop's click model
            (default: its config).

    Attributes:
        attraction: ``(n_users, n_items)`` ``mu(u, i)``, the click
            probability of a product that is looked at.
        examination: ``(K,)`` ``theta_k``.
        buy_given_click: ``(n_users, n_items)`` purchase probability after a click.
        round: number of rounds played.
    """

    def __init__(
        self,
        shop: Shop,
        slate_size: int = 10,
        users_per_round: int | None = None,
        seed: int = 0,
        position_bias: float | None = None,
        click_intercept: float | None = None,
    ) -> None:
        if not isinstance(shop, Shop):
            raise TypeError(
                f"shop must be a recsys_lib.data.Shop, got {type(shop).__name__}"
            )
        cfg = shop.config
        self.n_users, self.n_items = shop.n_users, shop.n_products
        self.slate_size = check_int(
            slate_size, "slate_size", low=1, high=self.n_items, where="ShopEnv"
        )
        self.users_per_round = (
            None
            if users_per_round is None
            else check_int(
                users_per_round,
                "users_per_round",
                low=1,
                high=self.n_users,
                where="ShopEnv",
            )
        )
        self.seed = check_int(seed, "seed", low=0, where="ShopEnv")
        bias = cfg.position_bias if position_bias is None else position_bias
        self.examination = examination_curve(self.slate_size, bias)
        intercept = cfg.click_intercept if click_intercept is None else click_intercept
        intercept = check_number(intercept, "click_intercept", where="ShopEnv")
        affinity = shop.true_affinity()
        self.attraction = expit(intercept + affinity)
        self.buy_given_click = expit(
            cfg.cart_intercept + cfg.cart_affinity_weight * affinity
        ) * expit(cfg.purchase_intercept + cfg.purchase_affinity_weight * affinity)
        self._oracle_clicks: np.ndarray | None = None
        self.reset()

    def reset(self, seed: int | None = None) -> ShopEnv:
        """Start again at round 0 (with the same seed, or a new one); returns ``self``."""
        if seed is not None:
            self.seed = check_int(seed, "seed", low=0, where="ShopEnv.reset")
        visit, click = np.random.SeedSequence(self.seed).spawn(2)
        self._visit_rng = np.random.default_rng(visit)
        self._click_rng = np.random.default_rng(click)
        self.round = 0
        return self

    # ------------------------------------------------------------ the loop
    def visitors(self) -> np.ndarray:
        """The shoppers of the next round (sorted ids); every user if ``users_per_round`` is None."""
        if self.users_per_round is None:
            return np.arange(self.n_users, dtype=np.int64)
        users = self._visit_rng.choice(
            self.n_users, size=self.users_per_round, replace=False
        )
        return np.sort(users).astype(np.int64)

    def step(self, users, items, propensities=None) -> Feedback:
        """Show ``items[b]`` to ``users[b]``; draw clicks and purchases.

        Args:
            users: int ``(B,)`` the visitors (usually :meth:`visitors`).
            items: int ``(B, K)`` one slate per visitor, best first.
            propensities: optional ``(B, K)`` probabilities in ``(0, 1]`` of
                the serving policy, stored with the feedback for off-policy
                evaluation.

        Returns:
            :class:`Feedback` of this round.

        Raises:
            TypeError, ValueError: for bad ids, a slate of the wrong size, a
                repeated item in a slate, or propensities outside ``(0, 1]``.
        """
        users = check_id_array(users, "users", self.n_users, where="ShopEnv.step")
        items = check_slates(items, self.n_items, users.size)
        if items.shape[1] != self.slate_size:
            raise ValueError(
                f"slates have {items.shape[1]} items; this environment shows "
                f"slate_size={self.slate_size}"
            )
        if propensities is not None:
            propensities = check_propensities(propensities, items.shape)
        p_click = self.click_probabilities(users, items)
        # two uniform numbers per slot, drawn whatever the slates are (common random numbers)
        u = self._click_rng.random((2, *items.shape))
        clicks = u[0] < p_click
        purchases = clicks & (u[1] < self.buy_given_click[users[:, None], items])
        fb = Feedback(self.round, users, items, clicks, purchases, propensities)
        self.round += 1
        return fb

    # ------------------------------------------------------------ the oracle
    def click_probabilities(self, users, items) -> np.ndarray:
        """``theta_k * mu(u, items[b, k])``, float64 ``(B, K)``."""
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        k = items.shape[1]
        return self.examination[:k] * self.attraction[users[:, None], items]

    def expected_clicks(self, users, items) -> np.ndarray:
        """True expected clicks of each slate, ``(B,)``."""
        return self.click_probabilities(users, items).sum(axis=1)

    def policy_value(self, users, probabilities) -> np.ndarray:
        """True expected clicks of a stochastic policy, per user ``(B,)``.

        Args:
            probabilities: ``(B, K, n_items)``; ``[b, k, i]`` is the
                probability that the policy puts item ``i`` at position ``k``
                for user ``b`` (each ``[b, k]`` sums to 1). Under the
                position-based click model only these per-position marginals
                matter.
        """
        users = np.asarray(users, dtype=np.int64)
        p = np.asarray(probabilities, dtype=np.float64)
        k = p.shape[1]
        per_slot = np.einsum("bki,bi->bk", p, self.attraction[users])
        return per_slot @ self.examination[:k]

    def oracle_slates(self, users) -> np.ndarray:
        """The best slates: the ``K`` most attractive items, best first ``(B, K)``.

        Examination falls with the position, so sorting by attraction is
        optimal (the rearrangement inequality).
        """
        users = np.asarray(users, dtype=np.int64)
        order = np.argsort(-self.attraction[users], axis=1, kind="stable")
        return order[:, : self.slate_size]

    def oracle_clicks(self, users) -> np.ndarray:
        """Expected clicks of the oracle's slates, ``(B,)`` (computed once for all users)."""
        if self._oracle_clicks is None:
            everyone = np.arange(self.n_users)
            self._oracle_clicks = self.expected_clicks(
                everyone, self.oracle_slates(everyone)
            )
        return self._oracle_clicks[np.asarray(users, dtype=np.int64)]

    def regret(self, users, items) -> np.ndarray:
        """Expected clicks lost against the oracle, per slate ``(B,)``."""
        return self.oracle_clicks(users) - self.expected_clicks(users, items)

    def __repr__(self) -> str:
        per_round = self.users_per_round or self.n_users
        return (
            f"ShopEnv({self.n_users} users, {self.n_items} items, slates of "
            f"{self.slate_size}, {per_round} visitors per round, seed={self.seed}, "
            f"round={self.round})"
        )


def logged_impressions(shop: Shop) -> pd.DataFrame:
    """ShopSim's history as labelled impressions: one row per product shown.

    Introduced in Chapter 10. Columns ``user_id``, ``item_id``, ``position``
    (slot on its page, 0 = top) and ``click`` (bool): the impressions of
    ``shop.events`` joined with their clicks, in the log's order. This is
    what a shop that logs its pages has before any online learning starts.
    """
    if not isinstance(shop, Shop):
        raise TypeError(
            f"shop must be a recsys_lib.data.Shop, got {type(shop).__name__}"
        )
    ev = shop.events
    key = ["session_id", "page", "position"]
    imp = ev.loc[ev[EVENT_COL] == "impression", [USER_COL, ITEM_COL, *key]]
    clicked = ev.loc[ev[EVENT_COL] == "click", key].assign(click=True)
    out = imp.merge(clicked, on=key, how="left", validate="one_to_one")
    out["click"] = out["click"].fillna(False).astype(bool)
    return out[[USER_COL, ITEM_COL, "position", "click"]].reset_index(drop=True)
