"""Upstream URLs: several hosts in order, per-host credentials, amqps options."""

from __future__ import annotations

import ssl

import pytest

from amqpmock.proxy import UpstreamHost, UpstreamURLError, parse_upstream_url


def test_several_hosts_share_the_first_credentials() -> None:
    url = parse_upstream_url("amqp://user:p%40ss@h1:5672,h2:5673/vhost")
    assert url.hosts == (
        UpstreamHost("h1", 5672, "user", "p@ss"),
        UpstreamHost("h2", 5673, "user", "p@ss"),
    )
    assert url.vhost == "vhost" and not url.tls
    assert url.passwords == {"p@ss"}


def test_oslo_style_credentials_per_host() -> None:
    url = parse_upstream_url("rabbit://a:pa@h1:5672,b:pb@h2/%2F")
    assert [(h.user, h.password, h.port) for h in url.hosts] == [
        ("a", "pa", 5672),
        ("b", "pb", 5672),
    ]
    assert url.vhost == "/"
    assert url.passwords == {"pa", "pb"}
    assert url.redacted() == "rabbit://a:<redacted>@h1:5672,b:<redacted>@h2:5672/%2F"


def test_defaults_and_ipv6() -> None:
    url = parse_upstream_url("amqp://[::1]")
    assert url.hosts == (UpstreamHost("::1", 5672),)
    assert url.vhost == "/"
    assert url.client_url("127.0.0.1", 9) == "amqp://127.0.0.1:9/%2F"


def test_client_url_masks_or_shows_the_password() -> None:
    url = parse_upstream_url("amqp://u:pw@h/v")
    assert url.client_url("127.0.0.1", 5, show_password=True) == "amqp://u:pw@127.0.0.1:5/v"
    assert url.client_url("127.0.0.1", 5) == "amqp://u:***@127.0.0.1:5/v"


def test_amqps_default_port_and_tls_options(tmp_path: object) -> None:
    url = parse_upstream_url("amqps://u:p@h/?verify=verify_none&server_hostname=broker")
    assert url.tls and url.hosts[0].port == 5671
    context = url.ssl_context()
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_NONE
    assert url.options["server_hostname"] == "broker"
    assert parse_upstream_url("amqp://h").ssl_context() is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("h1:5672", "no scheme"),
        ("http://h", "unsupported scheme"),
        ("amqp:///vhost", "no host"),
        ("amqp://h1,,h2/", "empty host"),
        ("amqp://u:secret@h:99999/", "bad port"),
        ("amqp://h/?heartbeat=5", "unknown URL option"),
        ("amqps://h/?verify=maybe", "verify must be"),
    ],
)
def test_bad_urls_say_why_without_the_password(text: str, problem: str) -> None:
    with pytest.raises(UpstreamURLError, match=problem) as info:
        parse_upstream_url(text)
    assert "secret" not in str(info.value)
