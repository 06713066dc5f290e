"""Reading and writing cassette files.

Rules this module keeps:
- Only the safe loader (the C one when PyYAML has it), extended with tags for AMQP
  field values plain YAML cannot tell apart: ``!decimal``, and the narrow integer and
  float types header tables keep (``!int8`` ... ``!uint32``, ``!float32``; see
  ``amqpmock.fieldtypes``). Nothing in a cassette can run code.
- Writing is atomic: a temporary file in the same directory, fsync, then rename. A
  write that fails (including the secret check) leaves the previous cassette as it was.
- Multi-line text is written as YAML block scalars so bodies read like the original.
"""

from __future__ import annotations

import contextlib
import decimal
import os
import re
import secrets
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

import yaml

from amqpmock import fieldtypes
from amqpmock.cassette._errors import CassetteError, CassetteFormatError, CassetteNotFound
from amqpmock.cassette._model import Cassette
from amqpmock.cassette._redact import SecretWarning, is_strong, scrub_secrets

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class CassetteLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """The safe loader plus ``!decimal``; integers of at most ``MAX_INT_DIGITS``."""


class CassetteDumper(_BaseDumper):  # type: ignore[misc,valid-type]
    """The safe dumper plus ``!decimal`` and block scalars for multi-line text; never
    anchors and aliases (a value that appears twice is written twice)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# No AMQP field holds more than 64 bits: 20 digits; a long one is kept as text.
MAX_INT_DIGITS = 40
MAX_DEPTH = 64  # AMQP tables nest, but no cassette needs more than a few levels


class _Refused(yaml.YAMLError):
    """A YAML document the cassette loader will not build; read like PyYAML's errors."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    if not isinstance(node, yaml.ScalarNode):
        raise _Refused("an integer must be a scalar", node.start_mark)
    text = str(node.value).replace("_", "")
    if len(text.lstrip("+-")) > MAX_INT_DIGITS:
        raise _Refused(
            f"an integer of {len(text)} characters (at most {MAX_INT_DIGITS})", node.start_mark
        )
    value: int = loader.construct_yaml_int(node)
    return value


