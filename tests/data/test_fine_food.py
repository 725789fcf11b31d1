"""Tests of recsys_lib.data.fine_food (Chapter 14's reviews).

Loader tests point ``RECSYS_DATA_DIR`` at a temporary folder (the real cache
is only read, never modified) and replace the registry client, except the test
named ``*_real_registry_*``, which downloads the Debian package.
"""

from __future__ import annotations

import gzip
import lzma
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys_lib import config
from recsys_lib import datasets as ds
from recsys_lib.apps import sentiment
from recsys_lib.data import fine_food as F

HAS_APT = shutil.which("apt-get") is not None and shutil.which("dpkg-deb") is not None


@pytest.fixture(scope="module")
def real_cache() -> Path:
    return config.data_dir()


@pytest.fixture(scope="module")
def reviews(real_cache) -> F.FineFoodReviews:
    pytest.importorskip("rdata")
    return F.load_fine_food_reviews()


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch, real_cache) -> Path:
    """An empty cache in tmp_path; no installed system copy of any package."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(config.DATA_DIR_ENV_VAR, str(cache))
    monkeypatch.setattr(ds, "_SYSTEM_ROOT", tmp_path / "no-system")
    monkeypatch.setattr(ds, "_APT_UPDATED", False)
    return cache


def test_old_path_still_works():
    """Chapter 14 calls ``sentiment.load_fine_food_reviews``."""
    assert sentiment.load_fine_food_reviews is F.load_fine_food_reviews
    assert sentiment.FineFoodReviews is F.FineFoodReviews


def test_fine_food_real(reviews):
    assert reviews.train.shape == (4000, 3) and reviews.test.shape == (1000, 3)
    assert reviews.train["score"].value_counts().to_dict() == {
        "great": 2600,
        "other": 1400,
    }
    assert reviews.test["score"].value_counts().to_dict() == {
        "great": 658,
        "other": 342,
    }
    assert not set(reviews.train["product"]) & set(reviews.test["product"])
    for name in ("train", "test"):
        table = getattr(reviews, name)
        assert ds._frame_sha256(table) == F.FINE_FOOD_TABLE_SHA256[name]


def _rds_bytes(obj, tmp_path: Path) -> bytes:
    rdata = pytest.importorskip("rdata")
    path = tmp_path / "obj.rds"
    rdata.write_rds(path, obj, compression=None)
    return path.read_bytes()


def _fake_modeldata(root: Path, objects: dict[str, bytes], tmp_path: Path) -> None:
    """An 'installed' r-cran-modeldata whose records are raw LZMA2, as R writes them."""
    rdb = b""
    variables = {}
    filters = [{"id": lzma.FILTER_LZMA2, "preset": 6}]
    for name, data in objects.items():
        record = (
            len(data).to_bytes(4, "big")
            + b"Z"
            + lzma.compress(data, format=lzma.FORMAT_RAW, filters=filters)
        )
        variables[name] = np.array([len(rdb), len(record)], dtype=np.int32)
        rdb += record
    index = {"variables": variables, "references": {}, "compressed": np.array([3])}
    folder = root / F.MODELDATA_DATA_DIR
    folder.mkdir(parents=True)
    (folder / "Rdata.rdb").write_bytes(rdb)
    (folder / "Rdata.rdx").write_bytes(gzip.compress(_rds_bytes(index, tmp_path)))


def test_fine_food_from_installed_package_raw_lzma(
    reviews, real_cache, tmp_cache, tmp_path, monkeypatch
):
    """The Debian step reads R's raw-LZMA2 records; nothing is downloaded."""
    objects = {
        n: (real_cache / F.FINE_FOOD / f"{n}.rds").read_bytes()
        for n in F.FINE_FOOD_RDS_SHA256
    }
    system = tmp_path / "system"
    _fake_modeldata(system, objects, tmp_path)
    monkeypatch.setattr(ds, "_SYSTEM_ROOT", system)
    monkeypatch.setattr(ds, "_apt_get_download", lambda *a: pytest.fail("downloaded"))
    data = F.load_fine_food_reviews()
    pd.testing.assert_frame_equal(data.train, reviews.train)
    pd.testing.assert_frame_equal(data.test, reviews.test)
    # now cached: works offline and without the package
    monkeypatch.setattr(ds, "_SYSTEM_ROOT", tmp_path / "no-system")
    assert F.load_fine_food_reviews(source="cache").test.equals(reviews.test)


