"""The diagram page's stylesheet and script are files (``amqpmock/view/assets``), linted
and tested as code: the script passes ``node --check``, the stylesheets parse (the page's
and the one the SVG carries), and every page inlines exactly the files' contents."""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib.resources import as_file, files
from pathlib import Path

import pytest

from amqpmock.cassette import Cassette, load_cassette
from amqpmock.view.diagram import build_diagram, render_html, render_svg
from amqpmock.view.flows import flow_from_cassette

from .conftest import all_committed

ASSETS = files("amqpmock.view") / "assets"
NODE = shutil.which("node") or "/usr/bin/node"


def asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def node_check(path: Path) -> subprocess.CompletedProcess[str]:
    if not Path(NODE).is_file():
        pytest.fail(f"node is needed to check the diagram's script (looked for {NODE})")
    return subprocess.run(
        [NODE, "--check", str(path)], capture_output=True, text=True, timeout=60, check=False
    )


# --- a small CSS checker --------------------------------------------------------------

_STRING = r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\''
_PROPERTY = re.compile(r"-?[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


def _outside_strings(text: str) -> str:
    """``text`` with its quoted strings blanked (their quotes kept)."""
    return re.sub(_STRING, lambda m: m.group(0)[0] * 2, text)


def _balanced_parens(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def css_rules(css: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """(selector, [(property, value)]) of a flat stylesheet; ``AssertionError`` saying
    where when braces do not balance, a rule has no selector, or a declaration is not
    ``property: value;``."""
    text = re.sub(r"/\*.*?\*/", " ", css, flags=re.S)
    assert "/*" not in text and "*/" not in text, "an unclosed comment"
    bare = _outside_strings(text)
    assert not re.search(r"[\"']", bare.replace('""', "").replace("''", "")), "open string"
    depth = 0
    for char in bare:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert 0 <= depth <= 1, "braces do not balance (or nest)"
    assert depth == 0, "braces do not balance: a block is not closed"
    rules: list[tuple[str, list[tuple[str, str]]]] = []
    for selector, body in re.findall(r"([^{}]*)\{([^{}]*)\}", bare):
        selector = " ".join(selector.split())
        assert selector, f"a rule without a selector: {{{body}}}"
        assert ";" not in selector, f"a stray ';' before {selector!r}"
        assert _balanced_parens(selector), f"unbalanced parentheses in {selector!r}"
        assert not body.strip() or body.rstrip().endswith(";"), (
            f"{selector}: the last declaration does not end with ';'"
        )
        declarations = []
        for item in body.split(";")[:-1]:
            name, colon, value = item.partition(":")
            name, value = name.strip(), " ".join(value.split())
            where = f"{selector} {{ {item.strip()} }}"
            assert colon and _PROPERTY.fullmatch(name), f"not 'property: value;': {where}"
            assert value, f"an empty value: {where}"
            assert _balanced_parens(value), f"unbalanced parentheses: {where}"
            unparened = re.sub(r"\([^()]*\)", "()", value)
            assert ":" not in unparened, f"a missing ';' between declarations: {where}"
            declarations.append((name, value))
        assert declarations, f"an empty rule: {selector}"
        rules.append((selector, declarations))
    leftover = re.sub(r"[^{}]*\{[^{}]*\}", "", bare).strip()
    assert not leftover, f"text outside any rule: {leftover[:60]!r}"
    return rules


@pytest.mark.parametrize(
    "broken",
    [
        "a { color: red; ",
        "a { color: red; } }",
        "a { b { color: red; } }",
        "a { color: red }",
        "a { color: red background: blue; }",
        "a { color red; }",
        "a { color: ; }",
        "a { width: calc(1px + 2px; }",
        "{ color: red; }",
        "a { color: red; } stray",
        'a { font-family: "Menlo; }',
        "a { color: red; /* open }",
    ],
)
def test_the_css_checker_rejects_broken_css(broken: str) -> None:
    with pytest.raises(AssertionError):
        css_rules(broken)


def test_the_css_checker_reads_good_css() -> None:
    css = (
        '/* c */ a:hover, b > c[data-x="{;}"] { font: 12px "A; B", serif; '
        "width: calc(100% - 2px); background: url(data:x); }\nd{margin:0;}"
    )
    assert css_rules(css) == [
        (
            'a:hover, b > c[data-x=""]',
            [
                ("font", '12px "", serif'),
                ("width", "calc(100% - 2px)"),
                ("background", "url(data:x)"),
            ],
        ),
        ("d", [("margin", "0")]),
    ]


# --- the assets -----------------------------------------------------------------------


def test_the_script_passes_node_check() -> None:
    with as_file(ASSETS / "diagram.js") as path:
        result = node_check(path)
    assert result.returncode == 0, result.stderr


def test_node_check_fails_on_a_broken_script(tmp_path: Path) -> None:
    """``node --check`` really parses: a syntax error fails it."""
    broken = tmp_path / "broken.js"
    broken.write_text(asset("diagram.js").replace("function (", "function ((", 1))
    result = node_check(broken)
    assert result.returncode != 0
    assert "SyntaxError" in result.stderr


def test_the_page_stylesheet_parses() -> None:
    rules = css_rules(asset("diagram.css"))
    selectors = [selector for selector, _ in rules]
    assert "body" in selectors and "tr.hl td" in selectors


def test_the_svg_stylesheet_parses(oslo_cassette: Cassette) -> None:
    svg = render_svg(build_diagram(flow_from_cassette(oslo_cassette)))
    (css,) = re.findall(r"<style>(.*?)</style>", svg, flags=re.S)
    rules = css_rules(css)
    assert ".c-call line, .c-call path" in [selector for selector, _ in rules]


@pytest.mark.parametrize("path", all_committed(), ids=lambda p: p.stem)
def test_pages_inline_exactly_the_asset_files(path: Path) -> None:
    page = render_html(build_diagram(flow_from_cassette(load_cassette(path))))
    head, body = page.split("</head>", 1)
    assert re.findall(r"<style>(.*?)</style>", head, flags=re.S) == ["\n" + asset("diagram.css")]
    assert re.findall(r"<script>(.*?)</script>", body, flags=re.S) == ["\n" + asset("diagram.js")]
    assert "<script" not in head and "<link" not in page and " src=" not in page


def test_the_live_page_script_passes_node_check() -> None:
    with as_file(ASSETS / "live.js") as path:
        result = node_check(path)
    assert result.returncode == 0, result.stderr


def test_the_live_page_inlines_its_assets_and_loads_nothing() -> None:
    from amqpmock.view.live import page

    html = page()
    selectors = [selector for selector, _ in css_rules(asset("live.css"))]
    assert "td.num" in selectors and "section.wide" in selectors
    assert asset("live.js") in html and asset("live.css") in html
    assert "<link" not in html and " src=" not in html