_STR_TAG = "tag:yaml.org,2002:str"
_MEMO_LENGTH = 64  # plain scalars up to this long have their resolved tag remembered
_MEMO_SIZE = 4096  # ... this many of them per file: bounded whatever the cassette's size
_ATOM_TAGS = frozenset(
    {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"}
    | {"tag:yaml.org,2002:null"}
)
_ATOMS = (int, float, bool, type(None))
_MAP_TAGS = frozenset({None, "!", "tag:yaml.org,2002:map"})
_SEQ_TAGS = frozenset({None, "!", "tag:yaml.org,2002:seq"})


def _load_from_events(text: str) -> Any:
    """The document, built straight from the parser's events.

    PyYAML's ``load`` composes a node for every value of the whole file before it
    builds anything (about 10 KB for each recorded publish); this keeps only the
    objects, making one short-lived node per scalar for PyYAML's own resolver and
    constructors (tags, timestamps, ``!!binary``, ``!decimal``, the field types). On
    the way it refuses what a cassette never has: anchors and aliases (an alias bomb
    would expand to gigabytes), unknown tags on collections, a second document, and
    nesting deeper than ``MAX_DEPTH``.
    """
    loader = CassetteLoader(text)
    try:
        stack: list[tuple[dict[Any, Any] | list[Any], list[Any]]] = []  # (container, key)
        root: Any = None
        documents = 0
        resolved: dict[str, str] = {}  # plain scalar -> its tag
        atoms: dict[tuple[str, str], Any] = {}  # (tag, plain scalar) -> int, float, bool, None

        def add(value: Any) -> None:
            nonlocal root
            if not stack:
                root = value
                return
            container, key = stack[-1]
            if isinstance(container, list):
                container.append(value)
            elif not key:
                key.append(value)
            else:
                container[key.pop()] = value

        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise _Refused(
                    "anchors and aliases are not allowed in a cassette", event.start_mark
                )
            if isinstance(event, yaml.ScalarEvent):
                value = event.value
                tag = event.tag
                if tag is None or tag == "!":
                    implicit = event.implicit
                    if implicit[0] and len(value) <= _MEMO_LENGTH:
                        # short plain scalars (keys, method names, flags) repeat all
                        # over a cassette: PyYAML's regex resolver runs once for each
                        tag = resolved.get(value)
                        if tag is None:
                            tag = loader.resolve(yaml.ScalarNode, value, implicit)
                            if len(resolved) < _MEMO_SIZE:
                                resolved[value] = tag
                    else:
                        tag = loader.resolve(yaml.ScalarNode, value, implicit)
                if tag == _STR_TAG:
                    add(value)  # what PyYAML's str constructor makes, without its node
                    continue
                if tag in _ATOM_TAGS and (tag, value) in atoms:
                    add(atoms[tag, value])  # an int, float, bool or null seen before
                    continue
                mark: Any = event.start_mark  # the C parser's Mark type differs
                node = yaml.ScalarNode(tag, value, mark, mark, event.style)
                constructor = loader.yaml_constructors.get(tag) or loader.yaml_constructors[None]
                built = constructor(loader, node)
                if (
                    tag in _ATOM_TAGS
                    and type(built) in _ATOMS
                    and event.implicit[0]
                    and len(value) <= _MEMO_LENGTH
                    and len(atoms) < _MEMO_SIZE
                ):
                    atoms[tag, value] = built  # immutable: one object serves every repeat
                add(built)
            elif isinstance(event, yaml.CollectionStartEvent):
                is_map = isinstance(event, yaml.MappingStartEvent)
                if event.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
                    raise _Refused(
                        f"tag {event.tag} is not allowed in a cassette", event.start_mark
                    )
                if len(stack) >= MAX_DEPTH:
                    raise _Refused(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
                container: dict[Any, Any] | list[Any] = {} if is_map else []
                add(container)
                stack.append((container, []))
            elif isinstance(event, yaml.CollectionEndEvent):
                stack.pop()
            elif isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _Refused("a cassette is one YAML document", event.start_mark)
        return root
    finally:
        loader.dispose()


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> decimal.Decimal:
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(
            None, None, "!decimal needs a scalar", node.start_mark
        )
    try:
        return decimal.Decimal(loader.construct_scalar(node))
    except decimal.InvalidOperation:
        raise yaml.constructor.ConstructorError(
            None, None, f"not a decimal: {node.value!r}", node.start_mark
        ) from None


def _represent_decimal(dumper: yaml.SafeDumper, value: decimal.Decimal) -> yaml.Node:
    return dumper.represent_scalar("!decimal", str(value))


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value.rstrip("\n") and not any(line != line.rstrip() for line in value.split("\n")):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_FLOW_WIDTH = 72


def _is_short(values: list[Any], keys: list[Any]) -> bool:
    if any(isinstance(v, dict | list) for v in values):
        return False
    if any(isinstance(v, str) and "\n" in v for v in values):
        return False
    width = sum(len(str(k)) + 2 for k in keys) + sum(len(str(v)) + 2 for v in values)
    return width <= _FLOW_WIDTH


def _represent_dict(dumper: yaml.SafeDumper, value: dict[Any, Any]) -> yaml.Node:
    # Small leaf mappings on one line ({exchange: '', routing_key: q}); the rest as blocks.
    flow = _is_short(list(value.values()), list(value.keys()))
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=flow)


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    flow = bool(value) and _is_short(value, [])
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


# Header-table numbers that arrived narrower than RabbitMQ's own l / d types.
FIELD_TAGS: dict[str, type[int] | type[float]] = {
    "!int8": fieldtypes.Int8,
    "!uint8": fieldtypes.UInt8,
    "!int16": fieldtypes.Int16,
    "!uint16": fieldtypes.UInt16,
    "!int32": fieldtypes.Int32,
    "!uint32": fieldtypes.UInt32,
    "!float32": fieldtypes.Float32,
}


def _field_constructor(
    kind: type[int] | type[float],
) -> Callable[[yaml.SafeLoader, yaml.Node], int | float]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> int | float:
        if not isinstance(node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.tag} needs a scalar", node.start_mark
            )
        try:
            return kind(loader.construct_scalar(node))
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, f"not a number: {node.value!r}", node.start_mark
            ) from None

    return construct


def _field_representer(tag: str) -> Callable[[yaml.SafeDumper, Any], yaml.Node]:
    def represent(dumper: yaml.SafeDumper, value: Any) -> yaml.Node:
        text = repr(float(value)) if isinstance(value, float) else str(int(value))
        return dumper.represent_scalar(tag, text)

    return represent


for _tag, _kind in FIELD_TAGS.items():
    CassetteLoader.add_constructor(_tag, _field_constructor(_kind))
    CassetteDumper.add_representer(_kind, _field_representer(_tag))
CassetteLoader.add_constructor("!decimal", _construct_decimal)
CassetteLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
CassetteDumper.add_representer(dict, _represent_dict)
CassetteDumper.add_representer(list, _represent_list)
CassetteDumper.add_representer(decimal.Decimal, _represent_decimal)
CassetteDumper.add_representer(str, _represent_str)


