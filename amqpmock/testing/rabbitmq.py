"""A throwaway real RabbitMQ node for differential tests and benchmarks.

Rules this module keeps:
- The node runs Debian's ``rabbitmq-server`` in the foreground as the current user,
  with its own temporary HOME, data directory, node name and free loopback ports, so
  several can run side by side and none touches the system's node. Every listener
  (AMQP, amqps, management HTTP, Erlang distribution, epmd) is on ``host`` (loopback).
- It is an adapter (subprocess, sockets, wall clock), never imported by the core.
- When the server binary is missing it raises ``RabbitMQUnavailable`` with the command
  that installs it: callers fail loudly, they do not skip.
- No orphans: a watchdog process holds the read end of a pipe whose write end only
  this process has. When this process ends without ``stop()`` (killed, crashed), the
  pipe closes and the watchdog kills the node and removes its temporary directory.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

SERVER_BINARY = "/usr/lib/rabbitmq/bin/rabbitmq-server"
CTL_BINARY = "/usr/lib/rabbitmq/bin/rabbitmqctl"
INSTALL_HINT = "apt-get update && apt-get install -y rabbitmq-server"


# Run as ``python -c WATCHDOG PGID PID_FILE WORKDIR`` with the pipe on stdin.
WATCHDOG = """
import os, shutil, signal, sys
pgid, pid_file, workdir = int(sys.argv[1]), sys.argv[2], sys.argv[3]
signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C for the test run is not for us
sys.stdin.buffer.read()  # returns when the owner's end closes: it stopped or died
for kill in (lambda: os.kill(int(open(pid_file).read().strip()), signal.SIGKILL),
             lambda: os.killpg(pgid, signal.SIGKILL)):
    try:
        kill()
    except (OSError, ValueError):
        pass
if workdir:
    shutil.rmtree(workdir, ignore_errors=True)
