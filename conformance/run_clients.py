"""One small client scenario, written with three other languages' AMQP client
libraries, run against a real RabbitMQ 3.10.8 and against the fake; the transcripts
are compared.

Not part of CI or ``make test``: it needs Debian packages that neither installs and
starts a RabbitMQ node. Run it by hand from the repository root (``make conformance``):

    .venv/bin/python conformance/run_clients.py [--only java|go|ruby] [--show]

The clients (Debian's packages, nothing downloaded at build time):

- ``java/Scenario.java``: the RabbitMQ Java client (``librabbitmq-client-java``; Debian
  has no package named ``librabbitmq-java``), compiled with ``javac`` from
  ``default-jdk-headless`` against ``/usr/share/java/amqp-client.jar``.
- ``go/scenario.go``: amqp091-go (``golang-github-rabbitmq-amqp091-go-dev``) built with
  ``golang-go`` offline: ``go.mod`` replaces the module with Debian's source under
  ``/usr/share/gocode/src``, and the build runs with ``GOPROXY=off`` and
  ``GOFLAGS=-mod=mod``.
- ``ruby/scenario.rb``: Bunny (``ruby-bunny``).

Install them with::

    apt-get install -y default-jdk-headless librabbitmq-client-java golang-go \\
        golang-github-rabbitmq-amqp091-go-dev ruby-bunny rabbitmq-server

The scenario, the same in each language: connect with the URL given as the first
argument and read the server properties' product and version; declare a topic exchange
``conf.events`` (auto-delete) and a server-named exclusive queue bound to ``order.*``;
publish ``{"id":1}`` with routing key ``order.created`` and content type
``application/json``; consume it with manual ack, nack it with requeue, take the
redelivered copy and ack it; direct reply-to RPC (consume ``amq.rabbitmq.reply-to``
no-ack, publish to ``conf.rpc``, served by a consumer on another channel of the same
connection that answers ``pong:`` + body with the request's correlation id); basic.get on
a missing queue ``conf.missing`` and its channel error; close. Each program prints one
JSON object, its transcript, with server-generated names normalised (``amq.gen-<id>``,
``amq.ctag-<id>``, ``amq.rabbitmq.reply-to.<id>``) and the clients' own random consumer
tags too.

What this script does: builds the Java and Go programs when their sources are newer
than the build (``build/`` beside them, git-ignored); starts a RabbitMQ node
(``amqpmock.testing.rabbitmq.RabbitMQNode``) and runs every client against it, stops
it, then starts the fake (``amqpmock serve --port 0 --no-http``) and runs every client
against that; prints a table (client, library version, same transcript on both) and a
unified diff for each difference. Both brokers are given the URL
``amqp://guest:guest@HOST:PORT/%2F``: by the AMQP URI spec (which the Java client and
Bunny follow) the fake's printed URL, ending in ``/``, names the empty vhost.

Exit status: 0 when every client's transcript is the same on both brokers, 1 otherwise
(a client that cannot be built or run counts as a difference).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from amqpmock.testing.rabbitmq import RabbitMQNode

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
RUN_TIMEOUT = 60.0  # seconds for one client run
BUILD_TIMEOUT = 300.0

APT_PACKAGES = (
    "default-jdk-headless",
    "librabbitmq-client-java",
    "golang-go",
    "golang-github-rabbitmq-amqp091-go-dev",
    "ruby-bunny",
    "rabbitmq-server",
)
INSTALL_HINT = "apt-get install -y " + " ".join(APT_PACKAGES)

JAVA_DIR = HERE / "java"
JAVA_CLASSPATH = (
    "/usr/share/java/amqp-client.jar",
    "/usr/share/java/slf4j-api.jar",
    "/usr/share/java/slf4j-nop.jar",  # the client logs through SLF4J: say nothing
)
GO_DIR = HERE / "go"
GO_ENV = {
    "GO111MODULE": "on",
    "GOPROXY": "off",
    "GOFLAGS": "-mod=mod",
    "GOTOOLCHAIN": "local",
}
RUBY_DIR = HERE / "ruby"

# the programs normalise these themselves; done again here in case a library changes
GENERATED = (
    (re.compile(r"amq\.gen-[A-Za-z0-9_+/=.\-]+"), "amq.gen-<id>"),
    (re.compile(r"amq\.ctag-[A-Za-z0-9_+/=.\-]+"), "amq.ctag-<id>"),
    (re.compile(r"amq\.rabbitmq\.reply-to\.[A-Za-z0-9_+/=.\-]+"), "amq.rabbitmq.reply-to.<id>"),
)


class BuildError(RuntimeError):
    """A client could not be built, or its toolchain or library is not installed."""


@dataclass
class Client:
    name: str
    library: str  # what the table calls it
    package: str  # the Debian package whose version the table shows
    needs: tuple[str, ...]  # files that must exist (tools, the library)
    build: Callable[[], None]
    command: Callable[[str], list[str]]
    env: dict[str, str] = field(default_factory=dict)


def _newer(target: Path, sources: list[Path]) -> bool:
    """True when ``target`` exists and is newer than every source."""
    if not target.exists():
        return False
    built = target.stat().st_mtime
    return all(src.stat().st_mtime <= built for src in sources)


def _run_build(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr}{proc.stdout}")


def _build_java() -> None:
    source = JAVA_DIR / "Scenario.java"
    if _newer(JAVA_DIR / "build" / "Scenario.class", [source]):
        return
    _run_build(
        ["javac", "-cp", ":".join(JAVA_CLASSPATH), "-d", "build", source.name],
        JAVA_DIR,
    )


def _build_go() -> None:
    sources = [GO_DIR / "scenario.go", GO_DIR / "go.mod"]
    if _newer(GO_DIR / "build" / "scenario", sources):
        return
    _run_build(["go", "build", "-o", "build/scenario", "."], GO_DIR, GO_ENV)


def _no_build() -> None:
    return None


CLIENTS: dict[str, Client] = {
    "java": Client(
        name="java",
        library="RabbitMQ Java client",
        package="librabbitmq-client-java",
        needs=("/usr/bin/javac", "/usr/bin/java", *JAVA_CLASSPATH),
        build=_build_java,
        command=lambda url: [
            "java",
            "-cp",
            ":".join(("build", *JAVA_CLASSPATH)),
            "Scenario",
            url,
        ],
    ),
    "go": Client(
        name="go",
        library="amqp091-go",
        package="golang-github-rabbitmq-amqp091-go-dev",
        needs=("/usr/bin/go", "/usr/share/gocode/src/github.com/rabbitmq/amqp091-go/go.mod"),
        build=_build_go,
        command=lambda url: [str(GO_DIR / "build" / "scenario"), url],
    ),
    "ruby": Client(
        name="ruby",
        library="Bunny",
        package="ruby-bunny",
        needs=("/usr/bin/ruby",),
        build=_no_build,
        command=lambda url: ["ruby", "scenario.rb", url],
    ),
}
CLIENT_DIRS = {"java": JAVA_DIR, "go": GO_DIR, "ruby": RUBY_DIR}


def package_version(package: str) -> str:
    """The installed Debian version of ``package``, or "not installed"."""
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Status} ${Version}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    words = proc.stdout.split()
    if proc.returncode != 0 or "installed" not in words[:3] or len(words) < 4:
        return "not installed"
    return words[3]


def normalise(value: Any) -> Any:
    if isinstance(value, str):
        for pattern, replacement in GENERATED:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, dict):
        return {key: normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalise(item) for item in value]
    return value


def run_client(client: Client, url: str) -> tuple[str, float]:
    """The client's transcript as indented JSON (or what went wrong), and its seconds."""
    began = time.perf_counter()
    try:
        proc = subprocess.run(
            client.command(url),
            cwd=CLIENT_DIRS[client.name],
            env={**os.environ, **client.env},
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {RUN_TIMEOUT:.0f} s\n", time.perf_counter() - began
    except OSError as exc:
        return f"could not run: {exc}\n", time.perf_counter() - began
    took = time.perf_counter() - began
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        return f"exited {proc.returncode}\n{proc.stdout}{proc.stderr}", took
    try:
        transcript = json.loads(lines[-1])
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc}):\n{proc.stdout}{proc.stderr}", took
    return json.dumps(normalise(transcript), indent=2) + "\n", took


