"""Shared settings: column names, the run mode and where data lives.

Introduced in Chapter 0 (Preface, "Conventions") and used by every chapter.

Two environment variables steer every notebook:

* ``RECSYS_MODE`` -- ``"default"`` (small, about a minute per notebook on a
  2-core CPU) or ``"full"`` (the full-size run described in each chapter).
* ``RECSYS_DATA_DIR`` -- where downloaded data sets are cached; defaults to
  ``data/cache`` inside the repository when the library runs from a checkout,
  else to the user cache folder (``~/.cache/recsys-book`` on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "APP_NAME",
    "CATEGORY_COL",
    "DATA_DIR_ENV_VAR",
    "EVENT_COL",
    "ITEM_COL",
    "LABEL_COL",
    "MODES",
    "MODE_ENV_VAR",
    "PREDICTION_COL",
    "PRICE_COL",
    "RATING_COL",
    "REPO_ROOT",
    "SESSION_COL",
    "TIMESTAMP_COL",
    "USER_COL",
    "by_mode",
    "data_dir",
    "default_data_dir",
    "get_mode",
    "is_full",
]

# ----------------------------------------------------------------- columns
USER_COL = "user_id"
ITEM_COL = "item_id"
RATING_COL = "rating"
TIMESTAMP_COL = "timestamp"
LABEL_COL = "label"
PREDICTION_COL = "prediction"
SESSION_COL = "session_id"
EVENT_COL = "event"
CATEGORY_COL = "category"
PRICE_COL = "price"

# ----------------------------------------------------------------- run mode
MODE_ENV_VAR = "RECSYS_MODE"
MODES = ("default", "full")

DATA_DIR_ENV_VAR = "RECSYS_DATA_DIR"
REPO_ROOT = Path(__file__).resolve().parent.parent
#: Name of the per-user cache folder of an installed copy (``platformdirs``).
APP_NAME = "recsys-book"


def get_mode() -> str:
    """Return the run mode, ``"default"`` or ``"full"``.

    The mode is read from the ``RECSYS_MODE`` environment variable (unset or
    empty means ``"default"``). Case and surrounding spaces are ignored.

    Raises:
        ValueError: if the variable holds anything else, so that a typo such as
            ``RECSYS_MODE=ful`` does not silently run the small configuration.
    """
    raw = os.environ.get(MODE_ENV_VAR, "")
    mode = raw.strip().lower() or "default"
    if mode not in MODES:
        raise ValueError(
            f"{MODE_ENV_VAR}={raw!r} is not a known mode; use one of {', '.join(MODES)} "
            f"(or leave it unset for 'default')."
        )
    return mode


def is_full() -> bool:
    """``True`` when ``RECSYS_MODE=full``."""
    return get_mode() == "full"


def by_mode(default, full):
    """Pick a setting by run mode: ``by_mode(default=3, full=50)``.

    Notebooks use this for every size knob (epochs, users, catalog size) so the
    same code runs small by default and full size with ``RECSYS_MODE=full``.
    """
    return full if is_full() else default


def default_data_dir() -> Path:
    """Where data sets are cached when ``RECSYS_DATA_DIR`` is not set.

    ``<repo>/data/cache`` when the library runs from a checkout of the
    repository (the package sits next to ``pyproject.toml``, as with
    ``pip install -e .``); otherwise the user cache folder of
    ``platformdirs.user_cache_dir("recsys-book")`` (``~/.cache/recsys-book`` on
    Linux), so an installed copy never writes into ``site-packages``.
    """
    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / "data" / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME))


def data_dir(create: bool = True) -> Path:
    """Directory where data sets are cached.

    ``RECSYS_DATA_DIR`` if set, else :func:`default_data_dir`:
    ``<repo>/data/cache`` in a checkout, the user cache folder otherwise.

    Args:
        create: make the directory if it does not exist.

    Raises:
        ValueError: if the chosen path is an existing file.
    """
    raw = os.environ.get(DATA_DIR_ENV_VAR, "").strip()
    path = Path(raw).expanduser() if raw else default_data_dir()
    if path.exists() and not path.is_dir():
        if raw:
            raise ValueError(
                f"{DATA_DIR_ENV_VAR} points at a file, not a directory: {path}"
            )
        raise ValueError(
            f"the default data cache {path} is a file, not a directory; remove it "
            f"or point {DATA_DIR_ENV_VAR} at a folder"
        )
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
