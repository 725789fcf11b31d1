"""Checksums of parsed tables, and the ``parsed.npz`` cache that stores them.

Introduced in Chapter 2. Every loader of :mod:`recsys_lib.data` parses its
raw files into DataFrames once and keeps them as ``parsed.npz`` (plain NumPy
arrays, no pickle), so a second load takes a fraction of a second. Each table
also has a checksum (:func:`frame_sha256`) that is hard-coded in the loader:
whatever source the raw files came from, the parsed tables must be the same.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .sources import DatasetError, fetch_hint, part_path

_log = logging.getLogger(__name__)

__all__ = [
    "PARSED_FORMAT",
    "check_tables",
    "frame_sha256",
    "load_tables",
    "multi_hot",
    "save_tables",
    "shape_text",
    "usable",
]

#: Bump when the layout of the parsed ``.npz`` caches changes.
PARSED_FORMAT = 1


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


def frame_sha256(df: pd.DataFrame) -> str:
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


def save_tables(path: Path, tables: Mapping[str, pd.DataFrame], meta: Mapping) -> None:
    """Store DataFrames in one ``.npz`` (no pickle), written atomically.

    ``meta`` (JSON-serialisable) is stored with the format version and the
    checksum of every table.
    """
    arrays = {}
    checksums = {}
    for table, df in tables.items():
        for i, name in enumerate(df.columns):
            kind, values, missing = _encode_column(df[name])
            key = f"{table}/{i:03d}/{kind}/{name}"
            arrays[key] = values
            arrays[key + "/missing"] = missing
        checksums[table] = frame_sha256(df)
    info = {**meta, "format": PARSED_FORMAT, "checksums": checksums}
    arrays["__meta__"] = np.array(json.dumps(info))
    part = part_path(path)
    with open(part, "wb") as f:
        np.savez_compressed(f, **arrays)
    os.replace(part, path)


def load_tables(path: Path) -> tuple[dict[str, pd.DataFrame], dict] | None:
    """Read what :func:`save_tables` wrote; ``None`` if missing, stale or damaged."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["__meta__"]))
            if meta.get("format") != PARSED_FORMAT:
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
    if {t: frame_sha256(df) for t, df in tables.items()} != meta.get("checksums"):
        _log.info("parsed cache %s does not match its checksums; rebuilding it", path)
        return None
    return tables, meta


def usable(loaded: tuple | None, source: str, expected: Mapping[str, str]) -> bool:
    """Whether a parsed cache (:func:`load_tables`) can be used: it was parsed
    from the same source and its ratings have the reference checksum."""
    if loaded is None:
        return False
    meta = loaded[1]
    return (
        meta.get("source") == source
        and meta["checksums"].get("ratings") == expected["ratings"]
    )


def check_tables(
    name: str, tables: Mapping[str, pd.DataFrame], expected: Mapping, strict=()
) -> None:
    """Compare table checksums with the hard-coded ones.

    A mismatch in a table named in ``strict`` is an error; in the others, a
    warning (the data are then still usable, but differ from the reference).

    Raises:
        DatasetError: for a mismatch in a ``strict`` table.
    """
    for table, df in tables.items():
        digest = frame_sha256(df)
        if digest == expected[table]:
            continue
        message = (
            f"{name}: the parsed {table} table has checksum {digest}, expected "
            f"{expected[table]}: the source data or the parser changed."
        )
        if table in strict:
            raise DatasetError(message + " " + fetch_hint(name))
        warnings.warn(message + " Please report this.", stacklevel=3)


def shape_text(table) -> str:
    """``"100000x4"`` for a table or array of that shape (used by the reprs)."""
    return "x".join(str(n) for n in table.shape)


def multi_hot(
    lists: pd.Series, vocabulary: Sequence[str], index: pd.Index
) -> pd.DataFrame:
    """Lists of names (e.g. genres) as an int8 0/1 matrix, one column per name."""
    position = {g: j for j, g in enumerate(vocabulary)}
    matrix = np.zeros((len(lists), len(vocabulary)), dtype=np.int8)
    for i, genres in enumerate(lists):
        for g in genres:
            matrix[i, position[g]] = 1
    return pd.DataFrame(matrix, index=index, columns=list(vocabulary))
