"""User profiles: who a shopper is and what she has been doing.

Introduced in Chapter 4 ("User profiles").

A *profile* is a fixed-length description of a user that a model can read.
The chapter builds two kinds and then combines them:

* **Static profiles** (:mod:`.static`) from what the user told us (age,
  gender, occupation, region, ...): :class:`CategoryVocab` maps each value to
  an integer code with an explicit ``<unk>`` slot (code 0) for values never
  seen in training; :class:`DemographicEncoder` turns a users table into
  codes or one-hot vectors, and :class:`DemographicEmbedding` learns a vector
  per value.
* **Behavioural profiles** (:mod:`.behaviour`) from the event log. Every
  event gets a weight::

      w(e) = type_weight[event_e] * 2 ** (-(now - t_e) / half_life)

  (:data:`EVENT_WEIGHTS`: a purchase says more than a cart, a cart more than
  a click, an impression nothing). From these weights come the category (or
  genre) affinity vector (:func:`affinity_profiles`,
  :func:`category_affinity`), price sensitivity (:func:`price_sensitivity`),
  brand loyalty (:func:`brand_loyalty`) and recency-frequency-monetary
  features (:func:`rfm_features`).
* A **long-term** vector over all history and a **short-term** vector of the
  last session (:func:`last_session_profiles`) are blended with
  :func:`blend_profiles`.
* :class:`OnlineProfile` (:mod:`.online`) keeps the same vectors up to date
  one event at a time, in ``O(d)`` per event, and equals the batch
  computation on a replayed log (up to float64 rounding).
* :class:`ProfileScorer` (:mod:`.scorer`) ranks items by
  ``profile . item_features``; it follows the
  :class:`recsys_lib.models.base.Recommender` protocol (``score`` returns a
  float32 tensor, ``recommend`` gives top-k lists).

Event logs are ``pandas.DataFrame`` objects with ``user_id``, ``item_id``,
``timestamp`` (Unix seconds) and, usually, ``event`` columns -- the layout of
``Shop.events`` (:class:`recsys_lib.data.Shop`). MovieLens ratings work too:
pass ``event_weights=None`` (every row counts 1) or ``weight_col="rating"``.
Ids must be 0-based and contiguous.
"""

from __future__ import annotations

from .behaviour import (
    EVENT_WEIGHTS,
    SECONDS_PER_DAY,
    affinity_profiles,
    blend_profiles,
    brand_loyalty,
    category_affinity,
    decay_weights,
    event_weights,
    last_session_profiles,
    price_sensitivity,
    rfm_features,
)
from .online import OnlineProfile
from .scorer import ProfileScorer
from .static import (
    AGE_EDGES,
    UNKNOWN,
    CategoryVocab,
    DemographicEmbedding,
    DemographicEncoder,
    age_bucket,
    one_hot,
)

__all__ = [
    "AGE_EDGES",
    "EVENT_WEIGHTS",
    "SECONDS_PER_DAY",
    "UNKNOWN",
    "CategoryVocab",
    "DemographicEmbedding",
    "DemographicEncoder",
    "OnlineProfile",
    "ProfileScorer",
    "affinity_profiles",
    "age_bucket",
    "blend_profiles",
    "brand_loyalty",
    "category_affinity",
    "decay_weights",
    "event_weights",
    "last_session_profiles",
    "one_hot",
    "price_sensitivity",
    "rfm_features",
]
