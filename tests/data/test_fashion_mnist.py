"""Tests of recsys_lib.data.fashion_mnist: every step of its chain."""

from __future__ import annotations

import gzip
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from recsys_lib.data import fashion_mnist as fm
from recsys_lib.data import sources
from recsys_lib.data.sources import DatasetError, SourceUnavailable

from .helpers import HAS_APT, HAS_DPKG_DEB, build_deb, copy, needs_pooch, sha


@pytest.fixture(scope="session")
def fmnist(real_cache) -> fm.FashionMNIST:
    return fm.load_fashion_mnist()


# ============================================================= Fashion-MNIST
def test_fashion_mnist_real(fmnist, real_cache):
    assert fmnist.images.shape == (70_000, 28, 28) and fmnist.images.dtype == np.uint8
    assert fmnist.labels.shape == (70_000,) and fmnist.labels.dtype == np.int64
    assert np.bincount(fmnist.labels).tolist() == [7000] * 10
    assert fmnist.class_names == (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    )
    assert len(fmnist) == 70_000 and 0 < fmnist.images.mean() < 255
    train = fm.load_fashion_mnist("train", source="cache")
    test = fm.load_fashion_mnist("test", source="cache")
    assert train.images.shape == (60_000, 28, 28) and test.images.shape == (
        10_000,
        28,
        28,
    )
    assert np.bincount(train.labels).tolist() == [6000] * 10
    assert np.bincount(test.labels).tolist() == [1000] * 10
    np.testing.assert_array_equal(fmnist.images[60_000:], test.images)
    for name in fm.FASHION_MNIST_FILES:
        assert fm._fashion_mnist_expected(name).match(
            real_cache / "fashion-mnist" / name
        )


def test_fashion_mnist_cache_is_offline_and_fast(fmnist, no_network, monkeypatch):
    monkeypatch.setattr(sources, "download", lambda *a, **k: pytest.fail("downloaded"))
    start = time.perf_counter()
    again = fm.load_fashion_mnist(source="cache")
    assert time.perf_counter() - start < 1.0
    np.testing.assert_array_equal(again.labels, fmnist.labels)


def test_fashion_mnist_bad_arguments():
    with pytest.raises(ValueError, match="split must be one of .*got 'validation'"):
        fm.load_fashion_mnist("validation")
    with pytest.raises(ValueError, match="source must be one of .*got 'kaggle'"):
        fm.load_fashion_mnist(source="kaggle")


def _idx_gz(array: np.ndarray, magic: int, mtime: int = 0) -> tuple[bytes, bytes]:
    payload = np.array([magic, *array.shape], dtype=">i4").tobytes() + array.tobytes()
    return payload, gzip.compress(payload, mtime=mtime)


@pytest.fixture
def fake_fashion_files(tmp_path, monkeypatch) -> Path:
    """Four tiny IDX files (3 training, 2 test images) registered as the release."""
    folder = tmp_path / "release"
    folder.mkdir()
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": (
            rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
            2051,
        ),
        "train-labels-idx1-ubyte.gz": (np.array([0, 9, 4], dtype=np.uint8), 2049),
        "t10k-images-idx3-ubyte.gz": (
            rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
            2051,
        ),
        "t10k-labels-idx1-ubyte.gz": (np.array([7, 1], dtype=np.uint8), 2049),
    }
    for name, (array, magic) in arrays.items():
        payload, packed = _idx_gz(array, magic)
        (folder / name).write_bytes(packed)
        entry = {
            "official": sha(packed),
            "debian": sha(packed),
            "payload": sha(payload),
        }
        monkeypatch.setitem(fm.FASHION_MNIST_FILES, name, entry)
    return folder


@needs_pooch
def test_fashion_mnist_official_files(
    tmp_cache, fake_fashion_files, no_network, monkeypatch
):
    monkeypatch.setattr(fm, "FASHION_MNIST_URL", fake_fashion_files.as_uri() + "/")
    data = fm.load_fashion_mnist(source="official")
    assert data.source == "official" and data.images.shape == (5, 28, 28)
    assert data.labels.tolist() == [0, 9, 4, 7, 1]
    assert (tmp_cache / "fashion-mnist" / "train-images-idx3-ubyte.npy").is_file()
    again = fm.load_fashion_mnist(source="cache")  # now from the .npy copies
    np.testing.assert_array_equal(again.images, data.images)


