"""``python -m recsys_lib.exercises grade NOTEBOOK.ipynb ... [--execute]``: print the grades."""

from __future__ import annotations

import argparse
import sys

from recsys_lib.exercises.grading import grade_notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys_lib.exercises")
    sub = parser.add_subparsers(dest="command", required=True)
    grade = sub.add_parser("grade", help="grade submitted chapter notebooks")
    grade.add_argument("notebooks", nargs="+", help=".ipynb files")
    grade.add_argument(
        "--execute",
        action="store_true",
        help="re-run each notebook first (recommended)",
    )
    args = parser.parse_args(argv)
    for path in args.notebooks:
        table = grade_notebook(path, execute=args.execute)
        print(f"{path}: {int(table['points'].sum())} of {len(table)} exercises")
        print(
            table.to_string(index=False)
            if len(table)
            else "  (no exercise checks found)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
