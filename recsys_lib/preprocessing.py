"""Moved to :mod:`recsys_lib.data`; this shim goes away once the notebooks import from there.

The cleaning steps live in :mod:`recsys_lib.data.cleaning`,
:mod:`~recsys_lib.data.corrections` and :mod:`~recsys_lib.data.kcore`, the
report in :mod:`~recsys_lib.data.report`, the ID mapping in
:mod:`~recsys_lib.data.ids` and the frame checks in
:mod:`~recsys_lib.data.frames`.
"""

from __future__ import annotations

from .data import frames as _frames
from .data.cleaning import (
    drop_duplicates,
    drop_missing,
    drop_outlier_users,
    validate_interactions,
)
from .data.corrections import (
    normalize_ids,
    normalize_ratings,
    sort_by_time,
    to_implicit,
)
from .data.ids import IdMapper, map_ids
from .data.kcore import k_core_filter
from .data.report import QualityReport

# Old private names still imported by recsys_lib/sequences.py (another owner's
# module); they go once it imports the public ones from recsys_lib.data.frames.
_check_frame = _frames.check_frame
_check_time_column = _frames.check_time_column
_require_columns = _frames.require_columns
_stable_time_order = _frames.stable_time_order

__all__ = [
    "IdMapper",
    "QualityReport",
    "drop_duplicates",
    "drop_missing",
    "drop_outlier_users",
    "k_core_filter",
    "map_ids",
    "normalize_ids",
    "normalize_ratings",
    "sort_by_time",
    "to_implicit",
    "validate_interactions",
]
