"""Tests of recsys_lib.serving.export: the ranker as ONNX and torch.export."""

import numpy as np
import pytest
import torch

from recsys_lib.models import FeatureMLPRanker, RankerConfig
from recsys_lib.serving import RankerGraph, export_ranker, load_exported

from .helpers import N_ITEMS, N_USERS, tiny_service


def _all_pairs():
    u = np.repeat(np.arange(N_USERS), N_ITEMS)
    i = np.tile(np.arange(N_ITEMS), N_USERS)
    return u, i


def _eager(ranker, u, i):
    with torch.no_grad():
        return ranker(torch.from_numpy(u), torch.from_numpy(i)).numpy()


def test_graph_equals_eager():
    ranker = tiny_service().ranker
    u, i = _all_pairs()
    with torch.no_grad():
        g = RankerGraph(ranker)(torch.from_numpy(u), torch.from_numpy(i)).numpy()
    np.testing.assert_allclose(g, _eager(ranker, u, i), atol=1e-6)


@pytest.mark.parametrize("fmt, suffix", [("onnx", ".onnx"), ("torch_export", ".pt2")])
def test_export_equals_eager_for_any_batch(tmp_path, fmt, suffix):
    ranker = tiny_service().ranker
    path = export_ranker(ranker, tmp_path / f"ranker{suffix}", fmt)
    f = load_exported(path)
    u, i = _all_pairs()
    assert np.abs(f(u, i) - _eager(ranker, u, i)).max() < 1e-5
    assert f(u[:1], i[:1]).shape == (1,)  # the batch size is dynamic


def test_graph_without_ids_or_features():
    cfg = RankerConfig.tiny(N_USERS, N_ITEMS, context_dim=0, id_dim=0)
    ranker = FeatureMLPRanker(cfg).set_feature_tables(
        torch.randn(N_USERS, 3), torch.randn(N_ITEMS, 5)
    )
    ranker.eval()
    u, i = _all_pairs()
    with torch.no_grad():
        g = RankerGraph(ranker)(torch.from_numpy(u), torch.from_numpy(i)).numpy()
    np.testing.assert_allclose(g, _eager(ranker, u, i), atol=1e-6)


def test_bad_input(tmp_path):
    ranker = tiny_service().ranker
    with pytest.raises(TypeError, match="FeatureMLPRanker"):
        RankerGraph("ranker")
    with pytest.raises(ValueError, match="context"):
        RankerGraph(FeatureMLPRanker(RankerConfig.tiny(N_USERS, N_ITEMS)))
    no_tables = FeatureMLPRanker(RankerConfig.tiny(N_USERS, N_ITEMS, context_dim=0))
    with pytest.raises(ValueError, match="set_feature_tables"):
        RankerGraph(no_tables)
    with pytest.raises(ValueError, match="fmt must be one of"):
        export_ranker(ranker, tmp_path / "r.x", "tflite")
    with pytest.raises(FileNotFoundError, match="no exported ranker"):
        load_exported(tmp_path / "missing.onnx")
    (tmp_path / "r.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="cannot tell the format"):
        load_exported(tmp_path / "r.bin")
    f = load_exported(export_ranker(ranker, tmp_path / "r.onnx"))
    with pytest.raises(ValueError, match="one length"):
        f([0, 1], [0])
