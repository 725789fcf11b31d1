"""The Open Bandit Dataset loader on a tiny fake obp archive (no network)."""

from __future__ import annotations

import io
import tarfile

import pandas as pd
import pytest

from recsys_lib.data import open_bandit as ob
from recsys_lib.data import sources
from recsys_lib.data.sources import DatasetError

from .helpers import UNREACHABLE, needs_pooch

HEADER = ",timestamp,item_id,position,click,propensity_score,user_feature_0\n"
LOGS = {
    "random": HEADER
    + "0,2019-11-24 00:00:34+00:00,1,1,0,0.5,a\n"
    + "1,2019-11-24 00:00:53+00:00,0,2,1,0.5,b\n",
    "bts": HEADER
    + "0,2019-11-24 00:00:17+00:00,0,1,1,0.9,a\n"
    + "1,2019-11-24 00:00:19+00:00,1,3,0,0.2,b\n",
}
ITEMS = ",item_id,item_feature_0\n0,0,0.5\n1,1,-0.5\n"
PRIOR = "all:\n  alpha:\n    - 3.0\n    - 1.0\n  beta:\n    - 10.0\n    - 20.0\n"


def _fake_archive(tmp_path, monkeypatch, drop: str | None = None):
    """A tar.gz shaped like obp-0.5.7's, with the fake shas patched in."""
    contents = {
        "random_all.csv": LOGS["random"],
        "bts_all.csv": LOGS["bts"],
        "item_context_all.csv": ITEMS,
        "prior_bts.yaml": PRIOR,
    }
    files = dict(ob.OPEN_BANDIT_FILES)
    path = tmp_path / "obp-0.5.7.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, text in contents.items():
            data = text.encode()
            files[name] = (files[name][0], sources.sha256_file(_write(tmp_path, data)))
            if name == drop:
                continue
            info = tarfile.TarInfo(files[name][0])
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    monkeypatch.setattr(ob, "OPEN_BANDIT_FILES", files)
    monkeypatch.setattr(ob, "OBP_SDIST_URL", path.as_uri())
    monkeypatch.setattr(ob, "OBP_SDIST_SHA256", sources.sha256_file(path))
    return path


def _write(tmp_path, data: bytes):
    p = tmp_path / "member.tmp"
    p.write_bytes(data)
    return p


@needs_pooch
def test_loads_from_the_archive_then_from_the_cache(tmp_cache, tmp_path, monkeypatch):
    _fake_archive(tmp_path, monkeypatch)
    data = ob.load_open_bandit()
    assert data.source == "pypi" and data.campaign == "all"
    assert data.random["position"].tolist() == [0, 1]  # 0-based
    assert data.bts["position"].tolist() == [0, 2]
    assert data.n_items == 2 and data.n_positions == 3
    assert data.bts_prior["alpha"].tolist() == [3.0, 1.0]
    assert data.bts_prior["beta"].tolist() == [10.0, 20.0]
    assert isinstance(data.random["timestamp"].dtype, pd.DatetimeTZDtype)
    assert list(data.item_context.columns) == ["item_id", "item_feature_0"]
    assert "random=2" in repr(data)

    def refuse(*args, **kwargs):
        raise AssertionError("downloaded although the cache is valid")

    monkeypatch.setattr(sources, "download", refuse)
    again = ob.load_open_bandit(source="cache")
    assert again.source == "cache"
    pd.testing.assert_frame_equal(again.bts, data.bts)


@needs_pooch
def test_corrupted_cache_file_is_fetched_again(tmp_cache, tmp_path, monkeypatch):
    _fake_archive(tmp_path, monkeypatch)
    ob.load_open_bandit()
    (tmp_cache / ob.OPEN_BANDIT / "bts_all.csv").write_text("tampered")
    with pytest.warns(UserWarning, match="corrupted"):
        data = ob.load_open_bandit()
    assert data.source == "pypi" and len(data.bts) == 2


@needs_pooch
def test_archive_with_a_wrong_sha256_is_refused(tmp_cache, tmp_path, monkeypatch):
    _fake_archive(tmp_path, monkeypatch)
    monkeypatch.setattr(ob, "OBP_SDIST_SHA256", "0" * 64)
    with pytest.raises(DatasetError, match="sha256"):
        ob.load_open_bandit()
    assert not (tmp_cache / ob.OPEN_BANDIT / "bts_all.csv").exists()


@needs_pooch
def test_archive_without_a_member_is_reported(tmp_cache, tmp_path, monkeypatch):
    _fake_archive(tmp_path, monkeypatch, drop="prior_bts.yaml")
    with pytest.raises(DatasetError, match="prior_bts.yaml"):
        ob.load_open_bandit()


def test_unreachable_and_cache_only(tmp_cache, monkeypatch):
    monkeypatch.setattr(ob, "OBP_SDIST_URL", UNREACHABLE + "obp.tar.gz")
    with pytest.raises(DatasetError, match="python -m recsys_lib.data fetch"):
        ob.load_open_bandit(source="cache")
    with pytest.raises(DatasetError, match="could not fetch open-bandit"):
        ob.load_open_bandit()


def test_bad_arguments(tmp_cache):
    with pytest.raises(ValueError, match="campaign"):
        ob.load_open_bandit("kids")
    with pytest.raises(ValueError, match="source"):
        ob.load_open_bandit(source="github")


def test_real_sample_in_the_cache(real_cache, monkeypatch):
    """The real files, if `make data` fetched them (skipped otherwise)."""
    folder = real_cache / ob.OPEN_BANDIT
    if not (folder / "bts_all.csv").is_file():
        pytest.skip("the Open Bandit sample is not in the cache (make data)")
    monkeypatch.setattr(sources, "download", None)
    data = ob.load_open_bandit(source="cache")
    assert len(data.random) == len(data.bts) == 10_000
    assert data.n_items == 80 and data.n_positions == 3
    assert (data.random["propensity_score"] == 1 / 80).all()
    assert data.random["click"].sum() == 38 and data.bts["click"].sum() == 42
