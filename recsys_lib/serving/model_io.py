"""Saving and loading a served model bundle safely.

Introduced in Chapter 12 ("Serving and scaling out"). A service should never
execute code it loads: ``pickle`` (and ``torch.load`` without
``weights_only=True``) runs whatever the file says. A bundle here is a folder
of data-only files:

* ``manifest.json`` -- the format version, the models' configurations, the
  service settings, the catalog's texts and the SHA-256 of every other file;
* ``two_tower.pt`` / ``ranker.pt`` -- ``state_dict``\\ s, read back with
  ``torch.load(..., weights_only=True)`` (tensors only);
* ``arrays.npz`` -- prices, categories, images, stock and popularity, read
  with ``numpy.load(..., allow_pickle=False)``.

:func:`load_service` checks every hash before reading anything, so a
truncated copy or a swapped file is an error with the file's name, not a
silently different model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from ..models import FeatureMLPRanker, RankerConfig
from ..retrieval import TwoTowerConfig, TwoTowerModel
from .service import Catalog, ShopService

__all__ = ["BUNDLE_FORMAT", "load_service", "save_service"]

#: the ``format`` field of a bundle's manifest (with ``version`` 1).
BUNDLE_FORMAT = "recsys-serving-bundle"
_VERSION = 1
_TABLES = ("user_table", "item_table")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _folder(path, must_exist: bool) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or Path, got {type(path).__name__}")
    folder = Path(path)
    if must_exist and not (folder / "manifest.json").is_file():
        raise FileNotFoundError(f"no model bundle at {folder} (manifest.json missing)")
    return folder


def save_service(service: ShopService, path) -> Path:
    """Write ``service``'s models, catalog and settings to the folder ``path``.

    Introduced in Chapter 12. The folder is created if needed; existing
    bundle files in it are overwritten. Returns the folder.

    Raises:
        TypeError: if ``service`` is not a :class:`ShopService`.
    """
    if not isinstance(service, ShopService):
        raise TypeError(f"service must be a ShopService, got {type(service).__name__}")
    folder = _folder(path, must_exist=False)
    folder.mkdir(parents=True, exist_ok=True)
    files = {"two_tower.pt": service.two_tower.state_dict()}
    if service.ranker is not None:
        files["ranker.pt"] = service.ranker.state_dict()
    for name, state in files.items():
        torch.save({k: v.detach().cpu() for k, v in state.items()}, folder / name)
    c = service.catalog
    np.savez(
        folder / "arrays.npz",
        prices=c.prices,
        categories=c.categories,
        images=c.images,
        in_stock=c.in_stock,
        popularity=service.popularity,
    )
    manifest = {
        "format": BUNDLE_FORMAT,
        "version": _VERSION,
        "two_tower_config": dataclasses.asdict(service.two_tower.cfg),
        "ranker_config": None
        if service.ranker is None
        else dataclasses.asdict(service.ranker.cfg),
        "service": {
            "n_candidates": service.n_candidates,
            "max_per_category": service.max_per_category,
            "index": service.index,
            "popularity_share": service.popularity_share,
        },
        "titles": c.titles,
        "category_names": c.category_names,
        "sha256": {name: _sha256(folder / name) for name in [*files, "arrays.npz"]},
    }
    with open(folder / "manifest.json", "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
    return folder


def _load_state(module: torch.nn.Module, path: Path) -> None:
    state = torch.load(path, map_location="cpu", weights_only=True)  # tensors only
    for name in _TABLES:  # buffers that are None until a table is set
        if name in state and getattr(module, name, None) is None:
            setattr(module, name, torch.empty_like(state[name]))
    module.load_state_dict(state, strict=True)
    module.eval()


def load_service(path, **overrides) -> ShopService:
    """Read a bundle written by :func:`save_service` and build the service.

    Introduced in Chapter 12. Only data is read: ``torch.load`` with
    ``weights_only=True`` and ``numpy.load`` with ``allow_pickle=False``.

    Args:
        path: the bundle folder.
        **overrides: :class:`ShopService` settings to change, e.g.
            ``index="hnsw"``.

    Raises:
        FileNotFoundError: no bundle there, or a listed file is missing.
        ValueError: an unknown format or version, or a file whose SHA-256
            differs from the manifest's (corrupt or replaced).
    """
    folder = _folder(path, must_exist=True)
    with open(folder / "manifest.json", encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest.get("format") != BUNDLE_FORMAT or manifest.get("version") != _VERSION:
        raise ValueError(
            f"{folder} is not a version-{_VERSION} {BUNDLE_FORMAT} (format "
            f"{manifest.get('format')!r}, version {manifest.get('version')!r})"
        )
    for name, digest in manifest["sha256"].items():
        file = folder / name
        if not file.is_file():
            raise FileNotFoundError(f"the bundle lists {name} but {file} is missing")
        if _sha256(file) != digest:
            raise ValueError(
                f"{file} does not match the manifest's SHA-256: the file is corrupt "
                "or was replaced; refusing to load it"
            )
    two_tower = TwoTowerModel(TwoTowerConfig(**manifest["two_tower_config"]))
    _load_state(two_tower, folder / "two_tower.pt")
    ranker = None
    if manifest["ranker_config"] is not None:
        ranker = FeatureMLPRanker(RankerConfig(**manifest["ranker_config"]))
        _load_state(ranker, folder / "ranker.pt")
    with np.load(folder / "arrays.npz", allow_pickle=False) as a:
        arrays = {key: a[key] for key in a.files}
    catalog = Catalog(
        titles=manifest["titles"],
        prices=arrays["prices"],
        categories=arrays["categories"],
        category_names=manifest["category_names"],
        images=arrays["images"],
        in_stock=arrays["in_stock"],
    )
    settings = {**manifest["service"], **overrides}
    return ShopService(two_tower, ranker, catalog, arrays["popularity"], **settings)
