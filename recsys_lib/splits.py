"""Moved to :mod:`recsys_lib.data.splits`; this shim goes away once the notebooks import from there."""

from __future__ import annotations

from .data.splits import Split, leave_last_out, random_split, temporal_split

__all__ = ["Split", "leave_last_out", "random_split", "temporal_split"]
