import warnings

import numpy as np
import pandas as pd
import pytest

from recsys_lib.config import (
    EVENT_COL,
    ITEM_COL,
    LABEL_COL,
    RATING_COL,
    TIMESTAMP_COL,
    USER_COL,
)
from recsys_lib.preprocessing import (
    IdMapper,
    QualityReport,
    QualityStep,
    clip_ratings,
    drop_duplicates,
    drop_missing,
    drop_outlier_users,
    k_core_filter,
    keep_events,
    map_ids,
    normalize_ids,
    normalize_ratings,
    sort_by_time,
    to_implicit,
    validate_interactions,
)
from recsys_lib.synthetic import make_ratings

U, IT, R, T = USER_COL, ITEM_COL, RATING_COL, TIMESTAMP_COL


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    return make_ratings(
        n_users=60, n_items=40, mean_ratings_per_user=12, seed=0
    ).ratings


def frame(rows, columns=(U, IT, R, T)) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


def assert_step_adds_up(step: QualityStep) -> None:
    assert step.rows_in - step.rows_out == step.removed
    assert step.removed >= 0 and step.changed >= 0


# =============================================================== QualityReport
def test_report_collects_steps_and_totals():
    rep = QualityReport("demo")
    rep.add("a", 10, 8, "two gone")
    rep.add("b", 8, 8, "fixed three", changed=3)
    rep.add("c", 8, 5, "three gone")
    assert len(rep) == 3
    assert rep.total_removed == 5
    assert rep.total_changed == 3
    assert rep.rows_in == 10 and rep.rows_out == 5
    frame_ = rep.to_frame()
    assert list(frame_.columns) == [
        "step",
        "rows_in",
        "rows_out",
        "removed",
        "changed",
        "reason",
    ]
    assert frame_["removed"].tolist() == [2, 0, 3]
    assert (frame_["rows_in"] - frame_["rows_out"] == frame_["removed"]).all()
    rep.check()
    assert "demo" in repr(rep) and "two gone" in repr(rep) and "5 removed" in repr(rep)
    html = rep._repr_html_()
    assert "<table" in html and "fixed three" in html
    assert [s.step for s in rep] == ["a", "b", "c"]
    assert rep[0].removed == 2


def test_empty_report_displays():
    rep = QualityReport()
    assert rep.total_removed == 0 and rep.rows_in is None
    assert "no steps" in repr(rep) and "no steps" in rep._repr_html_()
    assert rep.to_frame().empty
    rep.check()


def test_report_rejects_inconsistent_counts():
    rep = QualityReport()
    with pytest.raises(ValueError, match="never adds rows"):
        rep.add("x", 5, 6, "?")
    with pytest.raises(ValueError, match=">= 0"):
        rep.add("x", 5, 3, "?", changed=-1)
    with pytest.raises(ValueError, match="removed=1 but"):
        QualityStep("x", 5, 3, 1, 0, "?")
    rep.add("a", 10, 8, "")
    rep.add("b", 7, 7, "")  # does not start where "a" ended
    with pytest.raises(
        ValueError, match="step 1 .b. starts with 7 rows but step 0 .a. ended with 8"
    ):
        rep.check()
    rep.check(chain=False)


def test_without_a_report_changes_are_printed(capsys):
    df = frame([[1, 1, 5, 1], [None, 2, 4, 2]])
    drop_missing(df)
    out = capsys.readouterr().out
    assert "[drop_missing] removed 1 of 2 rows" in out
    clean = frame([[1, 1, 5, 1]])
    drop_missing(clean)  # nothing happened: nothing printed
    assert capsys.readouterr().out == ""


def test_report_must_be_a_report():
    with pytest.raises(TypeError, match="QualityReport"):
        drop_missing(frame([[1, 1, 5, 1]]), report="yes")


