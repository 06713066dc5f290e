"""Every exception amqpmock raises, in one module.

    AMQPMockError                 root: catch this to catch anything of ours
    ├── AMQPError                 an AMQP error with RabbitMQ's reply code and text
    │   ├── ChannelError          closes the channel (Channel.Close)
    │   └── ConnectionError_      closes the connection (Connection.Close)
    └── (later: CassetteError, ReplayMismatch, ...)

AMQP errors never escape the broker as crashes: the core turns them into
``Channel.Close`` / ``Connection.Close`` with ``reply_code`` and ``reply_text`` exactly
as RabbitMQ words them (``"NOT_FOUND - no queue 'q' in vhost '/'"``). The Python API of
the broker raises them directly so that tests can assert on ``.reply_code``.
"""

from __future__ import annotations

# Reply codes, as in the AMQP 0-9-1 spec and RabbitMQ.
REPLY_SUCCESS = 200
CONTENT_TOO_LARGE = 311
NO_ROUTE = 312
NO_CONSUMERS = 313
CONNECTION_FORCED = 320
INVALID_PATH = 402
ACCESS_REFUSED = 403
NOT_FOUND = 404
RESOURCE_LOCKED = 405
PRECONDITION_FAILED = 406
FRAME_ERROR = 501
SYNTAX_ERROR = 502
COMMAND_INVALID = 503
CHANNEL_ERROR = 504
UNEXPECTED_FRAME = 505
RESOURCE_ERROR = 506
NOT_ALLOWED = 530
NOT_IMPLEMENTED = 540
INTERNAL_ERROR = 541

REPLY_NAMES: dict[int, str] = {
    200: "OK",
    311: "CONTENT_TOO_LARGE",
    312: "NO_ROUTE",
    313: "NO_CONSUMERS",
    320: "CONNECTION_FORCED",
    402: "INVALID_PATH",
    403: "ACCESS_REFUSED",
    404: "NOT_FOUND",
    405: "RESOURCE_LOCKED",
    406: "PRECONDITION_FAILED",
    501: "FRAME_ERROR",
    502: "SYNTAX_ERROR",
    503: "COMMAND_INVALID",
    504: "CHANNEL_ERROR",
    505: "UNEXPECTED_FRAME",
    506: "RESOURCE_ERROR",
    530: "NOT_ALLOWED",
    540: "NOT_IMPLEMENTED",
    541: "INTERNAL_ERROR",
}

# Codes that the spec classes as connection (hard) errors; the rest are channel errors.
HARD_ERRORS = frozenset({320, 402, 501, 502, 503, 504, 505, 506, 530, 540, 541})


class AMQPMockError(Exception):
    """Root of every amqpmock exception."""


class AMQPError(AMQPMockError):
    """An AMQP error: ``reply_code`` and RabbitMQ's ``reply_text``.

    ``text`` is the part after the code name; ``reply_text`` is the full wire text,
    e.g. ``"NOT_FOUND - no queue 'q' in vhost '/'"``.
    """

    reply_code: int
    text: str
    class_id: int
    method_id: int

    def __init__(self, reply_code: int, text: str, class_id: int = 0, method_id: int = 0):
        self.reply_code = reply_code
        self.text = text
        self.class_id = class_id
        self.method_id = method_id
        super().__init__(self.reply_text)

    @property
    def reply_text(self) -> str:
        name = REPLY_NAMES.get(self.reply_code, "ERROR")
        return f"{name} - {self.text}" if self.text else name  # a bare name, as 541 is sent

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reply_code}, {self.reply_text!r})"


class ChannelError(AMQPError):
    """A soft error: RabbitMQ closes the channel with this code and text."""


class ConnectionError_(AMQPError):
    """A hard error: RabbitMQ closes the whole connection with this code and text."""


def amqp_error(reply_code: int, text: str, class_id: int = 0, method_id: int = 0) -> AMQPError:
    """The right subclass for ``reply_code``: hard errors close the connection."""
    cls = ConnectionError_ if reply_code in HARD_ERRORS else ChannelError
    return cls(reply_code, text, class_id, method_id)
