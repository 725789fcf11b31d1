"""The web service: FastAPI endpoints around a :class:`ShopService` and an event store.

Introduced in Chapter 12 ("Serving and scaling out"). :func:`create_app`
builds the application:

* ``GET /recommend?user_id=&k=`` -- the two-stage recommendations of
  :class:`~recsys_lib.serving.ShopService`, minus what the user bought (read
  from the event store at request time); the shown items are logged as
  impressions. The answer carries the time of every stage in its body and in
  a ``Server-Timing`` header (retrieval, ranking, rules, logging,
  serialization), so a load test can split latency by stage;
* ``POST /events`` -- one event or ``{"events": [...]}``; a click also updates
  the user's serving history, so the next page follows it;
* ``GET /health`` -- sizes and the number of stored events;
* ``GET /`` -- the demo shop page (``static/``), ``GET /users`` its user
  picker, ``GET /items/{id}/image.png`` the product pictures.

Every bad input -- a negative or non-numeric id, ``k`` out of range, an
unknown product, malformed JSON, an unknown event type -- is a ``4xx`` answer
with a message that names the field; an unknown *user* is not an error but
the cold-start path.
"""

from __future__ import annotations

import json
import struct
import time
import uuid
import zlib
from importlib import resources

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from ..checks import check_int
from .schemas import MAX_ID, EventBatch, EventIn, EventsStored, Health, Recommendations
from .service import ShopService
from .store import EventStore

__all__ = ["SERVER_STAGES", "create_app", "png_bytes"]

#: the stages a ``/recommend`` answer reports, in order.
SERVER_STAGES: tuple[str, ...] = (
    "retrieval",
    "ranking",
    "rules",
    "logging",
    "serialization",
)


def png_bytes(image) -> bytes:
    """A grey-scale uint8 image ``(H, W)`` as PNG file bytes. Introduced in Chapter 12.

    Raises:
        TypeError: if the image is not a 2-D uint8 array.
    """
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim != 2 or img.size == 0:
        raise TypeError(
            f"image must be a non-empty 2-D uint8 array, got {img.dtype} {img.shape}"
        )
    h, w = img.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + img[r].tobytes() for r in range(h))  # filter 0 per row
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)  # 8-bit grey
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 6))
        + chunk(b"IEND", b"")
    )