# =============================================================== validate
def test_validate_accepts_good_frames(ratings):
    assert validate_interactions(ratings, rating_col=R, time_col=T) is ratings
    str_ids = ratings.astype({U: str, IT: "category"})
    validate_interactions(str_ids)
    validate_interactions(ratings, required=U)


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        ([[1, 2]], TypeError, "expected a pandas DataFrame"),
        (pd.DataFrame(columns=[U, IT]), ValueError, "empty"),
        (
            pd.DataFrame({U: [1], "item": [2]}),
            ValueError,
            r"\['item_id'\] not found.*item_id=|user_col=",
        ),
        (
            pd.DataFrame({U: [1, None], IT: ["a", "b"]}),
            TypeError,
            "float dtype.*drop_missing",
        ),
        (pd.DataFrame({U: [1.0, 2.0], IT: [1, 2]}), TypeError, r"astype\('int64'\)"),
        (
            pd.DataFrame({U: ["a", None], IT: [1, 2]}),
            ValueError,
            "1 missing .*drop_missing",
        ),
        (pd.DataFrame({U: [True, False], IT: [1, 2]}), TypeError, "boolean"),
        (
            pd.DataFrame({U: pd.to_datetime(["2020-01-01"]), IT: [1]}),
            TypeError,
            "integers or strings",
        ),
    ],
)
def test_validate_rejects_bad_input(bad, exc, match):
    with pytest.raises(exc, match=match):
        validate_interactions(bad)


def test_validate_rating_and_time_columns():
    df = frame([[1, 1, "5", 1]])
    with pytest.raises(TypeError, match="rating column 'rating' must be numeric"):
        validate_interactions(df, rating_col=R)
    df = frame([[1, 1, np.nan, 1]])
    with pytest.raises(ValueError, match="1 NaN"):
        validate_interactions(df, rating_col=R)
    df = frame([[1, 1, 5, "2020-01-01"]])
    with pytest.raises(TypeError, match="pd.to_datetime"):
        validate_interactions(df, time_col=T)
    df = frame([[1, 1, 5, None], [2, 2, 5, 3]])
    with pytest.raises(ValueError, match="time column 'timestamp' has 1 missing"):
        validate_interactions(df, time_col=T)
    with pytest.raises(ValueError, match=r"\['when'\] not found"):
        validate_interactions(frame([[1, 1, 5, 1]]), time_col="when")


def test_validate_default_id_columns_skip_ratings():
    df = pd.DataFrame({U: [1, 2], IT: [3, 4], R: [4.5, 3.0]})
    validate_interactions(
        df, required=(U, IT, R)
    )  # float rating is not checked as an ID
    with pytest.raises(TypeError, match="ID column 'rating'"):
        validate_interactions(df, required=(U, IT, R), id_cols=[U, R])


# =============================================================== drop_missing
def test_drop_missing_counts_per_column_and_keeps_index():
    df = pd.DataFrame(
        {
            U: ["a", None, "c", "  ", "e"],
            IT: [1.0, 2.0, np.nan, 4.0, np.nan],
            R: [5, 4, 3, 2, 1],
        },
        index=[10, 11, 12, 13, 14],
    )
    before = df.copy()
    rep = QualityReport()
    out = drop_missing(df, report=rep)
    pd.testing.assert_frame_equal(df, before)  # input untouched
    assert out.index.tolist() == [10]
    step = rep[0]
    assert (step.rows_in, step.rows_out, step.removed) == (5, 1, 4)
    assert "user_id: 2" in step.reason and "item_id: 2" in step.reason
    out = drop_missing(df, columns=U, blank_as_missing=False, report=rep)
    assert out.index.tolist() == [10, 12, 13, 14]
    with pytest.raises(ValueError, match=r"\['price'\] not found"):
        drop_missing(df, columns=[U, "price"])
    with pytest.raises(ValueError, match="columns is empty; give at least one"):
        drop_missing(df, columns=[])
    with pytest.raises(ValueError, match="empty"):
        drop_missing(df.iloc[:0])


# =============================================================== duplicates
def test_exact_duplicates_are_removed():
    df = frame([[1, 1, 5, 10], [1, 1, 5, 10], [1, 1, 4, 10], [2, 1, 5, 10]])
    rep = QualityReport()
    out = drop_duplicates(df, report=rep)
    assert out.index.tolist() == [0, 2, 3] or out.index.tolist() == [1, 2, 3]
    assert rep[0].removed == 1 and "exact duplicate" in rep[0].reason


