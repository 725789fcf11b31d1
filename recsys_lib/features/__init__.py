"""Features: turning users and items into vectors a model can read.

Introduced in Chapter 4 ("User profiles", :mod:`.profiles`) and Chapter 5
("Multimodal data fusion", the rest):

* :mod:`.profiles` -- user profiles: static (demographic codes, one-hot,
  embeddings), behavioural (decayed event-weighted affinities, price
  sensitivity, brand loyalty, RFM), online updates, and
  :class:`ProfileScorer`, which ranks items by profile match;
* :mod:`.text` -- :class:`TfidfTextEncoder` and :class:`MiniLMTextEncoder`
  (the library's one pretrained sentence encoder, loaded offline by
  :func:`load_minilm`; Chapters 13 and 14 use it too);
* :mod:`.images` -- :class:`SmallCNN`, trained as a classifier by
  :func:`train_image_encoder`, and :func:`embed_images`;
* :mod:`.timeseries` -- price and sales histories as handcrafted features
  (:func:`time_series_features`) or windows for :class:`TimeSeriesEncoder`;
* :mod:`.fusion` -- concat, gated and attention fusion of modality vectors
  with missing modalities masked, and :class:`MultimodalItemTower` (the item
  tower of :class:`recsys_lib.models.multimodal_two_tower.TwoTowerRecommender`).

Every encoder maps the raw content of ``n`` products to ``(n, d)`` float32.
"""

from __future__ import annotations

from .fusion import (
    ON_ALL_MISSING,
    AttentionFusion,
    ConcatFusion,
    Fused,
    GatedFusion,
    MultimodalItemTower,
    make_fusion,
)
from .images import ImageEncoderResult, SmallCNN, embed_images, train_image_encoder
from .profiles import (
    AGE_EDGES,
    EVENT_WEIGHTS,
    SECONDS_PER_DAY,
    UNKNOWN,
    CategoryVocab,
    DemographicEmbedding,
    DemographicEncoder,
    OnlineProfile,
    ProfileScorer,
    affinity_profiles,
    age_bucket,
    blend_profiles,
    brand_loyalty,
    category_affinity,
    decay_weights,
    event_weights,
    last_session_profiles,
    one_hot,
    price_sensitivity,
    rfm_features,
)
from .text import (
    MINILM_DIM,
    MINILM_INSTALL,
    MINILM_PACKAGE,
    MINILM_SAFETENSORS_SHA256,
    MiniLMTextEncoder,
    TfidfTextEncoder,
    load_minilm,
    minilm_model_path,
)
from .timeseries import (
    TimeSeriesEncoder,
    TimeSeriesWindows,
    time_series_features,
    time_series_windows,
)

__all__ = [
    "AGE_EDGES",
    "EVENT_WEIGHTS",
    "MINILM_DIM",
    "MINILM_INSTALL",
    "MINILM_PACKAGE",
    "MINILM_SAFETENSORS_SHA256",
    "ON_ALL_MISSING",
    "SECONDS_PER_DAY",
    "UNKNOWN",
    "AttentionFusion",
    "CategoryVocab",
    "ConcatFusion",
    "DemographicEmbedding",
    "DemographicEncoder",
    "Fused",
    "GatedFusion",
    "ImageEncoderResult",
    "MiniLMTextEncoder",
    "MultimodalItemTower",
    "OnlineProfile",
    "ProfileScorer",
    "SmallCNN",
    "TfidfTextEncoder",
    "TimeSeriesEncoder",
    "TimeSeriesWindows",
    "affinity_profiles",
    "age_bucket",
    "blend_profiles",
    "brand_loyalty",
    "category_affinity",
    "decay_weights",
    "embed_images",
    "event_weights",
    "last_session_profiles",
    "load_minilm",
    "make_fusion",
    "minilm_model_path",
    "one_hot",
    "price_sensitivity",
    "rfm_features",
    "time_series_features",
    "time_series_windows",
    "train_image_encoder",
]
