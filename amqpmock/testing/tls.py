"""Test certificates for the fake's amqps listener: a throwaway CA (trustme) and a
server certificate for 127.0.0.1 and localhost, written to files for clients that want
paths (``?cafile=`` in aio-pika / aiormq URLs, Node's ``ca``) or handed out as
``ssl.SSLContext`` objects for those that take one (pika's ``SSLOptions``).

trustme is an optional dependency (the ``tls`` extra): importing this module without it
raises an error that says how to install it.
"""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

try:
    import trustme
except ImportError as exc:  # pragma: no cover - the message is the point
    raise ImportError("TLS test certificates need trustme: pip install 'amqpmock[tls]'") from exc

__all__ = ["TestCertificates"]


@dataclass
class TestCertificates:
    """A CA and a server certificate; ``ca_file``, ``cert_file`` and ``key_file`` are
    PEM files in ``directory``."""

    directory: Path
    ca_file: Path
    cert_file: Path
    key_file: Path
    _ca: trustme.CA
    _server: trustme.LeafCert

    __test__ = False  # not a pytest test class, whatever its name

    @classmethod
    def create(cls, directory: str | Path | None = None) -> TestCertificates:
        folder = Path(directory or tempfile.mkdtemp(prefix="amqpmock-tls-"))
        ca = trustme.CA()
        server = ca.issue_cert("127.0.0.1", "localhost", "::1")
        ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "key.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        server.private_key_pem.write_to_path(str(key_file))
        server.cert_chain_pems[0].write_to_path(str(cert_file))
        for extra in server.cert_chain_pems[1:]:
            with cert_file.open("ab") as handle:
                handle.write(extra.bytes())
        return cls(folder, ca_file, cert_file, key_file, ca, server)

    def server_context(self) -> ssl.SSLContext:
        """For the broker's listener."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server.configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        """For a client: trusts the CA, checks the host name."""
        context = ssl.create_default_context()
        self._ca.configure_trust(context)
        return context
