"""The event store: every impression, click and purchase the service logs.

Introduced in Chapter 12 ("Serving and scaling out"). A recommender that is
served learns from what it served: the events written here are the next
training round's data. :class:`EventStore` is a small repository layer over
an embedded SQLite database in WAL mode (write-ahead logging: readers do not
block the writer, and a committed event survives a crash of the process):

* :meth:`EventStore.log` / :meth:`EventStore.log_many` append events in one
  transaction each; a lock serialises the writers of one process, and SQLite's
  own file lock (with a busy timeout) serialises writers of several
  processes, so no event is lost under concurrent writes;
* :meth:`EventStore.count`, :meth:`EventStore.purchased` and
  :meth:`EventStore.events` read them back (``events`` as a ``DataFrame``
  with the column names of the rest of the library);
* :meth:`EventStore.sql` runs analytics in DuckDB over the events (a column
  store: group-bys over millions of rows in milliseconds).

DuckDB could also read the SQLite file directly with its ``sqlite``
extension, but that extension is downloaded on first use; the book runs
offline, so :meth:`EventStore.sql` hands DuckDB the events as a frame.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..checks import check_choice, check_int
from ..config import EVENT_COL, ITEM_COL, TIMESTAMP_COL, USER_COL

__all__ = ["EVENT_TYPES", "EventStore"]

#: the kinds of events the store accepts, in funnel order.
EVENT_TYPES: tuple[str, ...] = ("impression", "click", "add_to_cart", "purchase")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL CHECK (user_id >= 0),
    item_id    INTEGER NOT NULL CHECK (item_id >= 0),
    event      TEXT    NOT NULL,
    position   INTEGER,
    request_id TEXT,
    timestamp  REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS events_user ON events (user_id, event);
"""


def _check_event(e, where: str) -> tuple:
    """One event (a mapping) -> the row tuple; clear errors for bad fields."""
    if not isinstance(e, Mapping):
        raise TypeError(f"{where} must be a mapping (dict), got {type(e).__name__}")
    missing = [key for key in (USER_COL, ITEM_COL, EVENT_COL) if key not in e]
    if missing:
        raise ValueError(f"{where} is missing {missing}; got keys {sorted(e)}")
    user = check_int(e[USER_COL], USER_COL, low=0, where=where)
    item = check_int(e[ITEM_COL], ITEM_COL, low=0, where=where)
    kind = check_choice(e[EVENT_COL], EVENT_COL, EVENT_TYPES, where=where)
    position = e.get("position")
    if position is not None:
        position = check_int(position, "position", low=0, where=where)
    request_id = e.get("request_id")
    if request_id is not None and not isinstance(request_id, str):
        raise TypeError(
            f"{where}: request_id must be a string, got {type(request_id).__name__}"
        )
    ts = e.get(TIMESTAMP_COL)
    ts = time.time() if ts is None else float(ts)
    return (user, item, kind, position, request_id, ts)


