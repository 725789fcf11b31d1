import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from recsys_lib.config import ITEM_COL, USER_COL
from recsys_lib.data.interactions import (
    DENSE_BUDGET,
    exclusions_to_csr,
    hit_matrix,
    interactions_to_csr,
    relevant_to_csr,
    resize_rows,
)


def make_split(n_users, n_items, n_train, n_test, seed=0):
    """Disjoint random train/test interactions, every user in both."""
    rng = np.random.default_rng(seed)
    tr, te = [], []
    for u in range(n_users):
        items = rng.permutation(n_items)[: n_train + n_test]
        tr += [(u, i) for i in items[:n_train]]
        te += [(u, i) for i in items[n_train:]]
    cols = [USER_COL, ITEM_COL]
    return pd.DataFrame(tr, columns=cols), pd.DataFrame(te, columns=cols)


def test_interaction_forms_agree():
    train, _ = make_split(10, 8, 3, 1)
    base = interactions_to_csr(train, 10, 8)
    pairs = (train[USER_COL].to_numpy(), train[ITEM_COL].to_numpy())
    for other in (
        interactions_to_csr(pairs, 10, 8),
        interactions_to_csr(train[[USER_COL, ITEM_COL]].to_numpy(), 10, 8),
        interactions_to_csr(sp.coo_matrix(base * 3), 10, 8),
        interactions_to_csr(pd.concat([train, train]), 10, 8),  # repeats count once
    ):
        assert (other != base).nnz == 0 and other.max() == 1.0
    assert interactions_to_csr(train).shape == (10, int(train[ITEM_COL].max()) + 1)


@pytest.mark.parametrize(
    ("data", "kwargs", "error", "match"),
    [
        (pd.DataFrame({"user": [0], ITEM_COL: [1]}), {}, ValueError, "lacks column"),
        (
            pd.DataFrame({USER_COL: [0, 5], ITEM_COL: [1, 1]}),
            {"n_users": 3},
            ValueError,
            "user id 5",
        ),
        (
            pd.DataFrame({USER_COL: [0], ITEM_COL: [9]}),
            {"n_items": 3},
            ValueError,
            "item id 9",
        ),
        (pd.DataFrame({USER_COL: [0], ITEM_COL: [-1]}), {}, ValueError, "negative"),
        (pd.DataFrame({USER_COL: [0.5], ITEM_COL: [1]}), {}, TypeError, "integer ids"),
        (
            (np.array([0, 1]), np.array([0])),
            {},
            ValueError,
            "2 user ids but 1 item ids",
        ),
        ([1, 2, 3], {}, TypeError, "must be a DataFrame"),
        (sp.csr_matrix((3, 4)), {"n_users": 5}, ValueError, "expected"),
    ],
)
def test_interactions_bad_input(data, kwargs, error, match):
    with pytest.raises(error, match=match):
        interactions_to_csr(data, **kwargs)


def test_resize_rows_pads_with_empty_rows_and_never_shrinks():
    mat = interactions_to_csr((np.array([0, 1]), np.array([2, 0])), 2, 3)
    padded = resize_rows(mat, 4)
    assert padded.shape == (4, 3) and padded.nnz == 2
    np.testing.assert_array_equal(padded.toarray()[:2], mat.toarray())
    assert resize_rows(mat, 1) is mat


# ------------------------------------------------------------ relevant sets
def test_relevant_forms_agree_sorted_and_deduplicated():
    expected_ptr, expected_idx = [0, 2, 2, 5], [1, 4, 0, 2, 3]
    forms = [
        [{4, 1}, set(), [3, 0, 2, 2]],
        [np.array([4, 1, 4]), [], (0, 3, 2)],
        [torch.tensor([1, 4]), np.array([], dtype=float), pd.Series([3, 0, 2])],
        sp.csr_matrix(
            (np.ones(6), ([0, 0, 2, 2, 2, 2], [1, 4, 0, 2, 3, 3])), shape=(3, 5)
        ),
    ]
    for relevant in forms:
        indptr, indices = relevant_to_csr(relevant, 3)
        assert indptr.dtype == indices.dtype == np.int64
        np.testing.assert_array_equal(indptr, expected_ptr)
        np.testing.assert_array_equal(indices, expected_idx)


