"""Ensembles of Chapter 9: normalization, score averaging, rank fusion, stacking."""

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_lib.config import ITEM_COL, USER_COL
from recsys_lib.eval import evaluate_full
from recsys_lib.models import (
    EASE,
    ItemKNN,
    MostPopular,
    ReciprocalRankFusion,
    ScoreAverage,
    StackedBlender,
    normalize_scores,
)
from recsys_lib.recommender import RecommendMixin

from .contract import check_scorer

N_USERS, N_ITEMS = 30, 25


class Fixed(RecommendMixin):
    """A scorer with a fixed score matrix."""

    def __init__(self, scores):
        self.scores = torch.as_tensor(scores, dtype=torch.float32)
        self.n_users, self.n_items = self.scores.shape

    def score(self, user_ids, items=None):
        return self._select_items(self.scores[torch.as_tensor(user_ids)], items)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    rows = [
        (u, i) for u in range(N_USERS) for i in rng.choice(N_ITEMS, 8, replace=False)
    ]
    df = pd.DataFrame(rows, columns=[USER_COL, ITEM_COL])
    valid = df.groupby(USER_COL).tail(2)
    return df.drop(valid.index), valid


def test_normalize_scores():
    s = torch.tensor([[1.0, 2.0, 3.0, 10.0], [5.0, 5.0, 5.0, 5.0]])
    z = normalize_scores(s)
    assert torch.allclose(z[0].mean(), torch.tensor(0.0), atol=1e-6)
    assert torch.allclose(z[0].std(unbiased=False), torch.tensor(1.0), atol=1e-6)
    assert (z[1] == 0).all()  # a constant row: 0, not nan
    mm = normalize_scores(s, "minmax")
    assert (
        mm[0].tolist() == pytest.approx([0.0, 1 / 9, 2 / 9, 1.0])
        and (mm[1] == 0.5).all()
    )
    assert normalize_scores(s, "rank")[0].tolist() == pytest.approx(
        [0, 1 / 3, 2 / 3, 1]
    )
    assert torch.equal(normalize_scores(s, "none"), s)
    # a mask leaves items out of the statistics (and ranks them last)
    mask = torch.tensor([[False, False, False, True], [False] * 4])
    zm = normalize_scores(s, mask=mask)
    assert zm[0, :3].tolist() == pytest.approx([-1.2247449, 0.0, 1.2247449], abs=1e-6)
    assert torch.isfinite(zm).all() and zm[0, 3] > zm[0, 2]  # same statistics, finite
    assert normalize_scores(s, "rank", mask)[0].tolist() == pytest.approx(
        [0, 0.5, 1, -0.5]
    )
    # a row's result never depends on the other rows
    assert torch.allclose(normalize_scores(s[:1]), z[:1])
    with pytest.raises(ValueError, match="method must be one of"):
        normalize_scores(s, "softmax")
    with pytest.raises(ValueError, match="nan or inf"):
        normalize_scores(torch.tensor([[1.0, float("nan")]]))
    with pytest.raises(ValueError, match="2-D"):
        normalize_scores(s[0])
    with pytest.raises(TypeError, match="torch.Tensor"):
        normalize_scores(s.numpy())
    with pytest.raises(TypeError, match="bool tensor"):
        normalize_scores(s, mask=mask.float())
    with pytest.raises(ValueError, match="every item masked"):
        normalize_scores(s, mask=torch.ones_like(mask))


def test_score_average_is_a_mean_of_normalized_scores():
    a = torch.tensor([[0.0, 1.0, 2.0], [3.0, 1.0, 0.0]])
    b = 100 * torch.tensor([[2.0, 0.0, 1.0], [0.0, 1.0, 5.0]])  # another scale
    avg = ScoreAverage([Fixed(a), Fixed(b)])
    expected = (normalize_scores(a) + normalize_scores(b)) / 2
    assert torch.allclose(avg.score(np.array([0, 1])), expected, atol=1e-6)
    weighted = ScoreAverage([Fixed(a), Fixed(b)], weights=[1.0, 0.0])
    assert torch.allclose(weighted.score([0, 1]), normalize_scores(a), atol=1e-6)
    raw = ScoreAverage([Fixed(a), Fixed(b)], normalize="none")
    assert torch.allclose(raw.score([0]), ((a + b) / 2)[:1])
    assert "ScoreAverage([Fixed, Fixed], weights=[0.5, 0.5])" == repr(avg)


