"""Tests of recsys_lib.data.splits: random, leave-last-out and temporal splits."""

import numpy as np
import pandas as pd
import pytest

from recsys_lib.config import ITEM_COL, RATING_COL, TIMESTAMP_COL, USER_COL
from recsys_lib.data.cleaning import drop_duplicates
from recsys_lib.data.report import QualityReport
from recsys_lib.data.splits import Split, leave_last_out, random_split, temporal_split
from recsys_lib.data.synthetic import make_ratings

U, IT, R, T = USER_COL, ITEM_COL, RATING_COL, TIMESTAMP_COL


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    df = make_ratings(n_users=80, n_items=50, mean_ratings_per_user=10, seed=3).ratings
    # shuffle so that the input is *not* in time order and the index is not 0..n-1
    return df.sample(frac=1.0, random_state=1)


def assert_partition(split: Split, df: pd.DataFrame) -> None:
    """The parts are disjoint and together are exactly the input rows."""
    labels = [*split.train.index, *split.valid.index, *split.test.index]
    assert len(labels) == len(set(labels)) == len(df)
    assert set(labels) == set(df.index)
    for part in split:
        pd.testing.assert_frame_equal(part, df.loc[part.index])


# =============================================================== random
def test_random_split_sizes_partition_and_reproducibility(ratings):
    rep = QualityReport()
    split = random_split(ratings, 0.2, 7, valid_frac=0.1, report=rep)
    n = len(ratings)
    assert len(split.test) == round(0.2 * n) and len(split.valid) == round(0.1 * n)
    assert_partition(split, ratings)
    again = random_split(ratings, 0.2, 7, valid_frac=0.1)
    assert split.test.index.equals(again.test.index)
    other = random_split(ratings, 0.2, 8, valid_frac=0.1)
    assert not split.test.index.equals(other.test.index)
    assert rep[0].removed == 0 and rep[0].rows_out == n and "seed=7" in rep[0].reason
    train, valid, test = random_split(
        ratings
    )  # unpacks like a tuple; no valid by default
    assert valid.empty and list(valid.columns) == list(ratings.columns)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"test_frac": 0}, ValueError, r"test_frac must be in \(0, 1\)"),
        ({"test_frac": 1.0}, ValueError, r"test_frac must be in \(0, 1\)"),
        ({"test_frac": -0.1}, ValueError, "test_frac"),
        ({"test_frac": float("nan")}, ValueError, "finite"),
        ({"test_frac": True}, TypeError, "number"),
        ({"test_frac": "0.2"}, TypeError, "number"),
        ({"test_frac": 0.5, "valid_frac": 0.5}, ValueError, "must be < 1"),
        ({"valid_frac": -0.2}, ValueError, r"valid_frac must be in \[0, 1\)"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
        ({"seed": 1.5}, TypeError, "seed must be an int"),
    ],
)
def test_random_split_bad_arguments(ratings, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        random_split(ratings, **kwargs)


def test_random_split_bad_frames():
    with pytest.raises(ValueError, match="empty"):
        random_split(pd.DataFrame(columns=[U, IT]))
    with pytest.raises(ValueError, match="too few"):
        random_split(pd.DataFrame({U: [1, 2], IT: [1, 2]}), 0.1)
    with pytest.raises(ValueError, match=r"\['item_id'\] not found"):
        random_split(pd.DataFrame({U: [1, 2], "item": [1, 2]}))
    with pytest.raises(ValueError, match="missing"):
        random_split(pd.DataFrame({U: [1, None, "x"], IT: [1, 2, 3]}))


# =============================================================== leave-last-out
def test_leave_last_out_test_is_each_users_latest_event(ratings):
    rep = QualityReport()
    split = leave_last_out(ratings, n_valid=1, n_test=1, report=rep)
    assert_partition(split, ratings)
    latest = ratings.groupby(U)[T].max()
    # exactly one test row per user with >= 2 events, and it is the latest event
    sizes = ratings.groupby(U).size()
    assert set(split.test[U]) == set(sizes[sizes >= 2].index)
    assert split.test[U].is_unique
    assert (split.test[T].to_numpy() == latest.loc[split.test[U]].to_numpy()).all()
    # valid is the latest event before test; train events are no later than valid
    assert split.valid[U].is_unique
    last_train = split.train.groupby(U)[T].max()
    valid_t = split.valid.set_index(U)[T]
    test_t = split.test.set_index(U)[T]
    assert (valid_t <= test_t.loc[valid_t.index]).all()
    assert (last_train.loc[valid_t.index] <= valid_t).all()
    # every test user has history in train (min_train=1)
    assert split.summary().loc["test", "cold_users"] == 0
    assert rep[0].removed == 0 and "previous 1 to valid" in rep[0].reason


def test_leave_last_out_does_not_depend_on_input_order(ratings):
    a = leave_last_out(ratings)
    b = leave_last_out(ratings.sort_values(T))
    assert set(a.test.index) == set(b.test.index)
    assert set(a.valid.index) == set(b.valid.index)


def test_leave_last_out_ties_are_broken_by_row_order():
    df = pd.DataFrame({U: [1, 1, 1], IT: ["a", "b", "c"], T: [5, 9, 9]})
    split = leave_last_out(df, n_valid=1)
    assert split.test[IT].tolist() == ["c"]  # same time as "b", but further down
    assert split.valid[IT].tolist() == ["b"]
    flipped = leave_last_out(df.iloc[[0, 2, 1]], n_valid=1)
    assert flipped.test[IT].tolist() == ["b"]


def test_leave_last_out_short_users_rule_and_counts():
    # user 1: 4 events (all parts); user 2: 2 events (train + test); user 3: 1 event (short)
    df = pd.DataFrame(
        {
            U: [1, 1, 1, 1, 2, 2, 3],
            IT: [1, 2, 3, 4, 1, 2, 3],
            T: [1, 2, 3, 4, 1, 2, 1],
        }
    )
    rep = QualityReport()
    split = leave_last_out(df, report=rep)
    assert sorted(split.test[U]) == [1, 2]
    assert split.valid[U].tolist() == [1]
    assert 3 in set(split.train[U])
    reason = rep[0].reason
    assert "1 user in all parts" in reason
    assert "1 user with too few events for valid" in reason
    assert "1 user with < 2 events kept wholly in train (1 rows)" in reason
    dropped = QualityReport()
    split = leave_last_out(df, short_users="drop", report=dropped)
    assert 3 not in set(split.train[U])
    assert dropped[0].removed == 1 and "dropped" in dropped[0].reason
    split = leave_last_out(df, n_valid=0, n_test=2, min_train=2)
    assert split.valid.empty and split.test[U].tolist() == [1, 1]


def test_leave_last_out_without_time_uses_row_order():
    df = pd.DataFrame({U: [1, 1, 1], IT: ["a", "b", "c"]})
    assert leave_last_out(df, n_valid=0, time_col=None).test[IT].tolist() == ["c"]


def test_leave_last_out_errors(ratings):
    with pytest.raises(ValueError, match="time column 'timestamp' not found"):
        leave_last_out(ratings.drop(columns=T))
    nan_t = ratings.astype({T: float})
    nan_t.iloc[3, nan_t.columns.get_loc(T)] = np.nan
    with pytest.raises(ValueError, match="1 missing .NaN/NaT"):
        leave_last_out(nan_t)
    with pytest.raises(TypeError, match="pd.to_datetime"):
        leave_last_out(ratings.astype({T: str}))
    longest = int(ratings.groupby(U).size().max())
    with pytest.raises(
        ValueError, match=f"no user has n_test \\+ min_train = {longest + 1}"
    ):
        leave_last_out(ratings, n_test=longest)
    with pytest.raises(ValueError, match="n_test must be >= 1"):
        leave_last_out(ratings, n_test=0)
    with pytest.raises(ValueError, match="short_users"):
        leave_last_out(ratings, short_users="valid")
    with pytest.raises(ValueError, match="empty"):
        leave_last_out(ratings.iloc[:0])


# =============================================================== temporal
def test_temporal_split_no_test_event_before_a_train_event(ratings):
    rep = QualityReport()
    split = temporal_split(ratings, test_quantile=0.8, valid_quantile=0.6, report=rep)
    assert_partition(split, ratings)
    assert split.train[T].max() < split.valid[T].min()
    assert split.valid[T].max() < split.test[T].min()
    assert split.train[T].max() < split.test[T].min()
    n = len(ratings)
    assert abs(len(split.test) - 0.2 * n) <= 2 and abs(len(split.valid) - 0.2 * n) <= 2
    assert rep[0].removed == 0 and "quantiles" in rep[0].reason


def test_temporal_split_ties_at_cutoff_go_to_the_later_part():
    df = pd.DataFrame({U: [1, 2, 3, 4, 5], IT: [1, 1, 1, 1, 1], T: [1, 2, 3, 3, 3]})
    split = temporal_split(df, test_quantile=0.6)  # cutoff = sorted_t[3] = 3
    assert split.train[T].tolist() == [1, 2]
    assert split.test[T].tolist() == [3, 3, 3]
    split = temporal_split(df, test_time=3, valid_time=2)
    assert (split.train[T].tolist(), split.valid[T].tolist()) == ([1], [2])


def test_temporal_split_with_datetimes():
    t = pd.to_datetime(["2021-01-01", "2021-02-01", "2021-03-01", "2021-04-01"])
    df = pd.DataFrame({U: [1, 2, 1, 2], IT: [1, 2, 3, 4], T: t})
    split = temporal_split(
        df, test_time="2021-03-01", valid_time=pd.Timestamp("2021-02-01")
    )
    assert [len(p) for p in split] == [1, 1, 2]
    summary = split.summary()
    assert summary.loc["test", "time_min"] == pd.Timestamp("2021-03-01")
    assert summary.loc["test", "cold_items"] == 2
    with pytest.raises(TypeError, match="time zones"):
        temporal_split(df, test_time="2021-03-01T00:00Z")
    with pytest.raises(TypeError, match="must be a date or time"):
        temporal_split(df, test_time=1_600_000_000)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({}, ValueError, "exactly one of test_time= .* or test_quantile="),
        ({"test_time": 5, "test_quantile": 0.8}, ValueError, "exactly one"),
        ({"test_quantile": 0.8, "valid_time": 3}, ValueError, "do not mix"),
        (
            {"test_time": 5, "valid_time": 3, "valid_quantile": 0.2},
            ValueError,
            "not both",
        ),
        (
            {"test_quantile": 0.5, "valid_quantile": 0.7},
            ValueError,
            "must be < test_quantile",
        ),
        ({"test_quantile": 1.2}, ValueError, r"test_quantile must be in \(0, 1\)"),
        (
            {"test_time": 5, "valid_time": 5},
            ValueError,
            "valid_time=5 must be < test_time=5",
        ),
        ({"test_time": 0}, ValueError, "train part would be empty"),
        ({"test_time": 100}, ValueError, "test part would be empty"),
        ({"test_time": 5, "valid_time": 4.5}, ValueError, "valid part would be empty"),
        ({"test_time": "5"}, TypeError, "must be a number"),
    ],
)
def test_temporal_split_bad_arguments(kwargs, exc, match):
    df = pd.DataFrame({U: [1, 2, 3, 4, 5], IT: [1, 2, 3, 4, 5], T: [1, 2, 3, 4, 5]})
    with pytest.raises(exc, match=match):
        temporal_split(df, **kwargs)


