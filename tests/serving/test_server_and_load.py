"""Tests of recsys_lib.serving.server and .loadtest: a real uvicorn on loopback."""

import threading

import httpx
import numpy as np
import pytest

from recsys_lib.serving import (
    KEEP_ALIVE_S,
    SERVER_STAGES,
    EventStore,
    create_app,
    free_port,
    load_test_table,
    parse_server_timing,
    run_load_test,
    save_service,
    serve_in_process,
    serve_in_thread,
)

from .helpers import N_USERS, tiny_service


def test_servers_keep_idle_connections_longer_than_the_client_pool():
    # otherwise the server may close a connection the client is just reusing
    # (httpx.ReadError under load; Chapter 12's 32-client level on a busy machine)
    assert KEEP_ALIVE_S > httpx.Limits().keepalive_expiry


def test_parse_server_timing():
    assert parse_server_timing("a;dur=1.5, b;desc=x;dur=2") == {"a": 1.5, "b": 2.0}
    assert parse_server_timing("") == {}
    with pytest.raises(ValueError, match="no numeric dur"):
        parse_server_timing("a;dur=x")
    with pytest.raises(TypeError, match="header must be a string"):
        parse_server_timing(None)


def test_load_test_against_a_thread_server(tmp_path):
    with EventStore(tmp_path / "e.db") as store:
        app = create_app(tiny_service(), store, k_max=10)
        with serve_in_thread(app) as url:
            assert url.startswith("http://127.0.0.1:")
            results = [
                run_load_test(
                    url, np.arange(N_USERS + 2), concurrency=c, n_requests=40, k=5
                )
                for c in (1, 4)
            ]
        for r in results:
            assert r.n_requests == 40 and r.n_ok == 40 and not r.stopped_by_time
            assert r.failures == {}
            assert (r.n_items == 5).all()
            assert r.throughput > 0
            pct = r.percentiles()
            assert (pct["p50"] <= pct["p95"]).all() and (pct["p95"] <= pct["p99"]).all()
            assert list(r.stage_ms.columns) == list(SERVER_STAGES)
        table = load_test_table(results)
        assert table.index.tolist() == [1, 4] and (table["errors"] == 0).all()
        # every served item was logged: no impression lost under concurrent writes
        assert store.count("impression") == 80 * 5
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/health", timeout=1.0)  # the server is down


def test_load_test_bounds_and_checks():
    with pytest.raises(ValueError, match="loopback only"):
        run_load_test("http://example.com", [1], concurrency=1, n_requests=1)
    with pytest.raises(ValueError, match="concurrency must be >= 1"):
        run_load_test("http://127.0.0.1:1", [1], concurrency=0, n_requests=1)
    with pytest.raises(ValueError, match="user_ids must be a non-empty"):
        run_load_test("http://127.0.0.1:1", [], concurrency=1, n_requests=1)
    with pytest.raises(TypeError, match="non-empty list of LoadTestResult"):
        load_test_table([])
    # nothing listens on this port: every request fails, none hangs
    r = run_load_test(
        f"http://127.0.0.1:{free_port()}", [1], concurrency=2, n_requests=4
    )
    assert r.n_ok == 0 and (r.status == 0).all()
    assert sum(r.failures.values()) == 4 and "ConnectError" in r.failures


def test_server_process_loads_a_bundle_and_stops(tmp_path):
    folder = save_service(tiny_service(), tmp_path / "bundle")
    with serve_in_process(folder, tmp_path / "e.db") as url:
        r = httpx.get(f"{url}/recommend", params={"user_id": 0, "k": 3})
        assert r.status_code == 200 and len(r.json()["items"]) == 3
        bad = httpx.get(f"{url}/recommend", params={"user_id": -1, "k": 3})
        assert bad.status_code == 422
    with EventStore(tmp_path / "e.db") as store:
        assert store.count("impression") == 3  # written by the other process
    with pytest.raises(FileNotFoundError, match="no model bundle"):
        with serve_in_process(tmp_path, tmp_path / "e.db"):
            pass


def test_thread_server_shuts_down_after_an_error(tmp_path):
    before = threading.active_count()
    with EventStore(tmp_path / "e.db") as store:
        app = create_app(tiny_service(), store)
        with pytest.raises(RuntimeError, match="boom"):
            with serve_in_thread(app):
                raise RuntimeError("boom")
    assert threading.active_count() == before


def test_server_process_that_cannot_start_says_why(tmp_path):
    folder = save_service(tiny_service(), tmp_path / "bundle")
    (folder / "arrays.npz").write_bytes(b"not the saved arrays")
    with pytest.raises(RuntimeError, match="arrays.npz does not match the manifest"):
        with serve_in_process(folder, tmp_path / "e.db"):
            pass