"""


class RabbitMQUnavailable(RuntimeError):
    """Debian's rabbitmq-server is not installed or did not start."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _erlang_address(host: str) -> str | None:
    """``127.0.0.1`` as an Erlang tuple, ``{127,0,0,1}``; None for a name or IPv6."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.version != 4:
        return None
    return "{" + ",".join(str(b) for b in address.packed) + "}"


def _http_answers(host: str, port: int) -> bool:
    """True when the port answers an HTTP request (any status)."""
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"GET /api/overview HTTP/1.0\r\nHost: localhost\r\n\r\n")
            sock.settimeout(2.0)
            return sock.recv(12).startswith(b"HTTP/")
    except OSError:
        return False


def _port_answers(host: str, port: int) -> bool:
    """True when the port speaks AMQP (answers a protocol header with bytes)."""
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"AMQP\x00\x00\x09\x01")
            sock.settimeout(2.0)
            return bool(sock.recv(8))
    except OSError:
        return False


@dataclass
class RabbitMQNode:
    """One RabbitMQ node on a free loopback port. Use as a context manager."""

    user: str = "guest"
    password: str = "guest"
    host: str = "127.0.0.1"
    port: int = 0
    startup_timeout: float = 60.0
    workdir: Path | None = None
    # TLS: an amqpmock.testing.tls.TestCertificates (or anything with ca_file,
    # cert_file, key_file); the node then also listens for amqps on tls_port
    tls: Any = None
    tls_port: int = 0
    # plugins enabled offline, as `rabbitmq-plugins enable --offline` would: written to
    # the node's own enabled_plugins file (the management plugin, the consistent-hash
    # exchange ...)
    plugins: tuple[str, ...] = ()
    # the management plugin's HTTP listener (when "rabbitmq_management" is a plugin)
    management_port: int = 0
    # the Erlang cookie, written to the node's HOME as .erlang.cookie (mode 0400) before
    # it starts, so that nodes given the same one can form a cluster (rabbitmqctl reads
    # it from the same HOME); None: the node makes its own
    cookie: str | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _watchdog: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _watchdog_fd: int | None = field(default=None, repr=False)
    _own_workdir: bool = field(default=False, repr=False)
    started_in: float = 0.0

    @property
    def url(self) -> str:
        return f"amqp://{self.user}:{self.password}@{self.host}:{self.port}/%2F"

    @property
    def tls_url(self) -> str | None:
        if self.tls is None:
            return None
        return f"amqps://{self.user}:{self.password}@{self.host}:{self.tls_port}/%2F"

    @property
    def management_url(self) -> str | None:
        """``http://host:port`` of the management API (None without the plugin)."""
        if "rabbitmq_management" not in self.plugins:
            return None
        return f"http://{self.host}:{self.management_port}"

    @property
    def running(self) -> bool:
        """True between ``start()`` and ``stop()`` while the server process lives."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid_file(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "rabbit.pid"

    def start(self) -> RabbitMQNode:
        if not os.path.exists(SERVER_BINARY):
            raise RabbitMQUnavailable(
                f"{SERVER_BINARY} not found; install it with: {INSTALL_HINT}"
            )
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="amqpmock-rabbit-"))
            self._own_workdir = True
        if not self.port:
            self.port = free_port(self.host)
        dist_port = free_port(self.host)
        work = self.workdir
        if self.cookie is not None:
            cookie_file = work / ".erlang.cookie"
            if cookie_file.exists():
                cookie_file.chmod(0o600)
            cookie_file.write_text(self.cookie)
            cookie_file.chmod(0o400)
        (work / "enabled_plugins").write_text(f"[{','.join(self.plugins)}].\n")
        conf = (
            "loopback_users = none\n"
            f"default_user = {self.user}\n"
            f"default_pass = {self.password}\n"
            "log.console = false\n"
            "log.file.level = warning\n"
        )
        if self.tls is not None:
            if not self.tls_port:
                self.tls_port = free_port(self.host)
            conf += (
                f"listeners.ssl.default = {self.host}:{self.tls_port}\n"
                f"ssl_options.cacertfile = {self.tls.ca_file}\n"
                f"ssl_options.certfile = {self.tls.cert_file}\n"
                f"ssl_options.keyfile = {self.tls.key_file}\n"
                "ssl_options.verify = verify_none\n"
                "ssl_options.fail_if_no_peer_cert = false\n"
            )
        if "rabbitmq_management" in self.plugins:
            if not self.management_port:
                self.management_port = free_port(self.host)
            conf += (
                f"management.tcp.port = {self.management_port}\nmanagement.tcp.ip = {self.host}\n"
            )
        (work / "rabbitmq.conf").write_text(conf)
        env = dict(os.environ)
        env.update(
            HOME=str(work),
            RABBITMQ_NODENAME=self.node_name,
            RABBITMQ_NODE_IP_ADDRESS=self.host,
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(dist_port),
            RABBITMQ_MNESIA_BASE=str(work / "mnesia"),
            RABBITMQ_LOG_BASE=str(work / "log"),
            RABBITMQ_LOGS=str(work / "log" / "rabbit.log"),
            RABBITMQ_PID_FILE=str(self.pid_file),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(work / "enabled_plugins"),
            RABBITMQ_CONFIG_FILE=str(work / "rabbitmq"),
            ERL_EPMD_ADDRESS="127.0.0.1",
        )
        dist_interface = _erlang_address(self.host)
        if dist_interface:  # the distribution port listens where the node does, not on all
            extra = env.get("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "")
            env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = (
                f"{extra} -kernel inet_dist_use_interface {dist_interface}".strip()
            )
        began = time.perf_counter()
        self._proc = subprocess.Popen(
            [SERVER_BINARY],
            env=env,
            stdout=(work / "stdout.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._start_watchdog(self._proc.pid)
        deadline = began + self.startup_timeout
        while time.perf_counter() < deadline:
            if self._proc.poll() is not None:
                out = (work / "stdout.log").read_text(errors="replace")[-2000:]
                self.stop()  # the watchdog and our temporary directory go too
                raise RabbitMQUnavailable(f"rabbitmq-server exited early:\n{out}")
            if _port_answers(self.host, self.port) and (
                not self.management_port or _http_answers(self.host, self.management_port)
            ):
                self.started_in = time.perf_counter() - began
                return self
            time.sleep(0.1)
        self.stop()
        raise RabbitMQUnavailable(f"rabbitmq-server did not answer within {self.startup_timeout}s")

    @property
    def node_name(self) -> str:
        return f"amqpmock{self.port}@localhost"

    def rabbitmqctl(self, *args: str, timeout: float = 60.0) -> str:
        """Run ``rabbitmqctl -n NODE ARGS`` against this node; its output, or
        RuntimeError with what it printed when it fails."""
        env = dict(os.environ, HOME=str(self.workdir), ERL_EPMD_ADDRESS="127.0.0.1")
        done = subprocess.run(
            [CTL_BINARY, "-n", self.node_name, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode:
            raise RuntimeError(
                f"rabbitmqctl {' '.join(args)} failed: {done.stderr or done.stdout}"
            )
        return done.stdout

    def stop_app(self) -> None:
        """``rabbitmqctl stop_app``: the RabbitMQ application stops (its clients get
        Connection.Close, its listeners close), the Erlang node stays up."""
        self.rabbitmqctl("stop_app")

    def start_app(self) -> None:
        """``rabbitmqctl start_app``, then wait until the AMQP port answers again."""
        self.rabbitmqctl("start_app")
        self._wait_for_port()

    def restart_app(self) -> None:
        """A restart as an operator makes one: ``stop_app`` then ``start_app``."""
        self.stop_app()
        self.start_app()

    def kill(self) -> None:
        """A crash: SIGKILL the node, nothing closed cleanly. Its data directory stays,
        and ``start()`` again boots the same node (name, port, data) from it."""
        self._stop_watchdog()
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(self.pid_file.read_text().strip()), signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)

    def _wait_for_port(self) -> None:
        deadline = time.perf_counter() + self.startup_timeout
        while time.perf_counter() < deadline:
            if _port_answers(self.host, self.port):
                return
            time.sleep(0.1)
        raise RabbitMQUnavailable(f"rabbitmq-server did not answer within {self.startup_timeout}s")

    def _start_watchdog(self, pgid: int) -> None:
        read_end, write_end = os.pipe()  # neither is inherited by other children
        try:
            self._watchdog = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    WATCHDOG,
                    str(pgid),
                    str(self.pid_file),
                    str(self.workdir) if self._own_workdir else "",
                ],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            os.close(read_end)
        self._watchdog_fd = write_end

    def _stop_watchdog(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        fd, self._watchdog_fd = self._watchdog_fd, None
        if watchdog is not None:
            watchdog.kill()  # stopped by us: nothing left for it to do
            watchdog.wait()
        if fd is not None:
            os.close(fd)

    def stop(self) -> None:
        self._stop_watchdog()
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            pid: int | None = None
            with contextlib.suppress(OSError, ValueError):
                pid = int(self.pid_file.read_text().strip())
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                if pid is not None:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> RabbitMQNode:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def rabbitmq_node(**kwargs: object) -> Iterator[RabbitMQNode]:
    """``with rabbitmq_node() as node: ... node.url``"""
    node = RabbitMQNode(**kwargs)  # type: ignore[arg-type]
    with node:
        yield node