def test_temporal_split_bad_time_column():
    df = pd.DataFrame({U: [1, 2], IT: [1, 2], T: [1.0, np.nan]})
    with pytest.raises(ValueError, match="NaN/NaT"):
        temporal_split(df, test_quantile=0.5)
    with pytest.raises(ValueError, match="time column 'when' not found"):
        temporal_split(df, test_quantile=0.5, time_col="when")
    same = pd.DataFrame({U: [1, 2, 3], IT: [1, 2, 3], T: [7, 7, 7]})
    with pytest.raises(ValueError, match="train part would be empty"):
        temporal_split(same, test_quantile=0.5)
    ties = pd.DataFrame({U: range(6), IT: range(6), T: [1, 2, 2, 2, 2, 3]})
    with pytest.raises(ValueError, match="same timestamp"):
        temporal_split(ties, test_quantile=0.6, valid_quantile=0.4)


# =============================================================== Split
def test_summary_counts_cold_users_and_items():
    train = pd.DataFrame({U: [1, 1, 2], IT: ["a", "b", "a"], T: [1, 2, 3]})
    valid = pd.DataFrame({U: [1], IT: ["c"], T: [4]})
    test = pd.DataFrame({U: [2, 3, 3, 1], IT: ["a", "a", "d", "b"], T: [5, 6, 7, 8]})
    split = Split(train, valid, test)
    s = split.summary()
    assert s.index.tolist() == ["train", "valid", "test"]
    assert s.loc["test", ["rows", "users", "items"]].tolist() == [4, 3, 3]
    assert s.loc["test", "cold_users"] == 1 and s.loc[
        "test", "cold_user_share"
    ] == pytest.approx(1 / 3)
    assert s.loc["test", "cold_items"] == 1 and s.loc[
        "test", "cold_item_share"
    ] == pytest.approx(1 / 3)
    assert s.loc["test", "cold_rows"] == 2  # (3, a) new user, (3, d) new user and item
    assert s.loc["valid", "cold_items"] == 1 and s.loc["train", "cold_rows"] == 0
    assert s.loc["train", "time_max"] == 3
    assert "test=4 rows" in repr(split) and "<table" in split._repr_html_()


