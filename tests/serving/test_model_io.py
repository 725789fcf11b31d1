"""Tests of recsys_lib.serving.model_io: safe bundles."""

import json

import numpy as np
import pytest
import torch

from recsys_lib.serving import load_service, save_service

from .helpers import N_USERS, tiny_service


def test_round_trip_gives_the_same_recommendations(tmp_path):
    service = tiny_service()
    save_service(service, tmp_path / "bundle")
    loaded = load_service(tmp_path / "bundle")
    assert loaded.n_candidates == service.n_candidates
    for user in (0, 3, N_USERS - 1, N_USERS + 4):
        a, b = service.recommend(user, 5), loaded.recommend(user, 5)
        np.testing.assert_array_equal(a.items, b.items)
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6)
    np.testing.assert_array_equal(loaded.catalog.images, service.catalog.images)
    assert loaded.catalog.titles == service.catalog.titles
    assert loaded.ranker is not None and not loaded.ranker.training


def test_overrides_and_no_ranker(tmp_path):
    save_service(tiny_service(ranker=False), tmp_path / "b")
    loaded = load_service(tmp_path / "b", n_candidates=10)
    assert loaded.ranker is None and loaded.n_candidates == 10


def test_bundle_files_are_data_only(tmp_path):
    folder = save_service(tiny_service(), tmp_path / "b")
    state = torch.load(folder / "two_tower.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    with np.load(folder / "arrays.npz", allow_pickle=False) as a:
        assert set(a.files) == {
            "prices",
            "categories",
            "images",
            "in_stock",
            "popularity",
        }


def test_tampered_or_missing_files_are_refused(tmp_path):
    folder = save_service(tiny_service(), tmp_path / "b")
    state = torch.load(folder / "ranker.pt", weights_only=True)
    state["mlp.0.bias"] += 1.0
    torch.save(state, folder / "ranker.pt")
    with pytest.raises(ValueError, match="ranker.pt does not match the manifest"):
        load_service(folder)
    (folder / "ranker.pt").unlink()
    with pytest.raises(FileNotFoundError, match="ranker.pt"):
        load_service(folder)


def test_pickled_code_is_not_executed(tmp_path):
    folder = save_service(tiny_service(), tmp_path / "b")

    class Evil:
        def __reduce__(self):
            return (print, ("this code ran",))

    torch.save({"x": Evil()}, folder / "two_tower.pt")
    manifest = json.loads((folder / "manifest.json").read_text())
    import hashlib

    manifest["sha256"]["two_tower.pt"] = hashlib.sha256(
        (folder / "two_tower.pt").read_bytes()
    ).hexdigest()  # an attacker who can also edit the manifest
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(Exception, match="[Ww]eights only load failed|Unsupported"):
        load_service(folder)


def test_bad_paths_and_formats(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model bundle"):
        load_service(tmp_path)
    with pytest.raises(TypeError, match="path must be"):
        load_service(3)
    with pytest.raises(TypeError, match="service must be a ShopService"):
        save_service("model", tmp_path)
    folder = save_service(tiny_service(), tmp_path / "b")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["version"] = 99
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="not a version-1"):
        load_service(folder)
