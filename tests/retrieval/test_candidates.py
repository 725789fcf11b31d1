"""Tests of recsys_lib.retrieval.candidates: exclusions, short rows, bad input."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys_lib.models import MF, MFConfig
from recsys_lib.retrieval import PAD_ITEM, Candidates, MFRetriever, PopularityRetriever
from recsys_lib.retrieval.candidates import _Exclusion

from .helpers import interactions, pop_retriever


def test_exclusion_returns_no_purchased_items_in_every_form():
    n_items = 10
    ret = pop_retriever(np.arange(n_items))  # item 0 most popular, then 1, ...
    bought = interactions(6, n_items)  # user u bought u and u+1
    users = np.array([0, 3, 5, 3])
    forms = {
        "frame": bought,
        "sparse": sp.csr_matrix(
            (np.ones(len(bought)), (bought.user_id, bought.item_id)), shape=(6, n_items)
        ),
        "dict": {u: set(g.item_id) for u, g in bought.groupby("user_id")},
        "list": [set(bought.item_id[bought.user_id == u]) for u in users],
    }
    expected = np.array(
        [[2, 3, 4], [0, 1, 2], [0, 1, 2], [0, 1, 2]]
    )  # the most popular items each user has not bought
    for name, excl in forms.items():
        items, scores = ret.retrieve(users, 3, exclude=excl)
        np.testing.assert_array_equal(items, expected, err_msg=name)
        for row, u in enumerate(users):
            assert not set(items[row]) & {u, (u + 1) % n_items}, name
    # without exclusion the purchased items come back
    items, _ = ret.retrieve(users, 3)
    np.testing.assert_array_equal(items[0], [0, 1, 2])


def test_users_without_rows_in_a_keyed_exclusion_lose_nothing():
    ret = pop_retriever(np.arange(10))
    items, _ = ret.retrieve(
        [0, 8], 2, exclude=interactions(2, 10)
    )  # user 8 never bought
    np.testing.assert_array_equal(items, [[2, 3], [0, 1]])


def test_fewer_items_than_k_raises_or_pads():
    ret = pop_retriever(np.arange(5))
    excl = {0: [0, 1, 2]}
    with pytest.raises(ValueError, match=r"user 0: 2\)"):
        ret.retrieve([0, 1], 4, exclude=excl)
    items, scores = ret.retrieve([0, 1], 4, exclude=excl, on_short="pad")
    np.testing.assert_array_equal(items, [[3, 4, PAD_ITEM, PAD_ITEM], [0, 1, 2, 3]])
    assert np.isneginf(scores[0, 2:]).all() and np.isfinite(scores[1]).all()
    with pytest.raises(ValueError, match="on_short"):
        ret.retrieve([0], 2, on_short="drop")


def test_bad_retrieval_input_is_refused():
    ret = MFRetriever(MF(MFConfig.tiny(8, 10)))
    with pytest.raises(ValueError, match="only 10 items"):
        ret.retrieve([0], 11)
    with pytest.raises(ValueError, match=">= 1"):
        ret.retrieve([0], 0)
    with pytest.raises(ValueError, match="only 8 users"):
        ret.retrieve([8], 2)
    with pytest.raises(ValueError, match="negative"):
        ret.retrieve([-1], 2)
    with pytest.raises(TypeError, match="integer"):
        ret.retrieve(np.array([0.0, 1.0]), 2)
    with pytest.raises(ValueError, match="empty"):
        ret.retrieve(np.array([], dtype=np.int64), 2)
    with pytest.raises(ValueError, match="1-D"):
        ret.retrieve(np.zeros((2, 2), dtype=np.int64), 2)
    with pytest.raises(ValueError, match="item id 10"):
        ret.retrieve([0], 2, exclude=[[10]])
    with pytest.raises(TypeError, match="integer item ids"):
        ret.retrieve([0], 2, exclude=[[np.nan]])
    with pytest.raises(ValueError, match="2 entries but there are 1 users"):
        ret.retrieve([0], 2, exclude=[[1], [2]])
    with pytest.raises(TypeError, match="keys"):
        ret.retrieve([0], 2, exclude={"0": [1]})
    with pytest.raises(TypeError, match="exclude must be"):
        ret.retrieve([0], 2, exclude=np.array([[0, 1]]))
    with pytest.raises(ValueError, match="shape"):
        ret.retrieve([0], 2, exclude=sp.csr_matrix((8, 11)))
    with pytest.raises(ValueError, match="nan"):
        PopularityRetriever([1.0, np.nan])
    with pytest.raises(ValueError, match="1-D"):
        PopularityRetriever(np.ones((2, 2)))


def test_exclusion_lookup_matches_python_sets_and_subsets_keep_rows():
    rng = np.random.default_rng(4)
    n_items, B = 30, 25
    log = pd.DataFrame(
        {"user_id": rng.integers(0, 12, 150), "item_id": rng.integers(0, n_items, 150)}
    )
    users = rng.integers(0, 15, B)  # users 12..14 have no rows
    excl = _Exclusion.build(log, users, n_items, B)
    items = rng.integers(-1, n_items + 5, (B, 40))  # padding and ids past the catalog
    sets = [set(log.item_id[log.user_id == u]) for u in users]
    ref = np.array([[i in sets[r] for i in row] for r, row in enumerate(items)])
    np.testing.assert_array_equal(excl.contains(items), ref)
    idx = np.array([3, 0, 3, 24])
    np.testing.assert_array_equal(excl.subset(idx).contains(items[idx]), ref[idx])
    assert _Exclusion.build(excl, users, n_items, B) is excl
    with pytest.raises(ValueError, match="expected 3"):
        _Exclusion.build(excl, users, n_items, 3)


def test_candidates_unpack_count_and_name_their_sources():
    cand = Candidates(
        items=np.array([[3, 1, -1], [2, 0, 4]]),
        scores=np.array([[2.0, 1.0, -np.inf], [3.0, 2.0, 1.0]], dtype=np.float32),
        source=np.array([[0, 1, -1], [1, 1, 0]]),
        source_names=("a", "b"),
        fallback=np.array([False, True]),
        user_ids=np.array([7, 8]),
    )
    items, scores = cand
    assert items is cand.items and scores is cand.scores and len(cand) == 2
    np.testing.assert_array_equal(cand.n_valid, [2, 3])
    assert cand.source_counts() == {"a": 2, "b": 3}
    np.testing.assert_array_equal(cand.from_source("a"), cand.source == 0)
    with pytest.raises(ValueError, match="unknown source 'c'"):
        cand.from_source("c")
    assert "fallback users=1" in repr(cand) and "padded slots=1" in repr(cand)
