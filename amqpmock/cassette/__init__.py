"""Cassettes: recorded AMQP sessions as readable, versioned YAML files, and redaction.

May import ``errors``, ``fieldtypes`` and ``hookspecs`` (redactor plugins); never the
core, the wire, the proxy or replay: a file format depends on nothing that speaks AMQP.

``load_cassette(path)`` gives the typed model the replay engine reads
(``Cassette`` > ``CassetteConnection`` > ``Interaction``); ``write_cassette`` writes
one atomically after checking that no password appears in it.
"""

from amqpmock.cassette._body import decode_body, encode_body
from amqpmock.cassette._errors import (
    CassetteError,
    CassetteFormatError,
    CassetteNotFound,
    CassetteVersionError,
    SecretLeakError,
)
from amqpmock.cassette._model import (
    CASSETTE_FORMAT_VERSION,
    Cassette,
    CassetteConnection,
    CassetteHeader,
    Direction,
    Ending,
    Heartbeats,
    Interaction,
    Origin,
    Outcome,
    incomplete_problem,
)
from amqpmock.cassette._redact import (
    REDACTED,
    BuiltinRedactors,
    SecretWarning,
    check_secrets,
    default_redactors,
    is_strong,
    redact_binary_url_passwords,
    redact_body_fields,
    redact_cassette,
    redact_credential_headers,
    redact_headers,
    redact_start_ok,
    redact_update_secret,
    redact_url,
    redact_url_passwords,
    scrub_secrets,
    start_ok_credentials,
)
from amqpmock.cassette._yaml import (
    cassette_text,
    dumps,
    load_cassette,
    loads,
    write_cassette,
    write_text_atomic,
)

__all__ = [
    "CASSETTE_FORMAT_VERSION",
    "REDACTED",
    "BuiltinRedactors",
    "Cassette",
    "CassetteConnection",
    "CassetteError",
    "CassetteFormatError",
    "CassetteHeader",
    "CassetteNotFound",
    "CassetteVersionError",
    "Direction",
    "Ending",
    "Heartbeats",
    "Interaction",
    "Origin",
    "Outcome",
    "SecretLeakError",
    "SecretWarning",
    "cassette_text",
    "check_secrets",
    "decode_body",
    "default_redactors",
    "dumps",
    "encode_body",
    "incomplete_problem",
    "is_strong",
    "load_cassette",
    "loads",
    "redact_binary_url_passwords",
    "redact_body_fields",
    "redact_cassette",
    "redact_credential_headers",
    "redact_headers",
    "redact_start_ok",
    "redact_update_secret",
    "redact_url",
    "redact_url_passwords",
    "scrub_secrets",
    "start_ok_credentials",
    "write_cassette",
    "write_text_atomic",
]
