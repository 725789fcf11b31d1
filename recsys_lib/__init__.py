"""recsys_lib: the tested library behind the book.

Each module holds one idea and names the chapter that introduces it.
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
