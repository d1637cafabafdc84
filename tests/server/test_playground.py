"""The playground in a real headless Chromium (Debian's), driven by Playwright.

Upload with progress, pick a knowledge base, a streamed cited answer with its quote on
click, per-turn stats, a follow-up, and the stop button cutting an answer mid-stream.
Set ``CONTEXTUAL_AVATAR_SCREENSHOT=1`` to refresh ``docs/img/playground.png``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.conftest import ALICE, GUIDE, OFF_TOPIC, REPO, Served

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


def test_upload_ask_cite_follow_up_and_stop(served: Served, browser, tmp_path: Path):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(served.base_url + "/")
    page.fill("#key", ALICE)
    page.dispatch_event("#key", "change")
    expect(page.locator("#collection")).to_have_value("default", timeout=15_000)

    # Upload (the guide again: unchanged, so the index is left as it was) and its job.
    page.set_input_files("#file", str(GUIDE))
    page.click("#upload")
    expect(page.locator("#upload-status")).to_contain_text("already indexed", timeout=60_000)
    expect(page.locator("#documents")).to_contain_text("guide.pdf")

    # A streamed, cited answer with its stats; the quote opens on click.
    page.fill("#question", "How much does an adult ticket cost?")
    page.click("#ask")
    first = page.locator(".turn").nth(0)
    expect(first.locator(".stats")).to_contain_text("tier", timeout=30_000)
    expect(first.locator(".a")).to_contain_text("9 euros")
    first.locator(".cites button", has_text="guide.pdf p. 2").click()
    expect(page.locator("#quote-text")).to_contain_text("9 euros")

    # A follow-up, served from the session's cache.
    page.fill("#question", "And for children?")
    page.click("#ask")
    second = page.locator(".turn").nth(1)
    expect(second.locator(".stats")).to_contain_text("cache hit", timeout=30_000)
    expect(second.locator(".a")).not_to_be_empty()

    # Stop an answer mid-stream: the model stops, the turn is recorded as interrupted.
    stopped_before, written_before = served.paced.closed, served.paced.written
    ledger = served.engine.ledger
    interrupted_before = ledger.totals().interrupted_turns
    page.fill("#question", OFF_TOPIC)
    page.click("#ask")
    third = page.locator(".turn").nth(2)
    expect(third.locator(".a")).to_contain_text("wave", timeout=30_000)
    page.click("#stop")
    expect(third.locator(".a.stopped")).to_be_visible()
    deadline = time.monotonic() + 30
    while ledger.totals().interrupted_turns == interrupted_before and time.monotonic() < deadline:
        time.sleep(0.02)  # the server sees the hang-up on its own thread
    assert served.paced.closed == stopped_before + 1
    assert ledger.totals().interrupted_turns == interrupted_before + 1  # recorded as such
    assert served.paced.written - written_before < served.paced.words

    page.locator(".cites button").first.click()
    shot = tmp_path / "playground.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("CONTEXTUAL_AVATAR_SCREENSHOT") == "1":
        (REPO / "docs" / "img").mkdir(exist_ok=True)
        shutil.copy(shot, REPO / "docs" / "img" / "playground.png")
    page.close()
