"""The demo shop page in a real headless browser (Debian's Chromium + ChromeDriver).

This test does not skip when Chromium is missing: CI installs it (``make
browser``), and a skipped browser test would hide a broken page. Without
Chromium it fails with the command that installs it.
"""

import pytest

from recsys_lib.serving import EventStore, create_app, serve_in_thread
from recsys_lib.serving.browser import INSTALL_HINT, chromium_paths, visit_shop_page

from .helpers import N_USERS, tiny_service


def test_shop_page_shows_k_products_and_stores_a_click(tmp_path):
    if chromium_paths() is None:
        pytest.fail(INSTALL_HINT)
    with EventStore(tmp_path / "e.db") as store:
        service = tiny_service()
        app = create_app(service, store, demo_users=[0, 1, N_USERS])
        with serve_in_thread(app) as url:
            visit = visit_shop_page(
                url, 1, k=8, click=2, screenshot=tmp_path / "shop.png"
            )
        assert len(visit.shown_before) == 8 and len(set(visit.shown_before)) == 8
        clicks = store.events().query("event == 'click'")
        assert len(clicks) == 1
        row = clicks.iloc[0]
        assert (row["user_id"], row["item_id"], row["position"]) == (
            1,
            visit.clicked_item,
            2,
        )
        assert int(row["event_id"]) == visit.event_id
        assert f"Click on product {visit.clicked_item} stored" in visit.status
        assert (
            service.history(1)[-1] == visit.clicked_item
        )  # the click reached the model
        assert len(visit.shown_after) == 8
        assert visit.screenshot.read_bytes().startswith(b"\x89PNG")
