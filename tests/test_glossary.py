"""The glossary is an index: every term links to a chapter that uses it (book/glossary.md)."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "book" / "glossary.md"
LINK = re.compile(r"\{doc\}`[^<`]*<([^>]+)>`")
# Jargon the chapters rely on; each must have a row (issue: "glossary as an index").
REQUIRED = [
    "logQ",
    "MMR",
    "EASE",
    "NDCG",
    "propensity",
    "CUSUM",
    "BPR",
    "SASRec",
    "cold start",
]


def _rows():
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("English", "---"):
            rows.append(cells)
    return rows


def _page_text(target: str) -> str:
    path = (GLOSSARY.parent / target).resolve()
    for suffix in (".ipynb", ".md"):
        if path.with_suffix(suffix).exists():
            path = path.with_suffix(suffix)
            break
    else:
        raise AssertionError(f"glossary link {target!r} leads to no page")
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return " ".join("".join(c["source"]) for c in cells)
    return path.read_text(encoding="utf-8")


def _norm(text: str) -> str:
    """Lower case, hyphens as spaces, British -ise spellings as -ize (for matching only)."""
    text = text.lower().replace("-", " ")
    return re.sub(r"(?<=[a-z])is(e|ed|es|ing|ation|ations)\b", r"iz\1", text)


def _spellings(english: str) -> list[str]:
    """'approximate nearest neighbour (ANN)' -> the full term, the term without the
    parenthesis, and the acronym; 'IPS / SNIPS' -> each alternative; a one-word term
    also by its stem ('overfitting' -> 'overfitt', 'regularization' -> 'regulariz')."""
    out = []
    for part in english.split(" / "):
        out.append(part)
        out += re.findall(r"\(([^)]+)\)", part)
        out.append(re.sub(r"\s*\([^)]*\)", "", part))
    out = [_norm(s.strip()) for s in out if s.strip()]
    stems = [re.sub(r"(ing|ation|@k)$", "", s) for s in out if " " not in s]
    return out + [s for s in stems if len(s) >= 5]


ROWS = _rows()


def test_glossary_has_rows_and_required_terms():
    assert len(ROWS) >= 60
    terms = " | ".join(r[0] for r in ROWS).lower()
    missing = [t for t in REQUIRED if t.lower() not in terms]
    assert not missing, f"add these to book/glossary.md: {missing}"
    names = [r[0].lower() for r in ROWS]
    assert len(names) == len(set(names)), "a term appears twice"
    assert names == sorted(names), "keep the glossary in alphabetical order"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r[0])
def test_each_term_links_to_a_page_that_uses_it(row):
    english, chinese, meaning, where = row
    assert chinese and meaning, f"{english}: Chinese term and meaning are required"
    targets = LINK.findall(where)
    assert targets, f"{english}: no {{doc}} link to the chapter that introduces it"
    for target in targets:
        text = _norm(_page_text(target))
        assert any(s in text for s in _spellings(english)), (
            f"{english!r} does not occur on {target}; link the chapter that introduces it"
        )