def test_repeated_pairs_keep_latest_by_time_even_if_rows_are_out_of_order():
    # user 1 rated item 1 three times; the latest (t=30) is in the middle of the input
    df = frame([[1, 1, 2, 20], [1, 1, 5, 30], [2, 1, 3, 5], [1, 1, 1, 10]])
    rep = QualityReport()
    out = drop_duplicates(df, subset=[U, IT], report=rep)
    assert out.index.tolist() == [1, 2]  # input order of kept rows
    assert out.loc[1, R] == 5
    assert rep[0].removed == 2 and "latest by 'timestamp'" in rep[0].reason
    first = drop_duplicates(df, subset=[U, IT], keep="first")
    assert first.set_index(U).loc[1, R] == 1


def test_duplicate_ties_and_missing_time_column():
    df = frame([[1, 1, 2, 10], [1, 1, 5, 10]])
    assert drop_duplicates(df, subset=[U, IT]).index.tolist() == [
        1
    ]  # tie: later row wins
    no_time = df.drop(columns=T)
    rep = QualityReport()
    out = drop_duplicates(no_time, subset=[U, IT], report=rep)
    assert out.index.tolist() == [1] and "row order (no time column)" in rep[0].reason
    with pytest.raises(ValueError, match="keep must be"):
        drop_duplicates(df, keep="latest")
    with pytest.raises(ValueError, match="1 missing .NaN/NaT"):
        drop_duplicates(frame([[1, 1, 2, None], [1, 1, 5, 10]]), subset=[U, IT])
    with pytest.raises(ValueError, match="not found"):
        drop_duplicates(df, subset=[U, "nope"])


# =============================================================== outliers
@pytest.fixture(scope="module")
def with_bot(ratings) -> pd.DataFrame:
    bot = pd.DataFrame({U: 999, IT: np.arange(400) % 40, R: 5, T: np.arange(400)})
    return pd.concat([ratings, bot], ignore_index=True)


@pytest.mark.parametrize(
    "rule", [{"max_events": 100}, {"quantile": 0.99}, {"robust_z": 3.5}], ids=str
)
def test_bot_is_removed_by_each_rule(with_bot, rule):
    rep = QualityReport()
    out = drop_outlier_users(with_bot, **rule, report=rep)
    assert 999 not in set(out[U])
    assert rep[0].removed == (with_bot[U] == 999).sum()  # only the bot
    assert "1 user of 61 dropped" in rep[0].reason and "400 events" in rep[0].reason


def test_outlier_rules_are_validated(with_bot):
    with pytest.raises(ValueError, match="exactly one rule"):
        drop_outlier_users(with_bot)
    with pytest.raises(ValueError, match="exactly one rule"):
        drop_outlier_users(with_bot, max_events=5, quantile=0.9)
    with pytest.raises(ValueError, match=r"quantile must be in \(0, 1\)"):
        drop_outlier_users(with_bot, quantile=1.0)
    with pytest.raises(ValueError, match="max_events must be >= 1"):
        drop_outlier_users(with_bot, max_events=0)
    with pytest.raises(TypeError, match="max_events must be an int"):
        drop_outlier_users(with_bot, max_events=2.5)


def test_robust_z_with_zero_spread_drops_nobody():
    df = pd.DataFrame({U: np.repeat(np.arange(10), 3), IT: np.tile([1, 2, 3], 10)})
    rep = QualityReport()
    out = drop_outlier_users(df, robust_z=3.5, report=rep)
    assert len(out) == len(df) and "MAD is 0" in rep[0].reason


# =============================================================== events
def test_keep_events():
    df = pd.DataFrame(
        {U: [1, 1, 2, 2], IT: [1, 2, 1, 3], EVENT_COL: ["view", "buy", "view", "cart"]}
    )
    rep = QualityReport()
    out = keep_events(df, "buy", report=rep)
    assert out.index.tolist() == [1]
    assert (
        rep[0].removed == 3
        and "view: 2" in rep[0].reason
        and "cart: 1" in rep[0].reason
    )
    with pytest.raises(
        ValueError,
        match=r"\['purchase'\] never occur.*present: \['buy', 'cart', 'view'\]",
    ):
        keep_events(df, ["purchase"])


