"""Caser's encoder: the matrix-product form equals the convolutions it replaces."""

import pytest
import torch
import torch.nn.functional as F

from recsys_lib.models import Caser, CaserConfig


def _encode_with_conv2d(model: Caser, windows: torch.Tensor) -> torch.Tensor:
    """The textbook form: ``Conv2d`` over the ``L x d`` image (Tang & Wang, 2018)."""
    N = windows.shape[0]
    E = model.item_emb(windows).unsqueeze(1)  # (N, 1, L, d)
    parts = []
    if model.conv_v is not None:
        parts.append(model.conv_v(E).reshape(N, -1))
    for conv in model.conv_h:
        c = F.relu(conv(E).squeeze(3))  # (N, n_h, L - h + 1)
        parts.append(c.max(dim=2).values)
    return F.relu(model.fc(model.drop(torch.cat(parts, dim=1))))


@pytest.mark.parametrize(
    "seed, window, n_h, n_v, n_rows, highest_id",
    [
        (0, 4, 3, 2, 25, 30),  # the padding id (n_items) included
        (1, 3, 2, 0, 10, 29),  # without vertical filters
    ],
    ids=["with-vertical-filters", "without-vertical-filters"],
)
def test_encoder_matches_conv2d(seed, window, n_h, n_v, n_rows, highest_id):
    torch.manual_seed(seed)
    cfg = CaserConfig(
        n_items=30, n_users=4, window=window, dim=8, n_h=n_h, n_v=n_v, dropout=0.0
    )
    model = Caser(cfg).eval()
    windows = torch.randint(0, highest_id + 1, (n_rows, cfg.window))
    with torch.no_grad():
        assert torch.allclose(
            model._encode(windows), _encode_with_conv2d(model, windows), atol=1e-6
        )


def test_encoder_gradients_match_conv2d():
    torch.manual_seed(2)
    cfg = CaserConfig(n_items=20, n_users=3, window=3, dim=6, n_h=2, n_v=2, dropout=0.0)
    model = Caser(cfg)
    windows = torch.randint(0, cfg.n_items, (7, cfg.window))
    model._encode(windows).sum().backward()
    ours = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    model.zero_grad()
    _encode_with_conv2d(model, windows).sum().backward()
    ref = [p.grad for p in model.parameters() if p.grad is not None]
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref, strict=True):
        assert torch.allclose(a, b, atol=1e-6)
