"""The library's shape (ARCHITECTURE.md): layers without cycles, small files, public faces."""

import ast
import importlib
from collections import defaultdict
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parent.parent / "recsys_lib"
MAX_LINES = 620  # "about 600": one file holds one idea a reader can take in


def _module(path: Path) -> str:
    parts = list(path.relative_to(LIB.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(module: str) -> str:
    """``recsys_lib.data.splits`` -> ``data``; ``recsys_lib.apps.support.x`` -> ``apps.support``."""
    parts = module.split(".")[1:]
    if not parts:
        return "recsys_lib"
    if parts[0] == "apps" and len(parts) > 1:
        return "apps." + parts[1]
    return parts[0]


def _imports():
    """(importing module, imported module, imported names) for every recsys_lib import."""
    for path in LIB.rglob("*.py"):
        here = _module(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = here.split(".")
                if path.name != "__init__.py":
                    base = base[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("recsys_lib"):
                yield here, target, [a.name for a in node.names]


def test_no_cycles_between_packages():
    graph = defaultdict(set)
    for here, target, _ in _imports():
        a, b = _package(here), _package(target)
        if a != b and b != "recsys_lib":
            graph[a].add(b)
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError(f"import cycle: {' -> '.join([*trail, nxt])}")
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_no_private_name_crosses_a_package():
    crossing = [
        f"{here} imports {name} from {target}"
        for here, target, names in _imports()
        for name in names
        if name.startswith("_")
        and not name.startswith("__")
        and _package(here) != _package(target)
    ]
    assert not crossing, crossing


def test_files_stay_small():
    big = {
        str(p.relative_to(LIB)): n
        for p in LIB.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not big, f"split these files (over {MAX_LINES} lines): {big}"


PACKAGES = [
    "recsys_lib",
    "recsys_lib.apps.sentiment",
    "recsys_lib.apps.support",
    "recsys_lib.data",
    "recsys_lib.eval",
    "recsys_lib.features",
    "recsys_lib.models",
    "recsys_lib.online",
    "recsys_lib.retrieval",
    "recsys_lib.serving",
    "recsys_lib.trust",
    "recsys_lib.tuning",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_package_lists_its_public_api(name):
    package = importlib.import_module(name)
    assert package.__doc__ and "Chapter" in package.__doc__
    assert package.__all__, f"{name} has no __all__"
    missing = [n for n in package.__all__ if not hasattr(package, n)]
    assert not missing, f"{name}.__all__ names what it lacks: {missing}"
