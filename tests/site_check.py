"""Check the built site as a reader's browser would load it, offline.

Usage: python tests/site_check.py _build/html

Fails (exit 1) if a page links to a local file that does not exist, if the
table of contents is missing a chapter, or if a page would fetch MathJax from
the network. External links (http/https) are not followed: the build machines
are offline.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def check(site: Path) -> list[str]:
    problems = []
    index = site / "index.html"
    if not index.exists():
        return [f"{index} does not exist: run `make book` first"]
    # _static holds theme templates (Jinja macros), not pages.
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)
    for page in pages:
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        for link in parser.links:
            url = urlparse(link)
            if url.scheme in (
                "http",
                "https",
                "mailto",
                "data",
                "javascript",
            ) or link.startswith("#"):
                continue
            target = (page.parent / unquote(url.path)).resolve()
            if url.path and not target.exists():
                problems.append(f"{page.relative_to(site)}: broken local link {link}")
    chapter = site / "notebooks" / "01_recommendation_problem.html"
    if not chapter.exists():
        problems.append("chapter 1 page is missing")
    else:
        text = chapter.read_text(encoding="utf-8")
        if not re.search(r"_static/mathjax/tex-chtml\.js", text):
            problems.append("chapter 1 does not load the vendored MathJax")
        if "Part I: Foundations" not in text:
            problems.append("the table of contents (parts) is missing from chapter 1")
    return problems


if __name__ == "__main__":
    site = Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html")
    found = check(site)
    for p in found:
        print(p)
    n_pages = len(list(site.rglob("*.html")))
    print(f"site check: {n_pages} pages, {len(found)} problems")
    sys.exit(1 if found else 0)
