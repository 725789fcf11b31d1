import numpy as np
import pytest
import torch

from recsys_lib.features.fusion import (
    AttentionFusion,
    ConcatFusion,
    Fused,
    GatedFusion,
    MultimodalItemTower,
    make_fusion,
)

from .helpers import assert_close

DIMS = [3, 5, 2]
KINDS = ["concat", "gated", "attention"]


def inputs(B=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(B, d, generator=g) for d in DIMS]


def build(kind, **kw):
    torch.manual_seed(0)
    return make_fusion(kind, DIMS, 6, **kw)


# ------------------------------------------------------------------ shapes
@pytest.mark.parametrize("kind", KINDS)
def test_shapes_and_weights(kind):
    out = build(kind)(inputs())
    assert isinstance(out, Fused)
    assert out.vector.shape == (4, 6) and out.weights.shape == (4, 3)
    if kind == "attention":
        assert_close(out.weights.sum(1), torch.ones(4))
    raw = ConcatFusion(DIMS)(inputs())  # no projection: concatenation + mask
    assert raw.vector.shape == (4, sum(DIMS) + 3)


# ------------------------------------------------------------------ masking
@pytest.mark.parametrize("kind", KINDS)
def test_masked_modality_changes_nothing(kind):
    fusion = build(kind)
    xs = inputs()
    mask = torch.tensor([[1, 1, 1], [1, 0, 1], [0, 1, 1], [1, 0, 0]], dtype=torch.bool)
    base = fusion(xs, mask)
    # rewrite every masked entry with garbage, nan included
    noisy = [x.clone() for x in xs]
    noisy[1][1] = 1e6
    noisy[1][3] = float("nan")
    noisy[0][2] = float("nan")
    noisy[2][3] = 1e3
    again = fusion(noisy, mask)
    assert_close(again.vector, base.vector, rtol=0, atol=0)
    assert (base.weights[~mask] == 0).all()
    assert (base.weights[mask] > 0).all()
    # the unmasked rows don't depend on the mask of other rows
    assert_close(base.vector[0], fusion(xs).vector[0])


def test_attention_and_gated_masked_equals_modality_removed():
    """Masking modality 1 gives what a model without modality 1 would give."""
    torch.manual_seed(0)
    att = AttentionFusion(DIMS, 6)
    xs = inputs()
    mask = torch.tensor([[1, 0, 1]] * 4, dtype=torch.bool)
    out = att(xs, mask)
    h = [att.project[m](xs[m]) + att.type_embedding[m] for m in (0, 2)]
    k = torch.stack([att.key(v) for v in h], 1)
    a = torch.softmax((k @ att.query) / np.sqrt(6), dim=1)
    expected = (a.unsqueeze(-1) * torch.stack(h, 1)).sum(1)
    assert_close(out.vector, expected)
    assert_close(out.weights[:, [0, 2]], a)


