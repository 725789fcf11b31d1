"""Tests of recsys_lib.serving.store: the SQLite event store."""

import multiprocessing as mp
import threading

import numpy as np
import pytest

from recsys_lib.serving import EVENT_TYPES, EventStore


@pytest.fixture
def store(tmp_path):
    with EventStore(tmp_path / "events.db") as s:
        yield s


def test_log_and_read_back(store):
    first = store.log(1, 2, "click", position=3, request_id="r1", timestamp=10.0)
    ids = store.log_many(
        [
            {"user_id": 1, "item_id": 5, "event": "purchase"},
            {"user_id": 2, "item_id": 5, "event": "impression", "position": 0},
        ]
    )
    assert ids == [first + 1, first + 2]
    assert store.count() == 3 and store.count("purchase") == 1
    frame = store.events()
    assert list(frame["event"].astype(str)) == ["click", "purchase", "impression"]
    assert list(frame["event"].cat.categories) == list(EVENT_TYPES)
    assert frame.loc[0, "position"] == 3 and frame.loc[0, "request_id"] == "r1"
    assert len(store.events(since_id=first)) == 2
    np.testing.assert_array_equal(store.purchased(1), [5])
    assert store.purchased(2).size == 0
    assert store.journal_mode == "wal"


def test_duckdb_analytics(store):
    store.log_many(
        [{"user_id": u, "item_id": u % 3, "event": "click"} for u in range(9)]
    )
    out = store.sql(
        "SELECT item_id, COUNT(*) AS n FROM events GROUP BY item_id ORDER BY item_id"
    )
    assert out["n"].tolist() == [3, 3, 3]
    with pytest.raises(TypeError, match="query must be a SQL string"):
        store.sql(42)


@pytest.mark.parametrize(
    "event, match",
    [
        ({"user_id": -1, "item_id": 0, "event": "click"}, "user_id must be >= 0"),
        ({"user_id": 0, "item_id": 0, "event": "like"}, "event must be one of"),
        ({"user_id": 0, "item_id": 1.5, "event": "click"}, "item_id must be an int"),
        ({"user_id": 0, "event": "click"}, "missing"),
        (
            {"user_id": 0, "item_id": 0, "event": "click", "position": -2},
            "position must be >= 0",
        ),
    ],
)
def test_bad_events_store_nothing(store, event, match):
    good = {"user_id": 0, "item_id": 0, "event": "click"}
    with pytest.raises((TypeError, ValueError), match=match):
        store.log_many([good, event])
    assert store.count() == 0  # all or nothing


def test_bad_arguments(tmp_path, store):
    with pytest.raises(ValueError, match="in-memory"):
        EventStore(":memory:")
    with pytest.raises(TypeError, match="path must be"):
        EventStore(3)
    with pytest.raises(ValueError, match="folder of path does not exist"):
        EventStore(tmp_path / "nowhere" / "x.db")
    with pytest.raises(ValueError, match="busy_timeout_s must be > 0"):
        EventStore(tmp_path / "y.db", busy_timeout_s=0)
    with pytest.raises(TypeError, match="not a single one"):
        store.log_many({"user_id": 0, "item_id": 0, "event": "click"})
    with pytest.raises(TypeError, match="request_id must be a string"):
        store.log(0, 0, "click", request_id=5)
    with pytest.raises(ValueError, match="event must be one of"):
        store.count("like")
    assert store.log_many([]) == []


def test_closed_store_says_so(tmp_path):
    s = EventStore(tmp_path / "c.db")
    s.close()
    s.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        s.count()


def test_no_event_lost_under_concurrent_threads(store):
    n_threads, per_thread = 8, 200

    def writer(t):
        for n in range(per_thread):
            if n % 2:
                store.log(t, n % 30, "impression")
            else:
                store.log_many([{"user_id": t, "item_id": n % 30, "event": "click"}])

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert store.count() == n_threads * per_thread
    ids = store.events()["event_id"].to_numpy()
    assert np.unique(ids).size == ids.size


def _process_writer(path, worker, n):
    with EventStore(path) as s:
        for i in range(n):
            s.log(worker, i, "click")


def test_no_event_lost_under_concurrent_processes(tmp_path):
    path = tmp_path / "shared.db"
    EventStore(path).close()  # create the schema once
    n_procs, per_proc = 3, 100
    ctx = mp.get_context("spawn")
    procs = [
        ctx.Process(target=_process_writer, args=(path, w, per_proc))
        for w in range(n_procs)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    with EventStore(path) as s:
        assert s.count() == n_procs * per_proc
        per_worker = s.sql("SELECT user_id, COUNT(*) AS n FROM events GROUP BY user_id")
        assert sorted(per_worker["n"].tolist()) == [per_proc] * n_procs
