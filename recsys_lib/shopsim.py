"""Moved to :mod:`recsys_lib.data.shopsim`; this shim goes away once the notebooks import from there."""

from __future__ import annotations

# Shop: other modules' docstrings still cite recsys_lib.shopsim.Shop.
from .data.shopsim import EVENT_TYPES, Shop, ShopConfig, generate_shop

__all__ = ["EVENT_TYPES", "Shop", "ShopConfig", "generate_shop"]
