"""Shared settings: column names, the run mode and where data lives.

Introduced in Chapter 0 (Preface, "Conventions") and used by every chapter.

Two environment variables steer every notebook:

* ``RECSYS_MODE`` -- ``"default"`` (small, about a minute per notebook on a
  2-core CPU) or ``"full"`` (the full-size run described in each chapter).
* ``RECSYS_DATA_DIR`` -- where downloaded data sets are cached; defaults to
  ``data/cache`` inside the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

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


def data_dir(create: bool = True) -> Path:
    """Directory where data sets are cached.

    ``RECSYS_DATA_DIR`` if set, else ``<repo>/data/cache``.

    Args:
        create: make the directory if it does not exist.

    Raises:
        ValueError: if ``RECSYS_DATA_DIR`` points at an existing file.
    """
    raw = os.environ.get(DATA_DIR_ENV_VAR, "").strip()
    path = Path(raw).expanduser() if raw else REPO_ROOT / "data" / "cache"
    if path.exists() and not path.is_dir():
        raise ValueError(
            f"{DATA_DIR_ENV_VAR} points at a file, not a directory: {path}"
        )
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