def test_gated_masked_modality_gets_no_gradient():
    torch.manual_seed(0)
    gated = GatedFusion(DIMS, 6)
    mask = torch.tensor([[1, 0, 1]] * 4, dtype=torch.bool)
    gated(inputs(), mask).vector.sum().backward()
    assert gated.project[1].weight.grad.abs().sum() == 0
    assert gated.gate[1].weight.grad.abs().sum() == 0
    assert gated.project[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("kind", KINDS)
def test_all_missing_row_error_or_learned(kind):
    mask = torch.tensor([[1, 0, 0], [0, 0, 0], [1, 1, 1], [0, 0, 0]], dtype=torch.bool)
    with pytest.raises(
        ValueError, match=r"row\(s\) \[1, 3\] have every modality missing"
    ):
        build(kind)(inputs(), mask)
    fusion = build(kind, on_all_missing="learned")
    out = fusion(inputs(), mask)
    assert_close(out.vector[1], fusion.missing)
    assert_close(out.vector[3], fusion.missing)
    assert (out.weights[[1, 3]] == 0).all() and torch.isfinite(out.vector).all()


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kind", KINDS)
def test_bad_inputs(kind):
    fusion = build(kind)
    xs = inputs()
    with pytest.raises(ValueError, match="expected 3 modalities"):
        fusion(xs[:2])
    with pytest.raises(ValueError, match=r"xs\[1\] must have shape \(B, 5\)"):
        fusion([xs[0], xs[2], xs[2]])
    bad = [x.clone() for x in xs]
    bad[2][1, 0] = float("nan")
    with pytest.raises(ValueError, match=r"xs\[2\] has nan or inf in row 1"):
        fusion(bad)
    with pytest.raises(ValueError, match="empty batch"):
        fusion([x[:0] for x in xs])
    with pytest.raises(ValueError, match="batch sizes"):
        fusion([xs[0], xs[1][:2], xs[2]])
    with pytest.raises(ValueError, match="mask must have shape"):
        fusion(xs, torch.ones(4, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="boolean"):
        fusion(xs, torch.full((4, 3), 2))
    with pytest.raises(TypeError, match="list of M tensors"):
        fusion(torch.cat(xs, 1))
    with pytest.raises(TypeError, match="float"):
        fusion([x.long() for x in xs])


def test_constructor_errors():
    with pytest.raises(ValueError, match="input_dims"):
        GatedFusion([], 4)
    with pytest.raises(
        ValueError, match=r"input_dims\[1\] \(a modality size\) must be >= 1"
    ):
        AttentionFusion([3, 0], 4)
    with pytest.raises(TypeError, match="input_dims must be a non-empty list"):
        GatedFusion(3, 4)
    with pytest.raises(
        TypeError, match=r"input_dims\[0\] \(a modality size\) must be an int"
    ):
        GatedFusion([3.0], 4)
    with pytest.raises(TypeError, match="out_dim must be an int"):
        GatedFusion([3], True)
    with pytest.raises(ValueError, match="on_all_missing"):
        GatedFusion([3], 4, on_all_missing="zeros")
    with pytest.raises(ValueError, match="fusion must be"):
        make_fusion("sum", [3], 4)


def test_attention_with_external_query():
    torch.manual_seed(0)
    att = AttentionFusion(DIMS, 6, query_dim=4)
    xs = inputs()
    q1, q2 = torch.randn(4, 4), torch.randn(4, 4)
    w1, w2 = att(xs, query=q1).weights, att(xs, query=q2).weights
    assert not torch.allclose(w1, w2)  # different users attend differently
    with pytest.raises(ValueError, match="query must be"):
        att(xs)
    with pytest.raises(ValueError, match="nan"):
        att(xs, query=torch.full((4, 4), float("nan")))
    with pytest.raises(ValueError, match="learned query"):
        AttentionFusion(DIMS, 6)(xs, query=q1)


def test_same_seed_same_module():
    a, b = build("attention"), build("attention")
    assert_close(a(inputs()).vector, b(inputs()).vector, rtol=0, atol=0)


# ------------------------------------------------------------------ towers and cold start
def test_item_tower_masks_unknown_ids_and_missing_content():
    content = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    image = np.full((6, 2), np.nan, dtype=np.float32)
    image[:3] = 1.0  # items 3..5 have no picture (nan rows, masked)
    fmask = np.c_[np.ones(6, bool), np.arange(6) < 3]
    torch.manual_seed(0)
    tower = MultimodalItemTower(
        6, [content, image], feature_mask=fmask, id_dim=4, out_dim=5, known_items=[0, 3]
    )
    out = tower(torch.arange(6))
    assert out.vector.shape == (6, 5) and out.weights.shape == (6, 3)
    assert torch.isfinite(out.vector).all()
    np.testing.assert_array_equal(out.weights[:, 0] > 0, [1, 0, 0, 1, 0, 0])  # ID
    np.testing.assert_array_equal(out.weights[:, 2] > 0, [1, 1, 1, 0, 0, 0])  # image
    assert tower.modality_names == ["id", "m1", "m2"]
    assert tower.all_items().shape == (6, 5)
    with pytest.raises(ValueError, match="item_ids holds id 6"):
        tower(torch.tensor([6]))
    with pytest.raises(TypeError, match="integer ids"):
        tower(torch.tensor([0.0]))
    assert tower([0, 1]).vector.shape == (2, 5)  # a list of ids is fine
    with pytest.raises(ValueError, match="id_dropout must be < 1"):
        MultimodalItemTower(6, [content], id_dropout=1.0)
    with pytest.raises(ValueError, match="empty"):
        tower(torch.tensor([], dtype=torch.int64))
    with pytest.raises(ValueError, match=r"features\[1\] of item 3 has nan"):
        MultimodalItemTower(6, [content, image])
    with pytest.raises(ValueError, match="shape"):
        MultimodalItemTower(7, [content])


def test_item_with_nothing_uses_learned_vector_or_errors():
    content = np.ones((2, 3), dtype=np.float32)
    fmask = np.array([[True], [False]])
    tower = MultimodalItemTower(2, [content], feature_mask=fmask, known_items=[0])
    out = tower(torch.tensor([1]))
    assert_close(out.vector[0], tower.fusion.missing)
    strict = MultimodalItemTower(
        2, [content], feature_mask=fmask, known_items=[0], on_all_missing="error"
    )
    with pytest.raises(ValueError, match="every modality missing"):
        strict(torch.tensor([1]))