def test_fine_food_corrupted_cache(reviews, real_cache, tmp_cache, monkeypatch):
    folder = tmp_cache / F.FINE_FOOD
    folder.mkdir(parents=True)
    real_files = {}
    for n in F.FINE_FOOD_RDS_SHA256:
        src = real_cache / F.FINE_FOOD / f"{n}.rds"
        real_files[src] = ds._sha256(src)
        shutil.copyfile(src, folder / f"{n}.rds")
    damaged = folder / "training_data.rds"
    data = bytearray(damaged.read_bytes())
    data[1000] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="corrupted"):
        with pytest.raises(ds.DatasetError, match="fetch amazon-fine-food"):
            F.load_fine_food_reviews(source="cache")
    assert not damaged.exists()  # the damaged copy is never used again
    # the real cache was not touched
    assert all(ds._sha256(p) == sha for p, sha in real_files.items())


def test_fine_food_damaged_parsed_cache_is_rebuilt(reviews, real_cache, tmp_cache):
    folder = tmp_cache / F.FINE_FOOD
    folder.mkdir(parents=True)
    for n in F.FINE_FOOD_RDS_SHA256:
        shutil.copyfile(real_cache / F.FINE_FOOD / f"{n}.rds", folder / f"{n}.rds")
    (folder / "parsed.npz").write_bytes(b"not a zip file")
    data = F.load_fine_food_reviews(source="cache")
    pd.testing.assert_frame_equal(data.train, reviews.train)
    assert ds._load_tables(folder / "parsed.npz") is not None


def test_fine_food_missing_debian_package(tmp_cache, monkeypatch):
    pytest.importorskip("rdata")

    def no_package(package, workdir):
        raise ds.SourceUnavailable(
            f"`apt-get download {package}` failed: E: Unable to locate package {package}"
        )

    monkeypatch.setattr(ds, "_apt_get_download", no_package)
    with pytest.raises(ds.DatasetError) as info:
        F.load_fine_food_reviews()
    message = str(info.value)
    assert "r-cran-modeldata" in message and "make data" in message
    with pytest.raises(ValueError, match="source='official' is not valid"):
        F.load_fine_food_reviews(source="official")


def test_fine_food_needs_rdata(tmp_cache, monkeypatch):
    monkeypatch.setitem(sys.modules, "rdata", None)
    with pytest.raises(ds.DatasetError, match="pip install rdata=="):
        F.load_fine_food_reviews()


def test_lazyload_reader_raw_and_stream_xz(tmp_path):
    payload = _rds_bytes(np.arange(5, dtype=np.int32), tmp_path)
    system = tmp_path / "sys"
    _fake_modeldata(system, {"x": payload}, tmp_path)
    folder = system / F.MODELDATA_DATA_DIR
    rdb, rdx = ((folder / n).read_bytes() for n in ("Rdata.rdb", "Rdata.rdx"))
    assert F._r_lazyload_object(rdb, rdx, "x") == payload
    # a record whose length header is wrong is refused
    bad = rdb[:3] + bytes([rdb[3] ^ 1]) + rdb[4:]
    with pytest.raises(ds.SourceUnavailable, match="bytes, expected"):
        F._r_lazyload_object(bad, rdx, "x")


@pytest.mark.skipif(not HAS_APT, reason="needs apt-get and dpkg-deb")
def test_fine_food_real_registry_debian_download(tmp_cache):
    pytest.importorskip("rdata")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = F.load_fine_food_reviews()
    assert data.train.shape == (4000, 3)
    for n, sha in F.FINE_FOOD_RDS_SHA256.items():
        assert ds._sha256(tmp_cache / F.FINE_FOOD / f"{n}.rds") == sha
