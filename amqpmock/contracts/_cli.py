"""``amqpmock asyncapi CASSETTE... [-o FILE]``: the AsyncAPI 3.0 document of cassettes.

Exit status: 0 written, 1 a cassette could not be read or the file not written (the
message names which and why), 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

__all__ = ["add_asyncapi_arguments", "run_asyncapi"]


def add_asyncapi_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cassettes", nargs="+", metavar="CASSETTE", help="cassette files")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the document to FILE (JSON if it ends in .json, else YAML); "
        "default: YAML on standard output",
    )
    parser.add_argument("--title", default="AMQP traffic", help="the document's info.title")
    parser.add_argument(
        "--api-version", default="1.0.0", help="the document's info.version (default 1.0.0)"
    )


def run_asyncapi(args: argparse.Namespace, out: TextIO | None = None) -> int:
    try:
        import genson  # noqa: F401
    except ImportError:
        print(
            "amqpmock asyncapi: needs genson (pip install 'amqpmock[contracts]')",
            file=sys.stderr,
        )
        return 1
    from amqpmock.contracts import (
        ContractError,
        build_document,
        document_text,
        load_traffic,
        write_document,
    )

    try:
        traffic = load_traffic(args.cassettes)
        document = build_document(traffic, title=args.title, version=args.api_version)
        if args.output:
            path = write_document(document, args.output)
            print(f"wrote {path}", file=sys.stderr)
        else:
            (out or sys.stdout).write(document_text(document))
    except ContractError as exc:
        print(f"amqpmock asyncapi: {exc}", file=sys.stderr)
        return 1
    return 0
