"""Data: real data sets, cleaning, splits and synthetic data.

Introduced in Chapter 2. (Being assembled from ``recsys_lib.datasets``,
``preprocessing``, ``splits``, ``synthetic`` and ``shopsim``.)
"""

from __future__ import annotations

from .fine_food import FINE_FOOD, FineFoodReviews, load_fine_food_reviews

__all__ = ["FINE_FOOD", "FineFoodReviews", "load_fine_food_reviews"]