# =============================================================== normalize_ids
def test_normalize_ids_merges_spellings_and_counts_changes():
    df = pd.DataFrame(
        {U: [" U12 ", "u12", "U12", "u13", None, "  "], IT: [1, 2, 3, 4, 5, 6]}
    )
    before = df.copy()
    rep = QualityReport()
    out = normalize_ids(df, report=rep)
    pd.testing.assert_frame_equal(df, before)
    assert out[U].tolist()[:4] == ["u12", "u12", "u12", "u13"]
    assert out[U].isna().tolist() == [False] * 4 + [True, True]
    assert out[IT].tolist() == df[IT].tolist()
    step = rep[0]
    assert (step.removed, step.changed) == (0, 3)  # " U12 ", "U12", "  "
    assert "5 -> 2 distinct" in step.reason.replace(",", "")  # 5 spellings were 2 users
    assert "1 became blank" in step.reason and "item_id: unchanged" in step.reason
    # the blank ID is then dropped, and reported, by drop_missing
    clean = drop_missing(out, report=rep)
    assert rep[1].removed == 2 and len(clean) == 4
    rep.check()


def test_normalize_ids_options_and_mixed_types():
    df = pd.DataFrame({U: ["Ab", " ab"], IT: pd.Series([12, "12"], dtype=object)})
    out = normalize_ids(df, lower=False)
    assert out[U].tolist() == ["Ab", "ab"]
    assert out[IT].tolist() == ["12", "12"]  # int 12 and "12" are the same item
    cat = pd.DataFrame({U: pd.Categorical(["A", "a "]), IT: [1, 2]})
    assert normalize_ids(cat)[U].tolist() == ["a", "a"]


# =============================================================== ratings
def test_clip_ratings_counts_clipped_or_dropped():
    df = frame([[1, 1, 0, 1], [1, 2, 3, 2], [1, 3, 7, 3], [1, 4, 9, 4]])
    rep = QualityReport()
    out = clip_ratings(df, 1, 5, report=rep)
    assert out[R].tolist() == [1, 3, 5, 5] and out[R].dtype == df[R].dtype
    assert (rep[0].removed, rep[0].changed) == (0, 3)
    assert "1 below 1, 2 above 5" in rep[0].reason
    out = clip_ratings(df, 1, 5, out_of_range="drop", report=rep)
    assert out.index.tolist() == [1] and rep[1].removed == 3
    with pytest.raises(ValueError, match="need low < high"):
        clip_ratings(df, 5, 1)
    with pytest.raises(ValueError, match="out_of_range"):
        clip_ratings(df, out_of_range="wrap")
    with pytest.raises(TypeError, match="must be numeric"):
        clip_ratings(df.astype({R: str}))


def test_normalize_ratings_center_and_minmax():
    df = frame([[1, 1, 5, 1], [1, 2, 3, 2], [2, 1, 4, 3], [2, 2, 4, 4], [3, 1, 1, 5]])
    rep = QualityReport()
    out, stats = normalize_ratings(df, report=rep, return_stats=True)
    assert out["rating_norm"].tolist() == [1.0, -1.0, 0.0, 0.0, 0.0]
    assert out[R].tolist() == df[R].tolist()  # the raw rating is kept
    assert stats.loc[1, "mean"] == 4.0 and len(stats) == 3
    assert rep[0].changed == 0 and rep[0].removed == 0
    mm = normalize_ratings(df, "minmax", out_col=R, report=rep)
    assert mm[R].tolist() == [1.0, 0.0, 0.5, 0.5, 0.5]  # constant users -> 0.5
    assert rep[1].changed == len(df)
    glob = normalize_ratings(df, per_user=False)
    assert np.isclose(glob["rating_norm"].mean(), 0.0)
    assert (
        normalize_ratings(df, "minmax", per_user=False)["rating_norm"]
        .between(0, 1)
        .all()
    )
    with pytest.raises(ValueError, match="method must be"):
        normalize_ratings(df, "zscore")


