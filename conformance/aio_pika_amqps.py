"""aio-pika's own amqps tests against the fake's TLS listener and against a real
RabbitMQ 3.10.8 with TLS, in one run; prints a table of counts and the tests whose
outcome differs between the two.

Not part of CI or ``make test``: it downloads from PyPI, starts a RabbitMQ node and
takes about 75 seconds on 2 cores. Run it by hand from the repository root:

    .venv/bin/python conformance/aio_pika_amqps.py [--workdir DIR] [--only fake|rabbitmq]
        [--tls-port N] [--json out.json] [-- EXTRA PYTEST ARGS]

What it does:

1. Downloads the sdist of the installed aio-pika version from PyPI
   (``pip download --no-deps --no-binary aio-pika aio-pika==X``; the sdist ships
   ``tests/``) and unpacks only ``tests/`` and ``pyproject.toml`` (its pytest settings,
   ``-p no:asyncio``) into the work directory, so the installed aio-pika is the one
   tested. It installs the suite's test-only packages (aiomisc-pytest and friends,
   ``TEST_PACKAGES``) with ``pip install --no-deps --target`` into the work directory,
   never into the virtualenv, and puts them on ``PYTHONPATH`` for the runs.
2. Makes a throwaway CA and server certificate (``amqpmock.testing.tls``).
3. Runs ``pytest tests/test_amqps.py`` twice: against ``amqpmock serve --tls-cert ...``
   and against ``RabbitMQNode(tls=...)`` (Debian's rabbitmq-server), one after the
   other, never both at once.

How the suite is pointed at a broker, without editing any upstream file: this file is
also a pytest plugin (``-p aio_pika_amqps``). Upstream's conftest asks Docker for a
``mosquito/aiormq-rabbitmq`` container and reads its host and its ``5672/tcp`` and
``5671/tcp`` ports; before that conftest is imported the plugin replaces, in
``tests.docker_client``, the Docker check with one that passes and the Docker client
with one whose ``run()`` returns the broker's host, plain port and TLS port. The
project's own pytest plugin is kept out (``-p no:amqpmock``). The amqps tests connect
with ``CERT_NONE`` as upstream wrote them; ``test_default_context`` expects a refusal
from ``127.0.0.1:5671`` with no context and with the system CAs, so both brokers'
amqps listeners are put on 5671 when it is free (then the test checks that the
throwaway CA is not trusted by default; on another port it only sees a closed port).
The plugin also records every test's outcome (``AIO_PIKA_AMQPS_RESULTS``): one outcome
per test, "failed" when the test's call failed, "error" when only its setup or teardown
did.

Exit status: 0 when every test has the same outcome on both brokers, 1 when some differ.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.metadata
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from amqpmock.testing.rabbitmq import RabbitMQNode, free_port
from amqpmock.testing.tls import TestCertificates

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PLUGIN = Path(__file__).stem  # this module, loaded by the suite's pytest with -p
SUITE_FILES = ("tests/", "pyproject.toml")
TEST_FILE = "tests/test_amqps.py"
# aio-pika's test group less what the venv has (pytest, yarl, ...) and the coverage
# tools; with --no-deps, so their own dependencies are listed too
TEST_PACKAGES = (
    "aiomisc==18.0.37",
    "aiomisc-pytest==2.0.0",
    "aiothreads==1.1.4",
    "colorlog==6.12.0",
    "logging-journald==0.6.12",
    "shortuuid==1.0.13",
)
OUTCOMES = ("passed", "failed", "error", "skipped")
RESULTS_ENV = "AIO_PIKA_AMQPS_RESULTS"
BROKER_ENV = ("AIO_PIKA_AMQPS_HOST", "AIO_PIKA_AMQPS_PORT", "AIO_PIKA_AMQPS_TLS_PORT")
RUN_TIMEOUT = 1200.0


# ---------------------------------------------------------------- the pytest plugin


class _BrokerAsContainer:
    """Stands in for upstream's ``tests.docker_client.DockerClient``: "runs" the
    RabbitMQ image by returning the broker named in the environment."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._docker_client = importlib.import_module("tests.docker_client")

    def run(self, image: str, ports: list[str], environment: object = None) -> Any:
        host, port, tls_port = (os.environ[name] for name in BROKER_ENV)
        return self._docker_client.ContainerInfo(
            id=f"{PLUGIN}-broker",
            host=host,
            ports={"5672/tcp": int(port), "5671/tcp": int(tls_port)},
        )

    def kill(self, container_id: str) -> None:
        pass

    def remove(self, container_id: str) -> None:
        pass


