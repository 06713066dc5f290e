"""``amqpmock control``: the control API's failure doors from a shell, for a running
``amqpmock serve`` (or a test's ``amqp_management_url``): restart, come up, alarms,
network faults, reset. One HTTP request each (urllib, no extra), the answer printed
as JSON; a refused request exits 1 with the server's reason, an unreachable server
exits 2 naming the URL.

    amqpmock control --http http://127.0.0.1:15672 restart --down-for 1.5
    amqpmock control --http ... alarm memory
    amqpmock control --http ... fault timeout --connection worker --for 5
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

ENV_URL = "AMQPMOCK_HTTP"
TIMEOUT = 30.0


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {value!r}") from None
    if seconds < 0 or seconds != seconds:
        raise argparse.ArgumentTypeError(f"expected 0 seconds or more, got {value!r}")
    return seconds


def add_control_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--http",
        default=os.environ.get(ENV_URL),
        metavar="URL",
        help=f"the HTTP side's URL, as serve prints it (default: ${ENV_URL})",
    )
    parser.add_argument(
        "--user",
        default="guest:guest",
        metavar="NAME:PASSWORD",
        help="an administrator (default guest:guest)",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    restart = actions.add_parser(
        "restart", help="restart the broker as a RabbitMQ node restarts (320 to every client)"
    )
    restart.add_argument(
        "--down-for", type=_seconds, default=0.0, metavar="S", help="refuse clients S seconds"
    )
    restart.add_argument(
        "--stay-down", action="store_true", help="stay down until `control come-up`"
    )
    restart.add_argument("--crash", action="store_true", help="drop connections, no Close")
    actions.add_parser("come-up", help="listen again after restart --stay-down")
    actions.add_parser("nodes", help="the cluster's nodes (serve --nodes N)")
    for name, help_ in (("stop-node", "stop (rabbitmqctl stop_app)"), ("start-node", "start")):
        sub = actions.add_parser(name, help=f"{help_} a node of the cluster")
        sub.add_argument("node", help="its index (0 is the first) or its name")
    for name, help_ in (("alarm", "raise"), ("clear-alarm", "clear")):
        sub = actions.add_parser(name, help=f"{help_} a resource alarm")
        sub.add_argument("resource", choices=("memory", "disk"))
    actions.add_parser("alarms", help="the alarms in effect")
    fault = actions.add_parser("fault", help="a network fault, in Toxiproxy's words")
    fault.add_argument(
        "kind", choices=("timeout", "reset_peer", "latency", "bandwidth", "slicer", "half_open")
    )
    fault.add_argument(
        "--connection", metavar="NAME", help="only this connection (its name or host:port)"
    )
    fault.add_argument(
        "--for",
        dest="for_",
        type=_seconds,
        metavar="S",
        help="for S seconds (default: until cleared)",
    )
    fault.add_argument("--latency", type=_seconds, default=0.0, metavar="S")
    fault.add_argument("--jitter", type=_seconds, default=0.0, metavar="S")
    fault.add_argument("--rate", type=_seconds, default=0.0, metavar="KB/S", help="bandwidth")
    fault.add_argument("--average-size", type=int, default=0, metavar="BYTES", help="slicer")
    fault.add_argument("--size-variation", type=int, default=0, metavar="BYTES")
    fault.add_argument("--delay", type=_seconds, default=0.0, metavar="S", help="slicer")
    fault.add_argument("--node", help="only connections to this node (index or name)")
    fault.add_argument("--new", action="store_true", help="connections made later too")
    actions.add_parser("clear-faults", help="end every network fault")
    actions.add_parser("reset", help="reset the broker to its start (as between tests)")


def _request(args: argparse.Namespace) -> tuple[str, str, dict[str, Any] | None]:
    action = args.action
    if action == "restart":
        down_for = None if args.stay_down else args.down_for
        return "POST", "restart", {"down_for": down_for, "crash": args.crash}
    if action == "come-up":
        return "POST", "come-up", None
    if action == "nodes":
        return "GET", "nodes", None
    if action in ("stop-node", "start-node"):
        node = urllib.parse.quote(args.node, safe="")
        return "POST", f"nodes/{node}/{action.split('-')[0]}", None
    if action == "alarm":
        return "POST", f"alarms/{args.resource}", None
    if action == "clear-alarm":
        return "DELETE", f"alarms/{args.resource}", None
    if action == "alarms":
        return "GET", "alarms", None
    if action == "fault":
        body: dict[str, Any] = {"kind": args.kind, "new": args.new}
        if args.connection is not None:
            body["connection"] = args.connection
        if args.for_ is not None:
            body["for"] = args.for_
        if args.node is not None:
            body["node"] = int(args.node) if args.node.isdigit() else args.node
        numbers = {
            "latency": ("latency", "jitter"),
            "bandwidth": ("rate",),
            "slicer": ("average_size", "size_variation", "delay"),
        }
        for name in numbers.get(args.kind, ()):
            body[name] = getattr(args, name)
        return "POST", "faults", body
    if action == "clear-faults":
        return "DELETE", "faults", None
    return "POST", "reset", None


def run_control(args: argparse.Namespace) -> int:
    if not args.http:
        print(f"amqpmock control: --http URL (or ${ENV_URL}) is needed", file=sys.stderr)
        return 2
    base = str(args.http).rstrip("/")
    if "://" not in base:
        base = "http://" + base
    method, path, body = _request(args)
    url = f"{base}/amqpmock/{path}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", "Basic " + base64.b64encode(args.user.encode()).decode())
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            text = response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        print(f"amqpmock control: {method} {url}: {exc.code} {_reason(exc)}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"amqpmock control: cannot reach {url}: {reason}", file=sys.stderr)
        return 2
    if text.strip():
        print(text.strip())
    return 0


def _reason(exc: urllib.error.HTTPError) -> str:
    try:
        answer = json.loads(exc.read().decode("utf-8", "replace"))
    except (ValueError, OSError):
        return str(exc.reason)
    if isinstance(answer, dict):
        return str(answer.get("reason") or answer.get("error") or answer)
    return str(answer)
