from pathlib import Path

import pytest

from recsys_lib import config


def test_mode_default_when_unset(monkeypatch):
    monkeypatch.delenv(config.MODE_ENV_VAR, raising=False)
    assert config.get_mode() == "default"
    assert not config.is_full()
    assert config.by_mode(default=3, full=50) == 3


@pytest.mark.parametrize("raw", ["full", " FULL ", "Full"])
def test_mode_full(monkeypatch, raw):
    monkeypatch.setenv(config.MODE_ENV_VAR, raw)
    assert config.get_mode() == "full"
    assert config.by_mode(default=3, full=50) == 50


def test_mode_empty_means_default(monkeypatch):
    monkeypatch.setenv(config.MODE_ENV_VAR, "  ")
    assert config.get_mode() == "default"


@pytest.mark.parametrize("raw", ["ful", "big", "1"])
def test_unknown_mode_is_an_error(monkeypatch, raw):
    monkeypatch.setenv(config.MODE_ENV_VAR, raw)
    with pytest.raises(ValueError, match="RECSYS_MODE.*not a known mode"):
        config.get_mode()


def test_data_dir_from_env(monkeypatch, tmp_path):
    target = tmp_path / "cache" / "nested"
    monkeypatch.setenv(config.DATA_DIR_ENV_VAR, str(target))
    assert config.data_dir() == target
    assert target.is_dir()


def test_data_dir_no_create(monkeypatch, tmp_path):
    target = tmp_path / "absent"
    monkeypatch.setenv(config.DATA_DIR_ENV_VAR, str(target))
    assert config.data_dir(create=False) == target
    assert not target.exists()


def test_data_dir_default_inside_repo(monkeypatch):
    monkeypatch.delenv(config.DATA_DIR_ENV_VAR, raising=False)
    assert config.data_dir(create=False) == config.REPO_ROOT / "data" / "cache"


def test_data_dir_pointing_at_file_is_an_error(monkeypatch, tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    monkeypatch.setenv(config.DATA_DIR_ENV_VAR, str(f))
    with pytest.raises(ValueError, match="points at a file"):
        config.data_dir()


def test_column_constants_are_distinct():
    names = [getattr(config, n) for n in dir(config) if n.endswith("_COL")]
    assert len(names) == len(set(names)) >= 10


def test_data_dir_default_in_a_checkout_is_the_repo_cache(monkeypatch, tmp_path):
    """Running from a checkout (the package next to pyproject.toml)."""
    monkeypatch.delenv(config.DATA_DIR_ENV_VAR, raising=False)
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    assert config.default_data_dir() == tmp_path / "data" / "cache"
    assert config.data_dir() == tmp_path / "data" / "cache"
    assert (tmp_path / "data" / "cache").is_dir()


def test_data_dir_default_when_installed_is_the_user_cache(monkeypatch, tmp_path):
    """An installed copy (no pyproject.toml beside the package) uses platformdirs."""
    platformdirs = pytest.importorskip("platformdirs")
    monkeypatch.delenv(config.DATA_DIR_ENV_VAR, raising=False)
    site = tmp_path / "site-packages"  # what sits above an installed recsys_lib/
    site.mkdir()
    monkeypatch.setattr(config, "REPO_ROOT", site)
    user_cache = tmp_path / "home" / ".cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(user_cache))  # read on Linux
    expected = Path(platformdirs.user_cache_dir(config.APP_NAME))
    assert config.default_data_dir() == expected
    assert config.data_dir(create=False) == expected
    assert not (site / "data").exists()
    if expected.is_relative_to(user_cache):  # Linux: nothing written outside tmp
        assert config.data_dir() == user_cache / "recsys-book" and expected.is_dir()


def test_default_data_dir_pointing_at_file_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv(config.DATA_DIR_ENV_VAR, raising=False)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cache").write_text("not a folder")
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    with pytest.raises(ValueError, match="is a file.*RECSYS_DATA_DIR"):
        config.data_dir()
