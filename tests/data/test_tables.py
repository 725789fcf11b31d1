"""Tests of recsys_lib.data.tables: table checksums and the parsed cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_lib.data import tables
from recsys_lib.data.sources import DatasetError


def test_frame_checksum_ignores_dtype_flavour_not_values():
    a = pd.DataFrame({"x": [1, 2], "s": ["a", "b"], "g": [["u"], []]})
    b = pd.DataFrame(
        {"x": pd.array([1, 2], dtype="Int64"), "s": pd.Series(["a", "b"], dtype=object)}
    )
    b["g"] = [["u"], []]
    assert tables.frame_sha256(a) == tables.frame_sha256(b)
    assert tables.frame_sha256(a) != tables.frame_sha256(a.assign(x=[1, 3]))
    reverse = a.iloc[::-1].reset_index(drop=True)
    assert tables.frame_sha256(a) != tables.frame_sha256(reverse)


def test_bool_columns_are_refused():
    with pytest.raises(TypeError, match="bool columns are not supported"):
        tables.frame_sha256(pd.DataFrame({"flag": [True, False]}))


def test_parsed_tables_roundtrip(tmp_path):
    df = pd.DataFrame(
        {
            "i": np.array([3, 1], dtype="int64"),
            "y": pd.array([1995, None], dtype="Int64"),
            "f": [0.5, 4.0],
            "t": pd.Series(["Misérables, Les", None], dtype="str"),
            "g": [["Drama", "Musical"], []],
        }
    )
    path = tmp_path / "t.npz"
    tables.save_tables(path, {"items": df}, {"source": "x"})
    loaded, meta = tables.load_tables(path)
    pd.testing.assert_frame_equal(loaded["items"], df, check_dtype=False)
    assert loaded["items"]["y"].dtype == "Int64" and meta["source"] == "x"
    assert tables.usable((loaded, meta), "x", {"ratings": None}) is True
    assert tables.usable((loaded, meta), "other", {"ratings": None}) is False
    path.write_bytes(b"not a zip")
    assert tables.load_tables(path) is None
    assert tables.load_tables(tmp_path / "absent.npz") is None


def test_check_tables_strict_and_lenient():
    df = pd.DataFrame({"x": [1]})
    good = tables.frame_sha256(df)
    tables.check_tables("demo", {"ratings": df}, {"ratings": good})
    with pytest.warns(UserWarning, match="parsed items table has checksum"):
        tables.check_tables("demo", {"items": df}, {"items": "0" * 64})
    with pytest.raises(DatasetError, match="parsed ratings table.*make data"):
        tables.check_tables(
            "demo", {"ratings": df}, {"ratings": "0" * 64}, strict=("ratings",)
        )


def test_multi_hot_and_shape_text():
    m = tables.multi_hot(pd.Series([["b"], ["a", "b"]]), ["a", "b"], pd.Index([7, 9]))
    assert m.to_numpy().tolist() == [[0, 1], [1, 1]] and m.index.tolist() == [7, 9]
    assert tables.shape_text(np.zeros((3, 4))) == "3x4"
