"""Moved to :mod:`recsys_lib.models` (estimators) and :mod:`recsys_lib.tuning`.

This shim goes away once the notebooks (02, 03, 04, 06, 07, 08) import from
there. It keeps the Chapter 3 contract of ``score``: these four classes
return a float32 NumPy array, as notebook 03's ``recommend_one``
(``torch.from_numpy(model.score(...)[0])``) expects; the classes of
:mod:`recsys_lib.models` return a float32 tensor.
"""

from __future__ import annotations

import numpy as np

from . import models as _models
from .tuning import tune

__all__ = ["BPRMF", "EASE", "ItemKNN", "MostPopular", "tune"]


class _NumpyScores:
    """``score`` as a NumPy array (the pre-redesign return type)."""

    def score(self, user_ids, items=None) -> np.ndarray:
        return super().score(user_ids, items).numpy()


class MostPopular(_NumpyScores, _models.MostPopular):
    __doc__ = _models.MostPopular.__doc__


class ItemKNN(_NumpyScores, _models.ItemKNN):
    __doc__ = _models.ItemKNN.__doc__


class EASE(_NumpyScores, _models.EASE):
    __doc__ = _models.EASE.__doc__


class BPRMF(_NumpyScores, _models.BPRMF):
    __doc__ = _models.BPRMF.__doc__
