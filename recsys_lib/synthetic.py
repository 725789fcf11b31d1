"""Moved to :mod:`recsys_lib.data.synthetic`; this shim goes away once the notebooks import from there."""

from __future__ import annotations

from .data.synthetic import make_ratings

__all__ = ["make_ratings"]