def test_to_implicit_counts_rows_below_threshold(ratings):
    rep = QualityReport()
    out = to_implicit(ratings, 4, report=rep)
    n_low = int((ratings[R] < 4).sum())
    assert rep[0].removed == n_low and f"{n_low:,} rows below" in rep[0].reason
    assert (out[R] >= 4).all() and (out[LABEL_COL] == 1).all()
    both = to_implicit(ratings, 4, keep_negatives=True, report=rep)
    assert len(both) == len(ratings) and rep[1].removed == 0
    assert int((both[LABEL_COL] == 0).sum()) == n_low
    with pytest.raises(ValueError, match="NaN"):
        to_implicit(frame([[1, 1, np.nan, 1]]))
    with pytest.raises(TypeError, match="threshold must be a number"):
        to_implicit(ratings, "4")


# =============================================================== sort_by_time
def test_sort_by_time_detects_and_counts_disorder():
    df = frame(
        [[1, 1, 5, 30], [1, 2, 5, 10], [2, 1, 5, 20], [2, 2, 5, 20], [3, 1, 5, 40]]
    )
    rep = QualityReport()
    out = sort_by_time(df, report=rep)
    assert out[T].tolist() == [10, 20, 20, 30, 40]
    assert out.index.tolist() == [1, 2, 3, 0, 4]  # tie (rows 2, 3) keeps input order
    step = rep[0]
    assert (step.removed, step.changed) == (0, 4)
    assert "out of order" in step.reason and "1 place" in step.reason
    again = QualityReport()
    sort_by_time(out, report=again)
    assert again[0].changed == 0 and "already in time order" in again[0].reason


def test_sort_by_time_datetimes_and_errors():
    df = pd.DataFrame(
        {
            U: [1, 2],
            IT: [1, 1],
            T: pd.to_datetime(["2021-01-02", "2021-01-01"]).tz_localize("UTC"),
        }
    )
    assert sort_by_time(df).index.tolist() == [1, 0]
    with pytest.raises(ValueError, match="time column 'timestamp' not found"):
        sort_by_time(df.drop(columns=T))
    with pytest.raises(TypeError, match="pd.to_datetime"):
        sort_by_time(df.astype({T: str}))
    with pytest.raises(ValueError, match="NaN/NaT"):
        sort_by_time(frame([[1, 1, 5, np.nan], [1, 1, 5, 1.0]]))


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


# =============================================================== IdMapper
def test_id_mapper_contiguous_and_reversible(ratings):
    rng = np.random.default_rng(0)
    df = ratings.assign(**{U: "u" + ratings[U].astype(str)})
    train = df.sample(frac=0.8, random_state=0)
    rep = QualityReport()
    mapped, mapper = map_ids(train, report=rep)
    assert mapped[U].dtype == np.int64 and mapped[IT].dtype == np.int64
    assert set(mapped[U]) == set(range(mapper.n_users))
    assert set(mapped[IT]) == set(range(mapper.n_items))
    assert mapper.n_users == train[U].nunique()
    pd.testing.assert_frame_equal(mapper.inverse_transform(mapped), train)
    assert mapper.user_ids[mapped[U].iloc[0]] == train[U].iloc[0]
    assert mapper.mapping(U)[train[U].iloc[0]] == mapped[U].iloc[0]
    # codes do not depend on row order
    shuffled = train.iloc[rng.permutation(len(train))]
    assert IdMapper().fit(shuffled).mapping(IT).equals(mapper.mapping(IT))
    assert rep[0].removed == 0 and "IdMapper" in repr(mapper)


