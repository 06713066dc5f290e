"""Redaction: what never goes into a cassette, and the check that it did not.

Rules this module keeps:
- A redactor is a plain function of one record (the YAML form of an interaction) that
  returns the record, changed or not, or None to drop it. The built-in ones (StartOk
  credentials, passwords in URLs) register through the ``amqpmock_redactors`` hook
  exactly like third-party ones, and run first.
- Redactors get a deep copy: they may change it in place.
- By default the StartOk response, ``connection.update-secret``'s new secret, the
  password of every URL (text, JSON and binary bodies, headers, arguments) and the values
  of credential-like headers (Authorization, Cookie, API keys, tokens, passwords) are
  replaced with ``<redacted>``.
- ``scrub_secrets`` is the last line, and it never costs the recording: each known
  password (plain, URL-quoted, inside base64 bodies) found anywhere is replaced when it
  is of real strength, and only reported when it is an ordinary word that the traffic
  may well contain for other reasons (``guest`` in ``{"role": "guest"}``): the cassette
  is always written, with a warning that names where. ``check_secrets`` is the strict
  check for callers who want to refuse instead.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import struct
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pamqp import decode as pamqp_decode

from amqpmock.cassette._errors import CassetteFormatError, SecretLeakError
from amqpmock.cassette._model import Cassette, CassetteConnection, Interaction
from amqpmock.hookspecs import Redactor, hookimpl

if TYPE_CHECKING:
    from amqpmock.hookspecs import PluginManager

REDACTED = "<redacted>"

# A URL with a scheme; inside it, every "user:password@" (oslo.messaging lists several
# hosts, each with its own credentials: rabbit://u:p@h1:5672,u:p@h2:5672/).
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>]+")
_USERINFO = re.compile(r"(^|[/,])([^:/@,\s]*):([^@/\s]*)@")


def redact_url(text: str) -> str:
    """Replace the password of every URL in ``text`` with ``<redacted>``."""

    def one_url(match: re.Match[str]) -> str:
        url = match.group(0)
        scheme, _, rest = url.partition("://")
        authority, slash, tail = rest.partition("/")
        redacted = _USERINFO.sub(
            lambda m: f"{m.group(1)}{m.group(2)}:{REDACTED}@" if m.group(3) else m.group(0),
            authority,
        )
        return f"{scheme}://{redacted}{slash}{tail}"

    return _URL.sub(one_url, text) if "://" in text else text


def _map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    return value


def redact_url_passwords(record: dict[str, Any]) -> dict[str, Any]:
    """Built-in: passwords in URLs anywhere in args, properties and text/JSON bodies."""
    for key in ("args", "properties", "body"):
        if key in record:
            if key == "body" and isinstance(record[key], dict) and "base64" in record[key]:
                continue
            record[key] = _map_strings(record[key], redact_url)
    return record


_URL_BYTES = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>\x00-\x1f\x7f-\xff]+")


def _redact_url_bytes(data: bytes) -> bytes:
    if b"://" not in data:
        return data
    return _URL_BYTES.sub(lambda m: redact_url(m.group(0).decode("ascii")).encode(), data)


def redact_binary_url_passwords(record: dict[str, Any]) -> dict[str, Any]:
    """Built-in: passwords in URLs inside binary (base64) bodies."""
    body = record.get("body")
    if isinstance(body, dict) and isinstance(body.get("base64"), str):
        raw = _b64_or_none(body["base64"])
        if raw is not None:
            redacted = _redact_url_bytes(raw)
            if redacted != raw:
                body["base64"] = base64.b64encode(redacted).decode("ascii")
    return record


def redact_update_secret(record: dict[str, Any]) -> dict[str, Any]:
    """Built-in: the new secret of ``connection.update-secret`` (an OAuth token)."""
    if record.get("method") == "Connection.UpdateSecret":
        args = record.get("args") or {}
        if args.get("new_secret"):
            args["new_secret"] = REDACTED
            record["args"] = args
    return record


# Header names whose values are credentials, whatever else the name says
# (Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-Api-Key, api_key, X-Auth-Token,
# access_token, client-secret, password...).
CREDENTIAL_HEADER = re.compile(
    r"(?i)(authori[sz]ation|cookie|api[-_ ]?key|token|secret|passw(or)?d|credential)"
)


def redact_credential_headers(record: dict[str, Any]) -> dict[str, Any]:
    """Built-in: values of message headers whose names say they are credentials."""
    headers = (record.get("properties") or {}).get("headers")
    if isinstance(headers, dict):
        for key, value in headers.items():
            if value not in (None, "", REDACTED) and CREDENTIAL_HEADER.search(str(key)):
                headers[key] = REDACTED
    return record


def _as_bytes(response: object) -> bytes:
    if isinstance(response, bytes):
        return response
    if isinstance(response, str):
        return response.encode("utf-8")
    return b""


def start_ok_credentials(args: dict[str, Any]) -> tuple[str | None, str | None]:
    """(user, password) from a Connection.StartOk's args, for PLAIN and AMQPLAIN."""
    mechanism = args.get("mechanism")
    raw = _as_bytes(args.get("response"))
    if mechanism == "PLAIN":
        parts = raw.split(b"\x00")
        if len(parts) == 3:
            return (
                parts[1].decode("utf-8", "replace"),
                parts[2].decode("utf-8", "replace"),
            )
        return None, raw.decode("utf-8", "replace") or None
    if mechanism == "AMQPLAIN":
        table = _amqplain_table(raw)
        if table is None:
            return None, raw.decode("utf-8", "replace") or None
        user, password = table.get("LOGIN"), table.get("PASSWORD")
        return (
            user.decode("utf-8", "replace") if isinstance(user, bytes) else _str_or_none(user),
            password.decode("utf-8", "replace")
            if isinstance(password, bytes)
            else _str_or_none(password),
        )
    return None, None


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _amqplain_table(raw: bytes) -> dict[str, Any] | None:
    try:
        _, table = pamqp_decode.field_table(struct.pack(">I", len(raw)) + raw)
    except (ValueError, struct.error):
        return None
    return dict(table)


