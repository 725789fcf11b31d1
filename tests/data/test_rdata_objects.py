"""Tests of recsys_lib.data.rdata_objects: R lazy-load databases without R."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from recsys_lib.data import rdata_objects as R
from recsys_lib.data.sources import DatasetError, SourceUnavailable

from .helpers import lazyload_db, rds_bytes


def test_lazyload_reader_all_compressions(tmp_path):
    objects = {
        k: rds_bytes(np.arange(i + 3, dtype=np.int32), tmp_path)
        for i, k in enumerate("abcde")
    }
    kinds = {"a": "zlib", "b": "xz", "c": "bzip2", "d": "none", "e": "raw-xz"}
    rdb, rdx = lazyload_db(objects, kinds, tmp_path)
    for name, data in objects.items():
        assert R.lazyload_object(rdb, rdx, name) == data
    assert R.parse_r(R.lazyload_object(rdb, rdx, "c")).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(SourceUnavailable, match="no object 'movielens'"):
        R.lazyload_object(rdb, rdx, "movielens")


def test_raw_lzma2_record_with_a_wrong_length_is_refused(tmp_path):
    """R writes xz records as raw LZMA2 (no .xz container); a bad header is caught."""
    payload = rds_bytes(np.arange(5, dtype=np.int32), tmp_path)
    rdb, rdx = lazyload_db({"x": payload}, {"x": "raw-xz"}, tmp_path)
    assert R.lazyload_object(rdb, rdx, "x") == payload
    bad = rdb[:3] + bytes([rdb[3] ^ 1]) + rdb[4:]
    with pytest.raises(SourceUnavailable, match="bytes, expected"):
        R.lazyload_object(bad, rdx, "x")
    broken = rdb[:5] + b"\x05" * (len(rdb) - 5)  # an invalid LZMA2 chunk
    with pytest.raises(SourceUnavailable, match="bad xz record"):
        R.lazyload_object(broken, rdx, "x")


def test_extract_objects_turns_damage_into_a_failed_source(tmp_path):
    payload = rds_bytes(np.arange(2, dtype=np.int32), tmp_path)
    rdb, rdx = lazyload_db({"x": payload, "y": payload}, {}, tmp_path)
    assert R.extract_objects(rdb, rdx, ["x", "y"], "pkg") == {
        "x": payload,
        "y": payload,
    }
    with pytest.raises(SourceUnavailable, match="cannot read pkg's R database"):
        R.extract_objects(rdb[:-3], rdx, ["y"], "pkg")


def test_missing_rdata_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "rdata", None)
    with pytest.raises(
        DatasetError, match="demo is stored as R data.*pip install rdata=="
    ):
        R.import_rdata("demo")
