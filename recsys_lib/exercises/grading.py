"""Grade submitted chapter notebooks from their exercise verdicts.

Introduced in the instructors' page (``book/instructors.md``). A learner's
notebook calls ``check_exercise("chNN.exK", answer)`` once per exercise, which
prints one verdict line: ``[ok] chNN.exK (title): correct ...`` or
``[..] chNN.exK (title): not yet ...``. Grading reads those lines from the
learner's own cells, never from the opt-in solution cells, and flags answer
cells that call the reference solution instead of answering.

Stored outputs can be edited by hand, so for marks that count, re-run the
notebook first (``execute=True``, or ``--execute`` on the command line); it runs
with solutions disabled, exactly as a learner's notebook does.

Command line::

    python -m recsys_lib.exercises grade submissions/*.ipynb --execute
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd

from recsys_lib.exercises import SOLUTIONS_ENV, all_exercises

__all__ = ["grade_notebook", "notebook_verdicts"]

_VERDICT = re.compile(r"^\[(ok|\.\.)\] (ch\d\d\.ex\d+) \(")
_CHECK_CALL = re.compile(r"check_exercise\(\s*[\"'](ch\d\d\.ex\d+)[\"']")
_COPIES = re.compile(r"\b(solution|show_solution)\s*\(")
_SOLUTION_CELL = re.compile(r"^\s*if\s+solutions_enabled\(")


def _text_of(output: dict) -> str:
    if output.get("output_type") == "stream":
        text = output.get("text", "")
    else:
        text = output.get("data", {}).get("text/plain", "")
    return "".join(text) if isinstance(text, list) else str(text)


def _execute(nb: dict, path: Path, timeout: int) -> dict:
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError as err:  # pragma: no cover - part of the dev install
        raise ImportError(
            "grading with execute=True needs nbclient and nbformat "
            "(installed with the book's dev extras: pip install -e '.[dev]')"
        ) from err
    node = nbformat.from_dict(nb)
    saved = os.environ.pop(SOLUTIONS_ENV, None)  # a learner's run: solutions hidden
    try:
        NotebookClient(
            node,
            timeout=timeout,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    finally:
        if saved is not None:
            os.environ[SOLUTIONS_ENV] = saved
    return json.loads(nbformat.writes(node))


def notebook_verdicts(nb: dict) -> pd.DataFrame:
    """One row per exercise check found in a notebook's learner cells.

    Args:
        nb: the notebook as a dict (``json.load`` of an ``.ipynb`` file).

    Returns:
        A frame with columns ``exercise``, ``status`` (``correct``, ``not yet``,
        ``no answer`` or ``not run``) and ``uses_reference`` (the cell calls
        ``solution(...)`` or ``show_solution(...)``).

    Raises:
        ValueError: if ``nb`` is not a notebook.
    """
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError(
            "nb must be a notebook dict with a 'cells' list (json.load of an .ipynb)"
        )
    rows = {}
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", ""))
        if _SOLUTION_CELL.match(source):
            continue  # the opt-in reference solution, not the learner's work
        for exercise in _CHECK_CALL.findall(source):
            rows[exercise] = {
                "exercise": exercise,
                "status": "not run",
                "uses_reference": bool(_COPIES.search(source)),
            }
        for output in cell.get("outputs", []):
            for line in _text_of(output).splitlines():
                match = _VERDICT.match(line)
                if match and match.group(2) in rows:
                    ok, exercise = match.groups()
                    rows[exercise]["status"] = (
                        "correct"
                        if ok == "ok"
                        else "no answer"
                        if "no answer yet" in line
                        else "not yet"
                    )
    return pd.DataFrame(rows.values(), columns=["exercise", "status", "uses_reference"])


def grade_notebook(
    path: str | Path, *, execute: bool = False, timeout: int = 1800
) -> pd.DataFrame:
    """Grade one submitted notebook.

    Args:
        path: the ``.ipynb`` file.
        execute: re-run the notebook (solutions disabled) before reading the
            verdicts; recommended, since stored outputs can be edited.
        timeout: seconds per cell when executing.

    Returns:
        :func:`notebook_verdicts` plus a ``title`` column and a ``points`` column
        (1 for a correct answer that does not call the reference solution).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if it is not a notebook.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not a notebook (invalid JSON: {err})") from err
    if execute:
        nb = _execute(nb, path, timeout)
    table = notebook_verdicts(nb)
    titles = {ex.id: ex.title for ex in all_exercises()}
    table.insert(1, "title", table["exercise"].map(titles).fillna("(unknown exercise)"))
    table["points"] = (
        (table["status"] == "correct") & ~table["uses_reference"]
    ).astype(int)
    return table
