"""Raw user and item IDs as contiguous integers ``0 .. n-1``, and back.

Introduced in Chapter 2. Embedding tables and sparse matrices need IDs that
are row numbers: :class:`IdMapper` learns the mapping on the training data and
applies it to the other parts; :func:`map_ids` does both in one call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import ITEM_COL, USER_COL
from .frames import check_frame, check_id_column, require_columns
from .report import QualityReport, check_report, record

__all__ = ["IdMapper", "map_ids"]


class IdMapper:
    """Map raw user and item IDs to contiguous integers ``0 .. n-1`` and back.

    Introduced in Chapter 2. Embedding tables and sparse matrices need IDs
    that are row numbers. Fit the mapper on the *training* data, then
    transform the validation and test data with the same mapping.

    Codes follow the sorted order of the raw IDs (so the mapping does not
    depend on row order). IDs unseen at fit time cannot be mapped: by default
    :meth:`transform` raises, listing some of them; with ``unknown="drop"`` it
    drops those rows and records the count in the report.

    Args:
        user_col, item_col: the ID columns; pass ``None`` to leave one
            unmapped.

    Attributes:
        n_users, n_items: sizes of the mappings after :meth:`fit`.
        user_ids, item_ids: raw ID for each code (``user_ids[code] == raw``).
    """

    def __init__(
        self, user_col: str | None = USER_COL, item_col: str | None = ITEM_COL
    ) -> None:
        self.columns = tuple(c for c in (user_col, item_col) if c is not None)
        if not self.columns:
            raise ValueError("IdMapper: give at least one of user_col, item_col")
        self.user_col = user_col
        self.item_col = item_col
        self._index: dict[str, pd.Index] = {}

    # ------------------------------------------------------------------ fit
    @property
    def is_fitted(self) -> bool:
        return bool(self._index)

    def _require_fitted(self, fn: str) -> None:
        if not self.is_fitted:
            raise RuntimeError(f"IdMapper.{fn}: call fit(train) first")

    def fit(self, df: pd.DataFrame) -> IdMapper:
        """Learn the mapping from ``df`` (typically the training part).

        Raises:
            TypeError, ValueError: bad frame, missing columns, NaN IDs, or IDs
                of mixed types that cannot be sorted (run :func:`normalize_ids`).
        """
        fn = "IdMapper.fit"
        check_frame(df, fn)
        require_columns(df, self.columns, fn)
        index = {}
        for col in self.columns:
            check_id_column(df, col, fn)
            uniques = pd.Index(pd.unique(df[col].to_numpy()))
            try:
                index[col] = uniques.sort_values()
            except TypeError as err:
                raise TypeError(
                    f"{fn}: column {col!r} mixes ID types ({err}); make them one type first, "
                    "e.g. with normalize_ids(df, columns=[...])"
                ) from None
        self._index = index
        return self

    # ------------------------------------------------------------ accessors
    def _size(self, col) -> int:
        self._require_fitted("size")
        if col is None:
            raise AttributeError("this IdMapper does not map that column")
        return len(self._index[col])

    @property
    def n_users(self) -> int:
        return self._size(self.user_col)

    @property
    def n_items(self) -> int:
        return self._size(self.item_col)

    @property
    def user_ids(self) -> np.ndarray:
        self._size(self.user_col)
        return self._index[self.user_col].to_numpy()

    @property
    def item_ids(self) -> np.ndarray:
        self._size(self.item_col)
        return self._index[self.item_col].to_numpy()

    def mapping(self, col: str) -> pd.Series:
        """The mapping of one column as a Series: raw ID (index) -> code."""
        self._require_fitted("mapping")
        if col not in self._index:
            raise KeyError(f"IdMapper maps {list(self._index)}, not {col!r}")
        idx = self._index[col]
        return pd.Series(np.arange(len(idx), dtype=np.int64), index=idx, name=col)

    # ------------------------------------------------------------ transform
    def transform(
        self,
        df: pd.DataFrame,
        *,
        unknown: str = "raise",
        report: QualityReport | None = None,
    ) -> pd.DataFrame:
        """Replace raw IDs by their codes (``int64``).

        Args:
            df: a frame with the mapped columns.
            unknown: what to do with IDs not seen at fit time: ``"raise"``
                (default) raises ``ValueError`` with counts and examples;
                ``"drop"`` removes those rows and records how many.
            report: where to record the step (``"IdMapper.transform"``).

        Raises:
            RuntimeError: the mapper is not fitted.
            TypeError, ValueError: bad frame, NaN IDs, unknown IDs with
                ``unknown="raise"``, or a bad ``unknown``.
        """
        fn = "IdMapper.transform"
        self._require_fitted("transform")
        check_report(report)
        if unknown not in ("raise", "drop"):
            raise ValueError(
                f"{fn}: unknown must be 'raise' or 'drop', got {unknown!r}"
            )
        check_frame(df, fn, allow_empty=True)
        require_columns(df, self.columns, fn)
        codes = {}
        bad = np.zeros(len(df), dtype=bool)
        parts = []
        for col in self.columns:
            check_id_column(df, col, fn)
            c = self._index[col].get_indexer(df[col].to_numpy())
            miss = c < 0
            codes[col] = c
            bad |= miss
            if miss.any():
                raw_unknown = pd.unique(df[col].to_numpy()[miss])
                examples = ", ".join(
                    repr(v.item() if hasattr(v, "item") else v) for v in raw_unknown[:5]
                )
                parts.append(
                    f"{col}: {int(miss.sum()):,} rows with {len(raw_unknown):,} unseen IDs "
                    f"(e.g. {examples})"
                )
        if parts and unknown == "raise":
            raise ValueError(
                f"{fn}: IDs not seen at fit time -- {'; '.join(parts)}. Fit on data that "
                "contains them, or pass unknown='drop' to remove (and report) those rows."
            )
        out = df.copy()
        for col in self.columns:
            out[col] = codes[col].astype(np.int64)
        out = out.loc[~bad]
        if parts:
            reason = "rows with IDs unseen at fit time dropped -- " + "; ".join(parts)
        else:
            reason = "all IDs known; mapped to contiguous codes"
        return record(report, fn, df, out, reason)

    def fit_transform(
        self, df: pd.DataFrame, *, report: QualityReport | None = None
    ) -> pd.DataFrame:
        """:meth:`fit` then :meth:`transform` on the same frame."""
        return self.fit(df).transform(df, report=report)

    def inverse_transform(self, df: pd.DataFrame) -> pd.DataFrame:
        """Replace codes by the raw IDs (the exact inverse of :meth:`transform`).

        Raises:
            RuntimeError: the mapper is not fitted.
            ValueError: a code is not an integer in ``0 .. n-1``.
        """
        fn = "IdMapper.inverse_transform"
        self._require_fitted("inverse_transform")
        check_frame(df, fn, allow_empty=True)
        require_columns(df, self.columns, fn)
        out = df.copy()
        for col in self.columns:
            s = df[col]
            if not pd.api.types.is_integer_dtype(s.dtype):
                raise ValueError(
                    f"{fn}: codes in {col!r} must be integers, got dtype {s.dtype}"
                )
            c = s.to_numpy()
            n = len(self._index[col])
            if len(c) and (c.min() < 0 or c.max() >= n):
                raise ValueError(f"{fn}: codes in {col!r} must lie in 0..{n - 1}")
            out[col] = self._index[col].take(c).to_numpy()
        return out

    def __repr__(self) -> str:
        if not self.is_fitted:
            return f"IdMapper(columns={list(self.columns)}, not fitted)"
        sizes = ", ".join(f"{c}: {len(i):,}" for c, i in self._index.items())
        return f"IdMapper({sizes})"


def map_ids(
    df: pd.DataFrame,
    *,
    user_col: str | None = USER_COL,
    item_col: str | None = ITEM_COL,
    report: QualityReport | None = None,
) -> tuple[pd.DataFrame, IdMapper]:
    """Fit an :class:`IdMapper` on ``df`` and map it; return ``(mapped, mapper)``.

    Use ``mapper.transform(test)`` for other parts and
    ``mapper.inverse_transform(...)`` to get raw IDs back.
    """
    mapper = IdMapper(user_col=user_col, item_col=item_col)
    return mapper.fit_transform(df, report=report), mapper