def test_id_mapper_unknown_ids_raise_or_are_dropped_and_reported():
    train = pd.DataFrame({U: ["a", "b"], IT: [1, 2]})
    test = pd.DataFrame({U: ["a", "c", "b"], IT: [2, 1, 3]})
    mapper = IdMapper().fit(train)
    with pytest.raises(
        ValueError, match=r"user_id: 1 rows with 1 unseen IDs \(e.g. 'c'\).*item_id"
    ):
        mapper.transform(test)
    rep = QualityReport()
    out = mapper.transform(test, unknown="drop", report=rep)
    assert out.index.tolist() == [0] and out.loc[0, U] == 0 and out.loc[0, IT] == 1
    assert rep[0].removed == 2 and "unseen" in rep[0].reason
    with pytest.raises(ValueError, match="unknown must be"):
        mapper.transform(test, unknown="ignore")


def test_id_mapper_errors():
    with pytest.raises(RuntimeError, match="fit"):
        IdMapper().transform(pd.DataFrame({U: [1], IT: [1]}))
    with pytest.raises(TypeError, match="mixes ID types.*normalize_ids"):
        IdMapper().fit(pd.DataFrame({U: pd.Series([1, "1"], dtype=object), IT: [1, 2]}))
    with pytest.raises(ValueError, match="missing"):
        IdMapper().fit(pd.DataFrame({U: ["a", None], IT: [1, 2]}))
    mapper = IdMapper(item_col=None).fit(pd.DataFrame({U: [5, 7], IT: [1, 2]}))
    assert mapper.n_users == 2
    with pytest.raises(AttributeError):
        _ = mapper.n_items
    with pytest.raises(ValueError, match=r"0\.\.1"):
        mapper.inverse_transform(pd.DataFrame({U: [2]}))
    with pytest.raises(ValueError, match="at least one"):
        IdMapper(None, None)


# =============================================================== pipeline
def test_pipeline_report_adds_up_and_inputs_are_never_modified(ratings):
    raw = ratings.copy()
    raw[U] = "U" + raw[U].astype(str)
    raw.loc[0, U] = f"  {raw.loc[0, U].lower()} "  # inconsistent spelling
    raw.loc[1, IT] = None  # missing ID (column becomes float)
    raw = pd.concat([raw, raw.iloc[[5, 6]]])  # logged twice
    raw = raw.iloc[::-1]  # out of time order
    snapshot = raw.copy()

    rep = QualityReport("pipeline")
    df = drop_missing(raw, report=rep)
    df = df.astype({IT: "int64"})
    df = normalize_ids(df, report=rep)
    df = drop_duplicates(df, report=rep)
    df = sort_by_time(df, report=rep)
    df = k_core_filter(df, 5, 5, report=rep)
    df = to_implicit(df, 4, report=rep)
    df, _ = map_ids(df, report=rep)

    pd.testing.assert_frame_equal(raw, snapshot)
    rep.check()
    table = rep.to_frame()
    assert (table["rows_in"] - table["rows_out"] == table["removed"]).all()
    assert rep.rows_in - rep.total_removed == rep.rows_out == len(df)
    by_step = {s.step: s for s in rep}
    assert by_step["drop_missing"].removed == 1
    assert by_step["normalize_ids"].changed == len(raw) - 1  # every ID lower-cased
    assert by_step["drop_duplicates"].removed == 2
    assert by_step["sort_by_time"].changed > 0
    validate_interactions(df, rating_col=R, time_col=T)


@pytest.mark.parametrize(
    "fn",
    [
        lambda d: drop_missing(d, report=QualityReport()),
        lambda d: drop_duplicates(d, subset=[U, IT], report=QualityReport()),
        lambda d: drop_outlier_users(d, quantile=0.9, report=QualityReport()),
        lambda d: normalize_ids(d.astype({U: str}), report=QualityReport()),
        lambda d: clip_ratings(d, 2, 4, report=QualityReport()),
        lambda d: normalize_ratings(d, report=QualityReport()),
        lambda d: to_implicit(d, report=QualityReport()),
        lambda d: sort_by_time(d.iloc[::-1], report=QualityReport()),
        lambda d: k_core_filter(d, 3, 3, report=QualityReport()),
        lambda d: map_ids(d, report=QualityReport()),
    ],
)
def test_functions_do_not_modify_their_input(ratings, fn):
    snapshot = ratings.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn(ratings)
    pd.testing.assert_frame_equal(ratings, snapshot)
