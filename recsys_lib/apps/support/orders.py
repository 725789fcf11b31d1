"""Order state for the assistant: orders of a shop, answered one user at a time.

Introduced in Chapter 13. :class:`OrderBook` rebuilds orders from the
purchases of a :class:`~recsys_lib.data.Shop` with a simulated, seeded
shipping history (processing, in transit, delayed, delivered). Privacy rule:
the only way to read orders is :meth:`OrderBook.orders_of`, which returns the
orders of one user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...checks import check_int

__all__ = ["ORDER_ID_RE", "Order", "OrderBook", "UnknownUserError"]

#: An order id in a question: ``SO-123456`` (also ``so123456``); group 1 = digits.
ORDER_ID_RE = re.compile(r"\bSO-?(\d{6})\b", re.IGNORECASE)
_CARRIERS = ("ParcelPost", "QuickShip", "CityCourier")


class UnknownUserError(ValueError):
    """The user id is not a user of the shop."""


@dataclass(frozen=True)
class Order:
    """One order: the purchases of one session, with a simulated shipping history."""

    order_id: str
    user_id: int
    placed: pd.Timestamp
    item_ids: tuple[int, ...]
    titles: tuple[str, ...]
    total: float
    carrier: str
    dispatched: pd.Timestamp
    expected: pd.Timestamp  # the delivery date promised at dispatch
    delivered: pd.Timestamp  # when it actually arrives (later than expected if delayed)

    def status(self, now: pd.Timestamp) -> str:
        """``"processing"`` (not yet dispatched), ``"in transit"``, ``"delayed"`` or ``"delivered"``."""
        if now < self.dispatched:
            return "processing"
        if now < self.delivered:
            return "delayed" if now > self.expected else "in transit"
        return "delivered"


class OrderBook:
    """Orders rebuilt from a shop's purchases, answered one user at a time.

    Each session with purchases becomes one order ``SO-<session id, 6 digits>``.
    A seeded simulation adds what ShopSim does not model: the warehouse
    dispatches 2-30 hours after the order, the carrier takes 1-4 days, and 12 %
    of parcels are delayed by 2-6 more days.

    The assistant reads orders **only** through :meth:`orders_of`, which
    returns the orders of the one user it is asked about.
    """

    def __init__(self, orders: list[Order], user_ids, now: pd.Timestamp) -> None:
        self._by_user: dict[int, list[Order]] = {}
        for o in sorted(orders, key=lambda o: (o.placed, o.order_id), reverse=True):
            self._by_user.setdefault(o.user_id, []).append(o)
        self._users = frozenset(int(u) for u in user_ids)
        self.now = pd.Timestamp(now)

    @classmethod
    def from_shop(cls, shop, seed: int = 0, now=None) -> OrderBook:
        """Build the order book of a :class:`~recsys_lib.data.Shop`.

        Args:
            seed: seed of the shipping simulation.
            now: the moment the assistant answers (default: the end of the
                shop's window). Orders placed later are not visible.
        """
        seed = check_int(seed, "seed", low=0)
        ev = shop.events
        buys = ev[ev["event"] == "purchase"]
        titles = shop.products.set_index("item_id")["title"]
        grouped = buys.groupby("session_id", sort=True)
        first = grouped.agg(
            user_id=("user_id", "first"),
            timestamp=("timestamp", "max"),
            total=("price", "sum"),
        )
        items = grouped["item_id"].agg(tuple)
        rng = np.random.default_rng(seed)
        n = len(first)
        dispatch_h = rng.integers(2, 31, n)
        transit_d = rng.integers(1, 5, n)
        delay_d = np.where(rng.random(n) < 0.12, rng.integers(2, 7, n), 0)
        carrier = rng.integers(0, len(_CARRIERS), n)
        placed = pd.to_datetime(first["timestamp"].to_numpy(), unit="s")
        orders = []
        for k, (sid, row) in enumerate(first.iterrows()):
            dispatched = placed[k] + pd.Timedelta(hours=int(dispatch_h[k]))
            expected = (
                dispatched + pd.Timedelta(days=int(transit_d[k]))
            ).normalize() + pd.Timedelta(hours=18)
            orders.append(
                Order(
                    order_id=f"SO-{int(sid):06d}",
                    user_id=int(row["user_id"]),
                    placed=placed[k],
                    item_ids=tuple(int(i) for i in items.loc[sid]),
                    titles=tuple(str(titles.loc[i]) for i in items.loc[sid]),
                    total=round(float(row["total"]), 2),
                    carrier=_CARRIERS[int(carrier[k])],
                    dispatched=dispatched,
                    expected=expected,
                    delivered=expected + pd.Timedelta(days=int(delay_d[k])),
                )
            )
        if now is None:
            now = shop.start_date + pd.Timedelta(days=shop.config.n_days)
        return cls(orders, shop.users["user_id"].to_numpy(), now)

    def has_user(self, user_id: int) -> bool:
        return int(user_id) in self._users

    def orders_of(self, user_id: int, now=None) -> list[Order]:
        """The user's orders placed up to ``now`` (default :attr:`now`), newest first."""
        if isinstance(user_id, bool) or not isinstance(user_id, int | np.integer):
            raise TypeError(
                f"user_id must be an int, got {type(user_id).__name__}: {user_id!r}"
            )
        if int(user_id) not in self._users:
            raise UnknownUserError(f"no user {user_id!r} in this shop")
        now = self.now if now is None else pd.Timestamp(now)
        return [o for o in self._by_user.get(int(user_id), []) if o.placed <= now]

    def table(self) -> pd.DataFrame:
        """Every order as a DataFrame (for analysis and tests; the assistant never calls it)."""
        rows = [
            {"order_id": o.order_id, "user_id": o.user_id, "placed": o.placed, "n_items": len(o.item_ids),
             "total": o.total, "carrier": o.carrier, "dispatched": o.dispatched, "expected": o.expected,
             "delivered": o.delivered, "status": o.status(self.now)}
            for orders in self._by_user.values() for o in orders
        ]  # fmt: skip
        return pd.DataFrame(rows).sort_values("order_id").reset_index(drop=True)

    def __repr__(self) -> str:
        n = sum(len(v) for v in self._by_user.values())
        return f"OrderBook({n} orders of {len(self._by_user)} users, now={self.now})"