class EventStore:
    """Events in an embedded SQLite database (WAL mode). Introduced in Chapter 12.

    Safe to share between the threads of one process (one connection per
    thread, one lock for writers) and between processes (each opens its own
    ``EventStore`` on the same file). Use it as a context manager or call
    :meth:`close`.

    Args:
        path: the database file (created if missing); ``":memory:"`` is
            refused because each thread would see its own empty database.
        busy_timeout_s: how long a writer waits for another process's write
            lock before failing (SQLite's ``busy_timeout``).
        wal: use write-ahead logging (the default; ``False`` only to show
            what it buys).

    Raises:
        TypeError, ValueError: for a bad path or timeout.
    """

    def __init__(
        self, path: str | os.PathLike, busy_timeout_s: float = 30.0, wal: bool = True
    ) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or Path, got {type(path).__name__}")
        if str(path) == ":memory:" or str(path) == "":
            raise ValueError(
                "path must be a file: an in-memory SQLite database is private to "
                "one connection, so other threads and processes would not see it"
            )
        if isinstance(busy_timeout_s, bool) or not isinstance(
            busy_timeout_s, (int, float)
        ):
            raise TypeError(
                f"busy_timeout_s must be a number, got {type(busy_timeout_s).__name__}"
            )
        if not busy_timeout_s > 0:
            raise ValueError(f"busy_timeout_s must be > 0, got {busy_timeout_s}")
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise ValueError(f"the folder of path does not exist: {self.path.parent}")
        self.busy_timeout_s = float(busy_timeout_s)
        self.wal = bool(wal)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._conn_lock = threading.Lock()
        self._closed = False
        conn = self._connection()
        with self._write_lock:
            conn.executescript(_SCHEMA)

    # ------------------------------------------------------------ connections
    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError(f"this EventStore ({self.path}) is closed")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_s,
                isolation_level=None,  # explicit BEGIN/COMMIT below
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            if self.wal:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints
            self._local.conn = conn
            with self._conn_lock:
                self._connections.append(conn)
        return conn

    @property
    def journal_mode(self) -> str:
        """SQLite's journal mode of this database, e.g. ``"wal"``."""
        return str(self._connection().execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        """Close every connection this store opened (idempotent)."""
        with self._conn_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
            self._closed = True

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{self.count():,} events"
        return f"EventStore({str(self.path)!r}, {state})"

    # ------------------------------------------------------------ writing
    def log(
        self,
        user_id: int,
        item_id: int,
        event: str,
        *,
        position: int | None = None,
        request_id: str | None = None,
        timestamp: float | None = None,
    ) -> int:
        """Append one event; return its ``event_id``.

        Raises:
            TypeError, ValueError: for a bad id, an unknown event type (see
                :data:`EVENT_TYPES`) or a negative position.
        """
        row = _check_event(
            {
                USER_COL: user_id,
                ITEM_COL: item_id,
                EVENT_COL: event,
                "position": position,
                "request_id": request_id,
                TIMESTAMP_COL: timestamp,
            },
            "event",
        )
        return self._insert([row])[0]

    def log_many(self, events: Iterable[Mapping]) -> list[int]:
        """Append events (mappings with ``user_id``, ``item_id``, ``event`` and
        optionally ``position``, ``request_id``, ``timestamp``) in one
        transaction: all are stored or none. Returns their ``event_id``\\ s.

        Raises:
            TypeError, ValueError: naming the first bad event; then nothing
                is stored.
        """
        if isinstance(events, (Mapping, str, bytes)):
            raise TypeError("events must be a list of event dicts, not a single one")
        rows = [_check_event(e, f"events[{n}]") for n, e in enumerate(events)]
        if not rows:
            return []
        return self._insert(rows)

    def _insert(self, rows: list[tuple]) -> list[int]:
        conn = self._connection()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")  # take the write lock now, or wait
            try:
                ids = [
                    conn.execute(
                        "INSERT INTO events (user_id, item_id, event, position, "
                        "request_id, timestamp) VALUES (?, ?, ?, ?, ?, ?)",
                        row,
                    ).lastrowid
                    for row in rows
                ]
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return [int(i) for i in ids]

    # ------------------------------------------------------------ reading
    def count(self, event: str | None = None) -> int:
        """Number of stored events (of one type, if given)."""
        conn = self._connection()
        if event is None:
            return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
        check_choice(event, "event", EVENT_TYPES)
        sql = "SELECT COUNT(*) FROM events WHERE event = ?"
        return int(conn.execute(sql, (event,)).fetchone()[0])

    def purchased(self, user_id: int) -> np.ndarray:
        """Sorted int64 ids of the items ``user_id`` bought (a business rule
        never shows them again)."""
        user = check_int(user_id, "user_id", low=0)
        rows = (
            self._connection()
            .execute(
                "SELECT DISTINCT item_id FROM events WHERE user_id = ? AND event = ?",
                (user, "purchase"),
            )
            .fetchall()
        )
        return np.sort(np.array([r[0] for r in rows], dtype=np.int64))

    def events(self, since_id: int = 0) -> pd.DataFrame:
        """Events with ``event_id > since_id``, oldest first, as a DataFrame.

        Columns: ``event_id``, ``user_id``, ``item_id``, ``event`` (an
        ordered categorical in funnel order, as ShopSim's logs),
        ``position``, ``request_id`` and ``timestamp`` (seconds since the
        epoch, float).
        """
        since = check_int(since_id, "since_id", low=0)
        frame = pd.read_sql_query(
            "SELECT * FROM events WHERE event_id > ? ORDER BY event_id",
            self._connection(),
            params=(since,),
        )
        frame[EVENT_COL] = pd.Categorical(
            frame[EVENT_COL], categories=list(EVENT_TYPES), ordered=True
        )
        frame["position"] = frame["position"].astype("Int64")
        return frame

    def sql(self, query: str, since_id: int = 0) -> pd.DataFrame:
        """Run a DuckDB SQL query over the events (the table is ``events``).

        Example: ``store.sql("SELECT event, COUNT(*) AS n FROM events GROUP BY
        event ORDER BY n DESC")``.

        Raises:
            TypeError: if ``query`` is not a string.
        """
        if not isinstance(query, str):
            raise TypeError(f"query must be a SQL string, got {type(query).__name__}")
        import duckdb  # imported here: only analytics needs it

        frame = self.events(since_id)
        frame[EVENT_COL] = frame[EVENT_COL].astype(str)
        with duckdb.connect() as con:
            con.register("events", frame)
            return con.execute(query).df()