def redact_start_ok(record: dict[str, Any]) -> dict[str, Any]:
    """Built-in: the SASL response of Connection.StartOk.

    PLAIN keeps the user name (``"\\0guest\\0<redacted>"``); AMQPLAIN becomes a readable
    ``{LOGIN: guest, PASSWORD: <redacted>}``; the user is hidden too when it equals the
    password; other mechanisms with a response are redacted whole (EXTERNAL has none).
    """
    if record.get("method") != "Connection.StartOk":
        return record
    args = record.get("args") or {}
    if "response" not in args:
        return record
    mechanism = args.get("mechanism")
    user, password = start_ok_credentials(args)
    shown_user = REDACTED if user is not None and user == password else user
    if mechanism == "PLAIN" and user is not None:
        authzid = _as_bytes(args["response"]).split(b"\x00")[0].decode("utf-8", "replace")
        args["response"] = f"{authzid}\x00{shown_user}\x00{REDACTED}"
    elif mechanism == "AMQPLAIN" and _amqplain_table(_as_bytes(args["response"])) is not None:
        args["response"] = {"LOGIN": shown_user, "PASSWORD": REDACTED}
    elif mechanism == "EXTERNAL" or not args["response"]:
        return record
    else:
        args["response"] = REDACTED
    record["args"] = args
    return record


def redact_headers(*names: str) -> Redactor:
    """A redactor hiding these message header values (names compared case-blind)."""
    wanted = {n.lower() for n in names}

    def redactor(record: dict[str, Any]) -> dict[str, Any]:
        headers = (record.get("properties") or {}).get("headers")
        if isinstance(headers, dict):
            for key in headers:
                if key.lower() in wanted:
                    headers[key] = REDACTED
        return record

    return redactor


def redact_body_fields(*names: str) -> Redactor:
    """A redactor hiding the values of these keys, at any depth, in JSON bodies, and in
    JSON objects carried as strings inside them (oslo.messaging's ``oslo.message``)."""
    wanted = set(names)

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: REDACTED if k in wanted else scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, str) and value.startswith("{"):
            try:
                inner = json.loads(value)
            except ValueError:
                return value
            if isinstance(inner, dict):
                scrubbed = scrub(inner)
                return value if scrubbed == inner else json.dumps(scrubbed)
        return value

    def redactor(record: dict[str, Any]) -> dict[str, Any]:
        body = record.get("body")
        if isinstance(body, dict) and "json" in body:
            body["json"] = scrub(body["json"])
        return record

    return redactor


BUILTIN_REDACTORS: tuple[Redactor, ...] = (
    redact_start_ok,
    redact_update_secret,
    redact_url_passwords,
    redact_binary_url_passwords,
    redact_credential_headers,
)


class BuiltinRedactors:
    """Registers the built-in redactors through the ``amqpmock_redactors`` hook."""

    @hookimpl
    def amqpmock_redactors(self) -> Sequence[Redactor]:
        return BUILTIN_REDACTORS


def default_redactors(plugin_manager: PluginManager | None = None) -> list[Redactor]:
    """The redactors of the process-wide (or given) plugin manager, built-ins first."""
    from amqpmock.hookspecs import get_plugin_manager

    return (plugin_manager or get_plugin_manager()).redactors()


def redact_interaction(
    interaction: Interaction, chain: list[Redactor], where: str
) -> Interaction | None:
    """``interaction`` through the redactors (each gets the record, a deep copy, and
    may change it in place), read back; None when one dropped it. ``where`` names it in
    the error a redactor that broke the record gets."""
    record: dict[str, Any] | None = copy.deepcopy(interaction.to_record())
    for redactor in chain:
        assert record is not None
        record = redactor(record)
        if record is None:
            return None
    try:
        return Interaction.from_record(record, f"{where} (after redaction)")
    except CassetteFormatError as exc:
        raise CassetteFormatError(f"a redactor broke a record: {exc.problem}") from None


