"""scripts/book_config.py: the launch and repository buttons point at a real repository."""

import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location(
    "book_config", ROOT / "scripts" / "book_config.py"
)
book_config = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(book_config)


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("git@github.com:ana/recsys-book.git", "https://github.com/ana/recsys-book"),
        (
            "https://github.com/ana/recsys-book.git",
            "https://github.com/ana/recsys-book",
        ),
        ("https://gitlab.com/ana/book/", "https://gitlab.com/ana/book"),
        ("/home/ana/recsys-book", ""),  # a local path is not a web address
        ("", ""),
    ],
)
def test_normalize(raw, url):
    assert book_config.normalize(raw) == url


def test_buttons_only_with_a_repository(tmp_path):
    out = tmp_path / "_config.yml"
    assert (
        book_config.main(["--repo-url", "git@github.com:ana/b.git", "--out", str(out)])
        == 0
    )
    with_repo = yaml.safe_load(out.read_text())
    assert with_repo["repository"]["url"] == "https://github.com/ana/b"
    assert with_repo["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert "colab_url" not in with_repo["launch_buttons"]
    assert with_repo["html"]["use_repository_button"] is True
    bare = book_config.book_config("")
    assert "repository" not in bare and "launch_buttons" not in bare
    assert bare["html"]["use_repository_button"] is False
    assert bare["title"] == with_repo["title"]  # everything else is _config.yml
    assert book_config.main(["--repo-url", "not a url", "--out", str(out)]) == 2
