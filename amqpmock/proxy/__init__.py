"""The recording proxy: client <-> real RabbitMQ, bytes untouched, decoded on the side.

``RecordingProxy`` is the asyncio adapter; ``Recorder`` is the sans-IO part that turns
forwarded bytes into a cassette; ``StreamTracker`` and ``StreamDecoder`` follow and
decode frames; ``parse_upstream_url`` reads multi-host ``amqp``/``amqps`` URLs.
"""

from amqpmock.proxy._frames import DecodedMethod, DecodeError, StreamDecoder, StreamTracker
from amqpmock.proxy._recorder import Recorder
from amqpmock.proxy._server import UPSTREAM_LOST_TEXT, RecordingProxy, UpstreamUnreachable
from amqpmock.proxy._url import UpstreamHost, UpstreamURL, UpstreamURLError, parse_upstream_url

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
