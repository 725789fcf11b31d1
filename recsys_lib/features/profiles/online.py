"""Profiles kept up to date one event at a time.

Introduced in Chapter 4 ("User profiles"). :class:`OnlineProfile` updates the
decayed profile of :func:`recsys_lib.features.profiles.affinity_profiles` in
``O(d)`` per event and equals the batch computation on a replayed log (up to
float64 rounding).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ...checks import check_id_array, check_int
from ...config import EVENT_COL, ITEM_COL, TIMESTAMP_COL, USER_COL
from ._arrays import (
    as_matrix,
    check_half_life,
    check_normalize,
    int_column,
    normalize_rows,
)
from .behaviour import EVENT_WEIGHTS, SECONDS_PER_DAY

__all__ = ["OnlineProfile"]


class OnlineProfile:
    """Keep decayed profiles up to date one event at a time.

    Introduced in Chapter 4. Per user it stores the decayed sum ``S_u``
    ``(d,)``, the decayed weight ``W_u`` and the time ``t_u`` of her last
    event. A new event ``(u, i, type, t)`` costs ``O(d)``::

        f   = 2 ** (-(t - t_u) / half_life)
        S_u = f * S_u + w_type * x_i
        W_u = f * W_u + w_type

    Since ``2 ** (-a) * 2 ** (-b) = 2 ** (-(a + b))``, replaying a log gives
    the same vectors as :func:`affinity_profiles` on that log (up to float64
    rounding, about 1e-15 relative). Events of one user must arrive in time
    order; a late event raises instead of being merged wrongly.

    Args:
        item_features: ``(n_items, d)`` features of every item.
        n_users: number of users.
        half_life_days: half-life of the decay; ``None`` = no decay.
        weights: event-type weights (default :data:`EVENT_WEIGHTS`).
        normalize: as in :func:`affinity_profiles`.
    """

    def __init__(
        self,
        item_features,
        n_users: int,
        half_life_days: float | None = 30.0,
        weights: Mapping[str, float] = EVENT_WEIGHTS,
        normalize: str | None = "mean",
    ) -> None:
        check_normalize(normalize)
        self.item_features = as_matrix(item_features, "item_features")  # (n_items, d)
        self.n_users = check_int(n_users, "n_users", low=1)
        self.half_life_days = check_half_life(half_life_days)
        bad = {k: v for k, v in weights.items() if not (math.isfinite(v) and v >= 0)}
        if bad:
            raise ValueError(f"event weights must be finite and >= 0, got {bad}")
        self.weights = dict(weights)
        self.normalize = normalize
        d = self.item_features.shape[1]
        self.S = np.zeros((self.n_users, d))  # decayed sums at each user's last event
        self.W = np.zeros(self.n_users)
        self.last_t = np.full(self.n_users, -np.inf)
        self.n_events = 0

    @property
    def n_items(self) -> int:
        return self.item_features.shape[0]

    def _factor(self, dt):
        if self.half_life_days is None:
            return np.ones_like(dt) if isinstance(dt, np.ndarray) else 1.0
        return np.exp2(-dt / (self.half_life_days * SECONDS_PER_DAY))

    def update(self, user_id: int, item_id: int, event: str, timestamp: float) -> None:
        """Add one event in ``O(d)``.

        Raises:
            ValueError: for unknown ids or event types, or an event earlier
                than the user's previous one (replay logs sorted by time).
        """
        u, i = int(user_id), int(item_id)
        if not 0 <= u < self.n_users:
            raise ValueError(f"user_id {u} outside [0, {self.n_users})")
        if not 0 <= i < self.n_items:
            raise ValueError(f"item_id {i} outside [0, {self.n_items})")
        if event not in self.weights:
            raise ValueError(
                f"event type {event!r} has no weight in {self.weights}; add it "
                "(weight 0 ignores a type)"
            )
        t = float(timestamp)
        if not math.isfinite(t):
            raise ValueError(f"timestamp must be finite, got {timestamp!r}")
        if t < self.last_t[u]:
            raise ValueError(
                f"events out of order: user {u} has an event at t={self.last_t[u]:.0f} "
                f"and now one at t={t:.0f}; feed each user's events sorted by timestamp"
            )
        if self.W[u] > 0 or self.S[u].any():
            f = self._factor(t - self.last_t[u])
            self.S[u] *= f
            self.W[u] *= f
        w = self.weights[event]
        if w:
            self.S[u] += w * self.item_features[i]
            self.W[u] += w
        self.last_t[u] = t
        self.n_events += 1

    def update_from(self, events: pd.DataFrame) -> OnlineProfile:
        """Replay a log row by row (in its row order); returns ``self``."""
        if not isinstance(events, pd.DataFrame):
            raise TypeError(
                f"events must be a pandas DataFrame, got {type(events).__name__}"
            )
        users = int_column(events, USER_COL)
        items = int_column(events, ITEM_COL)
        if EVENT_COL not in events.columns or TIMESTAMP_COL not in events.columns:
            raise ValueError(
                f"events needs '{EVENT_COL}' and '{TIMESTAMP_COL}' columns"
            )
        kinds = events[EVENT_COL].astype(object).to_numpy()
        times = events[TIMESTAMP_COL].to_numpy(np.float64)
        for u, i, k, t in zip(users, items, kinds, times, strict=True):
            self.update(u, i, k, t)
        return self

    def _state(self, user_ids, now):
        users = (
            np.arange(self.n_users)
            if user_ids is None
            else check_id_array(user_ids, "user_ids", self.n_users)
        )
        if now is None:
            seen = self.last_t[np.isfinite(self.last_t)]
            now = float(seen.max()) if seen.size else 0.0
        last = self.last_t[users]
        seen = np.isfinite(last)
        if (last[seen] > now).any():
            raise ValueError(
                f"now={now:.0f} is before the last event of some users; "
                "profiles can only be read at or after the latest update"
            )
        f = np.where(seen, self._factor(np.where(seen, now - last, 0.0)), 1.0)
        return self.S[users] * f[:, None], self.W[users] * f

    def vectors(self, user_ids=None, now: float | None = None) -> np.ndarray:
        """Profiles at time ``now``: float64 ``(B, d)``.

        Args:
            user_ids: users (default: all).
            now: time in Unix seconds (default: the latest event seen), at or
                after each asked user's last event.
        """
        S, W = self._state(user_ids, now)
        return normalize_rows(S, W, self.normalize)

    def total_weight(self, user_ids=None, now: float | None = None) -> np.ndarray:
        """Decayed total event weight ``W_u`` at ``now``: ``(B,)``."""
        return self._state(user_ids, now)[1]

    def __repr__(self) -> str:
        return (
            f"OnlineProfile(n_users={self.n_users}, d={self.item_features.shape[1]}, "
            f"half_life_days={self.half_life_days}, events={self.n_events})"
        )
