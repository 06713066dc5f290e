"""Blocking the network while a cassette replays (as pytest-recording's
``--block-network``): a client that tries any host but the fake broker fails loudly.

Rules this module keeps:
- ``socket.socket.connect`` and ``connect_ex`` are patched for the test's duration only,
  and restored after it, whatever happens; Unix sockets are not blocked.
- Allowed: the fake broker's own address, the hosts of the allow-list (``host`` or
  ``host:port``), and loopback ports this very process listens on (a client library's
  self-pipe, as pika's socketpair; a stub server the test runs). Everything else
  raises ``NetworkBlocked`` (a ``ConnectionRefusedError`` that names the address), and
  the test fails at teardown naming every address refused, so a client library that
  swallows the error still cannot hide it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterable
from typing import Any

from amqpmock.wire.protocol import loopback_address


class NetworkBlocked(ConnectionRefusedError):
    """A connection attempted while the network is blocked during a replay."""


class NetworkBlocker:
    def __init__(self, allowed: Iterable[tuple[str, int]], allowed_hosts: Iterable[str]) -> None:
        self.allowed = {(host, int(port)) for host, port in allowed}
        self.allowed_hosts: set[str] = set()
        for entry in allowed_hosts:
            host, sep, port = str(entry).rpartition(":")
            if sep and port.isdigit():
                self.allowed.add((host.strip("[]"), int(port)))
            else:
                self.allowed_hosts.add(str(entry))
        self.refused: list[str] = []
        self.listening: set[int] = set()  # ports listen()ed on while blocking
        self._lock = threading.Lock()
        self._saved: tuple[Any, Any, Any] | None = None

    def _allows(self, address: Any) -> bool:
        if not isinstance(address, tuple) or len(address) < 2:
            return True  # not an IP address (a Unix socket path)
        host, port = str(address[0]), int(address[1])
        if host in self.allowed_hosts or (host, port) in self.allowed:
            return True
        return _is_loopback(host) and port in self._own_listening_ports()

    def _own_listening_ports(self) -> set[int]:
        return self.listening | _listening_ports_of_this_process()

    def _check(self, address: Any) -> None:
        if self._allows(address):
            return
        where = f"{address[0]}:{address[1]}"
        with self._lock:
            self.refused.append(where)
        raise NetworkBlocked(
            f"amqpmock: network blocked during cassette replay: connection to {where} "
            "refused (only the fake broker is reachable; allow it with "
            "--amqp-allowed-hosts or the marker's allowed_hosts, or record with "
            "--amqp-record-mode)"
        )

    def start(self) -> NetworkBlocker:
        blocker = self
        original_connect = socket.socket.connect
        original_connect_ex = socket.socket.connect_ex
        original_listen = socket.socket.listen

        def listen(sock: socket.socket, *backlog: int) -> None:
            original_listen(sock, *backlog)
            with contextlib.suppress(OSError, IndexError, TypeError):
                blocker.listening.add(int(sock.getsockname()[1]))

        def connect(sock: socket.socket, address: Any) -> None:
            blocker._check(address)
            original_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            blocker._check(address)
            return original_connect_ex(sock, address)

        self._saved = (original_connect, original_connect_ex, original_listen)
        socket.socket.listen = listen  # type: ignore[method-assign,assignment]
        socket.socket.connect = connect  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
        return self

    def stop(self) -> None:
        if self._saved is not None:
            saved_connect, saved_connect_ex, saved_listen = self._saved
            socket.socket.connect = saved_connect  # type: ignore[method-assign]
            socket.socket.connect_ex = saved_connect_ex  # type: ignore[method-assign]
            socket.socket.listen = saved_listen  # type: ignore[method-assign]
            self._saved = None

    def report(self) -> str | None:
        if not self.refused:
            return None
        seen = ", ".join(dict.fromkeys(self.refused))
        return (
            f"network blocked during cassette replay: the test tried to connect to {seen}; "
            "only the fake broker is reachable (allow hosts with --amqp-allowed-hosts or "
            "the marker's allowed_hosts, or turn blocking off with --amqp-no-block-network)"
        )


def _is_loopback(host: str) -> bool:
    loopback = loopback_address(host)
    return host == "localhost" if loopback is None else loopback


def _listening_ports_of_this_process() -> set[int]:
    """Ports of the TCP sockets this process listens on, read from /proc (Linux); empty
    elsewhere (listen() calls made while blocking are tracked anyway)."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/self/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    ports: set[int] = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            next(rows, None)
            for row in rows:
                fields = row.split()
                # local address, state 0A = LISTEN, inode
                if len(fields) > 9 and fields[3] == "0A" and fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
