"""Moved to :mod:`recsys_lib.features.profiles`; this shim goes away once the notebooks import from there.

It re-exports what notebooks 04, 06 and 08 import.
"""

from __future__ import annotations

from .features.profiles import (
    EVENT_WEIGHTS,
    SECONDS_PER_DAY,
    DemographicEncoder,
    OnlineProfile,
    ProfileScorer,
    affinity_profiles,
    age_bucket,
    blend_profiles,
    brand_loyalty,
    category_affinity,
    last_session_profiles,
    one_hot,
    price_sensitivity,
    rfm_features,
)

__all__ = [
    "EVENT_WEIGHTS",
    "SECONDS_PER_DAY",
    "DemographicEncoder",
    "OnlineProfile",
    "ProfileScorer",
    "affinity_profiles",
    "age_bucket",
    "blend_profiles",
    "brand_loyalty",
    "category_affinity",
    "last_session_profiles",
    "one_hot",
    "price_sensitivity",
    "rfm_features",
]
