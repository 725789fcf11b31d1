"""Data sets shipped inside R packages: read them without R.

Introduced in Chapter 2 (MovieLens latest-small, from the R package dslabs)
and used again in Chapter 14 (the fine-food reviews, from modeldata). Debian
packages these R packages (``r-cran-dslabs``, ``r-cran-modeldata``); their
data sets sit in a *lazy-load database*: ``data/Rdata.rdb``, a concatenation
of compressed serialized R objects, and ``data/Rdata.rdx`` (itself
compressed R) mapping each name to ``(offset, length)`` in the ``.rdb``.
:func:`lazyload_object` cuts one object out; the PyPI package ``rdata``
parses the bytes into pandas (:func:`parse_r`).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import warnings
import zlib
from collections.abc import Sequence
from typing import Any

from .sources import DatasetError, SourceUnavailable

__all__ = [
    "RDATA_REQUIREMENT",
    "extract_objects",
    "import_rdata",
    "lazyload_object",
    "parse_r",
]

RDATA_REQUIREMENT = "rdata==1.1.0"
# The magic bytes of an .xz container (lzma.FORMAT_XZ).
_XZ_MAGIC = b"\xfd7zXZ\x00"
# R's R_compress3 writes xz records as *raw* LZMA2 data without the .xz
# container (lzma_raw_encoder); decoding needs a dictionary at least as large
# as the encoder's, which preset 9 guarantees.
_RAW_LZMA2 = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]


def import_rdata(dataset: str):
    """The ``rdata`` module, or a :class:`DatasetError` naming the pip command."""
    try:
        import rdata
    except ImportError as exc:
        raise DatasetError(
            f"{dataset} is stored as R data and needs the `rdata` package: "
            f"pip install {RDATA_REQUIREMENT}"
        ) from exc
    return rdata


def parse_r(data: bytes, dataset: str = "this data set") -> Any:
    """Parse R serialization bytes (an uncompressed ``.rds`` payload) with ``rdata``."""
    rdata = import_rdata(dataset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata warns about ALTREP/encoding details
        return rdata.conversion.convert(rdata.parser.parse_data(data, extension=".rds"))


def _decompress_xz(payload: bytes, name: str) -> bytes:
    try:
        if payload.startswith(_XZ_MAGIC):
            return lzma.decompress(payload)
        return lzma.decompress(payload, format=lzma.FORMAT_RAW, filters=_RAW_LZMA2)
    except lzma.LZMAError as exc:
        raise SourceUnavailable(f"R object {name!r}: bad xz record: {exc}") from exc


def lazyload_object(rdb: bytes, rdx: bytes, name: str) -> bytes:
    """Serialized bytes of the R object ``name`` in a lazy-load database.

    Each record of the ``.rdb`` starts with the 4-byte big-endian uncompressed
    length, then either zlib data, or a type byte (``"Z"`` xz, ``"2"`` bzip2,
    ``"0"`` none) and the data. An xz record is either an ``.xz`` container or,
    as R writes it, raw LZMA2 data; both are read.

    Raises:
        SourceUnavailable: no such object, a damaged record, or a record whose
            length differs from its header.
    """
    index_bytes = (
        gzip.decompress(rdx) if rdx[:2] == b"\x1f\x8b" else zlib.decompress(rdx[4:])
    )
    variables = parse_r(index_bytes)["variables"]
    if name not in variables:
        raise SourceUnavailable(f"the R database has no object {name!r}")
    offset, length = (int(v) for v in variables[name])
    record = rdb[offset : offset + length]
    size = int.from_bytes(record[:4], "big")
    kind = record[4:5]
    if kind == b"Z":
        data = _decompress_xz(record[5:], name)
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


def extract_objects(
    rdb: bytes, rdx: bytes, names: Sequence[str], package: str
) -> dict[str, bytes]:
    """Several objects of one database; any damage makes the source fail.

    Args:
        package: the R package, for the message (``"dslabs"``).

    Raises:
        SourceUnavailable: the database cannot be read (the chain then tries
            the next source).
        DatasetError: ``rdata`` is missing (no source can help with that).
    """
    out = {}
    for name in names:
        try:
            out[name] = lazyload_object(rdb, rdx, name)
        except (DatasetError, MemoryError):
            raise
        except Exception as exc:  # any damage in the R database: this source failed
            raise SourceUnavailable(
                f"cannot read {package}'s R database: {exc!r}"
            ) from exc
    return out
