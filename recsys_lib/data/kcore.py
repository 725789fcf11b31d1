"""The k-core filter: every user and every item keeps at least k events.

Introduced in Chapter 2. Rare users and items carry too little signal to
learn from, and removing one kind can push the other below the threshold, so
:func:`k_core_filter` repeats until nothing changes and reports every round.
"""

from __future__ import annotations

import warnings

import pandas as pd

from ..checks import check_int
from ..config import ITEM_COL, USER_COL
from .frames import check_frame, check_id_columns
from .report import QualityReport, check_report, plural, record

__all__ = ["k_core_filter"]


def k_core_filter(
    df: pd.DataFrame,
    user_k: int = 5,
    item_k: int = 5,
    *,
    user_col: str = USER_COL,
    item_col: str = ITEM_COL,
    max_iter: int = 100,
    report: QualityReport | None = None,
) -> pd.DataFrame:
    """Keep the k-core: every user has >= ``user_k`` events, every item >= ``item_k``.

    Removing rare items can push a user below ``user_k`` and vice versa, so
    the filter repeats until nothing changes (a fixed point). Each round
    counts events on the current frame and removes, at once, rows of users
    with fewer than ``user_k`` events and rows of items with fewer than
    ``item_k``. Events are rows: run :func:`drop_duplicates` first if a
    repeated user-item pair should count once.

    Args:
        df: the interaction table.
        user_k: minimum events per user (1 = no constraint).
        item_k: minimum events per item (1 = no constraint).
        user_col, item_col: ID columns.
        max_iter: safety limit on rounds. The filter always converges (each
            round removes rows or stops), so the limit is only reached if it
            is set low; then a ``RuntimeWarning`` is issued and the reason says
            the result is not yet a k-core.
        report: where to record the step: one row per round that removed
            something (``"k_core_filter (round 1)"``, ...), whose reason counts
            the users and items removed in that round; the last row also says
            that the result is stable. If the input already is a k-core, a
            single row with nothing removed.

    Returns:
        The k-core, in the input's row order.

    Raises:
        ValueError: ``user_k`` (``item_k``) exceeds every user's (item's)
            number of events -- everything would be removed -- or the
            filtering cascades to an empty frame. The message gives the
            largest history so you can pick a smaller k.
    """
    fn = "k_core_filter"
    check_frame(df, fn)
    check_report(report)
    check_id_columns(df, [user_col, item_col], fn)
    user_k = check_int(user_k, "user_k", low=1, where=fn)
    item_k = check_int(item_k, "item_k", low=1, where=fn)
    max_iter = check_int(max_iter, "max_iter", low=1, where=fn)

    max_user = int(df.groupby(user_col, observed=True).size().max())
    max_item = int(df.groupby(item_col, observed=True).size().max())
    if user_k > max_user:
        raise ValueError(
            f"{fn}: user_k={user_k} is larger than any user's history (the most active user "
            f"has {max_user} events); every row would be removed. Use user_k <= {max_user}."
        )
    if item_k > max_item:
        raise ValueError(
            f"{fn}: item_k={item_k} is larger than any item's count (the most popular item "
            f"has {max_item} events); every row would be removed. Use item_k <= {max_item}."
        )

    rounds: list[tuple[int, int, str]] = []  # rows_in, rows_out, reason
    cur = df
    converged = False
    for it in range(1, max_iter + 1):
        u_count = cur.groupby(user_col, observed=True, sort=False)[user_col].transform(
            "size"
        )
        i_count = cur.groupby(item_col, observed=True, sort=False)[item_col].transform(
            "size"
        )
        keep = (u_count >= user_k).to_numpy() & (i_count >= item_k).to_numpy()
        if keep.all():
            converged = True
            break
        nxt = cur.loc[keep]
        users_gone = cur[user_col].nunique() - nxt[user_col].nunique()
        items_gone = cur[item_col].nunique() - nxt[item_col].nunique()
        reason = (
            f"round {it}: users with < {user_k} events or items with < {item_k} events; "
            f"removed {plural(users_gone, 'user')} and {plural(items_gone, 'item')}"
        )
        rounds.append((len(cur), len(nxt), reason))
        cur = nxt
        if len(cur) == 0:
            raise ValueError(
                f"{fn}: the ({user_k}, {item_k})-core is empty -- removing rare items pushed "
                f"every user below user_k (or vice versa) after {it} rounds. Use smaller k."
            )
    if not rounds:
        rounds.append(
            (len(df), len(df), f"already a ({user_k}, {item_k})-core; nothing removed")
        )
    elif converged:
        n_u, n_i = cur[user_col].nunique(), cur[item_col].nunique()
        last = rounds[-1]
        rounds[-1] = (
            *last[:2],
            last[2] + f"; stable: {n_u:,} users, {n_i:,} items remain",
        )
    else:
        last = rounds[-1]
        rounds[-1] = (
            *last[:2],
            last[2] + f"; STOPPED at max_iter={max_iter}, not yet a k-core",
        )
        warnings.warn(
            f"{fn}: stopped after max_iter={max_iter} rounds before reaching a fixed point; "
            "some users or items are still below k. Raise max_iter.",
            RuntimeWarning,
            stacklevel=2,
        )
    for i, (rows_in, rows_out, reason) in enumerate(rounds, start=1):
        name = fn if rows_in == rows_out else f"{fn} (round {i})"
        record(report, name, rows_in, rows_out, reason)
    return cur