def test_drop_cold_removes_and_reports(ratings):
    rep = QualityReport()
    split = random_split(ratings, 0.3, 0, valid_frac=0.2, report=rep)
    before = split.summary()
    cold = split.drop_cold(report=rep)
    after = cold.summary()
    assert (
        after.loc[["valid", "test"], ["cold_users", "cold_items", "cold_rows"]]
        .eq(0)
        .all()
        .all()
    )
    removed = before.loc["valid", "cold_rows"] + before.loc["test", "cold_rows"]
    assert rep[1].removed == removed and rep[1].step == "Split.drop_cold"
    assert cold.train is split.train
    rep.check()  # the drop_cold step chains after the split step
    only_items = split.drop_cold(users=False)
    assert only_items.summary().loc["test", "cold_items"] == 0
    with pytest.raises(ValueError, match="users=True and/or items=True"):
        split.drop_cold(users=False, items=False)


def test_empty_valid_part_in_summary(ratings):
    s = leave_last_out(ratings, n_valid=0).summary()
    assert s.loc["valid", "rows"] == 0 and np.isnan(s.loc["valid", "cold_user_share"])


def test_split_after_preprocessing_chains_in_one_report(ratings):
    rep = QualityReport()
    df = drop_duplicates(ratings, subset=[U, IT], report=rep)
    split = leave_last_out(df, report=rep).drop_cold(report=rep)
    rep.check()
    assert rep.rows_out == split.n_rows


def test_splits_do_not_modify_their_input(ratings):
    snapshot = ratings.copy()
    random_split(ratings, valid_frac=0.1)
    leave_last_out(ratings)
    temporal_split(ratings, test_quantile=0.9).drop_cold()
    pd.testing.assert_frame_equal(ratings, snapshot)
