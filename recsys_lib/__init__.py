"""recsys_lib: the tested library behind the book.

Each module holds one idea and names the chapter that introduces it; the
packages are layered (ARCHITECTURE.md in the repository):

* :mod:`recsys_lib.data` -- data sets, cleaning, splits, loaders, ShopSim (Chapter 2);
* :mod:`recsys_lib.eval` -- ranking metrics, protocols, intervals (Chapter 3);
* :mod:`recsys_lib.recommender` -- the one protocol every model follows;
* :mod:`recsys_lib.features` -- profiles, text/image/time-series encoders,
  fusion (Chapters 4 and 5);
* :mod:`recsys_lib.models` -- baselines and neural models, one per file
  (Chapters 3 and 5-8); :mod:`recsys_lib.tuning` tunes any of them;
* :mod:`recsys_lib.retrieval` -- candidates, indexes, merging, re-ranking and
  the two-stage pipeline (Chapter 8);
* :mod:`recsys_lib.apps` -- the application chapters (13 and 14).

This top level holds what every chapter uses: column names and run modes
(:mod:`.config`), seeds, devices and progress bars (:mod:`.utils`) and the
training loop (:mod:`.training`, Chapter 1).
"""

from .config import (
    CATEGORY_COL,
    DATA_DIR_ENV_VAR,
    EVENT_COL,
    ITEM_COL,
    LABEL_COL,
    MODE_ENV_VAR,
    PREDICTION_COL,
    PRICE_COL,
    RATING_COL,
    SESSION_COL,
    TIMESTAMP_COL,
    USER_COL,
    by_mode,
    data_dir,
    get_mode,
    is_full,
)
from .training import History, fit, plot_history
from .utils import Timer, get_device, progress, set_seed

__version__ = "0.1.0"

__all__ = [
    "CATEGORY_COL",
    "DATA_DIR_ENV_VAR",
    "EVENT_COL",
    "ITEM_COL",
    "LABEL_COL",
    "MODE_ENV_VAR",
    "PREDICTION_COL",
    "PRICE_COL",
    "RATING_COL",
    "SESSION_COL",
    "TIMESTAMP_COL",
    "USER_COL",
    "History",
    "Timer",
    "by_mode",
    "data_dir",
    "fit",
    "get_device",
    "get_mode",
    "is_full",
    "plot_history",
    "progress",
    "set_seed",
]
