"""Shared helpers of the data tests (fake archives, packages and R databases)."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import importlib.util
import lzma
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys_lib.config import ITEM_COL, RATING_COL, TIMESTAMP_COL, USER_COL

UNREACHABLE = "http://127.0.0.1:9/"  # loopback, closed port: refused at once
HAS_APT = shutil.which("apt-get") is not None and shutil.which("dpkg-deb") is not None
HAS_DPKG_DEB = shutil.which("dpkg-deb") is not None

#: Tests that download (a file:// or loopback URL) need pooch, a pinned dependency.
needs_pooch = pytest.mark.skipif(
    importlib.util.find_spec("pooch") is None,
    reason="pooch==1.9.0 is pinned in pyproject.toml but not installed: "
    "pip install -e . (or pip install pooch==1.9.0)",
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def copy(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


def build_deb(root: Path, package: str, out: Path) -> Path:
    """A real .deb of the files under ``root`` (needs dpkg-deb)."""
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


def rds_bytes(obj, tmp_path: Path) -> bytes:
    """``obj`` serialized by R's rules (uncompressed .rds), written by ``rdata``."""
    rdata = pytest.importorskip("rdata")
    path = tmp_path / "obj.rds"
    rdata.write_rds(path, obj, compression=None)
    return path.read_bytes()


def lazyload_db(objects: dict[str, bytes], kinds: dict[str, str], tmp_path: Path):
    """Build an R lazy-load database (.rdb, .rdx) from serialized objects.

    ``kinds[name]``: ``"zlib"`` (default), ``"xz"`` (an .xz container),
    ``"raw-xz"`` (raw LZMA2, as R writes it), ``"bzip2"`` or ``"none"``.
    """
    rdb = b""
    variables = {}
    raw_lzma2 = [{"id": lzma.FILTER_LZMA2, "preset": 6}]
    for name, data in objects.items():
        kind = kinds.get(name, "zlib")
        header = len(data).to_bytes(4, "big")
        if kind == "zlib":
            record = header + zlib.compress(data)
        elif kind == "xz":
            record = header + b"Z" + lzma.compress(data)
        elif kind == "raw-xz":
            packed = lzma.compress(data, format=lzma.FORMAT_RAW, filters=raw_lzma2)
            record = header + b"Z" + packed
        elif kind == "bzip2":
            record = header + b"2" + bz2.compress(data)
        else:
            record = header + b"0" + data
        variables[name] = np.array([len(rdb), len(record)], dtype=np.int32)
        rdb += record
    index = {"variables": variables, "references": {}, "compressed": np.array([True])}
    rdx = gzip.compress(rds_bytes(index, tmp_path))
    return rdb, rdx


def frame(rows, columns=None) -> pd.DataFrame:
    """A small interaction table; columns default to user, item, rating, timestamp."""
    columns = (
        (USER_COL, ITEM_COL, RATING_COL, TIMESTAMP_COL) if columns is None else columns
    )
    return pd.DataFrame(rows, columns=list(columns))


def assert_step_adds_up(step) -> None:
    assert step.rows_in - step.rows_out == step.removed
    assert step.removed >= 0 and step.changed >= 0
