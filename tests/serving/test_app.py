"""Tests of recsys_lib.serving.app: the FastAPI service, with FastAPI's TestClient."""

import numpy as np
import pytest
from fastapi.testclient import TestClient

from recsys_lib.serving import EventStore, create_app, png_bytes

from .helpers import COLD_USER, N_ITEMS, N_USERS, tiny_service


@pytest.fixture
def shop(tmp_path):
    service = tiny_service()
    with EventStore(tmp_path / "events.db") as store:
        app = create_app(service, store, k_max=10)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, store, service


def test_health(shop):
    client, store, _ = shop
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {
        "status": "ok",
        "n_users": N_USERS,
        "n_items": N_ITEMS,
        "events": 0,
    }


def test_recommend_warm_user(shop):
    client, store, _ = shop
    r = client.get("/recommend", params={"user_id": 0, "k": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["user_id"] == 0 and body["k"] == 5 and not body["cold_start"]
    ids = [it["item_id"] for it in body["items"]]
    assert len(ids) == 5 and len(set(ids)) == 5
    assert all(0 <= i < N_ITEMS for i in ids)
    item = body["items"][0]
    assert set(item) == {"item_id", "title", "category", "price", "score", "image_url"}
    assert set(body["stage_ms"]) == {"retrieval", "ranking", "rules", "logging"}
    timing = r.headers["server-timing"]
    assert "retrieval;dur=" in timing and "serialization;dur=" in timing
    # the shown items are logged as impressions of this request
    ev = store.events()
    assert len(ev) == 5 and set(ev["request_id"]) == {body["request_id"]}
    assert ev["position"].tolist() == list(range(5))


@pytest.mark.parametrize("user", [COLD_USER, N_USERS, 10**12])
def test_unknown_or_new_user_gets_cold_start(shop, user):
    client, _, service = shop
    r = client.get("/recommend", params={"user_id": user, "k": 4})
    assert r.status_code == 200
    body = r.json()
    assert body["cold_start"]
    assert [it["item_id"] for it in body["items"]] == [0, 1, 2, 3]  # by popularity


def test_purchased_items_are_never_recommended(shop):
    client, store, _ = shop
    first = [
        it["item_id"] for it in client.get("/recommend?user_id=2&k=5").json()["items"]
    ]
    r = client.post(
        "/events", json={"user_id": 2, "item_id": first[0], "event": "purchase"}
    )
    assert r.status_code == 200 and r.json()["stored"] == 1
    again = [
        it["item_id"] for it in client.get("/recommend?user_id=2&k=10").json()["items"]
    ]
    assert first[0] not in again


def test_click_updates_history_and_is_stored(shop):
    client, store, service = shop
    assert client.get(f"/recommend?user_id={COLD_USER}&k=3").json()["cold_start"]
    r = client.post(
        "/events", json={"user_id": COLD_USER, "item_id": 7, "event": "click"}
    )
    assert r.status_code == 200
    assert store.count("click") == 1
    assert service.history(COLD_USER).tolist() == [7]
    assert not client.get(f"/recommend?user_id={COLD_USER}&k=3").json()["cold_start"]


def test_event_batch(shop):
    client, store, _ = shop
    batch = {
        "events": [
            {"user_id": 1, "item_id": i, "event": "impression"} for i in range(4)
        ]
    }
    r = client.post("/events", json=batch)
    assert r.status_code == 200 and r.json()["stored"] == 4
    assert store.count("impression") == 4


BAD_RECOMMEND = [
    ("user_id=-1&k=5", "user_id"),
    ("user_id=abc&k=5", "user_id"),
    ("user_id=1.5&k=5", "user_id"),
    ("k=5", "user_id"),  # missing
    ("user_id=1&k=0", "k"),
    ("user_id=1&k=-3", "k"),
    ("user_id=1&k=11", "k"),  # above k_max
    ("user_id=1&k=ten", "k"),
    (f"user_id={2**64}&k=5", "user_id"),
]


@pytest.mark.parametrize("query, field", BAD_RECOMMEND)
def test_bad_recommend_requests_are_422(shop, query, field):
    client, store, _ = shop
    r = client.get(f"/recommend?{query}")
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"].startswith("invalid request")
    assert any(field in d["field"] for d in body["details"])
    assert store.count() == 0


BAD_EVENTS = [
    (
        '{"user_id": 1, "item_id": 2, "event": "click"',
        "malformed JSON",
    ),  # malformed JSON
    ("not json at all", "json"),
    ('{"user_id": 1, "item_id": 2, "event": "like"}', "event"),
    ('{"user_id": -1, "item_id": 2, "event": "click"}', "user_id"),
    ('{"user_id": 1, "item_id": -2, "event": "click"}', "item_id"),
    ('{"user_id": 1, "event": "click"}', "item_id"),
    ('{"user_id": 1, "item_id": 2, "event": "click", "colour": "red"}', "colour"),
    ('{"user_id": 1, "item_id": 2, "event": "click", "position": -1}', "position"),
    ('{"events": []}', "events"),
    ("[]", "body"),
]


@pytest.mark.parametrize("payload, field", BAD_EVENTS)
def test_bad_events_are_422_and_store_nothing(shop, payload, field):
    client, store, _ = shop
    r = client.post(
        "/events", content=payload, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert field.lower() in r.text.lower()
    assert store.count() == 0


def test_unknown_item_is_422_and_nothing_stored(shop):
    client, store, _ = shop
    batch = {
        "events": [
            {"user_id": 1, "item_id": 3, "event": "click"},
            {"user_id": 1, "item_id": N_ITEMS, "event": "click"},
        ]
    }
    r = client.post("/events", json=batch)
    assert r.status_code == 422 and "unknown item_id" in r.text
    assert store.count() == 0


def test_wrong_method_and_missing_pages(shop):
    client, _, _ = shop
    assert client.post("/recommend?user_id=1&k=3").status_code == 405
    assert client.get("/events").status_code == 405
    assert client.get("/items/999/image.png").status_code == 404
    assert client.get("/items/x/image.png").status_code == 422
    assert client.get("/nothing-here").status_code == 404


def test_demo_page_users_and_images(shop):
    client, _, _ = shop
    page = client.get("/")
    assert page.status_code == 200 and 'id="products"' in page.text
    assert client.get("/static/app.js").status_code == 200
    users = client.get("/users").json()["users"]
    assert users[-1] == {"user_id": N_USERS, "cold_start": True}
    img = client.get("/items/3/image.png")
    assert img.status_code == 200 and img.headers["content-type"] == "image/png"
    assert img.content.startswith(b"\x89PNG")


def test_png_bytes_round_trip():
    import io

    import matplotlib.image as mpimg

    img = np.arange(28 * 28, dtype=np.uint8).reshape(28, 28)
    back = mpimg.imread(io.BytesIO(png_bytes(img)), format="png")
    np.testing.assert_allclose(back * 255, img, atol=0.5)
    with pytest.raises(TypeError, match="2-D uint8"):
        png_bytes(np.zeros((3, 3), dtype=np.float32))


def test_create_app_checks(tmp_path):
    service = tiny_service()
    with EventStore(tmp_path / "e.db") as store:
        with pytest.raises(TypeError, match="service must be a ShopService"):
            create_app(object(), store)
        with pytest.raises(TypeError, match="store must be an EventStore"):
            create_app(service, "events.db")
        with pytest.raises(ValueError, match="k_max must be <= 30"):
            create_app(service, store, k_max=31)
