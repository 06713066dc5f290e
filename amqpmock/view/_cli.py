"""``amqpmock show`` and ``amqpmock diagram``: the I/O around ``amqpmock.view.timeline`` and
``amqpmock.view.diagram`` (read the cassette, print or write the result).

The arguments are defined here (``add_show_arguments``, ``add_diagram_arguments``) so
``amqpmock/cli.py`` only registers the two subparsers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

# the cassette code is imported by the commands that use it: ``amqpmock serve`` builds
# this module's arguments too and should not pay for it


def add_show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="the cassette (YAML) to show")
    parser.add_argument(
        "--expand", action="store_true", help="print repeated patterns in full, not once"
    )


def add_diagram_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="the cassette (YAML) to draw")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="where to write the diagram: FILE.html (page with filters) or FILE.svg",
    )
    parser.add_argument(
        "--connection", type=int, metavar="N", help="only what connection N took part in"
    )
    parser.add_argument("--queue", metavar="NAME", help="only what went through queue NAME")
    parser.add_argument(
        "--expand", action="store_true", help="draw repeated patterns in full, not once"
    )


def run_show(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from amqpmock.cassette import CassetteError, load_cassette
    from amqpmock.view.timeline import render_cassette

    try:
        cassette = load_cassette(args.path)
    except CassetteError as exc:
        print(f"amqpmock show: {exc}", file=sys.stderr)
        return 1
    (out or sys.stdout).write(render_cassette(cassette, collapse=not args.expand))
    return 0


def run_diagram(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from amqpmock.cassette import CassetteError, load_cassette, write_text_atomic
    from amqpmock.view.diagram import build_diagram, render_html, render_svg
    from amqpmock.view.flows import flow_from_cassette

    target = Path(args.output)
    suffix = target.suffix.lower()
    if suffix not in (".html", ".htm", ".svg"):
        print(
            f"amqpmock diagram: -o must end in .html or .svg, got {args.output!r}",
            file=sys.stderr,
        )
        return 2
    try:
        cassette = load_cassette(args.path)
    except CassetteError as exc:
        print(f"amqpmock diagram: {exc}", file=sys.stderr)
        return 1
    flow = flow_from_cassette(cassette)
    if args.connection is not None or args.queue is not None:
        try:
            flow = flow.select(connection=args.connection, queue=args.queue)
        except KeyError as exc:
            print(f"amqpmock diagram: {exc.args[0]}", file=sys.stderr)
            return 1
    diagram = build_diagram(flow, collapse=not args.expand)
    text = render_svg(diagram) if suffix == ".svg" else render_html(diagram)
    write_text_atomic(target, text)
    arrows = len(diagram.arrows())
    print(
        f"amqpmock: wrote {target} ({len(diagram.participants)} participants, {arrows} arrows)",
        file=out or sys.stdout,
    )
    return 0