@pytest.mark.parametrize(
    ("relevant", "error", "match"),
    [
        (
            [{0}, {-1, 2}],
            ValueError,
            r"relevant holds negative item ids \(first: -1 in row 1\)",
        ),
        (
            [{0}, {0.5}],
            TypeError,
            r"relevant must hold integer item ids; relevant\[1\]",
        ),
        ([{0}, [True]], TypeError, "must hold integer item ids"),
        ([{0}, 5], TypeError, r"collection of item ids .*relevant\[1\] is int"),
        ([{0}, "ab"], TypeError, "collection of item ids"),
        ([{0}, np.zeros((2, 2), int)], ValueError, r"relevant\[1\] must be 1-D"),
        ("ab", TypeError, "relevant must be a sequence"),
        ({0: [1]}, TypeError, "relevant must be a sequence"),
        ([{0}], ValueError, "1 entries but top_items has 2 rows"),
        (sp.csr_matrix((3, 4)), ValueError, "relevant has 3 rows"),
    ],
)
def test_relevant_bad_input(relevant, error, match):
    with pytest.raises(error, match=match):
        relevant_to_csr(relevant, 2)


@pytest.mark.parametrize("budget", [DENSE_BUDGET, 0])
def test_hit_matrix_dense_and_sorted_paths(budget, monkeypatch):
    monkeypatch.setattr("recsys_lib.data.interactions.DENSE_BUDGET", budget)
    rng = np.random.default_rng(0)
    top = np.stack([rng.permutation(30)[:6] for _ in range(20)])
    relevant = [
        set(rng.choice(30, size=rng.integers(0, 8), replace=False)) for _ in range(20)
    ]
    expected = np.array(
        [[i in rel for i in row] for row, rel in zip(top, relevant, strict=True)]
    )
    np.testing.assert_array_equal(
        hit_matrix(top, *relevant_to_csr(relevant, 20)), expected
    )
    # ids too large to pack (row * width overflows int64): compressed first
    big = np.array([[2**61, 5], [7, 2**61 + 1]])
    hits = hit_matrix(big, *relevant_to_csr([{5}, {2**61 + 1}], 2))
    np.testing.assert_array_equal(hits, [[False, True], [False, True]])
    assert hit_matrix(top, *relevant_to_csr([()] * 20, 20)).sum() == 0


# ------------------------------------------------------------ exclusions
def test_exclusion_forms_agree():
    bought = pd.DataFrame({USER_COL: [0, 0, 3, 5, 5], ITEM_COL: [1, 2, 4, 0, 0]})
    users = np.array([3, 0, 9, 3])  # user 9 bought nothing; user 3 twice
    forms = {
        "frame": bought,
        "sparse": sp.csr_matrix(
            (np.ones(5), (bought[USER_COL], bought[ITEM_COL])), shape=(6, 6)
        ),
        "dict": {0: {1, 2}, 3: [4], 5: np.array([0])},
        "list": [[4], [2, 1, 2], (), np.array([4])],
    }
    for name, excl in forms.items():
        mat = exclusions_to_csr(excl, users, n_items=6)
        assert mat.shape == (4, 6), name
        np.testing.assert_array_equal(mat.indptr, [0, 1, 3, 3, 4], err_msg=name)
        np.testing.assert_array_equal(mat.indices, [4, 1, 2, 4], err_msg=name)
    assert exclusions_to_csr(None, users) is None
    # without n_items the width is the largest id + 1 (at least 1)
    assert exclusions_to_csr([[4], []], n_items=None).shape == (2, 5)
    assert exclusions_to_csr([[], []]).shape == (2, 1)
    assert exclusions_to_csr(bought, [0, 5]).shape == (2, 5)


@pytest.mark.parametrize(
    ("exclude", "users", "error", "match"),
    [
        ({0: [1]}, None, ValueError, "keyed by user id, so user_ids must be given"),
        (pd.DataFrame({USER_COL: [0], ITEM_COL: [1]}), None, ValueError, "keyed"),
        ([[1], [2]], [0], ValueError, "2 entries but there are 1 users"),
        ({"0": [1]}, [0], TypeError, "keys must be integer user ids"),
        ({True: [1]}, [0], TypeError, "keys must be integer user ids"),
        ({-1: [1]}, [0], ValueError, "negative user id key"),
        ([[10]], [0], ValueError, r"item id 10 \(row 0\) but the catalog has only 6"),
        ([[np.nan]], [0], TypeError, "integer item ids"),
        (np.array([[0, 1]]), [0], TypeError, "exclude must be None, a DataFrame"),
        (sp.csr_matrix((8, 11)), [0], ValueError, "shape"),
        ([[1]], [-1], ValueError, "negative"),
    ],
)
def test_exclusion_bad_input(exclude, users, error, match):
    with pytest.raises(error, match=match):
        exclusions_to_csr(exclude, users, n_items=6)
