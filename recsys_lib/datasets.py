"""Real data sets, each loaded through a chain of sources.

Introduced in Chapter 2. Every loader tries, in this order:

1. the local cache -- ``data_dir()``, i.e. ``data/cache`` in the repository or
   the folder named by ``RECSYS_DATA_DIR`` -- where every raw file is checked
   against a hard-coded sha256;
2. the data set's official URL (short timeout, sha256-checked);
3. a copy that a package registry ships -- a PyPI wheel or a Debian package --
   fetched with the ordinary client (``pip download`` / ``apt-get download``)
   and unpacked without installing anything.

A cached file whose sha256 is wrong is reported, deleted and fetched again: it
is never used. Nothing is downloaded while the cache is valid. Each parsed
table also has a checksum, so every source yields exactly the same tables.

``python -m recsys_lib.datasets fetch [NAME ...]`` (run by ``make data``) fills
the cache. The data sets, by name:

* ``movielens-100k`` -- :func:`load_movielens_100k` (943 users, 1,682 movies,
  100,000 ratings);
* ``fashion-mnist`` -- :func:`load_fashion_mnist` (70,000 product images);
* ``movielens-latest-small`` -- :func:`load_movielens_latest_small` (671 users,
  9,066 movies, 100,004 ratings; needs the ``rdata`` package).

MovieLens may be used for research and teaching but not redistributed, so it
is never committed to the repository: it is fetched (see ``data/README.md``).
"""

from __future__ import annotations

import argparse
import bz2
import csv
import gzip
import hashlib
import http.client
import io
import json
import logging
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .config import ITEM_COL, RATING_COL, TIMESTAMP_COL, USER_COL, data_dir

_log = logging.getLogger(__name__)

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FETCHERS",
    "ML100K_GENRES",
    "DatasetError",
    "FashionMNIST",
    "MovieLens100K",
    "MovieLensLatestSmall",
    "fetch",
    "load_fashion_mnist",
    "load_movielens_100k",
    "load_movielens_latest_small",
]

#: The command that fills the cache; every loader error names it.
FETCH_COMMAND = "python -m recsys_lib.datasets fetch"
#: Seconds to wait for an official server before falling back to the next source.
OFFICIAL_TIMEOUT = 5.0
#: Bump when the layout of the parsed ``.npz`` caches changes.
_PARSED_FORMAT = 1

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
# Checksums (see _frame_sha256) of the three parsed tables. Both sources must
# produce them; the ratings checksum is enforced, the other two are checked.
ML100K_TABLE_SHA256 = {
    "ratings": "385ec58cb79b5346106ff4b0467811e96c42874df82b2783b1303e3b8b4c39f8",
    "items": "5c597cb5d60a669e7bdb212ef502b9c1fdf9b21ef7de8810e94a74a5b7cecb13",
    "users": "85e0c513504431a50c85e0cb72d52925f777e0340ab7f4b21bd604143246a8ae",
}
ML100K_SOURCES = ("auto", "cache", "official", "recbole")

# ------------------------------------------------------------- Fashion-MNIST
FASHION_MNIST = "fashion-mnist"
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_MNIST_DEBIAN_PACKAGE = "dataset-fashion-mnist"
FASHION_MNIST_DEBIAN_DIR = "usr/share/datasets/fashion-mnist/"
# sha256 of each file: "official" are the values that other loaders record for
# the Zalando release files (Zalando's README publishes only their md5; the files
# cannot be downloaded on the machines that build this book); "debian" are the
# files of the Debian package dataset-fashion-mnist 0.0~git20200523.55506a9-1,
# which re-compressed the same data (so the .gz bytes differ). "payload" is the
# sha256 of the decompressed file: a copy compressed some other way is accepted
# when its content matches.
FASHION_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": {
        "official": "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
        "debian": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        "payload": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    },
    "train-labels-idx1-ubyte.gz": {
        "official": "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
        "debian": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        "payload": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    },
    "t10k-images-idx3-ubyte.gz": {
        "official": "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
        "debian": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        "payload": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    },
    "t10k-labels-idx1-ubyte.gz": {
        "official": "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
        "debian": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        "payload": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}
