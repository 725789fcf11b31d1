"""The data-quality report: one row per cleaning step, so nothing disappears silently.

Introduced in Chapter 2. Every cleaning step of :mod:`recsys_lib.data` (and
every split) takes an optional ``report=``; pass a :class:`QualityReport` and
each step appends one row::

    step | rows_in | rows_out | removed | changed | reason

where ``removed == rows_in - rows_out`` and ``changed`` counts rows that were
kept but corrected (an ID normalised, a rating clipped, a row moved by a sort).
Without a report, a step that removes or changes rows prints a one-line note
instead (:func:`record`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd

__all__ = [
    "REPORT_COLUMNS",
    "QualityReport",
    "QualityStep",
    "check_report",
    "plural",
    "record",
]

REPORT_COLUMNS = ("step", "rows_in", "rows_out", "removed", "changed", "reason")


@dataclass(frozen=True)
class QualityStep:
    """One row of a :class:`QualityReport`.

    Attributes:
        step: name of the function (or method) that ran.
        rows_in: rows it received.
        rows_out: rows it returned.
        removed: ``rows_in - rows_out``.
        changed: rows kept but corrected -- an existing value altered (IDs
            normalised, ratings clipped) or the row moved by a sort. Pure
            filters, added columns and re-encodings (:class:`IdMapper`) count 0.
        reason: a sentence saying what was removed or changed and why.
    """

    step: str
    rows_in: int
    rows_out: int
    removed: int
    changed: int
    reason: str

    def __post_init__(self) -> None:
        for name in ("rows_in", "rows_out", "removed", "changed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise TypeError(f"QualityStep.{name} must be an int, got {value!r}")
        if self.rows_out > self.rows_in:
            raise ValueError(
                f"step {self.step!r}: rows_out={self.rows_out} > rows_in={self.rows_in}; "
                "a cleaning step never adds rows"
            )
        for name in ("rows_in", "rows_out", "removed", "changed"):
            if getattr(self, name) < 0:
                raise ValueError(
                    f"QualityStep.{name} must be >= 0, got {getattr(self, name)}"
                )
        if self.removed != self.rows_in - self.rows_out:
            raise ValueError(
                f"step {self.step!r}: removed={self.removed} but rows_in - rows_out = "
                f"{self.rows_in - self.rows_out}"
            )

    def describe(self) -> str:
        """One line of plain text, as printed when no report is collected."""
        share = self.removed / self.rows_in if self.rows_in else 0.0
        text = f"[{self.step}] removed {self.removed:,} of {self.rows_in:,} rows ({share:.1%})"
        if self.changed:
            text += f", changed {self.changed:,}"
        return f"{text}: {self.reason}"


class QualityReport:
    """A data-quality report that accumulates one row per cleaning step.

    Introduced in Chapter 2. Pass the same report to every step of a pipeline
    (``report=report``); then display it in a notebook (an HTML table) or call
    :meth:`to_frame`. :meth:`check` verifies that the counts add up.

    Args:
        title: a heading shown above the table.

    Example:
        >>> report = QualityReport("MovieLens-100K")
        >>> clean = drop_missing(raw, report=report)  # doctest: +SKIP
        >>> report.total_removed  # doctest: +SKIP
    """

    def __init__(self, title: str = "Data-quality report") -> None:
        self.title = str(title)
        self.steps: list[QualityStep] = []

    # --------------------------------------------------------------- building
    def add(
        self,
        step: str,
        rows_in: int,
        rows_out: int,
        reason: str,
        changed: int = 0,
    ) -> QualityStep:
        """Append a step; ``removed`` is computed as ``rows_in - rows_out``.

        Raises:
            TypeError, ValueError: for non-integer or negative counts, or
                ``rows_out > rows_in``.
        """
        entry = QualityStep(
            step=str(step),
            rows_in=int(rows_in),
            rows_out=int(rows_out),
            removed=int(rows_in) - int(rows_out),
            changed=int(changed),
            reason=str(reason),
        )
        self.steps.append(entry)
        return entry

    # --------------------------------------------------------------- totals
    @property
    def total_removed(self) -> int:
        """Rows removed by all steps together."""
        return sum(s.removed for s in self.steps)

    @property
    def total_changed(self) -> int:
        """Rows corrected (kept but modified) by all steps together."""
        return sum(s.changed for s in self.steps)

    @property
    def rows_in(self) -> int | None:
        """Rows entering the first step (``None`` for an empty report)."""
        return self.steps[0].rows_in if self.steps else None

    @property
    def rows_out(self) -> int | None:
        """Rows leaving the last step (``None`` for an empty report)."""
        return self.steps[-1].rows_out if self.steps else None

    def check(self, chain: bool = True) -> None:
        """Verify that the counts add up.

        Every step satisfies ``rows_in - rows_out == removed`` by construction;
        with ``chain=True`` each step must also start where the previous one
        ended (``rows_in`` of step n equals ``rows_out`` of step n-1), so that
        ``rows_in - total_removed == rows_out`` for the whole pipeline.

        Raises:
            ValueError: naming the first step that does not add up.
        """
        for i, s in enumerate(self.steps):
            if s.rows_in - s.rows_out != s.removed:
                raise ValueError(f"step {i} ({s.step}): rows_in - rows_out != removed")
            if chain and i > 0 and s.rows_in != self.steps[i - 1].rows_out:
                prev = self.steps[i - 1]
                raise ValueError(
                    f"step {i} ({s.step}) starts with {s.rows_in} rows but step {i - 1} "
                    f"({prev.step}) ended with {prev.rows_out}; the report mixes frames"
                )

    # --------------------------------------------------------------- display
    def to_frame(self) -> pd.DataFrame:
        """The report as a DataFrame with columns ``REPORT_COLUMNS``."""
        rows = [[getattr(s, c) for c in REPORT_COLUMNS] for s in self.steps]
        frame = pd.DataFrame(rows, columns=list(REPORT_COLUMNS))
        for col in ("rows_in", "rows_out", "removed", "changed"):
            frame[col] = frame[col].astype("int64")
        return frame

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[QualityStep]:
        return iter(self.steps)

    def __getitem__(self, i: int) -> QualityStep:
        return self.steps[i]

    def _footer(self) -> str:
        if not self.steps:
            return "no steps recorded yet"
        return (
            f"{len(self.steps)} steps: {self.rows_in:,} rows in, {self.rows_out:,} rows out, "
            f"{self.total_removed:,} removed, {self.total_changed:,} changed"
        )

    def __repr__(self) -> str:
        if not self.steps:
            return f"{self.title}: {self._footer()}"
        numeric = ("rows_in", "rows_out", "removed", "changed")
        cells = [
            [
                f"{getattr(s, c):,}" if c in numeric else str(getattr(s, c))
                for c in REPORT_COLUMNS
            ]
            for s in self.steps
        ]
        widths = [
            max(len(c), *(len(row[j]) for row in cells))
            for j, c in enumerate(REPORT_COLUMNS)
        ]

        def line(values) -> str:
            padded = (
                v.rjust(w) if c in numeric else v.ljust(w)
                for v, w, c in zip(values, widths, REPORT_COLUMNS, strict=True)
            )
            return "  ".join(padded).rstrip()

        table = "\n".join([line(REPORT_COLUMNS), *(line(row) for row in cells)])
        return f"{self.title}\n{table}\n{self._footer()}"

    def _repr_html_(self) -> str:
        head = f"<p><b>{escape(self.title)}</b></p>"
        if not self.steps:
            return head + f"<p>{escape(self._footer())}</p>"
        return (
            head
            + self.to_frame().to_html(index=False)
            + f"<p>{escape(self._footer())}</p>"
        )


def check_report(report) -> None:
    """``report`` must be a :class:`QualityReport` or ``None``."""
    if report is not None and not isinstance(report, QualityReport):
        raise TypeError(
            f"report must be a QualityReport or None, got {type(report).__name__}"
        )


def _rows(x) -> int:
    """Rows of a frame, of a :class:`~recsys_lib.data.splits.Split`, or a count."""
    if isinstance(x, pd.DataFrame):
        return len(x)
    return int(getattr(x, "n_rows", x))


def record(
    report: QualityReport | None,
    step: str,
    before,
    after,
    reason: str,
    changed: int = 0,
):
    """The tail of every cleaning step: record it, then hand the result back.

    Appends the step to ``report``; without a report, prints it if anything
    was removed or changed, so nothing disappears silently.

    Args:
        report: a :class:`QualityReport` or ``None``.
        step: the step's name (the function that ran).
        before, after: the frames going in and out (or splits, or row counts).
        reason: what was removed or changed and why.
        changed: rows kept but corrected.

    Returns:
        ``after``, so a step can end with ``return record(report, fn, df, out, why)``.
    """
    check_report(report)
    rows_in, rows_out = _rows(before), _rows(after)
    if report is not None:
        report.add(step, rows_in, rows_out, reason, changed=changed)
        return after
    entry = QualityStep(
        step, rows_in, rows_out, rows_in - rows_out, int(changed), reason
    )
    if entry.removed or entry.changed:
        print(entry.describe())
    return after


def plural(n: int, word: str) -> str:
    """``"1 user"``, ``"1,204 users"``: counts in the report's reasons."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")
