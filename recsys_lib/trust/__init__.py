"""Trust: cold start, explanations, fairness, privacy and robustness.

Introduced in Chapter 11 ("Trust: cold start, explainability, fairness,
privacy, robustness"). The package sits above ``data``, ``eval``,
``features`` and ``models`` and measures models built there:

* :mod:`.cold_start` -- :class:`SegmentPopular`, :func:`truncate_histories`,
  :func:`onboarding_shortlist`, :func:`onboarding_answers`,
  :func:`content_scores`;
* :mod:`.explain` -- Captum attributions of the feature ranker
  (:func:`ranker_inputs`, :func:`attribute`), :func:`deletion_test`,
  :func:`item_knn_explanations`, SASRec's :func:`last_attention` and
  :func:`remove_from_sequences`;
* :mod:`.fairness` -- :func:`popularity_groups`, :func:`exposure_shares`,
  :func:`calibration_kl`, :func:`group_gap`, :func:`boost_rerank`;
* :mod:`.privacy` -- :func:`train_classifier` (plain or DP-SGD with
  Opacus), :func:`membership_advantage`, :func:`federated_averaging`;
* :mod:`.robustness` -- :func:`topk_jaccard`, :func:`drop_interactions`,
  :func:`inject_profiles`, :func:`item_ranks`.
"""

from __future__ import annotations

from .cold_start import (
    SegmentPopular,
    content_scores,
    onboarding_answers,
    onboarding_shortlist,
    truncate_histories,
)
from .explain import (
    ATTRIBUTION_METHODS,
    DeletionResult,
    attribute,
    deletion_test,
    item_knn_explanations,
    last_attention,
    ranker_feature_names,
    ranker_head,
    ranker_inputs,
    remove_from_sequences,
)
from .fairness import (
    GroupGap,
    boost_rerank,
    calibration_kl,
    exposure_shares,
    group_gap,
    popularity_groups,
)
from .privacy import (
    DPConfig,
    MembershipResult,
    TrainedClassifier,
    example_losses,
    federated_averaging,
    membership_advantage,
    train_classifier,
)
from .robustness import drop_interactions, inject_profiles, item_ranks, topk_jaccard

__all__ = [
    "ATTRIBUTION_METHODS",
    "DPConfig",
    "DeletionResult",
    "GroupGap",
    "MembershipResult",
    "SegmentPopular",
    "TrainedClassifier",
    "attribute",
    "boost_rerank",
    "calibration_kl",
    "content_scores",
    "deletion_test",
    "drop_interactions",
    "example_losses",
    "exposure_shares",
    "federated_averaging",
    "group_gap",
    "inject_profiles",
    "item_knn_explanations",
    "item_ranks",
    "last_attention",
    "membership_advantage",
    "onboarding_answers",
    "onboarding_shortlist",
    "popularity_groups",
    "ranker_feature_names",
    "ranker_head",
    "ranker_inputs",
    "remove_from_sequences",
    "topk_jaccard",
    "train_classifier",
    "truncate_histories",
]
