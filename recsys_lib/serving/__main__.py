"""``python -m recsys_lib.serving --bundle DIR --db FILE``: serve a saved bundle.

Introduced in Chapter 12 ("Serving and scaling out"). Loads the bundle with
:func:`~recsys_lib.serving.load_service` (data only, hashes checked), opens
the event store and serves the app with uvicorn on ``127.0.0.1``.
"""

from __future__ import annotations

import argparse

from .server import KEEP_ALIVE_S


def _exit_with_parent(pid: int) -> None:
    """Stop this server when the process that started it is gone."""
    import os
    import threading
    import time

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != pid:  # re-parented: the starter has exited
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m recsys_lib.serving", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--bundle", required=True, help="folder from save_service")
    parser.add_argument("--db", required=True, help="SQLite event store file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--k-max", type=int, default=None)
    parser.add_argument("--index", default=None, help="exact, hnsw or ivf")
    parser.add_argument(
        "--no-impressions", action="store_true", help="do not log served lists"
    )
    parser.add_argument(
        "--keep-alive",
        type=int,
        default=KEEP_ALIVE_S,
        help="seconds an idle connection stays open (default %(default)s)",
    )
    parser.add_argument(
        "--parent-pid",
        type=int,
        default=None,
        help="exit when this process ends (no orphaned server)",
    )
    args = parser.parse_args(argv)
    if args.parent_pid is not None:
        _exit_with_parent(args.parent_pid)

    import torch
    import uvicorn

    from .app import create_app
    from .model_io import load_service
    from .store import EventStore

    torch.set_num_threads(args.threads)
    try:
        import faiss

        faiss.omp_set_num_threads(args.threads)
    except ImportError:  # pragma: no cover - faiss is a pinned dependency
        pass
    overrides = {} if args.index is None else {"index": args.index}
    service = load_service(args.bundle, **overrides)
    store = EventStore(args.db)
    app = create_app(
        service, store, k_max=args.k_max, log_impressions=not args.no_impressions
    )
    try:
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level="warning",
            access_log=False,
            timeout_keep_alive=args.keep_alive,
        )
    finally:
        store.close()


if __name__ == "__main__":
    main()