def _amqp_url(url: str) -> str:
    """``amqp://user:pass@host:port/%2F``: the default vhost, spelt as the URI spec wants."""
    parts = urlsplit(url)
    return f"amqp://{parts.username}:{parts.password}@{parts.hostname}:{parts.port}/%2F"


@contextmanager
def rabbitmq() -> Iterator[str]:
    with RabbitMQNode() as node:
        print(f"RabbitMQ node up in {node.started_in:.1f} s", flush=True)
        yield _amqp_url(node.url)


@contextmanager
def fake() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "amqpmock.cli", "serve", "--port", "0", "--no-http"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        timer = threading.Timer(30.0, proc.kill)  # a fake that never prints its URL
        timer.start()
        try:
            first = proc.stdout.readline().strip()
        finally:
            timer.cancel()
        if not first.startswith("amqp://"):
            raise RuntimeError(f"amqpmock serve printed {first!r}, not its URL")
        print(f"fake up at {first}", flush=True)
        yield _amqp_url(first)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


BROKERS: dict[str, Callable[[], Any]] = {"rabbitmq": rabbitmq, "fake": fake}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(CLIENTS), action="append", help="one client")
    parser.add_argument("--show", action="store_true", help="print every transcript")
    args = parser.parse_args(argv)
    names: list[str] = args.only or list(CLIENTS)
    began = time.perf_counter()

    results: dict[str, dict[str, str]] = {name: {} for name in names}
    problems: dict[str, str] = {}
    runnable: list[Client] = []
    for name in names:
        client = CLIENTS[name]
        missing = [path for path in client.needs if not os.path.exists(path)]
        try:
            if missing:
                raise BuildError(f"missing {', '.join(missing)}; install: {INSTALL_HINT}")
            build_began = time.perf_counter()
            client.build()
            print(f"{name}: built in {time.perf_counter() - build_began:.1f} s", flush=True)
            runnable.append(client)
        except (BuildError, subprocess.TimeoutExpired) as exc:
            problems[name] = str(exc)
            print(f"{name}: cannot build: {exc}", file=sys.stderr, flush=True)

    if runnable:
        for broker, start in BROKERS.items():
            with start() as url:
                for client in runnable:
                    transcript, took = run_client(client, url)
                    results[client.name][broker] = transcript
                    print(f"{client.name} on {broker}: {took:.1f} s", flush=True)

    rows = [("client", "library", "version", "same transcript on both")]
    for name in names:
        client = CLIENTS[name]
        got = results[name]
        if name in problems:
            same = "no (not built)"
        else:
            same = "yes" if got["rabbitmq"] == got["fake"] else "no"
        rows.append((name, client.library, package_version(client.package), same))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for i, row in enumerate(rows):
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")

    all_same = not problems
    for name in names:
        got = results[name]
        if name in problems:
            print(f"\n{name}: {problems[name]}")
            continue
        if args.show:
            print(f"\n{name} on rabbitmq:\n{got['rabbitmq']}", end="")
        if got["rabbitmq"] != got["fake"]:
            all_same = False
            print(f"\n{name}: the transcripts differ")
            sys.stdout.writelines(
                difflib.unified_diff(
                    got["rabbitmq"].splitlines(keepends=True),
                    got["fake"].splitlines(keepends=True),
                    fromfile=f"{name} on RabbitMQ",
                    tofile=f"{name} on the fake",
                )
            )
        elif args.show:
            print("(the same on the fake)")
    print(f"\n{time.perf_counter() - began:.1f} s in all")
    return 0 if all_same else 1


if __name__ == "__main__":
    sys.exit(main())