def test_rrf_by_hand():
    # member 1 ranks items 2, 1, 0; member 2 ranks 0, 2, 1 (user 0)
    a, b = torch.tensor([[0.0, 1.0, 2.0]]), torch.tensor([[9.0, 1.0, 5.0]])
    rrf = ReciprocalRankFusion([Fixed(a), Fixed(b)], k=1.0, weights=[1.0, 1.0])
    expected = [1 / 4 + 1 / 2, 1 / 3 + 1 / 4, 1 / 2 + 1 / 3]
    assert rrf.score([0])[0].tolist() == pytest.approx(expected)
    # an excluded item adds nothing and leaves the others' ranks as if it were absent
    ex = pd.DataFrame({USER_COL: [0], ITEM_COL: [2]})
    masked = ReciprocalRankFusion(
        [Fixed(a), Fixed(b)], k=1.0, weights=[1, 1], exclude=ex
    )
    assert masked.score([0])[0].tolist() == pytest.approx(
        [1 / 3 + 1 / 2, 1 / 2 + 1 / 3, 0]
    )


def test_ensembles_keep_the_scorer_contract(data):
    train, valid = data
    members = [
        m.fit(train, N_USERS, N_ITEMS) for m in (MostPopular(), ItemKNN(), EASE())
    ]
    users = np.array([0, N_USERS - 1, 3])
    for ensemble in (
        ScoreAverage(members, exclude=train),
        ScoreAverage(members, normalize="rank"),
        ReciprocalRankFusion(members, exclude=train),
        StackedBlender(members, exclude=train).fit(valid, N_USERS, N_ITEMS),
    ):
        assert (ensemble.n_users, ensemble.n_items) == (N_USERS, N_ITEMS)
        check_scorer(ensemble, users, exclude=train)
        assert evaluate_full(ensemble, train, valid)["ndcg@10"] > 0


def test_stacked_blender_learns_to_trust_the_informative_member(data):
    train, valid = data
    truth = np.zeros((N_USERS, N_ITEMS), dtype=np.float32)
    truth[valid[USER_COL], valid[ITEM_COL]] = 1.0
    rng = np.random.default_rng(1)
    informative = Fixed(truth + 0.3 * rng.standard_normal(truth.shape))
    noise = Fixed(rng.standard_normal(truth.shape))
    blender = StackedBlender([noise, informative], exclude=train, l2=0.0)
    blender.fit(valid, N_USERS, N_ITEMS)
    assert blender.fitted and blender.weights[1] > 5 * abs(blender.weights[0])
    blend = evaluate_full(blender, train, valid)["ndcg@10"]
    assert (
        blend
        >= evaluate_full(ScoreAverage([noise, informative]), train, valid)["ndcg@10"]
    )
    # the weights carry over to other members (e.g. refitted on train + valid)
    moved = blender.with_members([noise, informative], exclude=train)
    assert isinstance(moved, ScoreAverage) and np.allclose(
        moved.weights, blender.weights
    )
    assert torch.allclose(moved.score([0, 1]), blender.score([0, 1]))
    # deterministic
    again = StackedBlender([noise, informative], exclude=train, l2=0.0)
    assert np.array_equal(again.fit(valid, N_USERS, N_ITEMS).weights, blender.weights)


def test_bad_input(data):
    train, valid = data
    a = Fixed(torch.zeros(N_USERS, N_ITEMS))
    with pytest.raises(ValueError, match="at least one member"):
        ScoreAverage([])
    with pytest.raises(TypeError, match="list of scorers"):
        ScoreAverage(a)
    with pytest.raises(TypeError, match="member 1 .* is not a scorer"):
        ScoreAverage([a, "EASE"])
    with pytest.raises(ValueError, match="same users and items"):
        ScoreAverage([a, Fixed(torch.zeros(N_USERS, N_ITEMS + 1))])
    with pytest.raises(ValueError, match="same users and items"):
        ScoreAverage([a, EASE()])  # not fitted
    with pytest.raises(ValueError, match="2 weights for 1 members"):
        ScoreAverage([a], weights=[1, 2])
    with pytest.raises(ValueError, match="all 0"):
        ScoreAverage([a], weights=[0])
    with pytest.raises(ValueError, match="normalize must be one of"):
        ScoreAverage([a], normalize="softmax")
    with pytest.raises(ValueError, match="k must be > 0"):
        ReciprocalRankFusion([a], k=0)
    with pytest.raises(ValueError, match="exclude holds user"):
        ScoreAverage([Fixed(torch.zeros(2, N_ITEMS))], exclude=train)
    blender = StackedBlender([a], exclude=train)
    with pytest.raises(RuntimeError, match="before fit"):
        blender.score([0])
    with pytest.raises(RuntimeError, match="before fit"):
        blender.with_members([a])
    with pytest.raises(ValueError, match="also in exclude"):
        blender.fit(train, N_USERS, N_ITEMS)
    with pytest.raises(ValueError, match="members score"):
        blender.fit(valid, N_USERS + 1, N_ITEMS)
    with pytest.raises(ValueError, match="l2 must be >= 0"):
        StackedBlender([a], l2=-1)
