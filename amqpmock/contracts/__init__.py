"""Message contracts: AsyncAPI 3.0 documents made from AMQP traffic.

May import ``cassette`` (its loader, and its atomic writer), ``fake`` (to listen to a
broker) and ``errors``; nothing imports this package but the CLI and the pytest plugin.

``load_traffic(paths)`` reads cassettes, ``BrokerTraffic`` listens to a fake broker;
either gives a ``Traffic`` that ``build_document`` turns into an AsyncAPI document
(plain data), and ``write_document`` writes it as YAML or JSON.
"""

from amqpmock.contracts._check import Contract, Violation
from amqpmock.contracts._conform import conformance_failure, violation_lines
from amqpmock.contracts._coverage import Coverage
from amqpmock.contracts._document import ASYNCAPI_VERSION, build_document
from amqpmock.contracts._errors import ContractError, UnknownMessage
from amqpmock.contracts._examples import Example, find_example
from amqpmock.contracts._from_cassette import load_traffic, traffic_from_cassette
from amqpmock.contracts._from_fake import BrokerTraffic
from amqpmock.contracts._topology import Topology, declare_topology, keep_declared, topology
from amqpmock.contracts._traffic import Seen, Server, Traffic
from amqpmock.contracts._write import document_text, write_document

__all__ = [
    "ASYNCAPI_VERSION",
    "BrokerTraffic",
    "Contract",
    "ContractError",
    "Coverage",
    "Example",
    "Seen",
    "Server",
    "Topology",
    "Traffic",
    "UnknownMessage",
    "Violation",
    "build_document",
    "conformance_failure",
    "declare_topology",
    "document_text",
    "find_example",
    "keep_declared",
    "load_traffic",
    "topology",
    "traffic_from_cassette",
    "violation_lines",
    "write_document",
]
