"""Driving the demo shop page in a real headless browser (Chromium + Selenium).

Introduced in Chapter 12 ("Serving and scaling out"). A page can be broken
in ways an API test never sees: a script error, a wrong URL in the
JavaScript, a click handler that posts nothing. :func:`visit_shop_page`
opens the page in Debian's Chromium through ChromeDriver, picks a shopper,
waits for the products, clicks one and waits for the page to confirm the
stored event -- what a shopper would do.

Nothing is downloaded: Selenium is pointed at ``/usr/bin/chromium`` and
``/usr/bin/chromedriver`` (``sudo apt-get install chromium chromium-driver``)
and Selenium Manager is switched off (``SE_OFFLINE=true``). Chromium runs
with its background networking, updates and sync off, in a fresh profile.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..checks import check_int, check_number

__all__ = [
    "CHROMIUM_FLAGS",
    "INSTALL_HINT",
    "PageVisit",
    "chromium_paths",
    "headless_chromium",
    "visit_shop_page",
]

#: the flags Chromium runs with: headless, and no traffic beyond the page.
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)

INSTALL_HINT = (
    "the browser test needs Debian's Chromium and ChromeDriver: "
    "sudo apt-get install chromium chromium-driver (or: make browser)"
)


def chromium_paths() -> tuple[str, str] | None:
    """``(chromium, chromedriver)`` executables, or ``None`` if either is missing.

    Introduced in Chapter 12. Looks at ``/usr/bin`` first, then the ``PATH``.
    """
    found = []
    for name in ("chromium", "chromedriver"):
        path = f"/usr/bin/{name}"
        if not os.access(path, os.X_OK):
            path = shutil.which(name)
        if path is None:
            return None
        found.append(path)
    return found[0], found[1]


@contextlib.contextmanager
def headless_chromium(width: int = 1100, height: int = 760) -> Iterator:
    """A Selenium driver for headless Chromium, quit when the block ends.

    Introduced in Chapter 12.

    Raises:
        RuntimeError: Chromium or ChromeDriver is missing (the message says
            how to install them).
    """
    width = check_int(width, "width", low=200)
    height = check_int(height, "height", low=200)
    paths = chromium_paths()
    if paths is None:
        raise RuntimeError(INSTALL_HINT)
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never download
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = paths[0]
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        driver = webdriver.Chrome(service=Service(paths[1]), options=options)
        try:
            yield driver
        finally:
            driver.quit()


@dataclass
class PageVisit:
    """What :func:`visit_shop_page` saw. Introduced in Chapter 12.

    Attributes:
        shown_before: item ids on the page before the click.
        clicked_item: the item clicked.
        event_id: the id of the stored click, as the page reported it.
        shown_after: item ids after the page refreshed.
        status: the page's status line after the click.
        screenshot: the PNG file written, if one was asked for.
    """

    shown_before: list[int]
    clicked_item: int
    event_id: int
    shown_after: list[int]
    status: str
    screenshot: Path | None


def visit_shop_page(
    base_url: str,
    user_id: int,
    *,
    k: int = 8,
    click: int = 0,
    screenshot=None,
    timeout_s: float = 30.0,
) -> PageVisit:
    """Open the shop page, pick ``user_id``, click product number ``click``.

    Introduced in Chapter 12. ``user_id`` must be one of the page's picker
    entries and ``k`` one of its list lengths (4, 8, 12). The screenshot
    (PNG) is taken after the click has been stored and the page refreshed.

    Raises:
        RuntimeError: no Chromium (see :func:`headless_chromium`).
        TimeoutError: the page did not show the products or confirm the
            click within ``timeout_s``.
    """
    user_id = check_int(user_id, "user_id", low=0)
    k = check_int(k, "k", low=1)
    click = check_int(click, "click", low=0, high=k - 1)
    timeout_s = check_number(timeout_s, "timeout_s", low=0.0, low_open=True)
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    def ids(driver) -> list[int]:
        return [
            int(e.get_attribute("data-item-id"))
            for e in driver.find_elements(By.CSS_SELECTOR, "#products .product")
        ]

    with headless_chromium() as driver:
        wait = WebDriverWait(driver, timeout_s)
        try:
            driver.get(base_url + "/")
            wait.until(
                lambda d: d.find_element(By.TAG_NAME, "body").get_attribute(
                    "data-loaded"
                )
            )
            Select(driver.find_element(By.ID, "k")).select_by_visible_text(str(k))
            Select(driver.find_element(By.ID, "user")).select_by_value(str(user_id))
            wait.until(
                lambda d: (
                    f"Shopper {user_id}:" in d.find_element(By.ID, "status").text
                    and len(ids(d)) > 0
                )
            )
            before = ids(driver)
            cards = driver.find_elements(By.CSS_SELECTOR, "#products .product")
            clicked = before[click]
            cards[click].click()
            wait.until(
                lambda d: (
                    d.find_element(By.TAG_NAME, "body").get_attribute("data-last-event")
                    and "stored" in d.find_element(By.ID, "status").text
                )
            )
            event_id = int(
                driver.find_element(By.TAG_NAME, "body").get_attribute(
                    "data-last-event"
                )
            )
            after = ids(driver)
            status = driver.find_element(By.ID, "status").text
        except TimeoutException as err:
            raise TimeoutError(
                f"the shop page at {base_url} did not finish within {timeout_s} s; "
                f"its status line says: {driver.find_element(By.ID, 'status').text!r}"
            ) from err
        path = None
        if screenshot is not None:
            path = Path(screenshot)
            driver.save_screenshot(str(path))
    return PageVisit(before, clicked, event_id, after, status, path)
