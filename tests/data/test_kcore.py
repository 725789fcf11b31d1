"""Tests of recsys_lib.data.kcore: the k-core filter."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys_lib.config import (
    ITEM_COL,
    RATING_COL,
    TIMESTAMP_COL,
    USER_COL,
)
from recsys_lib.data.kcore import k_core_filter
from recsys_lib.data.report import QualityReport

from .helpers import assert_step_adds_up

U, IT, R, T = USER_COL, ITEM_COL, RATING_COL, TIMESTAMP_COL


# =============================================================== k-core
def core_holds(df, user_k, item_k) -> bool:
    return bool(
        df.groupby(U).size().min() >= user_k and df.groupby(IT).size().min() >= item_k
    )


def test_k_core_output_satisfies_core_property(ratings):
    rep = QualityReport()
    out = k_core_filter(ratings, 10, 8, report=rep)
    assert core_holds(out, 10, 8)
    assert len(out) < len(ratings)
    rep.check()  # rounds chain: each starts where the previous ended
    assert rep.rows_in == len(ratings) and rep.rows_out == len(out)
    assert rep.total_removed == len(ratings) - len(out)
    assert "stable" in rep[-1].reason
    # nothing that survives was removed wrongly: it is the *largest* core,
    # so filtering again changes nothing
    again = QualityReport()
    assert len(k_core_filter(out, 10, 8, report=again)) == len(out)
    assert len(again) == 1 and again[0].removed == 0 and "already" in again[0].reason


def test_k_core_cascades_over_several_rounds():
    # item "z" has one event; removing it leaves user 3 with one event, which
    # then leaves item "y" with one event, ...
    rows = [
        (1, "a"),
        (1, "b"),
        (2, "a"),
        (2, "b"),
        (3, "y"),
        (3, "z"),
        (4, "y"),
        (4, "a"),
    ]
    df = pd.DataFrame(rows, columns=[U, IT])
    rep = QualityReport()
    out = k_core_filter(df, 2, 2, report=rep)
    assert sorted(map(tuple, out[[U, IT]].to_numpy().tolist())) == [
        (1, "a"),
        (1, "b"),
        (2, "a"),
        (2, "b"),
    ]
    assert len(rep) >= 2 and all(s.step.startswith("k_core_filter (round") for s in rep)
    for s in rep:
        assert_step_adds_up(s)
    assert "1 item" in rep[0].reason
    rep.check()


def test_k_core_clear_errors(ratings):
    longest = int(ratings.groupby(U).size().max())
    with pytest.raises(
        ValueError, match=f"user_k={longest + 1} is larger than any user's history"
    ):
        k_core_filter(ratings, user_k=longest + 1, item_k=1)
    with pytest.raises(
        ValueError, match="item_k=10000 is larger than any item's count"
    ):
        k_core_filter(ratings, user_k=1, item_k=10_000)
    # a chain u1-{a,b}, u2-{b,c}, u3-{c}: some user and item have 2 events,
    # yet the (2, 2)-core unravels to nothing over three rounds
    chain = pd.DataFrame({U: [1, 1, 2, 2, 3], IT: ["a", "b", "b", "c", "c"]})
    with pytest.raises(ValueError, match=r"\(2, 2\)-core is empty .* after 3 rounds"):
        k_core_filter(chain, 2, 2)
    with pytest.raises(TypeError, match="user_k must be an int"):
        k_core_filter(ratings, 2.0, 2)
    with pytest.raises(ValueError, match="item_k must be >= 1"):
        k_core_filter(ratings, 2, 0)
    with pytest.raises(ValueError, match="empty"):
        k_core_filter(ratings.iloc[:0])


def test_k_core_max_iter_warns():
    rows = [
        (1, "a"),
        (1, "b"),
        (2, "a"),
        (2, "b"),
        (3, "y"),
        (3, "z"),
        (4, "y"),
        (4, "a"),
    ]
    df = pd.DataFrame(rows, columns=[U, IT])
    rep = QualityReport()
    with pytest.warns(RuntimeWarning, match="max_iter=1"):
        k_core_filter(df, 2, 2, max_iter=1, report=rep)
    assert "STOPPED" in rep[-1].reason