_FASHION_MNIST_SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
#: Label ``k`` of Fashion-MNIST is ``FASHION_MNIST_CLASSES[k]``.
FASHION_MNIST_CLASSES = (
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
FASHION_MNIST_SPLITS = ("all", "train", "test")
FASHION_MNIST_SOURCES = ("auto", "cache", "official", "debian")

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
RDATA_REQUIREMENT = "rdata==1.1.0"

# Root of an installed Debian system: a package that is already installed is
# read from here instead of being downloaded (tests point it elsewhere).
_SYSTEM_ROOT = Path("/")
_APT_UPDATED = False


# ====================================================================== errors
class DatasetError(RuntimeError):
    """A data set could not be loaded; the message says what to run."""


class SourceUnavailable(DatasetError):
    """One source of a chain failed (the chain then tries the next one)."""


def _fetch_hint(name: str) -> str:
    return f"Run `make data` (or `{FETCH_COMMAND} {name}`); data/README.md lists the sources."


def _check_choice(arg: str, value: object, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"{arg}={value!r} is not valid; use one of {', '.join(repr(c) for c in choices)}."
        )
    return value


# ============================================================ files and hashes
def _part(dest: Path) -> Path:
    """A temporary name next to ``dest`` (unique per process, so that two
    processes filling the same cache never write into each other's file)."""
    return dest.with_name(f"{dest.name}.{os.getpid()}.part")


def _sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in chunks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@dataclass(frozen=True)
class _Expected:
    """What a file must be: accepted sha256 values (each with the source it
    identifies), plus an optional check of the content for other encodings."""

    sha256: Mapping[str, str]
    content: Callable[[Path], str | None] | None = None

    def match(self, path: Path) -> str | None:
        """Return the source the file comes from, or ``None`` if it is not valid."""
        digest = _sha256(path)
        if digest in self.sha256:
            return self.sha256[digest]
        return self.content(path) if self.content is not None else None

    def describe(self) -> str:
        return " or ".join(sorted(self.sha256)) + (
            " (or the same content)" if self.content else ""
        )


def _as_expected(expected: str | _Expected, label: str = "download") -> _Expected:
    return _Expected({expected: label}) if isinstance(expected, str) else expected


def _cached(path: Path, expected: str | _Expected) -> str | None:
    """Check a cached file: return its source label if valid, else ``None``.

    A file that exists but fails the check is corrupted: it is reported with a
    warning and deleted, so that the chain fetches it again.
    """
    expected = _as_expected(expected, "cache")
    if not path.is_file():
        return None
    label = expected.match(path)
    if label is not None:
        return label
    warnings.warn(
        f"cached file {path} is corrupted (sha256 {_sha256(path)}, expected "
        f"{expected.describe()}); deleting it and fetching it again.",
        stacklevel=3,
    )
    path.unlink()
    return None


def _install_file(src: Path | bytes, dest: Path, expected: str | _Expected) -> str:
    """Copy ``src`` (a path or bytes) to ``dest`` if it passes the check.

    The copy is written next to ``dest`` and renamed only once verified, so the
    cache never holds a partial or wrong file. Returns the source label.
    """
    expected = _as_expected(expected)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = _part(dest)
    if isinstance(src, bytes):
        part.write_bytes(src)
    else:
        shutil.copyfile(src, part)
    label = expected.match(part)
    if label is None:
        digest = _sha256(part)
        part.unlink()
        raise SourceUnavailable(
            f"{dest.name} has sha256 {digest}, expected {expected.describe()}; refusing it"
        )
    os.replace(part, dest)
    return label


def _download(
    url: str, dest: Path, expected: str | _Expected, timeout: float | None = None
) -> str:
    """Download ``url`` to ``dest`` and verify its sha256.

    Args:
        url: what to fetch (``http(s)://`` or ``file://``).
        dest: where to store it; written only if the check passes.
        expected: the sha256 (hex) the file must have, or an ``_Expected``.
        timeout: seconds to wait for the server (default ``OFFICIAL_TIMEOUT``).

    Returns:
        The label of the matched checksum.

    Raises:
        SourceUnavailable: if the server cannot be reached or the file is wrong.
    """
    expected = _as_expected(expected)
    timeout = OFFICIAL_TIMEOUT if timeout is None else timeout
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = _part(dest)
    _log.info("downloading %s", url)
    try:
        with (
            urllib.request.urlopen(url, timeout=timeout) as response,
            open(part, "wb") as out,
        ):
            shutil.copyfileobj(response, out, 1 << 20)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        part.unlink(missing_ok=True)
        raise SourceUnavailable(f"cannot download {url}: {exc}") from exc
    label = expected.match(part)
    if label is None:
        digest = _sha256(part)
        part.unlink()
        raise SourceUnavailable(
            f"{url} has sha256 {digest}, expected {expected.describe()}; refusing it"
        )
    os.replace(part, dest)
    return label


def _run_chain(
    name: str, steps: Sequence[tuple[str, Callable[[], Any]]]
) -> tuple[str, Any]:
    """Run fetch steps in order until one succeeds; return ``(source, result)``."""
    failures = []
    for source, step in steps:
        try:
            return source, step()
        except SourceUnavailable as exc:
            _log.info("%s: source %r failed: %s", name, source, exc)
            failures.append(f"{source}: {exc}")
    raise DatasetError(
        f"could not fetch {name} from any source:\n  - "
        + "\n  - ".join(failures)
        + f"\n{_fetch_hint(name)} It needs the internet or the package registries."
    )


# ===================================================== package registry clients
def _run(cmd: Sequence[str], cwd: Path | None = None, timeout: float = 900):
    """Run a command and capture its output (C locale, so messages are stable)."""
    env = {**os.environ, "LC_ALL": "C"}
    return subprocess.run(
        list(cmd),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def _tail(text: str, lines: int = 4) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _fetch_wheel(requirement: str, filename: str, sha256: str) -> Path:
    """Return a verified wheel from ``data_dir()/_wheels``, fetched with ``pip download``."""
    wheel_dir = data_dir() / "_wheels"
    path = wheel_dir / filename
    if _cached(path, sha256):
        return path
    wheel_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", requirement, "--no-deps"]
    cmd += [
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(wheel_dir),
    ]
    shown = f"pip download {requirement} --no-deps -d {wheel_dir}"
    _log.info("running %s", shown)
    try:
        result = _run(cmd)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SourceUnavailable(f"`{shown}` failed: {exc}") from exc
    if result.returncode != 0:
        raise SourceUnavailable(
            f"`{shown}` failed: {_tail(result.stderr or result.stdout)}"
        )
    if not path.is_file():
        raise SourceUnavailable(f"`{shown}` did not produce {filename}")
    if _Expected({sha256: "wheel"}).match(path) is None:
        digest = _sha256(path)
        path.unlink()
        raise SourceUnavailable(f"{filename} has sha256 {digest}, expected {sha256}")
    return path


_APT_LISTS_MISSING = (
    "unable to locate package",
    "has no installation candidate",
    "can't select candidate",
    "failed to fetch",
    "404",
)


def _apt_get_download(package: str, workdir: Path) -> Path:
    """``apt-get download PACKAGE`` into ``workdir`` (nothing is installed).

    If that fails because the package lists are missing or stale, run
    ``apt-get update`` once (as root) and try again.
    """
    global _APT_UPDATED
    if shutil.which("apt-get") is None:
        raise SourceUnavailable(
            f"apt-get not found: the Debian package {package} can only be fetched on "
            "Debian or Ubuntu"
        )
    cmd = ["apt-get", "download", package]
    try:
        result = _run(cmd, cwd=workdir)
        message = (result.stderr + result.stdout).lower()
        if result.returncode != 0 and any(s in message for s in _APT_LISTS_MISSING):
            if not _is_root():
                raise SourceUnavailable(
                    f"`apt-get download {package}` failed ({_tail(result.stderr)}); the "
                    "package lists are probably missing: run `sudo apt-get update`, then "
                    "try again"
                )
            if not _APT_UPDATED:
                _log.info("running apt-get update (the package lists are missing)")
                update = _run(["apt-get", "update"])
                _APT_UPDATED = True
                if update.returncode != 0:
                    raise SourceUnavailable(
                        f"`apt-get update` failed: {_tail(update.stderr)}"
                    )
                result = _run(cmd, cwd=workdir)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SourceUnavailable(f"`apt-get download {package}` failed: {exc}") from exc
    if result.returncode != 0:
        raise SourceUnavailable(
            f"`apt-get download {package}` failed: {_tail(result.stderr)}"
        )
    debs = sorted(workdir.glob(f"{package}_*.deb"))
    if not debs:
        raise SourceUnavailable(f"`apt-get download {package}` produced no .deb file")
    return debs[-1]


def _from_debian(
    package: str, members: Sequence[str], install: Callable[[dict], Any]
) -> Any:
    """Hand the files ``members`` of a Debian package to ``install``.

    An installed copy of the package is used if present (and valid); otherwise
    the package is fetched with ``apt-get download`` and unpacked with
    ``dpkg-deb -x`` into a temporary folder, which is deleted afterwards.

    Args:
        package: Debian package name.
        members: paths inside the package, e.g. ``"usr/share/x/y.gz"``.
        install: called with ``{member: local path}``; it verifies and copies
            what it needs, raising ``SourceUnavailable`` if a file is wrong.
    """
    installed = {m: _SYSTEM_ROOT / m for m in members}
    if all(p.is_file() for p in installed.values()):
        try:
            return install(installed)
        except SourceUnavailable as exc:
            _log.info(
                "installed copy of %s not usable (%s); downloading it", package, exc
            )
    with tempfile.TemporaryDirectory(prefix="recsys-deb-") as tmp:
        deb = _apt_get_download(package, Path(tmp))
        root = Path(tmp) / "root"
        try:
            result = _run(["dpkg-deb", "-x", str(deb), str(root)])
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SourceUnavailable(f"`dpkg-deb -x {deb.name}` failed: {exc}") from exc
        if result.returncode != 0:
            raise SourceUnavailable(
                f"`dpkg-deb -x {deb.name}` failed: {_tail(result.stderr)}"
            )
        extracted = {m: root / m for m in members}
        missing = [m for m, p in extracted.items() if not p.is_file()]
        if missing:
            raise SourceUnavailable(f"{deb.name} does not contain {', '.join(missing)}")
        return install(extracted)


# ==================================================== table checksums and cache
def _column_kind(col: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(col.dtype):
        raise TypeError(f"column {col.name!r}: bool columns are not supported")
    if pd.api.types.is_integer_dtype(col.dtype):
        return "int"
    if pd.api.types.is_float_dtype(col.dtype):
        return "float"
    if len(col) and isinstance(col.iloc[0], list | tuple):
        return "list"
    return "str"


def _encode_column(col: pd.Series) -> tuple[str, np.ndarray, np.ndarray]:
    """A column as ``(kind, values, missing mask)`` with plain numpy dtypes."""
    kind = _column_kind(col)
    missing = col.isna().to_numpy() if kind != "list" else np.zeros(len(col), bool)
    if kind == "int":
        values = col.to_numpy(dtype="<i8", na_value=0)
    elif kind == "float":
        values = col.to_numpy(dtype="<f8", na_value=np.nan)
    elif kind == "list":
        values = np.array(["|".join(v) for v in col], dtype=str)
    else:
        values = np.array(
            ["" if m else str(v) for v, m in zip(col, missing, strict=True)]
        )
    return kind, values, missing


def _decode_column(kind: str, values: np.ndarray, missing: np.ndarray) -> pd.Series:
    if kind == "int":
        if missing.any():
            return pd.Series(pd.arrays.IntegerArray(values.astype("int64"), missing))
        return pd.Series(values.astype("int64"))
    if kind == "float":
        return pd.Series(values.astype("float64"))
    if kind == "list":
        return pd.Series(
            [v.split("|") if v else [] for v in values.tolist()], dtype=object
        )
    series = pd.Series(values.tolist(), dtype="str")
    return series.mask(missing) if missing.any() else series


def _frame_sha256(df: pd.DataFrame) -> str:
    """A checksum of a table's content: column names, kinds, values, missing cells.

    Integers hash as little-endian int64 and floats as float64 bytes, strings
    as UTF-8 text, list cells as ``"|"``-joined text. Two tables with the same
    values in the same row order get the same checksum, whatever their pandas
    dtypes (``int64`` vs ``Int64``, ``object`` vs ``str``).
    """
    h = hashlib.sha256(f"rows={len(df)}\n".encode())
    for name in df.columns:
        kind, values, missing = _encode_column(df[name])
        h.update(f"\n{name}:{kind}\n".encode())
        if kind in ("int", "float"):
            h.update(np.ascontiguousarray(values).tobytes())
        else:
            h.update("\x1e".join(values.tolist()).encode("utf-8"))
        h.update(np.packbits(missing).tobytes())
    return h.hexdigest()


def _save_tables(path: Path, tables: Mapping[str, pd.DataFrame], meta: Mapping) -> None:
    """Store DataFrames in one ``.npz`` (no pickle), written atomically."""
    arrays = {}
    checksums = {}
    for table, df in tables.items():
        for i, name in enumerate(df.columns):
            kind, values, missing = _encode_column(df[name])
            key = f"{table}/{i:03d}/{kind}/{name}"
            arrays[key] = values
            arrays[key + "/missing"] = missing
        checksums[table] = _frame_sha256(df)
    info = {**meta, "format": _PARSED_FORMAT, "checksums": checksums}
    arrays["__meta__"] = np.array(json.dumps(info))
    part = _part(path)
    with open(part, "wb") as f:
        np.savez_compressed(f, **arrays)
    os.replace(part, path)


def _load_tables(path: Path) -> tuple[dict[str, pd.DataFrame], dict] | None:
    """Read what ``_save_tables`` wrote; ``None`` if missing, stale or damaged."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["__meta__"]))
            if meta.get("format") != _PARSED_FORMAT:
                return None
            columns: dict[str, dict[str, pd.Series]] = {}
            for key in sorted(k for k in npz.files if k.count("/") == 3):
                table, _, kind, name = key.split("/", 3)
                series = _decode_column(kind, npz[key], npz[key + "/missing"])
                columns.setdefault(table, {})[name] = series
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        _log.info("parsed cache %s is damaged; rebuilding it", path)
        return None
    tables = {t: pd.DataFrame(cols) for t, cols in columns.items()}
    if {t: _frame_sha256(df) for t, df in tables.items()} != meta.get("checksums"):
        _log.info("parsed cache %s does not match its checksums; rebuilding it", path)
        return None
    return tables, meta


def _usable(loaded: tuple | None, source: str, expected: Mapping[str, str]) -> bool:
    """Whether a parsed cache (``_load_tables``) can be used: it was parsed from
    the same source and its ratings have the reference checksum."""
    if loaded is None:
        return False
    meta = loaded[1]
    return (
        meta.get("source") == source
        and meta["checksums"].get("ratings") == expected["ratings"]
    )


def _check_tables(
    name: str, tables: Mapping[str, pd.DataFrame], expected: Mapping, strict=()
):
    """Compare table checksums with the hard-coded ones.

    A mismatch in a table named in ``strict`` is an error; in the others, a
    warning (the data are then still usable, but differ from the reference).
    """
    for table, df in tables.items():
        digest = _frame_sha256(df)
        if digest == expected[table]:
            continue
        message = (
            f"{name}: the parsed {table} table has checksum {digest}, expected "
            f"{expected[table]}: the source data or the parser changed."
        )
        if table in strict:
            raise DatasetError(message + " " + _fetch_hint(name))
        warnings.warn(message + " Please report this.", stacklevel=3)


def _shape(table) -> str:
    return "x".join(str(n) for n in table.shape)


def _multi_hot(
    lists: pd.Series, vocabulary: Sequence[str], index: pd.Index
) -> pd.DataFrame:
    position = {g: j for j, g in enumerate(vocabulary)}
    matrix = np.zeros((len(lists), len(vocabulary)), dtype=np.int8)
    for i, genres in enumerate(lists):
        for g in genres:
            matrix[i, position[g]] = 1
    return pd.DataFrame(matrix, index=index, columns=list(vocabulary))


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
            f"MovieLens100K(source={self.source!r}, ratings={_shape(self.ratings)}, "
            f"items={_shape(self.items)}, users={_shape(self.users)})"
        )

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    def genre_matrix(self) -> pd.DataFrame:
        """Multi-hot genres: ``(n_items, 19)`` int8, index ``item_id``, one column per genre."""
        return _multi_hot(
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
    if _cached(zip_path, _Expected({ML100K_ZIP_SHA256: "official"})):
        return "official", [zip_path]
    recbole_paths = [folder / name for name in RECBOLE_FILES]
    valid = [
        _cached(p, RECBOLE_FILES[p.name]) for p in recbole_paths
    ]  # checks (and cleans) all
    if all(valid):
        return "recbole", recbole_paths
    if source == "cache":
        raise DatasetError(
            f"{ML100K} is not in the cache ({folder}). {_fetch_hint(ML100K)}"
        )

    def official() -> list[Path]:
        _download(ML100K_URL, zip_path, _Expected({ML100K_ZIP_SHA256: "official"}))
        return [zip_path]

    def recbole() -> list[Path]:
        wheel = _fetch_wheel(RECBOLE_REQUIREMENT, RECBOLE_WHEEL, RECBOLE_WHEEL_SHA256)
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
            _install_file(data, path, RECBOLE_FILES[path.name])
        return recbole_paths

    steps = {"official": official, "recbole": recbole}
    wanted = ("official", "recbole") if source == "auto" else (source,)
    return _run_chain(ML100K, [(s, steps[s]) for s in wanted])


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
    _check_choice("source", source, ML100K_SOURCES)
    origin, raw = _ml100k_raw(source)
    parsed = data_dir() / ML100K / "parsed.npz"
    loaded = _load_tables(parsed)
    if _usable(loaded, origin, ML100K_TABLE_SHA256):
        tables = loaded[0]
    else:
        if origin == "official":
            tables = _parse_ml100k_official(raw[0])
        else:
            tables = _parse_ml100k_recbole(raw)
        _check_tables(ML100K, tables, ML100K_TABLE_SHA256, strict=("ratings",))
        _save_tables(parsed, tables, {"dataset": ML100K, "source": origin})
    return MovieLens100K(tables["ratings"], tables["items"], tables["users"], origin)


# ============================================================= Fashion-MNIST
@dataclass(frozen=True, eq=False, repr=False)
class FashionMNIST:
    """Fashion-MNIST: 28x28 grey-scale pictures of clothing in 10 classes.

    Introduced in Chapter 2 (the product pictures of the synthetic shop).

    Attributes:
        images: ``(N, 28, 28)`` uint8: 0 is the background, up to 255 on the garment.
        labels: ``(N,)`` int64 in ``0..9``; ``class_names[labels[i]]`` names it.
        class_names: the 10 class names, :data:`FASHION_MNIST_CLASSES`.
        split: ``"train"`` (N = 60,000), ``"test"`` (10,000) or ``"all"``
            (70,000: the training images first, then the test images).
        source: where the files came from, e.g. ``"debian"`` or ``"official"``.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    split: str
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return (
            f"FashionMNIST(split={self.split!r}, source={self.source!r}, "
            f"images={_shape(self.images)}, labels={_shape(self.labels)})"
        )


def _fashion_mnist_expected(name: str) -> _Expected:
    known = FASHION_MNIST_FILES[name]

    def same_content(path: Path) -> str | None:
        try:
            with gzip.open(path, "rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
        except (OSError, EOFError, zlib.error):
            return None
        return "recompressed" if digest == known["payload"] else None

    shas = {sha: label for label, sha in known.items() if label != "payload"}
    return _Expected(shas, content=same_content)


def _read_idx(path: Path, magic: int, offset: int) -> np.ndarray:
    """Read a gzip-compressed IDX file (the MNIST format) into a uint8 array.

    The header is ``offset`` bytes of big-endian int32: the magic number
    (2051 for images, 2049 for labels) and the size of each dimension.
    """
    raw = path.read_bytes()
    try:
        inflate = zlib.decompressobj(
            wbits=16 + zlib.MAX_WBITS
        )  # gzip, faster than gzip.open
        data = inflate.decompress(raw)
        if inflate.unused_data:  # more than one gzip member
            data = gzip.decompress(raw)
    except (zlib.error, EOFError, OSError) as exc:
        raise DatasetError(f"{path} is not a valid gzip file: {exc}") from exc
    header = np.frombuffer(data, dtype=">i4", count=offset // 4)
    if header[0] != magic:
        raise DatasetError(
            f"{path} is not an IDX file (magic {header[0]}, expected {magic})"
        )
    values = np.frombuffer(data, dtype=np.uint8, offset=offset)
    if values.size != int(np.prod(header[1:])):
        raise DatasetError(
            f"{path} is truncated: {values.size} values, header {header[1:]}"
        )
    return values.reshape(header[1:])


def _idx_sha256(array: np.ndarray, magic: int) -> str:
    """sha256 of the IDX file (header + values) that ``array`` was read from."""
    h = hashlib.sha256(np.array([magic, *array.shape], dtype=">i4").tobytes())
    h.update(np.ascontiguousarray(array).data)
    return h.hexdigest()


def _fashion_mnist_array(folder: Path, name: str) -> np.ndarray:
    """One verified ``.gz`` file as an array, through an uncompressed ``.npy`` copy.

    Decompressing the training images takes about half a second, so the
    decompressed array is kept as ``<name>.npy``; it is used only while its
    content still hashes to the published sha256 of the decompressed file.
    """
    magic, offset = (2051, 16) if "images" in name else (2049, 8)
    payload = FASHION_MNIST_FILES[name]["payload"]
    npy = folder / name.replace(".gz", ".npy")
    if npy.is_file():
        try:
            array = np.load(npy, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            array = None
        if (
            array is not None
            and array.dtype == np.uint8
            and _idx_sha256(array, magic) == payload
        ):
            return array
        npy.unlink()
    array = _read_idx(folder / name, magic, offset)
    if _idx_sha256(array, magic) != payload:
        warnings.warn(
            f"{FASHION_MNIST}: {name} passed its sha256 check but its content differs from "
            "the reference copy; using it without the fast .npy cache. Please report this.",
            stacklevel=3,
        )
        return array
    part = _part(npy)
    with open(part, "wb") as f:
        np.save(f, array, allow_pickle=False)
    os.replace(part, npy)
    return array


def _fashion_mnist_files(names: Sequence[str], source: str) -> list[str]:
    """Make sure the named files are in the cache; return their source labels."""
    folder = data_dir() / FASHION_MNIST
    labels = {n: _cached(folder / n, _fashion_mnist_expected(n)) for n in names}
    missing = [n for n, label in labels.items() if label is None]
    if not missing:
        return list(labels.values())
    if source == "cache":
        raise DatasetError(
            f"{FASHION_MNIST}: {', '.join(missing)} not in the cache ({folder}). "
            + _fetch_hint(FASHION_MNIST)
        )

    def official() -> None:
        for n in missing:
            _download(FASHION_MNIST_URL + n, folder / n, _fashion_mnist_expected(n))

    def debian() -> None:
        members = [FASHION_MNIST_DEBIAN_DIR + n for n in FASHION_MNIST_FILES]

        def install(paths: dict[str, Path]) -> None:
            for member, path in paths.items():
                name = Path(member).name
                _install_file(path, folder / name, _fashion_mnist_expected(name))

        return _from_debian(FASHION_MNIST_DEBIAN_PACKAGE, members, install)

    steps = {"official": official, "debian": debian}
    wanted = ("official", "debian") if source == "auto" else (source,)
    fetched_from, _ = _run_chain(FASHION_MNIST, [(s, steps[s]) for s in wanted])
    return [labels[n] or fetched_from for n in names]


def load_fashion_mnist(split: str = "all", source: str = "auto") -> FashionMNIST:
    """Load Fashion-MNIST (Zalando's 70,000 product pictures, MIT licence).

    Introduced in Chapter 2. Sources, in order: the cache
    (``data_dir()/fashion-mnist``, sha256 of each ``.gz`` file), the official
    release files (5 s timeout), then the Debian package
    ``dataset-fashion-mnist`` (``apt-get download`` + ``dpkg-deb -x``; nothing is
    installed; as root, ``apt-get update`` runs once if the package lists are
    missing). Loading from the cache takes well under a second.

    Args:
        split: ``"train"`` (60,000), ``"test"`` (10,000) or ``"all"`` (70,000,
            training images first).
        source: which step may fetch what the cache lacks: ``"auto"``,
            ``"official"``, ``"debian"``, or ``"cache"`` (never download).

    Returns:
        A :class:`FashionMNIST`: ``images`` ``(N, 28, 28)`` uint8, ``labels``
        ``(N,)`` int64, ``class_names`` (10 names).

    Raises:
        ValueError: for an unknown ``split`` or ``source``.
        DatasetError: if no source works; the message names the command to run.
    """
    _check_choice("split", split, FASHION_MNIST_SPLITS)
    _check_choice("source", source, FASHION_MNIST_SOURCES)
    parts = ("train", "test") if split == "all" else (split,)
    names = [n for p in parts for n in _FASHION_MNIST_SPLITS[p]]
    origins = _fashion_mnist_files(names, source)
    folder = data_dir() / FASHION_MNIST
    images, labels = [], []
    for part in parts:
        image_file, label_file = _FASHION_MNIST_SPLITS[part]
        x = _fashion_mnist_array(folder, image_file)
        y = _fashion_mnist_array(folder, label_file)
        if x.shape[0] != y.shape[0] or x.shape[1:] != (28, 28):
            raise DatasetError(
                f"{FASHION_MNIST} {part}: images {x.shape} vs labels {y.shape}"
            )
        images.append(x)
        labels.append(y.astype(np.int64))
    return FashionMNIST(
        images=np.concatenate(images) if len(images) > 1 else images[0].copy(),
        labels=np.concatenate(labels),
        class_names=FASHION_MNIST_CLASSES,
        split=split,
        source="+".join(sorted(set(origins))),
    )


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
            f"MovieLensLatestSmall(source={self.source!r}, ratings={_shape(self.ratings)}, "
            f"items={_shape(self.items)})"
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
        return _multi_hot(
            self.items["genres"], self.genres, pd.Index(self.items[ITEM_COL])
        )


def _import_rdata():
    try:
        import rdata
    except ImportError as exc:
        raise DatasetError(
            f"{ML_LATEST_SMALL} is stored as R data and needs the `rdata` package: "
            f"pip install {RDATA_REQUIREMENT}"
        ) from exc
    return rdata


def _parse_r(data: bytes) -> Any:
    """Parse R serialization bytes (an uncompressed ``.rds`` payload) with ``rdata``."""
    rdata = _import_rdata()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata warns about ALTREP/encoding details
        return rdata.conversion.convert(rdata.parser.parse_data(data, extension=".rds"))


def _lazyload_object(rdb: bytes, rdx: bytes, name: str) -> bytes:
    """Serialized bytes of the R object ``name`` in a lazy-load database.

    R packages store their data sets in ``data/Rdata.rdb``: a concatenation of
    compressed serialized objects. ``data/Rdata.rdx`` (itself compressed R) maps
    each name to ``(offset, length)`` in the ``.rdb``. Each record starts with
    the 4-byte big-endian uncompressed length, then either zlib data, or a
    type byte (``"Z"`` xz, ``"2"`` bzip2, ``"0"`` none) and the data.
    """
    index_bytes = (
        gzip.decompress(rdx) if rdx[:2] == b"\x1f\x8b" else zlib.decompress(rdx[4:])
    )
    index = _parse_r(index_bytes)
    variables = index["variables"]
    if name not in variables:
        raise SourceUnavailable(f"the R database has no object {name!r}")
    offset, length = (int(v) for v in variables[name])
    record = rdb[offset : offset + length]
    size = int.from_bytes(record[:4], "big")
    kind = record[4:5]
    if kind == b"Z":
        data = lzma.decompress(record[5:])
    elif kind == b"2":
        data = bz2.decompress(record[5:])
    elif kind == b"0":
        data = record[5:]
    else:
        data = zlib.decompress(record[4:])
    if len(data) != size:
        raise SourceUnavailable(
            f"R object {name!r}: {len(data)} bytes, expected {size}"
        )
    return data


def _parse_latest_small(rds_path: Path) -> dict[str, pd.DataFrame]:
    df = _parse_r(rds_path.read_bytes())
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
    _check_choice("source", source, ML_LATEST_SMALL_SOURCES)
    folder = data_dir() / ML_LATEST_SMALL
    rds = folder / "movielens.rds"
    expected = _Expected({ML_LATEST_SMALL_RDS_SHA256: "debian"})
    if not _cached(rds, expected):
        if source == "cache":
            raise DatasetError(
                f"{ML_LATEST_SMALL} is not in the cache ({folder}). {_fetch_hint(ML_LATEST_SMALL)}"
            )

        def install(paths: dict[str, Path]) -> str:
            rdb, rdx = (
                paths[DSLABS_DATA_DIR + n].read_bytes()
                for n in ("Rdata.rdb", "Rdata.rdx")
            )
            try:
                data = _lazyload_object(rdb, rdx, "movielens")
            except (DatasetError, MemoryError):
                raise
            except Exception as exc:  # any damage in the R database: this source failed
                raise SourceUnavailable(
                    f"cannot read dslabs' R database: {exc!r}"
                ) from exc
            return _install_file(data, rds, expected)

        def debian() -> str:
            members = [DSLABS_DATA_DIR + n for n in ("Rdata.rdb", "Rdata.rdx")]
            return _from_debian(DSLABS_DEBIAN_PACKAGE, members, install)

        _run_chain(ML_LATEST_SMALL, [("debian", debian)])
    parsed = folder / "parsed.npz"
    loaded = _load_tables(parsed)
    if _usable(loaded, "debian", ML_LATEST_SMALL_TABLE_SHA256):
        tables = loaded[0]
    else:
        tables = _parse_latest_small(rds)
        _check_tables(
            ML_LATEST_SMALL, tables, ML_LATEST_SMALL_TABLE_SHA256, strict=("ratings",)
        )
        _save_tables(parsed, tables, {"dataset": ML_LATEST_SMALL, "source": "debian"})
    return MovieLensLatestSmall(tables["ratings"], tables["items"], "debian")


# ========================================================================= CLI
# name -> callable that makes sure the data set is in the cache (and loads it).
def _fetch_fine_food_reviews():
    # Chapter 14's reviews; imported lazily because data.fine_food imports this module.
    from .data.fine_food import load_fine_food_reviews

    return load_fine_food_reviews()


FETCHERS: dict[str, Callable[[], Any]] = {
    ML100K: load_movielens_100k,
    FASHION_MNIST: load_fashion_mnist,
    ML_LATEST_SMALL: load_movielens_latest_small,
    "amazon-fine-food": _fetch_fine_food_reviews,
}


def fetch(names: list[str] | None = None) -> list[str]:
    """Fetch the named data sets (all registered ones by default) into the cache.

    Introduced in Chapter 2; ``make data`` runs it through the command line.

    Raises:
        KeyError: for an unknown name.
        DatasetError: if a data set cannot be fetched from any source.
    """
    names = list(FETCHERS) if not names else list(names)
    unknown = [n for n in names if n not in FETCHERS]
    if unknown:
        raise KeyError(f"unknown data set(s) {unknown}; known: {sorted(FETCHERS)}")
    for name in names:
        start = time.perf_counter()
        data = FETCHERS[name]()
        source = getattr(data, "source", "?")
        _log.info(
            "%s: ready in %.1f s (source: %s)",
            name,
            time.perf_counter() - start,
            source,
        )
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys_lib.datasets")
    sub = parser.add_subparsers(dest="command", required=True)
    p_fetch = sub.add_parser("fetch", help="fetch data sets into the cache")
    p_fetch.add_argument(
        "names", nargs="*", help=f"data sets (default: all): {', '.join(FETCHERS)}"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            done = fetch(args.names)
    except (KeyError, DatasetError) as exc:
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 1
    print(f"data ready in {data_dir()}: {', '.join(done)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