def _validation_answer(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        problem = err.get("msg", "")
        if err.get("type") == "json_invalid":  # loc ends with the character offset
            problem = f"malformed JSON at character {loc[-1]} ({problem})"
            loc = loc[:1]
        problems.append(
            {"field": ".".join(loc), "problem": problem, "got": err.get("input")}
        )
    text = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
    return JSONResponse(
        status_code=422,
        content=json.loads(
            json.dumps(
                {"error": f"invalid request: {text}", "details": problems}, default=str
            )
        ),
    )


def create_app(
    service: ShopService,
    store: EventStore,
    *,
    k_max: int | None = None,
    log_impressions: bool = True,
    demo_users=None,
) -> FastAPI:
    """The FastAPI application of the shop. Introduced in Chapter 12.

    Args:
        service: the recommender.
        store: where events go (and where purchases are read from).
        k_max: the largest ``k`` a client may ask for (default: 50, or the
            catalog size if smaller).
        log_impressions: store every served list as impression events.
        demo_users: user ids offered by the demo page's picker (default: the
            first ten users with history and one unknown id, to show the
            cold-start path).

    Raises:
        TypeError, ValueError: for a bad service, store or ``k_max``.
    """
    if not isinstance(service, ShopService):
        raise TypeError(f"service must be a ShopService, got {type(service).__name__}")
    if not isinstance(store, EventStore):
        raise TypeError(f"store must be an EventStore, got {type(store).__name__}")
    if k_max is None:
        k_max = min(50, service.n_items)
    k_max = check_int(k_max, "k_max", low=1, high=service.n_items)
    if demo_users is None:
        warm = [u for u in range(service.n_users) if service.has_history(u)][:10]
        demo_users = [*warm, service.n_users]  # the last one is unknown: cold start
    demo_users = [check_int(u, "demo_users entries", low=0) for u in demo_users]

    app = FastAPI(
        title="ShopSim recommendations",
        description="Chapter 12 of 'Personalized Shopping Recommenders with Deep Learning'",
    )
    app.state.service, app.state.store = service, store
    app.add_exception_handler(RequestValidationError, _validation_answer)
    static = resources.files("recsys_lib.serving") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/health", response_model=Health)
    def health() -> Health:
        return Health(
            status="ok",
            n_users=service.n_users,
            n_items=service.n_items,
            events=store.count(),
        )

    @app.get("/recommend", response_model=Recommendations)
    def recommend(
        user_id: int = Query(
            ge=0, le=MAX_ID, description="a shopper; unknown = cold start"
        ),
        k: int = Query(default=10, ge=1, le=k_max, description=f"1..{k_max} items"),
    ) -> Response:
        bought = store.purchased(user_id)
        served = service.recommend(user_id, k, exclude=bought)
        request_id = uuid.uuid4().hex
        t0 = time.perf_counter()
        if log_impressions and served.items.size:
            store.log_many(
                {
                    "user_id": user_id,
                    "item_id": int(item),
                    "event": "impression",
                    "position": pos,
                    "request_id": request_id,
                }
                for pos, item in enumerate(served.items)
            )
        t1 = time.perf_counter()
        c = service.catalog
        body = {
            "request_id": request_id,
            "user_id": user_id,
            "k": k,
            "cold_start": served.cold_start,
            "items": [
                {
                    "item_id": int(i),
                    "title": c.titles[i],
                    "category": c.category_names[c.categories[i]],
                    "price": float(c.prices[i]),
                    "score": float(s),
                    "image_url": f"/items/{int(i)}/image.png",
                }
                for i, s in zip(served.items, served.scores, strict=True)
            ],
            "stage_ms": {**served.stage_ms, "logging": (t1 - t0) * 1e3},
        }
        content = json.dumps(body).encode()
        t2 = time.perf_counter()
        stage_ms = {**body["stage_ms"], "serialization": (t2 - t1) * 1e3}
        timing = ", ".join(f"{name};dur={stage_ms[name]:.3f}" for name in SERVER_STAGES)
        return Response(
            content, media_type="application/json", headers={"Server-Timing": timing}
        )

    @app.post("/events", response_model=EventsStored)
    def post_events(payload: EventIn | EventBatch) -> EventsStored:
        events = payload.events if isinstance(payload, EventBatch) else [payload]
        unknown = sorted({e.item_id for e in events if e.item_id >= service.n_items})
        if unknown:
            raise HTTPException(
                status_code=422,
                detail=f"unknown item_id {unknown[:5]}: the catalog has ids "
                f"0..{service.n_items - 1}",
            )
        ids = store.log_many(e.model_dump() for e in events)
        for e in events:
            if e.event == "click":
                service.record_click(e.user_id, e.item_id)
        return EventsStored(stored=len(ids), event_ids=ids)

    @app.get("/users")
    def users() -> dict:
        return {
            "users": [
                {"user_id": u, "cold_start": not service.has_history(u)}
                for u in demo_users
            ]
        }

    @app.get("/items/{item_id}/image.png")
    def image(item_id: int) -> Response:
        if not 0 <= item_id < service.n_items:
            raise HTTPException(
                status_code=404,
                detail=f"no item {item_id}: the catalog has ids 0..{service.n_items - 1}",
            )
        return Response(
            png_bytes(service.catalog.images[item_id]),
            media_type="image/png",
            headers={"Cache-Control": "max-age=3600"},
        )

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse((static / "index.html").read_text(encoding="utf-8"))

    return app
