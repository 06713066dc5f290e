"""The live page at the HTTP port's root, in a real headless browser (Playwright driving
Debian's Chromium, no network): a queue's count changes on the page while a client
publishes, and the traffic diagram draws the publish."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pika
import pytest
from playwright.sync_api import Browser, sync_playwright

from amqpmock.testing.harness import BrokerFixture

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the live page test needs Debian's chromium "
            "(apt-get install -y chromium; .ci/run installs it)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            yield browser
        finally:
            browser.close()


def test_the_page_follows_the_broker_live(
    browser: Browser, amqp_broker: BrokerFixture, amqp_management_url: str
) -> None:
    origin = "http://" + amqp_management_url.rpartition("@")[2]
    context = browser.new_context(http_credentials={"username": "guest", "password": "guest"})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    conn = pika.BlockingConnection(pika.URLParameters(amqp_broker.url))
    try:
        ch = conn.channel()
        ch.queue_declare("live.orders")
        page.goto(origin + "/")
        ready = page.locator('#queues tr[data-row="live.orders"] td[data-field="messages_ready"]')
        ready.wait_for()
        assert ready.inner_text() == "0"
        for n in range(3):
            ch.basic_publish("", "live.orders", f'{{"order": {n}}}'.encode())
        # the page polls: the count changes without a reload
        page.wait_for_function(
            'document.querySelector(\'#queues tr[data-row="live.orders"] '
            "td[data-field=\"messages_ready\"]').textContent === '3'",
            timeout=10_000,
        )
        assert page.locator("#messages td.body").first.inner_text() == '{"order": 2}'
        page.wait_for_selector("#diagram svg", timeout=10_000)
        labels = page.locator("#diagram svg").text_content() or ""
        assert "live.orders" in labels
        assert page.locator('#connections td[data-field="user"]').first.inner_text() == "guest"
    finally:
        conn.close()
        context.close()
    assert problems == []


def test_the_page_needs_the_credentials(browser: Browser, amqp_management_url: str) -> None:
    origin = "http://" + amqp_management_url.rpartition("@")[2]
    context = browser.new_context()
    try:
        response = context.request.get(origin + "/amqpmock/state")
        assert response.status == 401
        assert response.headers["www-authenticate"] == 'Basic realm="RabbitMQ Management"'
    finally:
        context.close()
