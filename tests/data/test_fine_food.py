"""Tests of recsys_lib.data.fine_food (Chapter 14's reviews).

Loader tests point ``RECSYS_DATA_DIR`` at a temporary folder (the real cache
is only read, never modified) and replace the registry client, except the test
named ``*_real_registry_*``, which downloads the Debian package.
"""

from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from recsys_lib.apps import sentiment
from recsys_lib.data import fine_food as F
from recsys_lib.data import sources
from recsys_lib.data.sources import DatasetError, SourceUnavailable
from recsys_lib.data.tables import frame_sha256, load_tables

from .helpers import HAS_APT, lazyload_db


@pytest.fixture(scope="module")
def reviews(real_cache) -> F.FineFoodReviews:
    pytest.importorskip("rdata")
    return F.load_fine_food_reviews()


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
        assert frame_sha256(table) == F.FINE_FOOD_TABLE_SHA256[name]


def _fake_modeldata(root: Path, objects: dict[str, bytes], tmp_path: Path) -> None:
    """An 'installed' r-cran-modeldata whose records are raw LZMA2, as R writes them."""
    rdb, rdx = lazyload_db(objects, dict.fromkeys(objects, "raw-xz"), tmp_path)
    folder = root / F.MODELDATA_DATA_DIR
    folder.mkdir(parents=True)
    (folder / "Rdata.rdb").write_bytes(rdb)
    (folder / "Rdata.rdx").write_bytes(rdx)


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
    monkeypatch.setattr(sources, "SYSTEM_ROOT", system)
    monkeypatch.setattr(
        sources, "apt_get_download", lambda *a: pytest.fail("downloaded")
    )
    data = F.load_fine_food_reviews()
    pd.testing.assert_frame_equal(data.train, reviews.train)
    pd.testing.assert_frame_equal(data.test, reviews.test)
    # now cached: works offline and without the package
    monkeypatch.setattr(sources, "SYSTEM_ROOT", tmp_path / "no-system")
    assert F.load_fine_food_reviews(source="cache").test.equals(reviews.test)


def test_fine_food_corrupted_cache(reviews, real_cache, tmp_cache, monkeypatch):
    folder = tmp_cache / F.FINE_FOOD
    folder.mkdir(parents=True)
    real_files = {}
    for n in F.FINE_FOOD_RDS_SHA256:
        src = real_cache / F.FINE_FOOD / f"{n}.rds"
        real_files[src] = sources.sha256_file(src)
        shutil.copyfile(src, folder / f"{n}.rds")
    damaged = folder / "training_data.rds"
    data = bytearray(damaged.read_bytes())
    data[1000] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="corrupted"):
        with pytest.raises(DatasetError, match="fetch amazon-fine-food"):
            F.load_fine_food_reviews(source="cache")
    assert not damaged.exists()  # the damaged copy is never used again
    # the real cache was not touched
    assert all(sources.sha256_file(p) == sha for p, sha in real_files.items())


def test_fine_food_damaged_parsed_cache_is_rebuilt(reviews, real_cache, tmp_cache):
    folder = tmp_cache / F.FINE_FOOD
    folder.mkdir(parents=True)
    for n in F.FINE_FOOD_RDS_SHA256:
        shutil.copyfile(real_cache / F.FINE_FOOD / f"{n}.rds", folder / f"{n}.rds")
    (folder / "parsed.npz").write_bytes(b"not a zip file")
    data = F.load_fine_food_reviews(source="cache")
    pd.testing.assert_frame_equal(data.train, reviews.train)
    assert load_tables(folder / "parsed.npz") is not None


def test_fine_food_missing_debian_package(tmp_cache, monkeypatch):
    pytest.importorskip("rdata")

    def no_package(package, workdir):
        raise SourceUnavailable(
            f"`apt-get download {package}` failed: E: Unable to locate package {package}"
        )

    monkeypatch.setattr(sources, "apt_get_download", no_package)
    with pytest.raises(DatasetError) as info:
        F.load_fine_food_reviews()
    message = str(info.value)
    assert "r-cran-modeldata" in message and "make data" in message
    with pytest.raises(ValueError, match="source must be one of .*got 'official'"):
        F.load_fine_food_reviews(source="official")


def test_fine_food_needs_rdata(tmp_cache, monkeypatch):
    monkeypatch.setitem(sys.modules, "rdata", None)
    with pytest.raises(DatasetError, match="pip install rdata=="):
        F.load_fine_food_reviews()


@pytest.mark.skipif(not HAS_APT, reason="needs apt-get and dpkg-deb")
def test_fine_food_real_registry_debian_download(tmp_cache):
    pytest.importorskip("rdata")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = F.load_fine_food_reviews()
    assert data.train.shape == (4000, 3)
    for n, sha in F.FINE_FOOD_RDS_SHA256.items():
        assert sources.sha256_file(tmp_cache / F.FINE_FOOD / f"{n}.rds") == sha
