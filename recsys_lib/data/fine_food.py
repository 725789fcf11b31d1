"""Amazon fine-food reviews: 5,000 labelled texts for sentiment classification.

Introduced in Chapter 14. :func:`load_fine_food_reviews` returns the
``small_fine_foods`` data of the R package modeldata (MIT), fetched from the
Debian package ``r-cran-modeldata`` through the source chain of
:mod:`recsys_lib.data.sources` (the cache, then the registry copy; every file
sha256-checked). R is not needed: :mod:`recsys_lib.data.rdata_objects` reads
the R objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..checks import check_choice
from ..config import data_dir
from . import sources
from .rdata_objects import extract_objects, import_rdata, parse_r
from .sources import DatasetError, fetch_hint
from .tables import check_tables, load_tables, save_tables

__all__ = [
    "FINE_FOOD",
    "FINE_FOOD_LABELS",
    "FINE_FOOD_RDS_SHA256",
    "FINE_FOOD_SOURCES",
    "FINE_FOOD_TABLE_SHA256",
    "MODELDATA_DATA_DIR",
    "MODELDATA_DEBIAN_PACKAGE",
    "FineFoodReviews",
    "load_fine_food_reviews",
]

FINE_FOOD = "amazon-fine-food"
MODELDATA_DEBIAN_PACKAGE = "r-cran-modeldata"
MODELDATA_DATA_DIR = "usr/lib/R/site-library/modeldata/data/"
# sha256 of the two R objects (serialized by R, uncompressed) in modeldata's
# lazy-load database data/Rdata.rdb (r-cran-modeldata 1.1.0-1). They are cached
# as <name>.rds and parsed with the `rdata` package.
FINE_FOOD_RDS_SHA256 = {
    "training_data": "3348a86de7692ef31402b6f8b0740baee82cf909d6bec8ffefc447ada15986ba",
    "testing_data": "e921e14f401feba4c3007d5149efbbdb3559afc8e9df93ad749bb757970646c9",
}
# tables.frame_sha256 of the parsed tables (columns product, review, score).
FINE_FOOD_TABLE_SHA256 = {
    "train": "1b29f36d94e4d980a85e09bebbcd51ba5bcbea4a03b9ffb700a31203d67e978b",
    "test": "38960b6f949b69e757732abf3a384b7ddc5ffbf3d3de529a7c6170413f13ed4d",
}
FINE_FOOD_SOURCES = ("auto", "cache", "debian")
FINE_FOOD_LABELS = ("other", "great")
_FINE_FOOD_PARSED_FORMAT = 1


@dataclass(frozen=True, eq=False, repr=False)
class FineFoodReviews:
    """5,000 Amazon fine-food reviews with a two-class sentiment label.

    Introduced in Chapter 14. The R package modeldata (MIT) ships this sample
    of the Amazon fine-food reviews collected by McAuley and Leskovec (2013):
    one review per product, split by modeldata into 4,000 training and 1,000
    test reviews (no product in both). ``score`` is ``"great"`` for a 5-star
    review and ``"other"`` for 1-4 stars.

    Attributes:
        train: ``(4000, 3)`` -- ``product`` (Amazon id), ``review`` (text),
            ``score`` (``"great"``/``"other"``).
        test: ``(1000, 3)``, same columns.
        source: where the data came from (``"debian"``).
    """

    train: pd.DataFrame
    test: pd.DataFrame
    source: str

    labels: tuple[str, ...] = FINE_FOOD_LABELS

    def __repr__(self) -> str:
        return (
            f"FineFoodReviews(source={self.source!r}, train={len(self.train)}, "
            f"test={len(self.test)})"
        )


def _parse_fine_food(path: Path) -> pd.DataFrame:
    df = parse_r(path.read_bytes(), FINE_FOOD)
    return pd.DataFrame(
        {
            "product": df["product"].astype(str).to_numpy(),
            "review": df["review"].astype(str).to_numpy(),
            "score": df["score"].astype(str).to_numpy(),
        }
    )


def _fine_food_rds(source: str) -> Path:
    """Make sure both ``.rds`` files are in the cache; return the folder."""
    folder = data_dir() / FINE_FOOD
    expected = {
        n: sources.Expected({sha: "debian"}) for n, sha in FINE_FOOD_RDS_SHA256.items()
    }
    valid = {n: sources.cached(folder / f"{n}.rds", e) for n, e in expected.items()}
    if all(valid.values()):
        return folder
    if source == "cache":
        raise DatasetError(
            f"{FINE_FOOD} is not in the cache ({folder}). {fetch_hint(FINE_FOOD)}"
        )
    import_rdata(FINE_FOOD)
    members = [MODELDATA_DATA_DIR + n for n in ("Rdata.rdb", "Rdata.rdx")]

    def install(paths: dict[str, Path]) -> str:
        rdb, rdx = (paths[m].read_bytes() for m in members)
        objects = extract_objects(rdb, rdx, list(expected), "modeldata")
        for name, exp in expected.items():
            sources.install_file(objects[name], folder / f"{name}.rds", exp)
        return "debian"

    def debian() -> str:
        return sources.from_debian(MODELDATA_DEBIAN_PACKAGE, members, install)

    sources.run_chain(FINE_FOOD, [("debian", debian)])
    return folder


def load_fine_food_reviews(source: str = "auto") -> FineFoodReviews:
    """Load 5,000 labelled Amazon fine-food reviews (4,000 train, 1,000 test).

    Introduced in Chapter 14. Sources, in order: the cache
    (``data_dir()/amazon-fine-food/{training,testing}_data.rds``, sha256-checked),
    then the Debian package ``r-cran-modeldata`` (an installed copy, else
    ``apt-get download`` + ``dpkg-deb -x``; R is not needed: the objects are
    read out of the package's lazy-load database and parsed with ``rdata``).
    The parsed tables are cached as ``parsed.npz`` with their checksums.

    Args:
        source: ``"auto"`` or ``"debian"`` (fetch what the cache lacks), or
            ``"cache"`` (never download).

    Returns:
        A :class:`FineFoodReviews`.

    Raises:
        ValueError: for an unknown ``source``.
        DatasetError: if no source works or ``rdata`` is missing; the message
            names the command to run.
    """
    check_choice(source, "source", FINE_FOOD_SOURCES, where="load_fine_food_reviews")
    folder = _fine_food_rds(source)
    parsed = folder / "parsed.npz"
    loaded = load_tables(parsed)
    if (
        loaded is not None
        and loaded[1].get("checksums") == FINE_FOOD_TABLE_SHA256
        and loaded[1].get("fine_food_format") == _FINE_FOOD_PARSED_FORMAT
    ):
        tables = loaded[0]
    else:
        import_rdata(FINE_FOOD)
        tables = {
            "train": _parse_fine_food(folder / "training_data.rds"),
            "test": _parse_fine_food(folder / "testing_data.rds"),
        }
        check_tables(
            FINE_FOOD, tables, FINE_FOOD_TABLE_SHA256, strict=("train", "test")
        )
        meta = {
            "dataset": FINE_FOOD,
            "source": "debian",
            "fine_food_format": _FINE_FOOD_PARSED_FORMAT,
        }
        save_tables(parsed, tables, meta)
    return FineFoodReviews(tables["train"], tables["test"], "debian")