@pytest.mark.skipif(not HAS_DPKG_DEB, reason="needs dpkg-deb (Debian/Ubuntu)")
def test_fashion_mnist_debian_fallback(
    tmp_cache, fake_fashion_files, tmp_path, monkeypatch
):
    """Official URL unreachable -> a .deb is fetched and unpacked with dpkg-deb."""
    tree = tmp_path / "pkg"
    target = tree / fm.FASHION_MNIST_DEBIAN_DIR
    target.mkdir(parents=True)
    for f in fake_fashion_files.iterdir():
        shutil.copyfile(f, target / f.name)
    deb = build_deb(tree, fm.FASHION_MNIST_DEBIAN_PACKAGE, tmp_path / "fm.deb")
    downloads = []

    def fake_apt_get_download(package, workdir):
        downloads.append(package)
        return Path(shutil.copyfile(deb, workdir / f"{package}_1.0-1_all.deb"))

    monkeypatch.setattr(sources, "apt_get_download", fake_apt_get_download)
    data = fm.load_fashion_mnist("test")
    assert data.source == "debian" and data.labels.tolist() == [7, 1]
    assert downloads == [fm.FASHION_MNIST_DEBIAN_PACKAGE]
    # all four files were stored; the training split is now offline
    assert fm.load_fashion_mnist("train", source="cache").labels.tolist() == [0, 9, 4]


def test_fashion_mnist_installed_debian_package(
    tmp_cache, fake_fashion_files, tmp_path, monkeypatch
):
    system = tmp_path / "system"
    for f in fake_fashion_files.iterdir():
        copy(f, system / fm.FASHION_MNIST_DEBIAN_DIR / f.name)
    monkeypatch.setattr(sources, "SYSTEM_ROOT", system)
    monkeypatch.setattr(
        sources, "apt_get_download", lambda *a: pytest.fail("downloaded")
    )
    assert fm.load_fashion_mnist(source="debian").source == "debian"


@needs_pooch
def test_fashion_mnist_corrupted_cache_is_refetched(
    tmp_cache, real_cache, fmnist, tmp_path, monkeypatch
):
    server = tmp_path / "server"
    folder = tmp_cache / "fashion-mnist"
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        copy(real_cache / "fashion-mnist" / name, folder / name)
        copy(real_cache / "fashion-mnist" / name, server / name)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    (folder / "t10k-images-idx3-ubyte.npy").write_bytes(b"garbage")  # damaged fast copy
    monkeypatch.setattr(fm, "FASHION_MNIST_URL", server.as_uri() + "/")
    monkeypatch.setattr(sources, "run", lambda *a, **k: pytest.fail("used a registry"))
    with pytest.warns(UserWarning, match="t10k-labels-idx1-ubyte.gz is corrupted"):
        data = fm.load_fashion_mnist("test")
    assert np.bincount(data.labels).tolist() == [1000] * 10
    np.testing.assert_array_equal(data.images, fmnist.images[60_000:])
    assert fm._fashion_mnist_expected("t10k-labels-idx1-ubyte.gz").match(
        folder / "t10k-labels-idx1-ubyte.gz"
    )


def test_fashion_mnist_recompressed_copy_is_accepted(real_cache, tmp_path):
    name = "t10k-labels-idx1-ubyte.gz"
    payload = gzip.decompress((real_cache / "fashion-mnist" / name).read_bytes())
    other = tmp_path / name
    other.write_bytes(gzip.compress(payload, compresslevel=1, mtime=1))
    assert fm._fashion_mnist_expected(name).match(other) == "recompressed"
    other.write_bytes(gzip.compress(payload[:-1]))
    assert fm._fashion_mnist_expected(name).match(other) is None


def test_fashion_mnist_nothing_works(tmp_cache, monkeypatch):
    def fail(package, workdir):
        raise SourceUnavailable("apt-get not found")

    monkeypatch.setattr(sources, "apt_get_download", fail)
    with pytest.raises(DatasetError) as info:
        fm.load_fashion_mnist()
    assert "debian: apt-get not found" in str(info.value)
    assert "fetch fashion-mnist" in str(info.value)
    with pytest.raises(DatasetError, match="not in the cache"):
        fm.load_fashion_mnist(source="cache")


@pytest.mark.skipif(not HAS_APT, reason="needs apt-get and dpkg-deb")
def test_fashion_mnist_real_registry_debian_download(tmp_cache):
    """The real `apt-get download dataset-fashion-mnist` step (needs Debian's mirror)."""
    data = fm.load_fashion_mnist("test")
    assert data.source == "debian" and np.bincount(data.labels).tolist() == [1000] * 10
    for name, known in fm.FASHION_MNIST_FILES.items():
        assert (
            sources.sha256_file(tmp_cache / "fashion-mnist" / name) == known["debian"]
        )
