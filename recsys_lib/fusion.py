"""Moved to :mod:`recsys_lib.features.fusion` (the fusion modules and the item tower)
and :mod:`recsys_lib.models.multimodal_two_tower` (the recommender and its trainer).

This shim goes away once notebook 05 imports from there. ``train_two_tower``
is the old name of
:func:`recsys_lib.models.multimodal_two_tower.train_multimodal_two_tower`
(renamed so that it no longer shares a name with Chapter 8's trainer).
"""

from __future__ import annotations

from .features.fusion import (
    AttentionFusion,
    ConcatFusion,
    GatedFusion,
    MultimodalItemTower,
)
from .models.multimodal_two_tower import TwoTowerRecommender
from .models.multimodal_two_tower import train_multimodal_two_tower as train_two_tower

__all__ = [
    "AttentionFusion",
    "ConcatFusion",
    "GatedFusion",
    "MultimodalItemTower",
    "TwoTowerRecommender",
    "train_two_tower",
]
