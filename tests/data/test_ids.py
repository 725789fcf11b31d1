"""Tests of recsys_lib.data.ids: IdMapper and map_ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_lib.config import (
    ITEM_COL,
    RATING_COL,
    TIMESTAMP_COL,
    USER_COL,
)
from recsys_lib.data.ids import IdMapper, map_ids
from recsys_lib.data.report import QualityReport

U, IT, R, T = USER_COL, ITEM_COL, RATING_COL, TIMESTAMP_COL


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
