"""Memory of an abandoned partial message is given back: the fake (``amqpmock serve``,
own process) against a real RabbitMQ node, in the same run. The fake runs twice: as
users start it (``fake``: the default options, the HTTP side on, no HTTP client
connected) and with ``--no-http`` (the broker alone).

For each broker, fresh, ``--rounds`` times: a client handshakes, opens a channel,
declares the queue ``abandoned``, sends Basic.Publish and a content header announcing a
body of 2 x ``--size`` MB, then ``--size`` MB of body frames (frame_max 131072), and
closes its socket mid-message (tests/server/test_abandoned_memory.py's client).

The broker's OS process RSS (VmRSS in /proc/<pid>/status; amqpmock serve's process, or
RabbitMQ's beam.smp, whose pid is in the node's pid file) is read:

- start: on the idle broker, after a fresh client has completed a handshake;
- held: after the last body frame of a round is sent, the partial message still open;
- after: once that socket is closed and a fresh client has completed a handshake.

Each reading comes ``--settle`` seconds after its event. Nobody calls gc.collect() or
asks Erlang to collect garbage. Growth is RSS after the last round minus RSS at start,
and minus RSS after round 1 (what stays once buffers and code paths are warm). What a
broker answers on the abandoning connection (a Close, a hang-up) is printed. Ratios
are of RSS after each round: fake / RabbitMQ and fake / --no-http (below 1: smaller).

    python bench/memory.py [--size 128] [--rounds 6] [--settle 0.5] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pamqp import frame, header  # noqa: E402
from pamqp.commands import Basic, Connection, Queue  # noqa: E402

from amqpmock.testing.rabbitmq import RabbitMQNode  # noqa: E402
from amqpmock.wire.codec import PROTOCOL_HEADER, MethodFrame  # noqa: E402
from tests.server.rawclient import RawClient  # noqa: E402

MB = 1 << 20
BODY_FRAME = 131072 - 8  # frame_max less the frame's own header and end octet
BROKERS = ("fake", "fake-no-http", "rabbitmq")


@contextlib.contextmanager
def broker(name: str) -> Iterator[tuple[str, int]]:
    """A fresh broker's URL and the OS pid whose memory is read: ``amqpmock serve`` as
    users start it (``fake``: the default options, the HTTP side on) or with
    ``--no-http`` (``fake-no-http``), or RabbitMQ."""
    if name == "rabbitmq":
        with RabbitMQNode() as node:
            yield node.url, int(node.pid_file.read_text().strip())
        return
    extra = ["--no-http"] if name == "fake-no-http" else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "amqpmock.cli", "serve", "--port", "0", *extra],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip(), proc.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def product(url: str) -> str:
    """The server's product and version, as its Connection.Start gives them."""
    with RawClient(url, timeout=10) as c:
        c.send_bytes(PROTOCOL_HEADER)
        props = c.expect(Connection.Start, wait=10).server_properties
        return f"{props.get('product', '?')} {props.get('version', '?')}"


def handshake(url: str) -> None:
    with RawClient(url, timeout=30) as c:
        c.handshake()


def abandon(url: str, pid: int, size: int, settle: float) -> tuple[float, str]:
    """One round: RSS (MB) while the partial message is held, and what the broker said."""
    chunk = os.urandom(BODY_FRAME)
    said: list[str] = []
    with RawClient(url, timeout=30) as c:
        c.handshake()
        c.open_channel()
        c.send(1, Queue.Declare(queue="abandoned"))
        c.expect(Queue.DeclareOk, 1)
        c.send_bytes(frame.marshal(Basic.Publish(exchange="", routing_key="abandoned"), 1))
        c.send_bytes(frame.marshal(header.ContentHeader(0, 2 * size * MB), 1))
        c.sock.settimeout(60)
        left = size * MB
        try:
            while left:
                n = min(left, BODY_FRAME)
                c.send_bytes(struct.pack(">BHI", 3, 1, n) + chunk[:n] + b"\xce")
                left -= n
        except OSError as exc:
            said.append(f"sending failed after {(size * MB - left) / MB:.1f} MB: {exc!r}")
        time.sleep(settle)
        held = rss_mb(pid)
        got, hung_up = c.frames(0.1)
        said += [f"{f.method.name} {dict(f.method)}" for f in got if isinstance(f, MethodFrame)]
        if hung_up:
            said.append("hung up")
    # closed here, mid-message
    return held, "; ".join(said)


