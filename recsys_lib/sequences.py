"""Moved to :mod:`recsys_lib.data.sequences` (sequences, the next-item split
and its batches) and :mod:`recsys_lib.models.losses` (``next_item_loss_fn``).

This shim goes away once notebook 07, ``benchmarks/bench_recbole.py`` and
``retrieval.py`` (``build_sequences``) import from there.
"""

from __future__ import annotations

from .data.sequences import build_sequences, next_item_split
from .models.losses import next_item_loss_fn

__all__ = ["build_sequences", "next_item_loss_fn", "next_item_split"]
