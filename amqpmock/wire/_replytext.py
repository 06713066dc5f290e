"""RabbitMQ's reply texts for the codec and the protocol: Erlang term formatting as
RabbitMQ prints terms into them (``<<"abc">>``, ``<<0,1,2>>``, the ``~p`` line wrapping
of a reason) and the 255-octet cap, checked against a real RabbitMQ 3.10.8 node.

Private to ``amqpmock.wire``: ``codec`` re-exports the public names.
"""

from __future__ import annotations

from pamqp import base

from amqpmock.errors import FRAME_ERROR, UNEXPECTED_FRAME, AMQPError, amqp_error

_ERLANG_ESCAPES = {
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    0x0B: "\\v",
    0x08: "\\b",
    0x0C: "\\f",
    0x1B: "\\e",
    ord('"'): '\\"',
    ord("\\"): "\\\\",
}
# io_lib_pretty wraps a term that would end past this column (measured on a real node).
_ERLANG_LINE_FIT = 78


def _latin1_printable(data: bytes) -> bool:
    return all(32 <= b <= 126 or b >= 160 or b in _ERLANG_ESCAPES for b in data)


def erlang_binary_w(data: bytes) -> str:
    """``io_lib:format("~w", [Bin])``: always the octets as integers."""
    return "<<" + ",".join(str(b) for b in data) + ">>"


def erlang_binary_p(data: bytes) -> str:
    """``io_lib:format("~p", [Bin])`` with the default latin1 printable range."""
    if data and _latin1_printable(data):
        text = "".join(_ERLANG_ESCAPES.get(b, chr(b)) for b in data)
        return f'<<"{text}">>'
    return erlang_binary_w(data)


def _erlang_tuple_p(items: tuple[str | int, ...], column: int) -> str:
    """``~p`` of a flat tuple of atoms and integers starting at ``column``."""
    parts = [str(item) for item in items]
    flat = "{" + ",".join(parts) + "}"
    if column + len(flat) <= _ERLANG_LINE_FIT:
        return flat
    indent = ",\n" + " " * (column + 1)
    return "{" + indent.join(parts) + "}"


def truncate_reply_text(text: str) -> str:
    """RabbitMQ cuts reply texts longer than 255 octets to 252 octets plus '...'."""
    raw = text.encode("utf-8")
    if len(raw) <= 255:
        return text
    return raw[:252].decode("utf-8", errors="ignore") + "..."


def capped_error(code: int, text: str, class_id: int = 0, method_id: int = 0) -> AMQPError:
    """``amqp_error`` whose full reply text (``"NAME - text"``) is cut as RabbitMQ cuts it."""
    error = amqp_error(code, text, class_id, method_id)
    full = error.reply_text
    capped = truncate_reply_text(full)
    if capped != full:
        error = amqp_error(code, capped[len(full) - len(text) :], class_id, method_id)
    return error


def _ids(method: base.Frame) -> tuple[int, int]:
    """The class and method ids of ``method``, as an error about it carries them."""
    return method.index >> 16, method.index & 0xFFFF


def _frame_octets(frame_type: int, payload: bytes) -> str:
    """RabbitMQ's ``"type ~p, ~s octets = ~p"``: the frame its frame errors quote."""
    if len(payload) <= 16:
        return f"type {frame_type}, all octets = {erlang_binary_p(payload)}"
    return f"type {frame_type}, first 16 octets = {erlang_binary_p(payload[:16])}"


def _frame_error(
    frame_type: int, payload: bytes, reason: str | tuple[str | int, ...]
) -> AMQPError:
    """RabbitMQ's ``"type ~p, ~s octets = ~p: ~p"`` frame error (501)."""
    prefix = _frame_octets(frame_type, payload) + ": "
    reason_text = reason if isinstance(reason, str) else _erlang_tuple_p(reason, len(prefix))
    return capped_error(FRAME_ERROR, prefix + reason_text)


def _unexpected_frame(frame_type: int, payload: bytes) -> AMQPError:
    """RabbitMQ's 505 for a content or heartbeat frame where none can go."""
    return capped_error(UNEXPECTED_FRAME, _frame_octets(frame_type, payload))
