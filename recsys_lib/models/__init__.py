"""Recommenders, one per file, all behind one interface.

Introduced in Chapter 3 (the baselines), Chapter 6 (MF, NCF, the feature
ranker, the losses), Chapter 7 (GRU4Rec, Caser, SASRec) and Chapter 9
(ensembles).

Every model follows the protocol of :mod:`recsys_lib.models.base`:
``fit(train, n_users, n_items)``, ``score(user_ids, items=None) -> (B,
n_items)`` float32 tensor and ``recommend(user_ids, k, exclude)``, so that
:func:`recsys_lib.eval.evaluate_full`, :func:`recsys_lib.tuning.tune`, the
retrievers and the serving code take any of them:

* estimators -- :class:`MostPopular`, :class:`ItemKNN`, :class:`EASE`,
  :class:`BPRMF` (Chapter 3) and :class:`NeuralRecommender`, which trains
  any pair scorer below with a loss of :mod:`.losses` and early-stops like
  BPRMF (Chapter 6);
* pair scorers -- :class:`MF`, :class:`GMF`, :class:`MLPRecommender`,
  :class:`NeuMF`, :class:`FeatureMLPRanker`: ``nn.Module`` s with
  ``model(user_ids, item_ids) -> (B,)`` logits for training and
  ``model.score(user_ids) -> (B, n_items)`` for inference;
* sequential models -- :class:`GRU4Rec`, :class:`Caser`, :class:`SASRec`:
  ``model(seq) -> (B, T, d)`` hidden states and
  ``model.score_last(seq) -> (B, n_items)`` next-item logits, with ``seq``
  left-padded by the padding id ``n_items``. Train them on
  :mod:`recsys_lib.data.sequences` batches with
  :func:`~recsys_lib.models.losses.next_item_loss_fn`;
  :class:`NextItemScorer` makes a trained one a scorer of users, and
  :class:`SASRecRecommender` (Chapter 9) trains SASRec behind the
  ``fit``/``score`` protocol of the estimators;
* ensembles (Chapter 9) -- :class:`ScoreAverage` (per-user normalized
  scores, :func:`normalize_scores`), :class:`ReciprocalRankFusion` and
  :class:`StackedBlender` (weights learned on validation), each a scorer
  over fitted members (:mod:`.ensemble`);
* the two-tower retrieval model of Chapter 8 -- :class:`TwoTowerModel`,
  trained with :func:`train_two_tower` on the in-batch softmax
  (:mod:`.two_tower`), and Chapter 5's multimodal two-tower for cold items,
  :class:`TwoTowerRecommender` trained with
  :func:`train_multimodal_two_tower` (:mod:`.multimodal_two_tower`, on the
  fusion modules of :mod:`recsys_lib.features`).

Every config has a ``tiny()`` constructor for tests and quick demos.
"""

from .base import (
    Estimator,
    PairScorer,
    Recommendations,
    Recommender,
    Scorer,
    SequentialRecommender,
    inference,
)
from .bpr_mf import BPRMF
from .caser import Caser, CaserConfig
from .ease import EASE
from .ensemble import (
    NORMALIZATIONS,
    ReciprocalRankFusion,
    ScoreAverage,
    StackedBlender,
    normalize_scores,
)
from .gru4rec import GRU4Rec, GRU4RecConfig
from .item_knn import ItemKNN
from .losses import (
    bce_loss,
    bpr_loss,
    mse_loss,
    next_item_loss_fn,
    sampled_bce_loss,
    sampled_softmax_loss,
    softmax_cross_entropy,
)
from .mf import MF, MFConfig
from .most_popular import MostPopular
from .multimodal_two_tower import TwoTowerRecommender, train_multimodal_two_tower
from .ncf import GMF, GMFConfig, MLPConfig, MLPRecommender, NeuMF, NeuMFConfig
from .neural import NeuralRecommender
from .next_item import (
    NextItemScorer,
    SASRecRecommender,
    evaluate_next_item,
    next_item_scorer,
)
from .ranker import FeatureMLPRanker, RankerConfig
from .sasrec import SASRec, SASRecConfig
from .two_tower import (
    TwoTowerConfig,
    TwoTowerModel,
    in_batch_softmax_loss,
    train_two_tower,
)

__all__ = [
    "NORMALIZATIONS",
    "BPRMF",
    "EASE",
    "GMF",
    "MF",
    "Caser",
    "CaserConfig",
    "Estimator",
    "FeatureMLPRanker",
    "GMFConfig",
    "GRU4Rec",
    "GRU4RecConfig",
    "ItemKNN",
    "MFConfig",
    "MLPConfig",
    "MLPRecommender",
    "MostPopular",
    "NeuMF",
    "NeuMFConfig",
    "NeuralRecommender",
    "NextItemScorer",
    "PairScorer",
    "RankerConfig",
    "ReciprocalRankFusion",
    "SASRecRecommender",
    "Recommendations",
    "Recommender",
    "SASRec",
    "SASRecConfig",
    "ScoreAverage",
    "Scorer",
    "SequentialRecommender",
    "StackedBlender",
    "TwoTowerConfig",
    "TwoTowerModel",
    "TwoTowerRecommender",
    "bce_loss",
    "bpr_loss",
    "in_batch_softmax_loss",
    "inference",
    "mse_loss",
    "evaluate_next_item",
    "next_item_loss_fn",
    "next_item_scorer",
    "normalize_scores",
    "sampled_bce_loss",
    "sampled_softmax_loss",
    "softmax_cross_entropy",
    "train_multimodal_two_tower",
    "train_two_tower",
]