def measure(name: str, size: int, rounds: int, settle: float) -> dict[str, Any]:
    with broker(name) as (url, pid):
        process = Path(f"/proc/{pid}/comm").read_text().strip()
        server = product(url)
        handshake(url)
        time.sleep(settle)
        start = rss_mb(pid)
        held, after, said = [], [], []
        for i in range(rounds):
            print(f"{name}: round {i + 1}/{rounds} ...", file=sys.stderr, flush=True)
            mb, words = abandon(url, pid, size, settle)
            held.append(mb)
            said.append(words)
            handshake(url)
            time.sleep(settle)
            after.append(rss_mb(pid))
    return {
        "process": process,
        "server": server,
        "start_mb": start,
        "held_mb": held,
        "after_mb": after,
        "growth_mb": after[-1] - start,
        "growth_since_round_1_mb": after[-1] - after[0],
        "said": said,
    }


def table(results: dict[str, dict[str, Any]], rounds: int) -> str:
    names = ("fake", "fake-no-http", "rabbitmq")
    heads = ["fake held", "fake after", "no-http held", "no-http after"]
    heads += ["rabbit held", "rabbit after", "fake/rabbit", "fake/no-http"]
    lines = [f"{'RSS (MB)':<21}" + "".join(f"{h:>14}" for h in heads)]
    fake, bare, rabbit = (results[name] for name in names)

    def row(label: str, cells: list[str]) -> None:
        lines.append(f"{label:<21}" + "".join(f"{c:>14}" for c in cells))

    def ratios(mine: float, *others: float) -> list[str]:
        return [f"{mine / other:.2f}x" for other in others]

    cells = [c for r in (fake, bare, rabbit) for c in ("", f"{r['start_mb']:.1f}")]
    row("start", [*cells, *ratios(fake["start_mb"], rabbit["start_mb"], bare["start_mb"])])
    for i in range(rounds):
        cells = [f"{r[k][i]:.1f}" for r in (fake, bare, rabbit) for k in ("held_mb", "after_mb")]
        after = (r["after_mb"][i] for r in (fake, rabbit, bare))
        row(f"round {i + 1}", [*cells, *ratios(*after)])
    for key, label in (("growth_mb", "growth since start"), ("growth_since_round_1_mb", "")):
        cells = [c for r in (fake, bare, rabbit) for c in ("", f"{r[key]:+.1f}")]
        row(label or "growth since round 1", cells)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=128, help="MB of body sent per round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--settle", type=float, default=0.5, help="seconds before each read")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    results = {name: measure(name, args.size, args.rounds, args.settle) for name in BROKERS}
    load_after = os.getloadavg()

    print(
        f"abandoned partial messages: {args.rounds} rounds of {args.size} MB sent of a "
        f"{2 * args.size} MB body, then the socket closed; amqpmock serve (default "
        f"options, and --no-http; {results['fake']['process']}) vs "
        f"{results['rabbitmq']['server']} "
        f"({results['rabbitmq']['process']}); "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    for name, got in results.items():
        for words in sorted(set(got["said"]) - {""}):
            print(f"note: {name} on the abandoning connection: {words}")
    print(table(results, args.rounds))
    print("(fake: amqpmock serve as users start it, the HTTP side on; held: the partial")
    print(" message still open; after: its socket closed, a new client in; x: ratios of")
    print(" after, below 1 the first is smaller)")
    if args.json:
        env: dict[str, Any] = {"python": platform.python_version(), "cpus": os.cpu_count()}
        env |= {"load_average_before": load_before, "load_average_after": load_after}
        with open(args.json, "w") as fh:
            json.dump(
                {"parameters": vars(args), "environment": env, "results": results}, fh, indent=2
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
