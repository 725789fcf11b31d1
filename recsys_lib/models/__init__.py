"""Deep recommender models, one per file, each with a dataclass config.

Introduced in Chapter 6 (MF, NCF, the feature ranker) and Chapter 7
(GRU4Rec, Caser, SASRec).

Two interfaces (see :mod:`recsys_lib.models.base`):

* pair scorers -- :class:`MF`, :class:`GMF`, :class:`MLPRecommender`,
  :class:`NeuMF`, :class:`FeatureMLPRanker`:
  ``model(user_ids, item_ids) -> (B,)`` logits and
  ``model.score(user_ids) -> (B, n_items)``, ready for
  :func:`recsys_lib.evaluation.evaluate_full`;
* sequential models -- :class:`GRU4Rec`, :class:`Caser`, :class:`SASRec`:
  ``model(seq) -> (B, T, d)`` hidden states and
  ``model.score_last(seq) -> (B, n_items)`` next-item logits, with ``seq``
  left-padded by the padding id ``n_items``. Train them with
  :mod:`recsys_lib.sequences`.

Every config has a ``tiny()`` constructor for tests and quick demos.
"""

from .base import PairScorer, SequentialRecommender
from .caser import Caser, CaserConfig
from .gru4rec import GRU4Rec, GRU4RecConfig
from .mf import MF, MFConfig
from .ncf import GMF, GMFConfig, MLPConfig, MLPRecommender, NeuMF, NeuMFConfig
from .ranker import FeatureMLPRanker, RankerConfig
from .sasrec import SASRec, SASRecConfig

__all__ = [
    "GMF",
    "MF",
    "Caser",
    "CaserConfig",
    "FeatureMLPRanker",
    "GMFConfig",
    "GRU4Rec",
    "GRU4RecConfig",
    "MFConfig",
    "MLPConfig",
    "MLPRecommender",
    "NeuMF",
    "NeuMFConfig",
    "PairScorer",
    "RankerConfig",
    "SASRec",
    "SASRecConfig",
    "SequentialRecommender",
]
