"""Tests of recsys_lib.trust.cold_start (Chapter 11)."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys_lib.trust import (
    SegmentPopular,
    content_scores,
    onboarding_answers,
    onboarding_shortlist,
    truncate_histories,
)


def frame(rows):
    df = pd.DataFrame(rows, columns=["user_id", "item_id"])
    df["timestamp"] = np.arange(len(df))[::-1]  # later rows happened earlier
    return df


def test_segment_popular_prefers_the_segments_items_and_shrinks_small_segments():
    train = frame([(0, 0), (1, 0), (2, 1), (3, 1), (3, 2)])
    seg = np.array([0, 0, 1, 1])
    m = SegmentPopular(seg, shrinkage=0.0).fit(train, 4, 3)
    s = m.score(np.array([0, 2])).numpy()
    assert s[0].argmax() == 0 and s[1].argmax() == 1
    np.testing.assert_allclose(s[0], [1.0, 0.0, 0.0], atol=1e-6)
    big = (
        SegmentPopular(seg, shrinkage=1e6).fit(train, 4, 3).score(np.array([0])).numpy()
    )
    np.testing.assert_allclose(big[0], [0.5, 0.5, 0.25], atol=1e-4)  # overall shares
    # a new user (no rows) does not dilute the segment: user 4 is in segment 0
    seg5 = np.array([0, 0, 1, 1, 0])
    s5 = SegmentPopular(seg5, shrinkage=0.0).fit(train, 5, 3).score(np.array([4]))
    np.testing.assert_allclose(s5.numpy()[0], [1.0, 0.0, 0.0], atol=1e-6)


def test_segment_popular_bad_input():
    with pytest.raises(ValueError, match="segments has 2 entries but n_users=4"):
        SegmentPopular(np.array([0, 1])).fit(frame([(0, 0), (3, 1)]), 4, 2)
    with pytest.raises(TypeError, match="segments"):
        SegmentPopular(np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="shrinkage must be >= 0"):
        SegmentPopular(np.array([0]), shrinkage=-1.0)


def test_truncate_histories_keeps_the_earliest_rows():
    train = frame([(0, 0), (0, 1), (0, 2), (1, 3)])  # timestamps 3, 2, 1, 0
    out = truncate_histories(train, [0, 1], 2)
    assert sorted(out[out.user_id == 0].item_id) == [1, 2]
    assert list(out[out.user_id == 1].item_id) == [3]
    assert len(truncate_histories(train, [0], 0)) == 0
    kept = truncate_histories(train, [0], 1, time_col=None)
    assert list(kept.item_id) == [0]


def test_truncate_histories_bad_input():
    train = frame([(0, 0)])
    with pytest.raises(ValueError, match="n must be >= 0"):
        truncate_histories(train, [0], -1)
    with pytest.raises(ValueError, match=r"user\(s\) \[5\] have no rows"):
        truncate_histories(train, [5], 1)
    with pytest.raises(ValueError, match="lacks the time column 'when'"):
        truncate_histories(train, [0], 1, time_col="when")
    with pytest.raises(TypeError, match="train must be a DataFrame"):
        truncate_histories([(0, 0)], [0], 1)


def test_onboarding_shortlist_covers_users_greedily():
    # item 0: users 0,1,2; item 1: users 0,1 (same crowd); item 2: user 3
    train = frame([(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (3, 2)])
    short = onboarding_shortlist(train, 4, 3, size=2)
    assert short.tolist() == [0, 2]  # not the second most popular item 1
    with pytest.raises(ValueError, match="size must be <= 3"):
        onboarding_shortlist(train, 4, 3, size=4)


def test_onboarding_answers_follow_the_shortlist_order():
    full = frame([(0, 5), (0, 2), (0, 7), (1, 9)])
    out = onboarding_answers(full, [0, 1], shortlist=[7, 2, 5], n=2)
    assert out.values.tolist() == [[0, 7], [0, 2]]
    with pytest.raises(ValueError, match="shortlist is empty"):
        onboarding_answers(full, [0], shortlist=np.array([], dtype=int), n=1)


def test_content_scores_match_the_profile_and_score_unseen_items():
    feats = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    hist = sp.csr_matrix(np.array([[1, 0, 0], [0, 0, 0]]))
    s = content_scores(hist, feats)
    np.testing.assert_allclose(s[0], [1.0, 1.0, 0.0], atol=1e-6)  # item 1 never seen
    np.testing.assert_allclose(s[1], 0.0)
    with pytest.raises(ValueError, match=r"item_features must be \(n_items=3, F\)"):
        content_scores(hist, feats[:2])
    with pytest.raises(TypeError, match="scipy sparse"):
        content_scores(np.eye(3), feats)
