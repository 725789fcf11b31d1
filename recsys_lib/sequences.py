"""Moved to :mod:`recsys_lib.data.sequences` (sequences, the next-item split
and its batches) and :mod:`recsys_lib.models.losses` (``next_item_loss_fn``).

This shim goes away once notebook 07 and ``benchmarks/bench_recbole.py``
import from there.
"""

from __future__ import annotations

from .data.sequences import next_item_split
from .models.losses import next_item_loss_fn

__all__ = ["next_item_loss_fn", "next_item_split"]