def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    """Before upstream's conftest binds them: no Docker check, no Docker."""
    docker_client: Any = importlib.import_module("tests.docker_client")
    docker_client.check_docker_available = lambda: docker_client.DockerHostInfo(
        is_tcp=False, socket_path=os.devnull
    )
    docker_client.DockerClient = _BrokerAsContainer


_reports: dict[str, dict[str, Any]] = {}


def _reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    crash = getattr(report.longrepr, "reprcrash", None)
    text = str(crash.message) if crash is not None else report.longreprtext
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0][:200] if lines else ""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _reports.setdefault(report.nodeid, {"outcome": "passed", "reason": ""})
    if report.skipped and entry["outcome"] == "passed":
        entry.update(outcome="skipped", reason=_reason(report))
    elif report.failed and report.when == "call":
        entry.update(outcome="failed", reason=_reason(report))
    elif report.failed and entry["outcome"] == "passed":
        entry.update(outcome="error", reason=f"{report.when}: {_reason(report)}")


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _reports[report.nodeid] = {"outcome": "error", "reason": f"collect: {_reason(report)}"}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ.get(RESULTS_ENV)
    if path:
        Path(path).write_text(json.dumps(_reports, indent=1, sort_keys=True))


# ---------------------------------------------------------------- the driver


@dataclass
class Run:
    broker: str
    server: str = "?"
    seconds: float = 0.0
    exit_code: int | None = None
    results: dict[str, dict[str, str]] = field(default_factory=dict)

    def counts(self) -> Counter[str]:
        return Counter(entry["outcome"] for entry in self.results.values())


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], check=True)


def fetch_suite(version: str, work: Path) -> Path:
    """aio-pika's sdist for ``version``: its tests/ and pyproject.toml in work/suite."""
    download = work / "download"
    pip(
        *("download", "-qq", "--no-deps", "--no-binary", "aio-pika"),
        *(f"aio-pika=={version}", "-d", str(download)),
    )
    (sdist,) = download.glob(f"aio_pika-{version}.tar.gz")
    suite = work / "suite"
    prefix = f"aio_pika-{version}/"
    with tarfile.open(sdist) as archive:
        members = []
        for member in archive.getmembers():
            name = member.name.removeprefix(prefix)
            if member.name.startswith(prefix) and name.startswith(SUITE_FILES):
                member.name = name
                members.append(member)
        archive.extractall(suite, members=members, filter="data")
    if not (suite / TEST_FILE).is_file():
        raise SystemExit(f"{sdist.name} has no {TEST_FILE}")
    return suite


def install_test_packages(work: Path) -> Path:
    target = work / "deps"
    if not target.is_dir():
        pip("install", "-qq", "--no-deps", "--target", str(target), *TEST_PACKAGES)
    return target


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        # as the brokers' listeners do: a closed connection's TIME_WAIT is no obstacle
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _server_identity(tls_url: str, ca_file: Path) -> str:
    import aiormq

    connection = await aiormq.connect(f"{tls_url}?cafile={quote(str(ca_file))}")
    try:
        props = connection.server_properties
        return " ".join(_text(props.get(key)) for key in ("product", "version"))
    finally:
        await connection.close()


def server_identity(tls_url: str, ca_file: Path, wait: float = 30.0) -> str:
    """What the broker says it is, over TLS with the CA verified (and once it answers)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return asyncio.run(_server_identity(tls_url, ca_file))
        except Exception:  # aiormq wraps refusals in its own errors
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@contextmanager
def fake_broker(certs: TestCertificates, tls_port: int) -> Iterator[tuple[str, str]]:
    """``amqpmock serve`` with the certificate; yields its amqp and amqps URLs."""
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "amqpmock.cli", "serve", "--port", "0"),
            *("--tls-port", str(tls_port)),
            *("--tls-cert", str(certs.cert_file), "--tls-key", str(certs.key_file)),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url, tls_url = proc.stdout.readline().strip(), proc.stdout.readline().strip()
        if not (url.startswith("amqp://") and tls_url.startswith("amqps://")):
            raise SystemExit(f"amqpmock serve printed {url!r}, {tls_url!r}")
        yield url, tls_url
    finally:
        proc.terminate()
        proc.wait(10)


def run_suite(run: Run, suite: Path, deps: Path, url: str, tls_url: str, extra: list[str]) -> None:
    """pytest on upstream's test file, pointed at the broker by the plugin above."""
    plain, tls = urlsplit(url), urlsplit(tls_url)
    host = plain.hostname
    assert host is not None and host == tls.hostname and plain.port and tls.port
    results = suite.parent / f"results-{run.broker.split()[0].lower()}.json"
    results.unlink(missing_ok=True)
    env = dict(os.environ)
    env.update(zip(BROKER_ENV, (host, str(plain.port), str(tls.port)), strict=True))
    env[RESULTS_ENV] = str(results)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ beside this file
    env["PYTHONPATH"] = os.pathsep.join(map(str, (deps, HERE, suite)))
    command = [
        *(sys.executable, "-m", "pytest", TEST_FILE, "-q", "-o", "log_cli=false"),
        *("-p", PLUGIN, "-p", "no:amqpmock", "-p", "no:cacheprovider"),
        *extra,
    ]
    log = suite.parent / f"pytest-{run.broker.split()[0].lower()}.log"
    began = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(
            command, cwd=suite, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT
        )
    run.seconds = time.perf_counter() - began
    run.exit_code = done.returncode
    if results.is_file():
        run.results = json.loads(results.read_text())
    tail = log.read_text(errors="replace").strip().splitlines()[-1:]
    print(f"  {run.broker}: pytest exit {done.returncode}, {tail[0] if tail else ''}", flush=True)


