"""Tests of recsys_lib.data.sources: the generic steps of every source chain."""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from recsys_lib.data import sources
from recsys_lib.data.sources import DatasetError, Expected, SourceUnavailable

from .helpers import UNREACHABLE, needs_pooch, sha


# ============================================================ files and hashes
def test_sha256_of_file(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    assert sources.sha256_file(p) == sha(b"abc")


def test_expected_labels_and_content_check(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    assert Expected({sha(b"abc"): "official"}).match(p) == "official"
    assert Expected({sha(b"x"): "official"}).match(p) is None
    other = Expected({sha(b"x"): "a"}, content=lambda path: "same content")
    assert other.match(p) == "same content" and other.single() is None
    assert Expected.of(sha(b"abc")).single() == sha(b"abc")
    assert "(or the same content)" in other.describe()


def test_corrupted_cached_file_is_deleted(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="corrupted"):
        assert sources.cached(p, sha(b"good")) is None
    assert not p.exists()
    p.write_bytes(b"good")
    assert sources.cached(p, sha(b"good")) == "cache"
    assert sources.cached(tmp_path / "missing", sha(b"good")) is None


def test_install_file_keeps_only_verified_copies(tmp_path):
    dest = tmp_path / "out" / "f.bin"
    assert sources.install_file(b"payload", dest, sha(b"payload")) == "download"
    assert dest.read_bytes() == b"payload"
    with pytest.raises(SourceUnavailable, match="sha256 .* refusing it"):
        sources.install_file(b"other", tmp_path / "g.bin", sha(b"payload"))
    assert not (tmp_path / "g.bin").exists()
    assert not list(tmp_path.rglob("*.part"))


# ==================================================================== download
@needs_pooch
def test_download_verifies_and_writes_atomically(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"payload")
    dest = tmp_path / "out" / "f.bin"
    assert sources.download(src.as_uri(), dest, sha(b"payload")) == "download"
    assert dest.read_bytes() == b"payload"
    with pytest.raises(SourceUnavailable, match="sha256"):
        sources.download(src.as_uri(), tmp_path / "g.bin", "0" * 64)
    assert not (tmp_path / "g.bin").exists()
    assert not list(tmp_path.rglob("*.part"))


@needs_pooch
def test_download_with_several_accepted_checksums(tmp_path):
    """An Expected with alternatives: pooch fetches, the labels decide."""
    src = tmp_path / "src.bin"
    src.write_bytes(b"debian copy")
    expected = Expected({sha(b"official"): "official", sha(b"debian copy"): "debian"})
    dest = tmp_path / "f.bin"
    assert sources.download(src.as_uri(), dest, expected) == "debian"
    src.write_bytes(b"neither")
    with pytest.raises(SourceUnavailable, match="refusing it"):
        sources.download(src.as_uri(), tmp_path / "g.bin", expected)
    assert not (tmp_path / "g.bin").exists()
    assert not list(tmp_path.rglob("*.part"))


@needs_pooch
def test_download_unreachable_fails_fast(tmp_path):
    start = time.perf_counter()
    with pytest.raises(SourceUnavailable, match="cannot download"):
        sources.download(
            UNREACHABLE + "x.zip", tmp_path / "x.zip", "0" * 64, timeout=1.0
        )
    assert time.perf_counter() - start < 5
    assert not (tmp_path / "x.zip").exists()
    assert not list(tmp_path.glob("*.part"))


@needs_pooch
def test_download_missing_local_file(tmp_path):
    with pytest.raises(SourceUnavailable, match="cannot download"):
        sources.download((tmp_path / "absent").as_uri(), tmp_path / "x", "0" * 64)


def test_download_without_pooch_names_the_pip_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pooch", None)
    with pytest.raises(SourceUnavailable, match="pip install pooch==1.9.0"):
        sources.download(UNREACHABLE + "x.zip", tmp_path / "x.zip", "0" * 64)


# ======================================================================= chain
def test_chain_returns_the_first_source_that_works():
    def broken():
        raise SourceUnavailable("host down")

    assert sources.run_chain("x", [("a", broken), ("b", lambda: 42)]) == ("b", 42)


def test_chain_error_names_the_command():
    def broken():
        raise SourceUnavailable("host down")

    with pytest.raises(DatasetError) as info:
        sources.run_chain("movielens-100k", [("official", broken), ("recbole", broken)])
    message = str(info.value)
    assert "official: host down" in message and "recbole: host down" in message
    assert "make data" in message
    assert "python -m recsys_lib.data fetch movielens-100k" in message


# ================================================================== pip wheels
def test_fetch_wheel_corrupted_copy_is_downloaded_again(tmp_cache, monkeypatch):
    wheel = tmp_cache / "_wheels" / "pkg-1.0-py3-none-any.whl"
    wheel.parent.mkdir(parents=True)
    wheel.write_bytes(b"garbage")
    calls = []

    def fake_pip(cmd, cwd=None, timeout=None):  # what `pip download -d DIR` does
        calls.append(cmd)
        assert cmd[1:4] == ["-m", "pip", "download"] and "pkg==1.0" in cmd
        (Path(cmd[cmd.index("-d") + 1]) / wheel.name).write_bytes(b"wheel")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(sources, "run", fake_pip)
    with pytest.warns(UserWarning, match="corrupted"):
        assert sources.fetch_wheel("pkg==1.0", wheel.name, sha(b"wheel")) == wheel
    assert len(calls) == 1 and wheel.read_bytes() == b"wheel"
    # valid now: no second pip call
    assert sources.fetch_wheel("pkg==1.0", wheel.name, sha(b"wheel")) == wheel
    assert len(calls) == 1


def test_fetch_wheel_failures_are_reported(tmp_cache, monkeypatch):
    monkeypatch.setattr(
        sources,
        "run",
        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", "ERROR: no network"),
    )
    with pytest.raises(SourceUnavailable, match="pip download pkg==1.0.*no network"):
        sources.fetch_wheel("pkg==1.0", "pkg-1.0-py3-none-any.whl", "0" * 64)
    monkeypatch.setattr(
        sources, "run", lambda cmd, **kw: subprocess.CompletedProcess(cmd, 0, "", "")
    )
    with pytest.raises(SourceUnavailable, match="did not produce"):
        sources.fetch_wheel("pkg==1.0", "pkg-1.0-py3-none-any.whl", "0" * 64)


# ==================================================================== apt-get
def _fake_apt(monkeypatch, script):
    """Replace `run` by a scripted apt-get; return the list of commands run."""
    calls = []

    def run(cmd, cwd=None, timeout=None):
        calls.append(" ".join(cmd))
        code, err = script(cmd, len(calls))
        if code == 0 and cmd[:2] == ["apt-get", "download"]:
            (Path(cwd) / f"{cmd[2]}_1.0-1_all.deb").write_bytes(b"deb")
        return subprocess.CompletedProcess(cmd, code, "", err)

    monkeypatch.setattr(sources, "run", run)
    monkeypatch.setattr(sources.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(sources, "APT_UPDATED", False)
    return calls


def test_apt_get_update_runs_once_when_lists_are_missing(tmp_path, monkeypatch):
    updated = []

    def script(cmd, n):
        if cmd[1] == "update":
            updated.append(n)
            return 0, ""
        return (0, "") if updated else (100, "E: Unable to locate package pkg")

    calls = _fake_apt(monkeypatch, script)
    monkeypatch.setattr(sources, "_is_root", lambda: True)
    deb = sources.apt_get_download("pkg", tmp_path)
    assert deb.name == "pkg_1.0-1_all.deb"
    assert calls == ["apt-get download pkg", "apt-get update", "apt-get download pkg"]
    # a second failure does not update again
    monkeypatch.setattr(
        sources,
        "run",
        lambda cmd, **kw: subprocess.CompletedProcess(
            cmd, 100, "", "E: Unable to locate package pkg"
        ),
    )
    with pytest.raises(SourceUnavailable, match="Unable to locate package"):
        sources.apt_get_download("pkg", tmp_path / "empty")


def test_apt_get_without_root_names_the_command(tmp_path, monkeypatch):
    calls = _fake_apt(
        monkeypatch, lambda cmd, n: (100, "E: Unable to locate package pkg")
    )
    monkeypatch.setattr(sources, "_is_root", lambda: False)
    with pytest.raises(SourceUnavailable, match="sudo apt-get update"):
        sources.apt_get_download("pkg", tmp_path)
    assert calls == ["apt-get download pkg"]


def test_apt_get_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(sources.shutil, "which", lambda name: None)
    with pytest.raises(SourceUnavailable, match="apt-get not found"):
        sources.apt_get_download("pkg", tmp_path)


def test_from_debian_prefers_an_installed_copy(tmp_cache, tmp_path, monkeypatch):
    system = tmp_path / "system"
    (system / "usr/share/x").mkdir(parents=True)
    (system / "usr/share/x/y.txt").write_text("hello")
    monkeypatch.setattr(sources, "SYSTEM_ROOT", system)
    monkeypatch.setattr(
        sources, "apt_get_download", lambda *a: pytest.fail("downloaded")
    )
    got = sources.from_debian(
        "pkg",
        ["usr/share/x/y.txt"],
        lambda paths: paths["usr/share/x/y.txt"].read_text(),
    )
    assert got == "hello"


def test_warnings_name_the_cached_file(tmp_path):
    p = tmp_path / "movies.rds"
    p.write_bytes(b"bad")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sources.cached(p, sha(b"good"))
    assert str(p) in str(caught[0].message)
