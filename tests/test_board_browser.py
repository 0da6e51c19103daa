"""The waiting-room board in headless Chromium, fed through the embedded broker by a real worker."""

import asyncio
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from streams.commands.broker import Broker
from streams.commands.feed import produce_raw, topic_for
from streams.commands.supervise import WorkerProcess
from streams.settings import Settings
from tests.builders import call, flag, issue, tick

pytestmark = pytest.mark.broker
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# This machine has no network: keep Chromium from trying to reach its services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: `make test` installs it"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def send(broker: Broker, *events: dict) -> None:
    records = [(topic_for(e), e["office_id"].encode(), orjson.dumps(e)) for e in events]
    # Playwright's sync API owns this thread's event loop: produce from another thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, produce_raw(broker.address, records)).result()


def settle() -> None:
    """A worker that just got its partitions holds office clocks until every input partition has been
    fetched and stayed quiet for `max_idle_s`; this test feeds one topic only."""
    time.sleep(Settings.max_idle_s + 0.2)


def numbers(page: Page) -> list[str]:
    return page.locator("#waiting .number").all_inner_texts()


def test_the_board_shows_calls_withdraws_and_survives_a_restart(
    broker: Broker, browser: Browser, tmp_path: Path
) -> None:
    worker = WorkerProcess(broker.url, tmp_path / "w", log_path=tmp_path / "w.log").start()
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    try:
        worker.wait_ready(90)
        settle()
        page.goto(f"http://127.0.0.1:{worker.web_port}/board/kanim-blitar")
        expect(page.locator("#office")).to_have_text("Kantor Imigrasi Kelas II Non TPI Blitar")
        expect(page.locator("body")).not_to_have_class("offline")

        # T1 waits past two hours: K-001 appears within 2 seconds of the fact that decides it.
        send(broker, issue("T1", "08:00", event_id="b1"), issue("T2", "08:10", event_id="b2"),
             issue("T3", "08:20", event_id="b3"))  # fmt: skip
        started = time.monotonic()
        send(broker, tick("10:01:00"))
        expect(page.locator("#waiting .number")).to_have_text(["K-001"], timeout=2000)
        assert time.monotonic() - started < 2.0

        # Its call at counter L3 takes it off the board and shows it as last called.
        send(broker, call("T1", "10:05", counter="L3", event_id="b4"), tick("10:11:00"))
        expect(page.locator("#waiting .number")).to_have_text(["K-002"], timeout=2000)
        expect(page.locator("#last-number")).to_have_text("K-001")
        expect(page.locator("#last-counter")).to_contain_text("L3")

        # A review flagged before T2's deadline, arriving late, withdraws K-002.
        send(broker, flag("A-T2", "09:00", event_id="b5"))
        expect(page.locator("#waiting .number")).to_have_count(0, timeout=2000)
        expect(page.locator("#empty")).to_be_visible()

        # The worker stops: the board says so; it comes back by itself with the new number.
        worker.stop()
        expect(page.locator("body")).to_have_class("offline", timeout=5000)
        expect(page.locator("#lost")).to_be_visible()
        worker = WorkerProcess(
            broker.url, tmp_path / "w", web_port=worker.web_port, log_path=tmp_path / "w.log"
        ).start()
        worker.wait_ready(90)
        settle()
        send(broker, tick("10:21:00"))
        expect(page.locator("body")).not_to_have_class("offline", timeout=10000)
        expect(page.locator("#waiting .number")).to_have_text(["K-003"], timeout=5000)
        expect(page.locator("#last-number")).to_have_text("K-001")

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "board.png"))
        assert (ARTIFACTS / "board.png").stat().st_size > 10_000
        assert "A-T" not in page.content(), "no applicant id on the waiting-room board"
    finally:
        page.close()
        worker.stop()
