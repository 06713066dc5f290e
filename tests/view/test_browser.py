"""A real browser opens a generated diagram: Debian's chromium, headless, from a
file:// URL with no network. The test reads the DOM the page ended up with (after its
script ran), takes a screenshot and looks at its pixels, and checks the console stayed
silent. Chromium is required (``.ci/run`` installs it): without it the test fails."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from amqpmock.cassette import Cassette
from amqpmock.view.diagram import build_diagram, render_html
from amqpmock.view.flows import flow_from_cassette

from .conftest import Dom
from .png import colour_counts, near, read_png

CHROMIUM = Path("/usr/bin/chromium")
CONSOLE = re.compile(r"CONSOLE[:(]\d+\)?\] \"(.*?)\", source: (\S+)")


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser test needs Debian's chromium "
            "(apt-get install -y chromium; .ci/run installs it)"
        )
    return CHROMIUM


def browse(
    chromium: Path, profile: Path, url: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [
            str(chromium),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"chromium failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return done


def console_messages(stderr: str) -> list[str]:
    return [m.group(1) for m in CONSOLE.finditer(stderr)] + [
        line for line in stderr.splitlines() if "Uncaught" in line
    ]


@pytest.fixture
def page(oslo_cassette: Cassette, tmp_path: Path) -> Path:
    path = tmp_path / "oslo diagram.html"  # a space: the URL must be quoted right
    path.write_text(
        render_html(build_diagram(flow_from_cassette(oslo_cassette))), encoding="utf-8"
    )
    return path


def test_the_page_renders_its_participants_and_arrows(
    chromium: Path, page: Path, tmp_path: Path
) -> None:
    done = browse(chromium, tmp_path / "profile", page.as_uri(), "--dump-dom")
    assert console_messages(done.stderr) == []
    dom = Dom(done.stdout)
    (body,) = [e for e in dom.elements if e.tag == "body"]
    assert body.get("data-js-ok") == "1", "the page's script did not finish"
    participants = dom.participants()
    assert participants[:3] == ["conn:1", "conn:2", "exchange:neutron"]
    assert participants[-1] == "outside:dhcp_agent" and len(participants) == 7
    assert dom.count_by_kind() == {"publish": 4, "route": 4, "deliver": 1, "ack": 1}
    rows = dom.having("data-row")
    (count,) = dom.having("id", "f-count")
    assert count.get("data-visible-rows") == str(len(rows)) == "19"
    assert "".join(count.text) == "19 of 19 rows"
    assert not [r for r in rows if "display: none" in r.get("style")]


def test_filters_from_the_url_fragment(chromium: Path, page: Path, tmp_path: Path) -> None:
    done = browse(chromium, tmp_path / "profile", page.as_uri() + "#connection=1", "--dump-dom")
    assert console_messages(done.stderr) == []
    dom = Dom(done.stdout)
    rows = dom.having("data-row")
    shown = [r for r in rows if "display: none" not in r.get("style")]
    mine = [r for r in rows if "1" in r.get("data-connections").split()]
    assert [r.get("data-row") for r in shown] == [r.get("data-row") for r in mine]
    assert len(shown) == 8 and len(rows) == 19
    assert dom.having("id", "f-count")[0].get("data-visible-rows") == "8"
    idle = sorted(
        p.get("data-participant")
        for p in dom.having("data-participant")
        if "idle" in p.get("class")
    )
    assert idle == ["conn:2", "exchange:dhcp_agent_fanout", "exchange:neutron"]

    done = browse(chromium, tmp_path / "profile", page.as_uri() + "#setup=0", "--dump-dom")
    dom = Dom(done.stdout)
    shown = [r for r in dom.having("data-row") if "display: none" not in r.get("style")]
    assert {r.get("data-row-kind") for r in shown} == {"arrow"} and len(shown) == 10


def screenshot(
    chromium: Path, tmp_path: Path, url: str, name: str
) -> tuple[int, int, Counter[tuple[int, int, int]]]:
    png = tmp_path / name
    done = browse(
        chromium,
        tmp_path / "profile",
        url,
        f"--screenshot={png}",
        "--window-size=1400,1000",
        "--hide-scrollbars",
    )
    assert console_messages(done.stderr) == []
    width, height, rows = read_png(png)
    return width, height, colour_counts(rows)


def test_screenshot_shows_the_flavours(chromium: Path, page: Path, tmp_path: Path) -> None:
    width, height, full = screenshot(chromium, tmp_path, page.as_uri(), "full.png")
    assert (width, height) == (1400, 1000)
    assert near(full, "#ffffff", 2) < width * height * 0.95, "the screenshot is (nearly) blank"
    # connection 1 only received the reply: the call (blue), cast (green) and
    # fanout_cast (magenta) arrows disappear from the picture, the legend's swatches
    # stay; the reply (teal) stays
    _, _, reply_only = screenshot(chromium, tmp_path, page.as_uri() + "#connection=1", "c1.png")
    for colour in ("#0969da", "#1a7f37", "#bf3989"):
        drawn, left = near(full, colour, 30), near(reply_only, colour, 30)
        assert drawn - left > 150, f"{colour}: {drawn} pixels with every row, {left} without"
    teal = near(full, "#1b7c83", 30), near(reply_only, "#1b7c83", 30)
    assert teal[1] > 300 and abs(teal[0] - teal[1]) < teal[0] * 0.5, teal


def test_console_errors_are_caught(chromium: Path, tmp_path: Path) -> None:
    """The console check above is not vacuous: a page that throws is seen."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><body><script>undefinedThing();</script></body>")
    done = browse(chromium, tmp_path / "profile", bad.as_uri(), "--dump-dom")
    assert any("ReferenceError" in m for m in console_messages(done.stderr))
