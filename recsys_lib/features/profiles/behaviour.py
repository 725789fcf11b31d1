"""Behavioural profiles: what a user has been doing, from the event log.

Introduced in Chapter 4 ("User profiles"). Every event gets a weight::

    w(e) = type_weight[event_e] * 2 ** (-(now - t_e) / half_life)

(:data:`EVENT_WEIGHTS`: a purchase says more than a cart, a cart more than a
click, an impression nothing; :func:`event_weights`, :func:`decay_weights`).
From these weights come the category (or genre) affinity vector
(:func:`affinity_profiles`, :func:`category_affinity`), price sensitivity
(:func:`price_sensitivity`), brand loyalty (:func:`brand_loyalty`) and
recency-frequency-monetary features (:func:`rfm_features`). A **long-term**
vector over all history and a **short-term** vector of the last session
(:func:`last_session_profiles`) are blended with :func:`blend_profiles`.

Event logs are ``pandas.DataFrame`` objects with ``user_id``, ``item_id``,
``timestamp`` (Unix seconds) and, usually, ``event`` columns -- the layout of
``Shop.events`` (:class:`recsys_lib.data.Shop`). MovieLens ratings work too:
pass ``event_weights=None`` (every row counts 1) or ``weight_col="rating"``.
Ids must be 0-based and contiguous.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...checks import check_number
from ...config import (
    EVENT_COL,
    ITEM_COL,
    PRICE_COL,
    SESSION_COL,
    TIMESTAMP_COL,
    USER_COL,
)
from ._arrays import (
    as_matrix,
    as_vector,
    check_half_life,
    check_normalize,
    id_range,
    int_column,
    normalize_rows,
)
from .static import one_hot

__all__ = [
    "EVENT_WEIGHTS",
    "SECONDS_PER_DAY",
    "affinity_profiles",
    "blend_profiles",
    "brand_loyalty",
    "category_affinity",
    "decay_weights",
    "event_weights",
    "last_session_profiles",
    "price_sensitivity",
    "rfm_features",
]

#: How much each event type says about a user's taste. An impression (the
#: product was shown) says nothing by itself; a purchase costs the user money,
#: so it is the strongest signal. The ratios are a common starting point, not
#: a law: Chapter 4's exercises tune them.
EVENT_WEIGHTS: dict[str, float] = {
    "impression": 0.0,
    "click": 1.0,
    "add_to_cart": 3.0,
    "purchase": 5.0,
}
SECONDS_PER_DAY = 86_400


def event_weights(
    events: pd.DataFrame,
    weights: Mapping[str, float] | None = EVENT_WEIGHTS,
    event_col: str = EVENT_COL,
    weight_col: str | None = None,
) -> np.ndarray:
    """Type weight of every event: float64 ``(n_events,)``.

    Introduced in Chapter 4.

    Args:
        events: the log.
        weights: ``{event type: weight}`` (default :data:`EVENT_WEIGHTS`), or
            ``None`` to give every row weight 1 (e.g. MovieLens ratings).
        event_col: the column holding the event type.
        weight_col: optional numeric column multiplied in (e.g. ``"rating"``).

    Raises:
        ValueError: for event types missing from ``weights`` (an event is
            never dropped silently: give it weight 0 to ignore it), negative
            or non-finite weights.
    """
    if not isinstance(events, pd.DataFrame):
        raise TypeError(
            f"events must be a pandas DataFrame, got {type(events).__name__}"
        )
    n = len(events)
    if weights is None:
        w = np.ones(n)
    else:
        if event_col not in events.columns:
            raise ValueError(
                f"events has no '{event_col}' column; pass weights=None to count "
                "every row once"
            )
        bad_w = {k: v for k, v in weights.items() if not (math.isfinite(v) and v >= 0)}
        if bad_w:
            raise ValueError(f"event weights must be finite and >= 0, got {bad_w}")
        kinds = events[event_col].astype(object)
        w = kinds.map(dict(weights)).to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isnan(w).any():
            unknown = sorted({repr(k) for k in kinds[np.isnan(w)]})
            raise ValueError(
                f"event type(s) {', '.join(unknown)} have no weight in {dict(weights)}; "
                "add them (weight 0 ignores a type)"
            )
    if weight_col is not None:
        if weight_col not in events.columns:
            raise ValueError(f"events has no '{weight_col}' column")
        extra = pd.to_numeric(events[weight_col], errors="raise").to_numpy(np.float64)
        if not np.isfinite(extra).all() or (extra < 0).any():
            raise ValueError(f"events['{weight_col}'] must be finite and >= 0")
        w = w * extra
    return w


def decay_weights(timestamps, now: float, half_life_days: float | None) -> np.ndarray:
    """Exponential time decay ``2 ** (-(now - t) / half_life)``: float64 ``(n,)``.

    Introduced in Chapter 4. An event one half-life old counts half, two
    half-lives old a quarter, and so on. ``half_life_days=None`` means no
    decay (all ones).

    Raises:
        ValueError: for events after ``now`` (the future cannot be weighted)
            or non-finite timestamps.
    """
    half_life = check_half_life(half_life_days)
    t = np.asarray(timestamps, dtype=np.float64)
    if not np.isfinite(t).all():
        raise ValueError("timestamps must be finite")
    if t.size and t.max() > now:
        raise ValueError(
            f"an event at t={t.max():.0f} is after now={now:.0f}; profiles can only "
            "look at the past (pass a later `now`, or filter the log)"
        )
    if half_life is None:
        return np.ones_like(t)
    return np.exp2(-(now - t) / (half_life * SECONDS_PER_DAY))


class _Log:
    """Validated arrays of an event log."""

    def __init__(
        self,
        events: pd.DataFrame,
        n_users: int | None,
        n_items: int | None,
        weights: Mapping[str, float] | None,
        half_life_days: float | None,
        now: float | None,
        weight_col: str | None = None,
    ) -> None:
        if not isinstance(events, pd.DataFrame):
            raise TypeError(
                f"events must be a pandas DataFrame, got {type(events).__name__}"
            )
        if len(events) == 0:
            raise ValueError("events is empty: there is no behaviour to profile")
        self.users = int_column(events, USER_COL)
        self.items = int_column(events, ITEM_COL)
        self.n_users = id_range(self.users, n_users, "users")
        self.n_items = id_range(self.items, n_items, "items")
        if TIMESTAMP_COL not in events.columns:
            raise ValueError(f"events has no '{TIMESTAMP_COL}' column")
        self.t = pd.to_numeric(events[TIMESTAMP_COL], errors="raise").to_numpy(
            np.float64
        )
        if not np.isfinite(self.t).all():
            raise ValueError("events contain missing or infinite timestamps")
        self.now = float(self.t.max()) if now is None else float(now)
        self.type_w = event_weights(events, weights, weight_col=weight_col)
        self.w = self.type_w * decay_weights(self.t, self.now, half_life_days)


def _indicator_weights(events: pd.DataFrame, kinds: Sequence[str]) -> dict[str, float]:
    """Weight 1 for the event types in ``kinds``, 0 for every other type in the log."""
    if not isinstance(events, pd.DataFrame):
        raise TypeError(
            f"events must be a pandas DataFrame, got {type(events).__name__}"
        )
    if EVENT_COL not in events.columns:
        raise ValueError(f"events has no '{EVENT_COL}' column to find {list(kinds)}")
    weights = {k: 0.0 for k in events[EVENT_COL].astype(object).unique()}
    weights.update({k: 1.0 for k in kinds})
    return weights


# ================================================================ behavioural profiles
def affinity_profiles(
    events: pd.DataFrame,
    item_features,
    n_users: int | None = None,
    *,
    weights: Mapping[str, float] | None = EVENT_WEIGHTS,
    half_life_days: float | None = 30.0,
    now: float | None = None,
    normalize: str | None = "mean",
    weight_col: str | None = None,
    return_weight: bool = False,
):
    """Time-decayed, event-weighted profile over item features.

    Introduced in Chapter 4. For user ``u``::

        S_u = sum_e w(e) * x_{item(e)}      W_u = sum_e w(e)

    with ``w(e)`` the event-type weight times ``2 ** (-(now - t_e) / half_life)``.
    With one-hot categories as ``x`` this is the *category affinity*; with
    MovieLens multi-hot genres the *genre affinity*.

    Args:
        events: log with ``user_id``, ``item_id``, ``timestamp`` (Unix seconds)
            and ``event`` columns (any row order).
        item_features: ``(n_items, d)`` features of every item (numpy, torch,
            scipy sparse or DataFrame), finite.
        n_users: number of users (default ``max(user_id) + 1``).
        weights: event-type weights (:func:`event_weights`), ``None`` = 1 each.
        half_life_days: half-life of the decay; ``None`` = no decay.
        now: the time the profile describes (default: the last event).
        normalize: ``"mean"`` returns ``S_u / W_u`` (a weighted mean; for
            one-hot categories, shares that sum to 1), ``"l2"`` returns
            ``S_u / |S_u|``, ``None`` the raw decayed sum ``S_u``. Users with
            ``W_u = 0`` (no events, or impressions only) get a zero row.
        weight_col: an optional numeric column multiplied into the weights.
        return_weight: also return ``W`` ``(n_users,)``.

    Returns:
        float64 ``(n_users, d)``; with ``return_weight=True`` a tuple
        ``(profiles, W)``.

    Raises:
        ValueError / TypeError: for an empty log, ids out of range, missing
            columns, unknown event types, events after ``now`` or nan features.
    """
    check_normalize(normalize)
    X = as_matrix(item_features, "item_features")
    log = _Log(events, n_users, X.shape[0], weights, half_life_days, now, weight_col)
    A = sp.csr_matrix(
        (log.w, (log.users, log.items)), shape=(log.n_users, log.n_items)
    )  # (n_users, n_items), duplicates summed
    S = np.asarray(A @ X)  # (n_users, d)
    W = np.asarray(A.sum(axis=1)).ravel()  # (n_users,)
    out = normalize_rows(S, W, normalize)
    return (out, W) if return_weight else out


def category_affinity(
    events: pd.DataFrame,
    item_categories,
    n_categories: int | None = None,
    n_users: int | None = None,
    **kwargs,
) -> np.ndarray:
    """Category affinity: :func:`affinity_profiles` over one-hot categories.

    Introduced in Chapter 4.

    Args:
        events: the log (see :func:`affinity_profiles`).
        item_categories: int ``(n_items,)`` category code of every item
            (``Shop.products["category_id"]``).
        n_categories: number of categories (default ``max + 1``).
        n_users: number of users.
        **kwargs: passed on (``weights``, ``half_life_days``, ``now``,
            ``normalize``, ...).

    Returns:
        float64 ``(n_users, n_categories)``; with ``normalize="mean"`` each
        row with any weight sums to 1.
    """
    cats = np.asarray(item_categories)
    if cats.ndim != 1 or cats.size == 0:
        raise ValueError(
            f"item_categories must be a non-empty 1-D array, got {cats.shape}"
        )
    if not np.issubdtype(cats.dtype, np.integer):
        raise TypeError(
            f"item_categories must be integer codes, got dtype {cats.dtype}"
        )
    if n_categories is None:
        n_categories = int(cats.max()) + 1
    return affinity_profiles(events, one_hot(cats, n_categories), n_users, **kwargs)


def last_session_profiles(
    events: pd.DataFrame,
    item_features,
    n_users: int | None = None,
    *,
    session_col: str = SESSION_COL,
    half_life_days: float | None = None,
    **kwargs,
) -> np.ndarray:
    """Short-term profile: :func:`affinity_profiles` of each user's last session.

    Introduced in Chapter 4. A user's last session is the session of her
    latest event (ties go to the larger session id). Within a session there
    is no decay by default (``half_life_days=None``): a session is minutes
    long. Users without events get a zero row.

    Returns:
        float64 ``(n_users, d)``.
    """
    if not isinstance(events, pd.DataFrame):
        raise TypeError(
            f"events must be a pandas DataFrame, got {type(events).__name__}"
        )
    if len(events) == 0:
        raise ValueError("events is empty: there is no behaviour to profile")
    sessions = int_column(events, session_col)
    users = int_column(events, USER_COL)
    if TIMESTAMP_COL not in events.columns:
        raise ValueError(f"events has no '{TIMESTAMP_COL}' column")
    order = np.lexsort((sessions, events[TIMESTAMP_COL].to_numpy(), users))
    last_row = order[np.r_[users[order][1:] != users[order][:-1], True]]
    last = pd.Series(sessions[last_row], index=users[last_row])
    keep = sessions == last.reindex(users).to_numpy()
    return affinity_profiles(
        events[keep], item_features, n_users, half_life_days=half_life_days, **kwargs
    )


def blend_profiles(long_term, short_term, alpha: float = 0.3) -> np.ndarray:
    """Combine a long-term and a short-term profile.

    Introduced in Chapter 4::

        p_u = (1 - alpha) * long_u + alpha * short_u

    for users with a short-term profile; a user whose short-term row is all
    zero (no current session) keeps ``long_u`` unchanged rather than being
    shrunk towards zero. ``alpha = 0`` ignores the session, ``alpha = 1``
    uses only the session (when there is one).

    Args:
        long_term: ``(n_users, d)``.
        short_term: ``(n_users, d)``, same shape.
        alpha: weight of the short-term profile, in ``[0, 1]``.

    Returns:
        float64 ``(n_users, d)``.
    """
    alpha = check_number(alpha, "alpha", low=0.0, high=1.0)
    L = as_matrix(long_term, "long_term")
    S = as_matrix(short_term, "short_term")
    if L.shape != S.shape:
        raise ValueError(
            f"long_term {L.shape} and short_term {S.shape} differ in shape"
        )
    has_short = (S != 0).any(axis=1)
    out = L.copy()
    out[has_short] = (1 - alpha) * L[has_short] + alpha * S[has_short]
    return out


def price_sensitivity(
    events: pd.DataFrame,
    item_categories,
    item_prices,
    n_users: int | None = None,
    *,
    price_events: Sequence[str] = ("purchase",),
    half_life_days: float | None = None,
    now: float | None = None,
) -> pd.DataFrame:
    """How much a user pays compared with the typical price of the category.

    Introduced in Chapter 4. For each priced event (purchases by default)::

        r(e) = log2(price paid / median regular price of the item's category)

    and ``price_index_u`` is the (time-decayed) mean of ``r``: 0 means the
    user pays the category median, -1 half of it, +1 twice as much. Low
    values mark price-sensitive shoppers. The price paid is the event's
    ``price`` column if present (ShopSim: the price that day, promotions
    included), else the item's catalogue price.

    Args:
        events: the log (needs an ``event`` column).
        item_categories: int ``(n_items,)`` category of every item.
        item_prices: ``(n_items,)`` catalogue prices (> 0), used for the
            category medians.
        n_users: number of users.
        price_events: event types that count as a price paid.
        half_life_days, now: time decay, as in :func:`affinity_profiles`
            (no decay by default).

    Returns:
        DataFrame indexed by ``user_id`` (all users) with ``price_index``
        (``nan`` for users without a priced event) and ``n_priced`` (int).
    """
    cats = np.asarray(item_categories)
    prices = as_vector(item_prices, "item_prices")
    if cats.shape != prices.shape:
        raise ValueError(
            f"item_categories {cats.shape} and item_prices {prices.shape} differ in shape"
        )
    if (prices <= 0).any():
        raise ValueError("item_prices must be > 0")
    if isinstance(price_events, str):
        price_events = (price_events,)
    weights = _indicator_weights(events, price_events)
    log = _Log(events, n_users, cats.size, weights, half_life_days, now)
    median = pd.Series(prices).groupby(cats).median()
    sel = log.type_w > 0
    if PRICE_COL in events.columns:
        paid = pd.to_numeric(events[PRICE_COL], errors="raise").to_numpy(np.float64)[
            sel
        ]
    else:
        paid = prices[log.items[sel]]
    if not (np.isfinite(paid) & (paid > 0)).all():
        raise ValueError(f"priced events ({price_events}) need a finite price > 0")
    r = np.log2(paid / median.reindex(cats[log.items[sel]]).to_numpy())
    u, w = log.users[sel], log.w[sel]
    W = np.bincount(u, weights=w, minlength=log.n_users)
    num = np.bincount(u, weights=w * r, minlength=log.n_users)
    index = np.full(log.n_users, np.nan)
    index[W > 0] = num[W > 0] / W[W > 0]
    return pd.DataFrame(
        {
            "price_index": index,
            "n_priced": np.bincount(u, minlength=log.n_users).astype(np.int64),
        },
        index=pd.RangeIndex(log.n_users, name=USER_COL),
    )


def brand_loyalty(
    events: pd.DataFrame,
    item_brands,
    n_users: int | None = None,
    *,
    weights: Mapping[str, float] | None = EVENT_WEIGHTS,
    half_life_days: float | None = 30.0,
    now: float | None = None,
) -> pd.DataFrame:
    """How concentrated a user's (weighted) interest is on few brands.

    Introduced in Chapter 4. With ``s_b`` the share of the user's event
    weight that went to brand ``b``:

    * ``top_share = max_b s_b`` (1 = only one brand);
    * ``entropy = -sum_b s_b ln s_b`` in nats (0 = one brand; ``ln k`` for
      ``k`` brands shared equally);
    * ``top_brand`` the brand with the largest share (-1 if none);
    * ``n_brands`` the number of brands with a positive share.

    Returns:
        DataFrame indexed by ``user_id``; ``top_share`` and ``entropy`` are
        ``nan`` for users with no weighted events.
    """
    brands = np.asarray(item_brands)
    if (
        brands.ndim != 1
        or not np.issubdtype(brands.dtype, np.integer)
        or brands.size == 0
    ):
        raise ValueError("item_brands must be a non-empty 1-D integer array")
    if brands.min() < 0:
        raise ValueError("item_brands must be >= 0")
    shares = category_affinity(
        events,
        brands,
        n_users=n_users,
        weights=weights,
        half_life_days=half_life_days,
        now=now,
        normalize="mean",
    )  # (n_users, n_brands), rows sum to 1 or are 0
    has = shares.sum(axis=1) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(shares > 0, shares * np.log(shares), 0.0)
    return pd.DataFrame(
        {
            "top_brand": np.where(has, shares.argmax(axis=1), -1),
            "top_share": np.where(has, shares.max(axis=1), np.nan),
            "entropy": np.where(has, 0.0 - plogp.sum(axis=1), np.nan),
            "n_brands": (shares > 0).sum(axis=1),
        },
        index=pd.RangeIndex(shares.shape[0], name=USER_COL),
    )


def rfm_features(
    events: pd.DataFrame,
    n_users: int | None = None,
    *,
    purchase_event: str | None = "purchase",
    now: float | None = None,
    item_prices=None,
    session_col: str | None = SESSION_COL,
) -> pd.DataFrame:
    """Recency, frequency and monetary value of every user's purchases.

    Introduced in Chapter 4. The classic marketing summary:

    * ``recency_days``: days from the last purchase to ``now`` (``nan`` if
      the user never bought);
    * ``frequency``: number of orders -- distinct sessions with a purchase
      when ``session_col`` is in the log, else purchase events;
    * ``monetary``: total amount paid (the event's ``price`` column, else
      ``item_prices``).

    Args:
        events: the log.
        n_users: number of users.
        purchase_event: the event type of a purchase; ``None`` counts every
            row (e.g. MovieLens ratings, as "engagement RFM").
        now: reference time in Unix seconds (default: the last event).
        item_prices: ``(n_items,)`` prices, needed only without a ``price`` column.
        session_col: column of session ids, or ``None``.

    Returns:
        DataFrame indexed by ``user_id`` with ``recency_days``, ``frequency``
        (int) and ``monetary``.
    """
    weights = None
    if purchase_event is not None:
        weights = _indicator_weights(events, (purchase_event,))
    log = _Log(events, n_users, None, weights, None, now)
    sel = log.type_w > 0
    u = log.users[sel]
    last = np.full(log.n_users, -np.inf)
    np.maximum.at(last, u, log.t[sel])
    recency = np.where(np.isfinite(last), (log.now - last) / SECONDS_PER_DAY, np.nan)
    if session_col is not None and session_col in events.columns:
        s = int_column(events, session_col)[sel]
        pairs = (
            np.unique(np.stack([u, s], axis=1), axis=0) if u.size else np.empty((0, 2))
        )
        freq = np.bincount(pairs[:, 0].astype(np.int64), minlength=log.n_users)
    else:
        freq = np.bincount(u, minlength=log.n_users)
    if PRICE_COL in events.columns:
        paid = pd.to_numeric(events[PRICE_COL], errors="raise").to_numpy(np.float64)[
            sel
        ]
    elif item_prices is not None:
        prices = as_vector(item_prices, "item_prices")
        if log.items.max() >= prices.size:
            raise ValueError("item_prices is shorter than the largest item id + 1")
        paid = prices[log.items[sel]]
    else:
        raise ValueError(f"events has no '{PRICE_COL}' column: pass item_prices")
    if not np.isfinite(paid).all():
        raise ValueError(
            "purchases with a missing price: cannot compute monetary value"
        )
    return pd.DataFrame(
        {
            "recency_days": recency,
            "frequency": freq.astype(np.int64),
            "monetary": np.bincount(u, weights=paid, minlength=log.n_users),
        },
        index=pd.RangeIndex(log.n_users, name=USER_COL),
    )
