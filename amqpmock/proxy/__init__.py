"""The recording proxy: client <-> real RabbitMQ, bytes untouched, decoded on the side.

May import ``wire.codec`` (to decode frames), ``cassette``, ``hookspecs``, ``errors``;
never the core, replay, the viewer or ``testing``.

``RecordingProxy`` is the asyncio adapter; ``Recorder`` is the sans-IO part that turns
forwarded bytes into a cassette; ``StreamTracker`` and ``StreamDecoder`` follow and
decode frames; ``parse_upstream_url`` reads multi-host ``amqp``/``amqps`` URLs.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from amqpmock.proxy._frames import DecodedMethod, DecodeError, StreamDecoder, StreamTracker
    from amqpmock.proxy._recorder import Recorder
    from amqpmock.proxy._server import UPSTREAM_LOST_TEXT, RecordingProxy, UpstreamUnreachable
    from amqpmock.proxy._url import UpstreamHost, UpstreamURL, UpstreamURLError, parse_upstream_url

# Imported on first use: ``amqpmock serve`` builds the whole command line (the record
# subcommand's arguments included) and should not pay for the proxy and cassette code.
_HOMES = {
    "DecodedMethod": "_frames",
    "DecodeError": "_frames",
    "StreamDecoder": "_frames",
    "StreamTracker": "_frames",
    "Recorder": "_recorder",
    "UPSTREAM_LOST_TEXT": "_server",
    "RecordingProxy": "_server",
    "UpstreamUnreachable": "_server",
    "UpstreamHost": "_url",
    "UpstreamURL": "_url",
    "UpstreamURLError": "_url",
    "parse_upstream_url": "_url",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "UPSTREAM_LOST_TEXT",
    "DecodeError",
    "DecodedMethod",
    "Recorder",
    "RecordingProxy",
    "StreamDecoder",
    "StreamTracker",
    "UpstreamHost",
    "UpstreamURL",
    "UpstreamURLError",
    "UpstreamUnreachable",
    "parse_upstream_url",
]
