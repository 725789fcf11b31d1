"""Tests of recsys_lib.trust.explain (Chapter 11)."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recsys_lib.models import FeatureMLPRanker, RankerConfig, SASRec, SASRecConfig
from recsys_lib.trust import (
    attribute,
    deletion_test,
    item_knn_explanations,
    last_attention,
    ranker_feature_names,
    ranker_head,
    ranker_inputs,
    remove_from_sequences,
)


def tiny_ranker():
    torch.manual_seed(0)
    cfg = RankerConfig.tiny(n_users=5, n_items=6, context_dim=0)
    r = FeatureMLPRanker(cfg)
    r.set_feature_tables(torch.randn(5, 3), torch.randn(6, 5))
    return r


def test_ranker_inputs_and_head_reproduce_the_ranker():
    r = tiny_ranker().eval()
    u, i = np.array([0, 1, 4]), np.array([5, 0, 2])
    x = ranker_inputs(r, u, i)
    assert x.shape == (3, r.cfg.input_dim)
    with torch.no_grad():
        torch.testing.assert_close(ranker_head(r)(x), r(u, i))
    names = ranker_feature_names(r, ["a", "b", "c"], list("vwxyz"))
    assert len(names) == r.cfg.input_dim and names[-1] == "item:z"


def test_ranker_inputs_bad_input():
    r = tiny_ranker()
    with pytest.raises(ValueError, match="differ in length"):
        ranker_inputs(r, [0, 1], [0])
    with pytest.raises(TypeError, match="FeatureMLPRanker"):
        ranker_inputs(torch.nn.Linear(2, 1), [0], [0])
    ctx = FeatureMLPRanker(RankerConfig.tiny())
    with pytest.raises(ValueError, match="context"):
        ranker_inputs(ctx, [0], [0])
    with pytest.raises(ValueError, match="2 user names for 3 user features"):
        ranker_feature_names(r, ["a", "b"], list("vwxyz"))


def linear(w):
    w = torch.tensor(w)
    return lambda x: x @ w


def test_attributions_of_a_linear_model_are_weight_times_input():
    f = linear([2.0, -1.0, 0.0])
    x = torch.tensor([[1.0, 3.0, 5.0]])
    for method in ("integrated_gradients", "input_x_gradient"):
        a = attribute(f, x, method)
        torch.testing.assert_close(a, torch.tensor([[2.0, -3.0, 0.0]]))
    base = torch.tensor([1.0, 1.0, 1.0])
    a = attribute(f, x, baseline=base)
    torch.testing.assert_close(a.sum(1), f(x) - f(base[None]))  # completeness


def test_attribute_bad_input():
    f = linear([1.0])
    with pytest.raises(ValueError, match="method must be one of"):
        attribute(f, torch.ones(1, 1), "shap")
    with pytest.raises(ValueError, match="inputs is empty"):
        attribute(f, torch.ones(0, 1))
    with pytest.raises(TypeError, match="float tensor"):
        attribute(f, torch.ones(2, dtype=torch.int64))


def test_deletion_test_separates_true_from_shuffled_attributions():
    torch.manual_seed(0)
    w = torch.tensor([5.0, 4.0, 3.0] + [0.0] * 7)
    f = lambda x: x @ w  # noqa: E731
    x = torch.rand(200, 10) + 0.5
    good = attribute(f, x, "input_x_gradient")
    res = deletion_test(f, x, good, k=3, seed=0)
    assert res.top_drop.shape == (200,) and res.k == 3
    assert res.top_drop.mean() > 3 * res.random_drop.mean()
    shuffled = good.flip(1)  # a broken method: columns mixed up
    bad = deletion_test(f, x, shuffled, k=3, seed=0)
    assert bad.top_drop.mean() < res.top_drop.mean() / 2
    with pytest.raises(ValueError, match="differ in shape"):
        deletion_test(f, x, good[:, :3], k=1)
    with pytest.raises(ValueError, match="k must be <= 10"):
        deletion_test(f, x, good, k=11)


def test_item_knn_explanations_are_the_exact_contributions():
    # W[j, i]: contribution of history item j to target i
    W = sp.csr_matrix(
        np.array([[0, 0.5, 0], [0, 0.2, 0], [0, 0.9, 0]], dtype=np.float32)
    )
    out = item_knn_explanations([0, 1, 2], 1, W, top=2)
    assert [j for j, _ in out] == [2, 0]
    assert out[0][1] == pytest.approx(0.9)
    assert item_knn_explanations([], 1, W) == []
    assert item_knn_explanations([0, 1], 0, W) == []  # no positive contribution
    with pytest.raises(ValueError, match="item must be <= 2"):
        item_knn_explanations([0], 3, W)


def test_last_attention_rows_sum_to_one_and_ignore_padding():
    torch.manual_seed(0)
    m = SASRec(SASRecConfig.tiny(n_items=10))
    pad = 10
    seq = torch.tensor([[pad, pad, 1, 2], [3, 4, 5, 6]])
    att = last_attention(m, seq)
    assert att.shape == (2, 4)
    torch.testing.assert_close(att.sum(1), torch.ones(2))
    assert float(att[0, :2].abs().sum()) == 0.0
    with pytest.raises(TypeError, match="SASRec"):
        last_attention(torch.nn.Linear(1, 1), seq)


def test_remove_from_sequences_shifts_right_and_pads():
    seq = torch.tensor([[9, 1, 2, 3], [4, 5, 6, 7]])
    out = remove_from_sequences(seq, torch.tensor([[3], [0]]), pad_id=9)
    assert out.tolist() == [[9, 9, 1, 2], [9, 5, 6, 7]]
    with pytest.raises(ValueError, match="outside"):
        remove_from_sequences(seq, torch.tensor([[4], [0]]), pad_id=9)
    with pytest.raises(ValueError, match=r"positions \(B, m\)"):
        remove_from_sequences(seq, torch.tensor([1, 2]), pad_id=9)
