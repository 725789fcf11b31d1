"""Moved to :mod:`recsys_lib.models.losses` (the losses) and
:mod:`recsys_lib.data.loaders` (:class:`NegativeSampler`).

This shim goes away once notebooks 06 and 08 and ``exercises/ch06.py``
import from there.
"""

from __future__ import annotations

from .data.loaders import NegativeSampler
from .models.losses import (
    bce_loss,
    bpr_loss,
    mse_loss,
    sampled_bce_loss,
    sampled_softmax_loss,
    softmax_cross_entropy,
)

__all__ = [
    "NegativeSampler",
    "bce_loss",
    "bpr_loss",
    "mse_loss",
    "sampled_bce_loss",
    "sampled_softmax_loss",
    "softmax_cross_entropy",
]
