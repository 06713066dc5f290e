"""Upstream AMQP URLs, with several hosts as oslo.messaging's transport_url allows.

    amqp://user:pass@host1:5672,host2:5672/vhost
    rabbit://u1:p1@host1:5672,u2:p2@host2:5672/vhost   (oslo: credentials per host)
    amqps://user:pass@host:5671/vhost?cafile=/ca.pem&verify=verify_none

Hosts are tried in order. ``amqps`` connects with TLS; query options: ``cafile``,
``certfile``, ``keyfile``, ``verify`` (``verify_peer``, the default, or
``verify_none``) and ``server_hostname`` (SNI and the name checked in the certificate).
A host without credentials takes those of the host before it.
"""

from __future__ import annotations

import ssl
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

from amqpmock.errors import AMQPMockError

SCHEMES = {"amqp": False, "rabbit": False, "amqps": True, "rabbits": True}
DEFAULT_PORTS = {False: 5672, True: 5671}
TLS_OPTIONS = frozenset({"cafile", "certfile", "keyfile", "verify", "server_hostname"})


class UpstreamURLError(AMQPMockError, ValueError):
    """An upstream URL that cannot be used; the message says why."""


@dataclass(frozen=True)
class UpstreamHost:
    host: str
    port: int
    user: str | None = None
    password: str | None = None

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class UpstreamURL:
    """A parsed upstream: hosts in the order to try, TLS or not, vhost, TLS options."""

    hosts: tuple[UpstreamHost, ...]
    tls: bool = False
    vhost: str = "/"
    options: dict[str, str] = field(default_factory=dict)
    scheme: str = "amqp"

    @property
    def passwords(self) -> set[str]:
        return {h.password for h in self.hosts if h.password}

    @property
    def user(self) -> str | None:
        return self.hosts[0].user

    @property
    def password(self) -> str | None:
        return self.hosts[0].password

    def redacted(self) -> str:
        """The URL with every password shown as ``<redacted>`` (and a user name that
        equals its password, as in guest:guest, hidden too)."""
        return self._render(lambda h: "<redacted>" if h.password else None)

    def client_url(self, host: str, port: int, show_password: bool = False) -> str:
        """The URL a client uses to reach the proxy: same user and vhost, plain AMQP."""
        first = self.hosts[0]
        userinfo = ""
        if first.user is not None:
            userinfo = urllib.parse.quote(first.user, safe="")
            if first.password is not None:
                shown = urllib.parse.quote(first.password, safe="") if show_password else "***"
                userinfo += f":{shown}"
            userinfo += "@"
        shown_host = f"[{host}]" if ":" in host else host
        vhost = urllib.parse.quote(self.vhost, safe="")
        return f"amqp://{userinfo}{shown_host}:{port}/{vhost}"

    def _render(self, password_of: Callable[[UpstreamHost], str | None]) -> str:
        parts = []
        for h in self.hosts:
            info = ""
            if h.user is not None:
                hide_user = h.password is not None and h.user == h.password
                info = "<redacted>" if hide_user else urllib.parse.quote(h.user, safe="")
                shown = password_of(h)
                if shown is not None:
                    info += f":{shown}"
                info += "@"
            parts.append(info + h.address)
        vhost = urllib.parse.quote(self.vhost, safe="")
        return f"{self.scheme}://{','.join(parts)}/{vhost}"

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for ``amqps``, None for plain ``amqp``."""
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.options.get("cafile"))
        if "certfile" in self.options:
            context.load_cert_chain(self.options["certfile"], self.options.get("keyfile"))
        if self.options.get("verify", "verify_peer") == "verify_none":
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def parse_upstream_url(url: str) -> UpstreamURL:
    """Parse an AMQP URL with one or more comma-separated hosts."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise UpstreamURLError(f"not an AMQP URL (no scheme): {_safe(url)}")
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        raise UpstreamURLError(
            f"unsupported scheme {scheme!r}; use one of {', '.join(sorted(SCHEMES))}"
        )
    tls = SCHEMES[scheme]
    rest, _, query = rest.partition("?")
    rest, _, _fragment = rest.partition("#")
    authority, slash, path = rest.partition("/")
    if not authority:
        raise UpstreamURLError(f"no host in {_safe(url)}")
    vhost = urllib.parse.unquote(path) if slash and path else "/"
    hosts: list[UpstreamHost] = []
    user: str | None = None
    password: str | None = None
    for part in authority.split(","):
        if not part:
            raise UpstreamURLError(f"empty host in {_safe(url)}")
        if "@" in part:
            info, _, hostport = part.rpartition("@")
            raw_user, has_pw, raw_pw = info.partition(":")
            user = urllib.parse.unquote(raw_user)
            password = urllib.parse.unquote(raw_pw) if has_pw else None
        else:
            hostport = part
        host, port = _host_port(hostport, DEFAULT_PORTS[tls], url)
        hosts.append(UpstreamHost(host, port, user, password))
    options = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    unknown = set(options) - TLS_OPTIONS
    if unknown:
        raise UpstreamURLError(
            f"unknown URL option(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(TLS_OPTIONS))}"
        )
    if options.get("verify", "verify_peer") not in ("verify_peer", "verify_none"):
        raise UpstreamURLError("option verify must be verify_peer or verify_none")
    return UpstreamURL(tuple(hosts), tls, vhost, options, scheme)


def _host_port(text: str, default: int, url: str) -> tuple[str, int]:
    if text.startswith("["):
        host, _, after = text[1:].partition("]")
        port_text = after[1:] if after.startswith(":") else ""
        if after and not after.startswith(":"):
            raise UpstreamURLError(f"bad host {text!r} in {_safe(url)}")
    else:
        host, _, port_text = text.partition(":")
    if not host:
        raise UpstreamURLError(f"empty host name in {_safe(url)}")
    if not port_text:
        return host, default
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UpstreamURLError(f"bad port {port_text!r} in {_safe(url)}")
    return host, int(port_text)


def _safe(url: str) -> str:
    from amqpmock.cassette._redact import redact_url

    return redact_url(url)
