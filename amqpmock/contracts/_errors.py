"""The contracts package's one exception: a document cannot be made or written.

AMQPMockError
└── ContractError     a cassette could not be read, a file not written; the text
    │                 names the file and the problem (the CLI prints it as is)
    └── UnknownMessage  a document has no message or channel of that name (the
                        control API's 404)
"""

from __future__ import annotations

from amqpmock.errors import AMQPMockError

__all__ = ["ContractError", "UnknownMessage"]


class ContractError(AMQPMockError):
    """An AsyncAPI document could not be made from its sources, or not written."""


class UnknownMessage(ContractError):
    """No message or channel of the name asked for is in the document."""