def redact_cassette(cassette: Cassette, redactors: Iterable[Redactor]) -> Cassette:
    """A new cassette with every record passed through ``redactors`` in order.

    Dropped records disappear; ``source`` references are renumbered, and cleared when
    they pointed at a dropped record.
    """
    chain = list(redactors)
    moved: dict[tuple[int, int], tuple[int, int]] = {}
    connections: list[CassetteConnection] = []
    for conn in cassette.connections:
        kept: list[Interaction] = []
        for index, interaction in enumerate(conn.interactions):
            where = f"connection {conn.id}, interaction {index}"
            new = redact_interaction(interaction, chain, where)
            if new is None:
                continue
            moved[(conn.id, index)] = (conn.id, len(kept))
            kept.append(new)
        connections.append(
            CassetteConnection(
                id=conn.id,
                interactions=kept,
                heartbeats=copy.copy(conn.heartbeats),
                upstream=conn.upstream,
                ending=conn.ending,
                error=conn.error,
            )
        )
    for conn in connections:
        for interaction in conn.interactions:
            if interaction.source is not None:
                interaction.source = moved.get(interaction.source)
    return Cassette(header=copy.copy(cassette.header), connections=connections, path=cassette.path)


def _forms(secret: str) -> set[str]:
    return {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}


def _b64_or_none(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _walk(value: Any, path: str) -> Iterator[tuple[str, str | bytes]]:
    if isinstance(value, str | bytes):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(key, f"{path}.<key>")
            if key == "base64" and isinstance(item, str):
                decoded = _b64_or_none(item)
                if decoded is not None:
                    yield f"{path}.base64 (decoded)", decoded
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _walk(item, f"{path}[{n}]")


def check_secrets(document: Any, secrets: Iterable[str]) -> None:
    """Raise ``SecretLeakError`` if any secret appears anywhere in ``document``.

    ``document`` is the plain-data cassette (paths are reported) or its YAML text.
    """
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms |= _forms(secret)
    if not forms:
        return
    encoded = {f.encode("utf-8") for f in forms}
    if isinstance(document, str):
        if any(f in document for f in forms):
            raise SecretLeakError("somewhere in the YAML text")
        return
    for path, value in _walk(document, ""):
        if isinstance(value, str):
            if any(f in value for f in forms):
                raise SecretLeakError(path or "the document")
        elif any(f in value for f in encoded):
            raise SecretLeakError(path or "the document")


class SecretWarning(UserWarning):
    """A known password was found in the traffic while writing a cassette (and was
    redacted, or left because it is an ordinary word); the cassette was written."""


def is_strong(secret: str) -> bool:
    """A password of real strength, unlikely to be a word the traffic uses for other
    reasons: 8 characters or more, or 6 and more with three kinds of character."""
    kinds = sum(
        any(test(c) for c in secret)
        for test in (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    )
    return len(secret) >= 8 or (len(secret) >= 6 and kinds >= 3)


def _replace_all(text: str, forms: set[str]) -> str:
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text


def _scrub(value: Any, path: str, strong: set[str], weak: set[str], found: list[str]) -> Any:
    if isinstance(value, str):
        if any(f in value for f in strong):
            found.append(f"{path}: redacted")
            return _replace_all(value, strong)
        if any(f in value for f in weak):
            found.append(f"{path}: left as it is")
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            new_key = _scrub(key, f"{where} (the key)", strong, weak, found)
            if key == "base64" and isinstance(item, str):
                out[new_key] = _scrub_base64(item, where, strong, weak, found)
            else:
                out[new_key] = _scrub(item, where, strong, weak, found)
        return out
    if isinstance(value, list):
        return [_scrub(v, f"{path}[{n}]", strong, weak, found) for n, v in enumerate(value)]
    return value


def _scrub_base64(text: str, path: str, strong: set[str], weak: set[str], found: list[str]) -> str:
    raw = _b64_or_none(text)
    if raw is None:
        return str(_scrub(text, path, strong, weak, found))
    strong_b = {f.encode("utf-8") for f in strong}
    if any(f in raw for f in strong_b):
        found.append(f"{path} (decoded): redacted")
        for form in sorted(strong_b, key=len, reverse=True):
            raw = raw.replace(form, REDACTED.encode())
        return base64.b64encode(raw).decode("ascii")
    if any(f.encode("utf-8") in raw for f in weak):
        found.append(f"{path} (decoded): left as it is")
    return text


def scrub_secrets(
    document: dict[str, Any], secrets: Iterable[str], where: str = ""
) -> tuple[Any, list[str]]:
    """The document with every strong secret replaced by ``<redacted>``, wherever it
    appears (values, keys, base64 bodies, in plain and URL-quoted forms), and the list of
    places where a secret was found: redacted, or left (an ordinary word: a password
    such as ``guest`` that the traffic also uses as a value). Never refuses. Places are
    named from ``where``, the document's own place in a larger one."""
    strong: set[str] = set()
    weak: set[str] = set()
    for secret in secrets:
        if secret and secret != REDACTED:
            (strong if is_strong(secret) else weak).update(_forms(secret))
    if not strong and not weak:
        return document, []
    found: list[str] = []
    return _scrub(document, where, strong, weak, found), found
