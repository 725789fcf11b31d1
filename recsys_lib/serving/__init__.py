"""Serving and scaling out: a recommendation web service, its event store and load tests.

Introduced in Chapter 12 ("Serving and scaling out"). The models of the
earlier chapters become a service that a shop page can call:

* :mod:`.service` -- :class:`ShopService`: two-stage recommendations for one
  user (two-tower retrieval with a popularity fallback for cold-start users,
  the feature ranker, business rules), every stage timed; :class:`Catalog`;
* :mod:`.store` -- :class:`EventStore`: impressions, clicks and purchases in
  SQLite (WAL mode, safe under concurrent writers), analytics with DuckDB;
* :mod:`.schemas` -- the pydantic models that validate every request;
* :mod:`.app` -- :func:`create_app`: the FastAPI application (``/recommend``,
  ``/events``, ``/health``, the demo shop page);
* :mod:`.model_io` -- :func:`save_service` / :func:`load_service`: a bundle of
  data-only files (``torch.load(weights_only=True)``, SHA-256 checked);
* :mod:`.server` -- :func:`serve_in_thread`, :func:`serve_in_process`: the
  service on loopback, always shut down;
* :mod:`.loadtest` -- :func:`run_load_test`: concurrent asyncio clients,
  latency split by server stage;
* :mod:`.export` -- :func:`export_ranker`: the ranker as ONNX or a
  ``torch.export`` program;
* :mod:`.browser` -- :func:`visit_shop_page`: the demo page in headless
  Chromium (Selenium), for tests and the chapter's screenshot;
* :mod:`.distributed` -- :func:`train_ranker_ddp`: the ranker trained with
  DistributedDataParallel, a ``torchrun`` script (gloo, CPU).

This package sits at the top of the library: it uses data, models and
retrieval; nothing in the library imports it.
"""

from __future__ import annotations

from .app import SERVER_STAGES, create_app, png_bytes
from .browser import (
    CHROMIUM_FLAGS,
    INSTALL_HINT,
    PageVisit,
    chromium_paths,
    headless_chromium,
    visit_shop_page,
)
from .distributed import save_training_data, train_ranker_ddp
from .export import (
    EXPORT_FORMATS,
    ExportedRanker,
    RankerGraph,
    export_ranker,
    load_exported,
)
from .loadtest import (
    LoadTestResult,
    load_test_table,
    parse_server_timing,
    run_load_test,
)
from .model_io import BUNDLE_FORMAT, load_service, save_service
from .schemas import (
    MAX_ID,
    EventBatch,
    EventIn,
    EventsStored,
    Health,
    ItemOut,
    Recommendations,
)
from .server import (
    KEEP_ALIVE_S,
    LOOPBACK,
    free_port,
    serve_in_process,
    serve_in_thread,
    wait_until_healthy,
)
from .service import STAGES, Catalog, Served, ShopService
from .store import EVENT_TYPES, EventStore

__all__ = [
    "CHROMIUM_FLAGS",
    "INSTALL_HINT",
    "PageVisit",
    "chromium_paths",
    "headless_chromium",
    "visit_shop_page",
    "BUNDLE_FORMAT",
    "EVENT_TYPES",
    "EXPORT_FORMATS",
    "KEEP_ALIVE_S",
    "LOOPBACK",
    "MAX_ID",
    "SERVER_STAGES",
    "STAGES",
    "Catalog",
    "EventBatch",
    "EventIn",
    "EventStore",
    "EventsStored",
    "ExportedRanker",
    "Health",
    "ItemOut",
    "LoadTestResult",
    "RankerGraph",
    "Recommendations",
    "Served",
    "ShopService",
    "create_app",
    "export_ranker",
    "free_port",
    "load_exported",
    "load_service",
    "load_test_table",
    "parse_server_timing",
    "png_bytes",
    "run_load_test",
    "save_service",
    "save_training_data",
    "serve_in_process",
    "serve_in_thread",
    "train_ranker_ddp",
    "wait_until_healthy",
]