def report(version: str, runs: list[Run]) -> int:
    total = len({nodeid for run in runs for nodeid in run.results})
    print(f"\naio-pika {version}, {TEST_FILE} from its PyPI sdist: {total} tests\n")
    header = f"{'broker':<18}{'server says':<18}" + "".join(f"{o:>9}" for o in OUTCOMES)
    print(header + f"{'time':>9}")
    for run in runs:
        counts = run.counts()
        cells = "".join(f"{counts[outcome]:>9}" for outcome in OUTCOMES)
        print(f"{run.broker:<18}{run.server:<18}{cells}{run.seconds:>8.1f}s")
    if len(runs) < 2:
        return 0
    first, second = runs
    differing = sorted(
        nodeid
        for nodeid in set(first.results) | set(second.results)
        if first.results.get(nodeid, {}).get("outcome")
        != second.results.get(nodeid, {}).get("outcome")
    )
    print(f"\ntests whose outcome differs: {len(differing)}")
    for nodeid in differing:
        print(f"  {nodeid}")
        for run in runs:
            entry = run.results.get(nodeid, {"outcome": "not run", "reason": ""})
            print(f"    {run.broker}: {entry['outcome']} {entry['reason']}".rstrip())
    return 1 if differing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, help="keep the suite and logs here")
    parser.add_argument("--only", choices=("fake", "rabbitmq"), help="one broker only")
    parser.add_argument(
        "--tls-port", type=int, default=5671, help="amqps port (default 5671, else any free)"
    )
    parser.add_argument("--json", type=Path, help="write every test's outcomes here")
    parser.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments")
    args = parser.parse_args(argv)

    version = importlib.metadata.version("aio-pika")
    own_work = args.workdir is None
    work = Path(tempfile.mkdtemp(prefix="aio-pika-amqps-")) if own_work else args.workdir
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"aio-pika {version}; work directory {work}", flush=True)
        if (work / "suite").exists():
            shutil.rmtree(work / "suite")
        suite = fetch_suite(version, work)
        deps = install_test_packages(work)
        (work / "certs").mkdir(exist_ok=True)
        certs = TestCertificates.create(work / "certs")
        tls_port = args.tls_port if port_is_free(args.tls_port) else free_port()
        if tls_port != 5671:
            print(f"  amqps on port {tls_port}: test_default_context sees a closed 5671")
        runs: list[Run] = []
        if args.only in (None, "fake"):
            run = Run("amqpmock (fake)")
            with fake_broker(certs, tls_port) as (url, tls_url):
                run.server = server_identity(tls_url, certs.ca_file)
                run_suite(run, suite, deps, url, tls_url, args.pytest_args)
            runs.append(run)
        if args.only in (None, "rabbitmq"):
            run = Run("RabbitMQ")
            with RabbitMQNode(tls=certs, tls_port=tls_port) as node:
                assert node.tls_url is not None
                run.server = server_identity(node.tls_url, certs.ca_file)
                run_suite(run, suite, deps, node.url, node.tls_url, args.pytest_args)
            runs.append(run)
        if args.json:
            data = {run.broker: {"server": run.server, "tests": run.results} for run in runs}
            args.json.write_text(json.dumps(data, indent=1, sort_keys=True))
        return report(version, runs)
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
