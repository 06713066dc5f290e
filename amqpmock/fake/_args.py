"""Queue and exchange arguments: which RabbitMQ compares on redeclare, and how its 406
texts word a value (Erlang's type names and term formatting)."""

from __future__ import annotations

import datetime
from collections.abc import Collection
from typing import Any

from amqpmock.errors import ACCESS_REFUSED, PRECONDITION_FAILED, ChannelError
from amqpmock.fieldtypes import FieldInt, Float32

# Queue arguments RabbitMQ compares on redeclare (rabbit_amqqueue:declare_args/0).
EQUIVALENCE_CHECKED_ARGS = (
    "x-expires",
    "x-message-ttl",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-max-length",
    "x-max-length-bytes",
    "x-max-in-memory-length",
    "x-max-in-memory-bytes",
    "x-max-priority",
    "x-overflow",
    "x-queue-mode",
    "x-single-active-consumer",
    "x-queue-type",  # absent and 'classic' are the same (observed)
    "x-queue-master-locator",
    "x-delivery-limit",
)

OVERFLOW_MODES = ("drop-head", "reject-publish", "reject-publish-dlx")
# Classic-queue arguments a quorum queue refuses (observed on RabbitMQ 3.10.8).
NOT_FOR_QUORUM = frozenset(
    {"x-max-priority", "x-queue-mode", "x-queue-master-locator", "x-queue-version"}
)


# RabbitMQ's names of the field types a value may remember (amqpmock.fieldtypes)
TYPE_NAMES = {
    b"b": "byte",
    b"B": "unsignedbyte",
    b"s": "short",
    b"u": "unsignedshort",
    b"I": "signedint",
    b"i": "unsignedint",
    b"l": "long",
    b"f": "float",
}
# rabbit_misc:type_class/1: what a redeclare compares besides the value
_INT_TYPES = frozenset(
    {"byte", "short", "signedint", "long", "unsignedbyte", "unsignedshort", "unsignedint"}
)


def field_type(value: Any) -> str:
    """RabbitMQ's name for a field value's type, as it appears in 406 texts: the one it
    remembers (``amqpmock.fieldtypes``), else the one pika would send it as."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, FieldInt | Float32):
        return TYPE_NAMES[value.field_type]
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return "signedint"
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str | bytes):
        return "longstr"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, list):
        return "array"
    if isinstance(value, datetime.datetime):
        return "timestamp"
    return "void"


def type_class(name: str) -> str:
    if name in _INT_TYPES:
        return "int"
    return "float" if name in ("float", "double") else name


def same_arg(new: Any, old: Any) -> bool:
    """An argument a redeclare leaves alone: the same value of the same type class (a
    ``long`` 5 is a ``signedint`` 5, as rabbit_misc:assert_args_equivalence has it)."""
    return bool(new == old) and type_class(field_type(new)) == type_class(field_type(old))


def erl_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def describe_arg(value: Any) -> str:
    if value is None:
        return "none"
    return f"the value '{erl_value(value)}' of type '{field_type(value)}'"


def inequivalent_values(new: Any, old: Any) -> tuple[str, str]:
    """How RabbitMQ words a changed argument: bare values when both are set."""
    if new is not None and old is not None:
        return f"'{erl_value(new)}'", f"'{erl_value(old)}'"
    return describe_arg(new), describe_arg(old)


def erl_bool(value: bool) -> str:
    return "true" if value else "false"


def args_key(arguments: dict[str, Any]) -> str:
    return repr(sorted((k, repr(v)) for k, v in arguments.items()))


def refuse_properties(m: Any, name: str, vhost: str) -> None:
    """What quorum queues and streams refuse of a declare's properties, in RabbitMQ's
    order: non-durable, exclusive, auto-delete."""
    for flag, problem in (
        (not m.durable, "non-durable"),
        (m.exclusive, "exclusive-owner"),
        (m.auto_delete, "auto-delete"),
    ):
        if flag:
            raise ChannelError(
                PRECONDITION_FAILED,
                f"invalid property '{problem}' for queue '{name}' in vhost '{vhost}'",
            )


def refuse_args(
    arguments: dict[str, Any], refused: Collection[str], name: str, vhost: str, queue_type: str
) -> None:
    """The first argument (in the client's order) that ``queue_type`` does not take."""
    for arg in arguments:
        if arg in refused:
            raise ChannelError(
                PRECONDITION_FAILED,
                f"invalid arg '{arg}' for queue '{name}' in vhost '{vhost}' "
                f"of queue type rabbit_{queue_type}_queue",
            )


def check_reserved(name: str, kind: str) -> None:
    if name.startswith("amq."):
        raise ChannelError(
            ACCESS_REFUSED, f"{kind} name '{name}' contains reserved prefix 'amq.*'"
        )