def dumps(data: Any) -> str:
    """YAML text of a plain-data document, keys in the order given."""
    text: str = yaml.dump(
        data,
        Dumper=CassetteDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return text


def loads(text: str, path: Path | None = None) -> Any:
    """Parse YAML with the safe loader; errors name the file and the line."""
    try:
        return _load_from_events(text)  # the safe loader's parts, one value at a time
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise CassetteFormatError(f"not valid YAML{where}: {problem}", path) from None


def load_cassette(path: str | os.PathLike[str]) -> Cassette:
    """Read and validate a cassette file into the typed model."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CassetteNotFound("no such cassette file", file) from None
    except UnicodeDecodeError as exc:
        raise CassetteFormatError(f"not UTF-8 text: {exc.reason}", file) from None
    except OSError as exc:
        raise CassetteError(f"cannot read: {exc.strerror or exc}", file) from None
    data = loads(text, file)
    try:
        return Cassette.from_data(data, file)
    except CassetteFormatError as exc:
        line = _line_of(text, exc.problem)
        if line is None:
            raise
        raise CassetteFormatError(f"line {line}: {exc.problem}", file) from None


_LOCATION = re.compile(r"^((?:[A-Za-z_][\w\-]*)?(?:\[\d+\])?(?:\.[\w\-]+|\[\d+\])*):")
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _line_of(text: str, problem: str) -> int | None:
    """The line of the YAML node a format error's location (``connections[0].
    interactions[3].method: ...``) points at, or None. Composed again only on error."""
    match = _LOCATION.match(problem)
    if match is None or not match.group(1):
        return None
    try:
        node = yaml.compose(text, Loader=CassetteLoader)
    except yaml.YAMLError:
        return None
    line = None
    for key, index in _STEP.findall(match.group(1)):
        if isinstance(node, yaml.MappingNode) and key:
            found = next((kv for kv in node.value if kv[0].value == key), None)
            if found is None:
                break
            line = found[0].start_mark.line + 1
            node = found[1]
        elif isinstance(node, yaml.SequenceNode) and index:
            if int(index) >= len(node.value):
                break
            node = node.value[int(index)]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _text_and_findings(cassette: Cassette, secrets: Iterable[str]) -> tuple[str, list[str]]:
    return secret_free_yaml(cassette.to_data(), secrets)


def secret_free_yaml(
    data: Any, secrets: Iterable[str], where: str = "", as_item: bool = False
) -> tuple[str, list[str]]:
    """The YAML of ``data`` with known passwords handled by ``scrub_secrets`` (places
    named from ``where``), and then, the last line, no strong one left anywhere in the
    text; with the places found. ``as_item``: ``data`` written as a list's one item."""
    secrets = [s for s in secrets if s]
    found: list[str] = []
    if secrets:
        data, found = scrub_secrets(data, secrets, where)
    text = dumps([data] if as_item else data)
    strong = [s for s in secrets if is_strong(s)]
    if strong:
        # the last line: no strong password survives in the text in any form
        data, late = scrub_secrets({"text": text}, strong)
        if late:
            text = data["text"]
            found.extend(late)
    return text, found


def warn_findings(found: list[str], stacklevel: int, more: int = 0) -> None:
    """One ``SecretWarning`` naming the first places a password was found (``more``
    places beyond ``found`` are counted)."""
    more += max(len(found) - 10, 0)
    if not found:
        return
    tail = f"; and {more} more" if more else ""
    warnings.warn(
        SecretWarning(
            "a recorded password appears in the traffic (strong ones redacted, ordinary "
            f"words left as they are): {'; '.join(found[:10])}{tail}"
        ),
        stacklevel=stacklevel + 1,
    )


def cassette_text(cassette: Cassette, secrets: Iterable[str] = ()) -> str:
    """The YAML text of a cassette, with every known password of real strength replaced
    wherever it appears; a weak one (an ordinary word) is left and reported. Where a
    password was found is said in a ``SecretWarning``; the text is always made."""
    text, found = _text_and_findings(cassette, secrets)
    warn_findings(found, stacklevel=2)
    return text


def _create_beside(target: Path) -> tuple[int, str]:
    """A new temporary file beside ``target``, with the mode an ordinary new file gets
    (0666 less the umask, so 0644 under umask 022): what is written through it (a
    redacted cassette, a picture) is meant to be committed and read by others, unlike
    ``mkstemp``'s 0600."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = str(target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {target}")


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[TextIO]:
    """A text file that becomes ``path`` (through a temporary file beside it, fsync and
    a rename) only when the block ends without an exception. A new file's mode is an
    ordinary one (0644 under umask 022), not a temporary file's 0600."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_beside(target)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    with atomic_file(path) as handle:
        handle.write(text)
    return Path(path)


def write_cassette(
    cassette: Cassette, path: str | os.PathLike[str], secrets: Iterable[str] = ()
) -> Path:
    """Write atomically (a failed write leaves the previous file); known passwords are
    handled as ``cassette_text`` says, never by refusing to write."""
    try:
        text, found = _text_and_findings(cassette, secrets)
    except CassetteError as exc:
        if exc.path is None:
            exc.path = Path(path)
            exc.args = (f"{exc.path}: {exc.problem}",)
        raise
    try:
        written = write_text_atomic(path, text)
    except OSError as exc:
        raise CassetteError(f"cannot write: {exc.strerror or exc}", Path(path)) from None
    warn_findings(found, stacklevel=2)  # after the write: even -W error loses nothing
    return written
