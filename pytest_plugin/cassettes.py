"""Cassettes in pytest: record against a real RabbitMQ, replay offline.

A test marked ``@pytest.mark.amqp_cassette(...)`` gets, through ``amqp_url``, either the
recording proxy (in front of the upstream RabbitMQ) or the fake broker with the
cassette's outside world replayed into it; the test's code is the same either way.
Tests without the marker keep the plain fake broker.

Record modes (as VCR.py and pytest-recording name them):
- ``none`` (default): replay only; a missing cassette is an error.
- ``once``: replay when the cassette exists, record when it does not.
- ``new_episodes``: record (AMQP cannot split one session between the fake and the real
  broker, so the test talks to RabbitMQ); the cassette keeps what it has and gains only
  connections whose episode (what the client did, run-specific values shaped) it does
  not have yet; when nothing is new it is not rewritten at all.
- ``all``: record and overwrite.
- ``rewrite``: delete the cassette first, then record.

Precedence, later winning: the ``amqp_cassette_config`` fixture, the module's marker,
the class's, the test's; ``--amqp-record-mode`` beats them all, then the ini setting
``amqp_record_mode``, then ``none``. The upstream comes from ``--amqp-upstream``, else
``$AMQPMOCK_UPSTREAM``, else ini ``amqp_upstream``. Cassette path: the marker's first
argument or ``path=`` (relative to the cassette root, ini ``amqp_cassette_dir``, default
``cassettes`` under the rootdir), else ``<amqp_cassette_dir fixture>/<default_amqp_
cassette_name fixture>.yaml``, by default ``<root>/<module path>/<Class>.<test>.yaml``.

Marker options: ``record_mode``, ``match_on`` (matcher names, or functions ``(live,
recorded)`` that raise ``AssertionError`` on a miss), ``ignore_fields`` (JSON
fields left out of body matching), ``allow_playback_repeats``, ``allow_unused``,
``record_on_exception`` (off: a test that fails while recording writes nothing),
``allow_incomplete`` (replay a cassette whose recording stopped early, with a warning;
off: such a cassette is refused).

A recording never makes a cassette worse: an unreachable upstream fails the test before
anything is recorded, a failed test writes nothing (unless ``record_on_exception``), and
``rewrite`` replaces the old cassette only when the new one is written (atomically).
"""

from __future__ import annotations

import json
import os
import re
import socket
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from amqpmock.cassette import (
    Cassette,
    CassetteConnection,
    CassetteError,
    incomplete_problem,
    load_cassette,
    write_cassette,
)
from amqpmock.hookspecs import get_plugin_manager
from amqpmock.replay import (
    ALL_KINDS,
    DEFAULT_MATCH_ON,
    ReplayEngine,
    ReplayError,
    compare_kinds,
    fold_mismatches,
    shape,
)
from amqpmock.testing.harness import BrokerFixture

from .network import NetworkBlocker

RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")
UPSTREAM_ENV = "AMQPMOCK_UPSTREAM"
MARKER = "amqp_cassette"
_OPTIONS = (
    "record_mode",
    "match_on",
    "ignore_fields",
    "allow_playback_repeats",
    "allow_unused",
    "record_on_exception",
    "allow_incomplete",
    "allowed_hosts",
    "block_network",
    "compare",
    "ignore_args",
)
# the test's reports by phase, for the cassette fixture's teardown (did the test fail?)
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
SESSION = pytest.StashKey["CassetteSession"]()
CACHE = pytest.StashKey["CassetteCache"]()


def addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("amqpmock")
    group.addoption(
        "--amqp-record-mode",
        choices=RECORD_MODES,
        default=None,
        help="cassette record mode for tests marked amqp_cassette (default: none)",
    )
    group.addoption(
        "--amqp-disable-recording",
        action="store_true",
        default=False,
        help="ignore amqp_cassette markers: marked tests run on the plain fake broker",
    )
    group.addoption(
        "--amqp-no-block-network",
        action="store_true",
        default=False,
        help="let tests replaying a cassette connect to other hosts (blocked by default)",
    )
    group.addoption(
        "--amqp-allowed-hosts",
        default=None,
        metavar="HOSTS",
        help="comma-separated hosts (or host:port) reachable while a cassette replays",
    )
    group.addoption(
        "--amqp-upstream",
        default=None,
        help=f"real RabbitMQ URL to record against (or ${UPSTREAM_ENV}; ini amqp_upstream)",
    )
    parser.addini("amqp_record_mode", "default cassette record mode", default="none")
    parser.addini("amqp_upstream", "real RabbitMQ URL to record against", default="")
    parser.addini("amqp_cassette_dir", "where cassettes live (under rootdir)", default="cassettes")


def configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(path=None, *, record_mode=None, match_on=None, ignore_fields=(), "
        "allow_playback_repeats=False, allow_unused=False, record_on_exception=False, "
        "allow_incomplete=False): "
        "replay (or record) the AMQP "
        "traffic of this test from a cassette",
    )


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", name).strip("_") or "test"


@dataclass
class CassetteSettings:
    path: Path
    record_mode: str
    upstream: str | None
    match_on: tuple[Any, ...] = DEFAULT_MATCH_ON  # names, or matcher functions
    ignore_fields: tuple[str, ...] = ()
    allow_playback_repeats: bool = False
    allow_unused: bool = False
    record_on_exception: bool = False
    allow_incomplete: bool = False
    block_network: bool = True
    allowed_hosts: tuple[str, ...] = ()
    compare: tuple[str, ...] = ALL_KINDS  # what the client does that replay compares
    ignore_args: dict[str, tuple[str, ...]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


def merged_marker_options(request: pytest.FixtureRequest) -> tuple[Any, dict[str, Any]] | None:
    """The test's ``amqp_cassette`` markers merged, nearest last: module (``pytestmark``),
    then class, then the test's own. Returns (path or None, options), or None when the
    test has no such marker."""
    markers = list(request.node.iter_markers(MARKER))  # nearest first
    if not markers:
        return None
    path: Any = None
    options: dict[str, Any] = {}
    for marker in reversed(markers):
        kwargs = dict(marker.kwargs)
        unknown = sorted(set(kwargs) - set(_OPTIONS) - {"path"})
        if unknown:
            raise pytest.UsageError(
                f"{MARKER}: unknown option(s) {unknown}; known: {list(_OPTIONS)}"
            )
        given = marker.args[0] if marker.args else kwargs.pop("path", None)
        kwargs.pop("path", None)
        if given:
            path = given
        options.update(kwargs)
    return path, options


def settings_for(
    request: pytest.FixtureRequest,
    cassette_dir: str | os.PathLike[str] | None = None,
    cassette_name: str | None = None,
    config_options: dict[str, Any] | None = None,
) -> CassetteSettings | None:
    """The test's cassette settings, or None when it is not marked ``amqp_cassette``.

    Options merge in this order, later winning: the ``amqp_cassette_config`` fixture's
    values, the module's marker, the class's, the test's; ``--amqp-record-mode`` beats
    them all for the record mode, and the ini ``amqp_record_mode`` applies when none
    sets one.
    """
    if request.config.getoption("--amqp-disable-recording"):
        return None
    merged = merged_marker_options(request)
    if merged is None:
        return None
    given, marker_options = merged
    config = request.config
    unknown = sorted(set(config_options or {}) - set(_OPTIONS))
    if unknown:
        raise pytest.UsageError(
            f"amqp_cassette_config: unknown option(s) {unknown}; known: {list(_OPTIONS)}"
        )
    kwargs = {**(config_options or {}), **marker_options}
    root = cassette_root(config)
    if given:
        path = Path(str(given))
        if not path.is_absolute():
            path = root / path
    else:
        folder = Path(cassette_dir) if cassette_dir is not None else default_dir(request)
        name = cassette_name if cassette_name is not None else default_name(request)
        path = folder / f"{name}.yaml"
    mode = (
        config.getoption("--amqp-record-mode")
        or kwargs.get("record_mode")
        or str(config.getini("amqp_record_mode"))
        or "none"
    )
    if mode not in RECORD_MODES:
        raise pytest.UsageError(f"{MARKER}: record_mode {mode!r} is not one of {RECORD_MODES}")
    upstream = (
        config.getoption("--amqp-upstream")
        or os.environ.get(UPSTREAM_ENV)
        or str(config.getini("amqp_upstream"))
        or None
    )
    return CassetteSettings(
        path=path,
        record_mode=mode,
        upstream=upstream,
        match_on=tuple(kwargs.get("match_on") or DEFAULT_MATCH_ON),
        ignore_fields=tuple(kwargs.get("ignore_fields") or ()),
        allow_playback_repeats=bool(kwargs.get("allow_playback_repeats", False)),
        allow_unused=bool(kwargs.get("allow_unused", False)),
        record_on_exception=bool(kwargs.get("record_on_exception", False)),
        allow_incomplete=bool(kwargs.get("allow_incomplete", False)),
        block_network=(
            not config.getoption("--amqp-no-block-network")
            and bool(kwargs.get("block_network", True))
        ),
        allowed_hosts=(
            *(str(h) for h in kwargs.get("allowed_hosts") or ()),
            *(h for h in str(config.getoption("--amqp-allowed-hosts") or "").split(",") if h),
        ),
        compare=compare_kinds(kwargs.get("compare") or ()),
        ignore_args={
            str(k): tuple(str(f) for f in v) for k, v in (kwargs.get("ignore_args") or {}).items()
        },
    )


def cassette_root(config: pytest.Config) -> Path:
    """Where cassettes live: ini ``amqp_cassette_dir`` under the rootdir."""
    return Path(str(config.rootpath)) / str(config.getini("amqp_cassette_dir"))


def default_dir(request: pytest.FixtureRequest) -> Path:
    """``<cassette root>/<the test module's path under the rootdir, without .py>``: two
    modules of the same name in different folders get different folders."""
    module = Path(str(request.node.path))
    try:
        relative = module.relative_to(Path(str(request.config.rootpath)))
    except ValueError:  # a test module outside the rootdir
        relative = Path(module.name)
    parts = [_safe(part) for part in relative.with_suffix("").parts]
    return cassette_root(request.config).joinpath(*parts)


def default_name(request: pytest.FixtureRequest) -> str:
    """``<Class>.<test>`` for a test in a class (nested classes joined by dots), else
    ``<test>``; parametrized tests keep their id (``test_x[a-1]`` -> ``test_x_a-1``)."""
    classes = []
    node = request.node.parent
    while node is not None and isinstance(node, pytest.Class):
        classes.append(node.name)
        node = node.parent
    return ".".join([_safe(c) for c in reversed(classes)] + [_safe(request.node.name)])


def _recording(settings: CassetteSettings) -> bool:
    mode = settings.record_mode
    if mode == "none":
        return False
    if mode == "once":
        return not settings.path.exists()
    return True


class CassetteCache:
    """Parsed cassettes for replay, kept for the pytest session: tests that replay the
    same file (a test repeated, parametrized over one recording) parse it once.

    An entry is the file's identity when it was read (path, inode, mtime, size): a
    cassette rewritten since (recorded again, atomically: a new inode) or edited is
    read afresh. Replay reads a cassette and never changes it (the engine keeps its
    state in a plan of its own), so one parsed cassette serves every test. Bounded: the
    last ``SIZE`` files, none over ``MAX_BYTES`` (a long recording is not kept)."""

    SIZE = 16
    MAX_BYTES = 4 << 20

    def __init__(self) -> None:
        self._entries: OrderedDict[Path, tuple[tuple[int, int, int], Cassette]] = OrderedDict()
        self.parsed = 0  # files read and parsed, for tests

    def load(self, path: Path) -> Cassette:
        try:
            stat = path.stat()
        except OSError:
            return load_cassette(path)  # says why in the cassette's own words
        key = path.absolute()
        identity = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        entry = self._entries.get(key)
        if entry is not None and entry[0] == identity:
            self._entries.move_to_end(key)
            return entry[1]
        cassette = load_cassette(path)
        self.parsed += 1
        if stat.st_size <= self.MAX_BYTES:
            self._entries[key] = (identity, cassette)
            self._entries.move_to_end(key)
            while len(self._entries) > self.SIZE:
                self._entries.popitem(last=False)
        else:
            self._entries.pop(key, None)
        return cassette


class CassetteSession:
    """One test's cassette: a URL for the client, and what to do at the end."""

    def __init__(
        self,
        settings: CassetteSettings,
        broker: BrokerFixture,
        test: str | None = None,
        cache: CassetteCache | None = None,
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.broker = broker
        self.test = test  # the node id written into a recorded cassette
        self.recording = _recording(settings)
        self.engine: ReplayEngine | None = None
        self.reported = 0  # mismatches already in the test's own report
        self.proxy: Any = None
        self.blocker: NetworkBlocker | None = None
        self._fake_traffic: Any = None
        if self.recording:
            self._start_recording()
        else:
            self._start_replay()

    @property
    def url(self) -> str:
        return str(self.proxy.client_url) if self.recording else self.broker.url

    def _start_recording(self) -> None:
        settings = self.settings
        if not settings.upstream:
            pytest.fail(
                f"record mode {settings.record_mode!r} for {settings.path} needs a real "
                f"RabbitMQ: pass --amqp-upstream URL or set ${UPSTREAM_ENV}",
                pytrace=False,
            )
        from amqpmock.testing.proxythread import ProxyThread

        _check_upstream(settings)
        journal = Path(f"{settings.path}.journal")
        if journal.exists():  # a recording of this test died: keep what it had
            import io

            from amqpmock.proxy._cli import recover

            said = io.StringIO()
            recover(journal, settings.path, said)
            warnings.warn(said.getvalue().strip() or f"could not recover {journal}", stacklevel=1)
        # `rewrite` starts afresh, but the old cassette stays until the new one is
        # written (atomically), so a recording that fails leaves it as it was; the
        # traffic is journaled beside it meanwhile, so a crash loses nothing
        self.proxy = ProxyThread(settings.upstream, journal=journal).start()
        # amqp_broker's views read the proxy's decoded traffic while it records
        from amqpmock.testing.recorded import RecordedTraffic

        proxy = self.proxy
        self.broker.url_override = str(proxy.client_url)
        self._fake_traffic = self.broker.recorder
        self.broker.recorder = RecordedTraffic(
            lambda: proxy.call(proxy.proxy.recorder.build), self.broker.broker
        )

    def _start_replay(self) -> None:
        settings = self.settings
        failure = ""
        try:
            cassette = (
                self.cache.load(settings.path) if self.cache else load_cassette(settings.path)
            )
        except CassetteError as exc:
            failure = str(exc)
            if not settings.path.exists():
                failure += (
                    " (record it with --amqp-record-mode=once and --amqp-upstream URL, "
                    f"or ${UPSTREAM_ENV})"
                )
        if failure:  # failed outside the except block: said once, not chained to exc
            pytest.fail(failure, pytrace=False)
        problem = incomplete_problem(cassette)
        if problem is not None:
            if not settings.allow_incomplete:
                pytest.fail(
                    f"{settings.path}: {problem}; re-record it, or replay it anyway with "
                    f"@pytest.mark.{MARKER}(allow_incomplete=True)",
                    pytrace=False,
                )
            warnings.warn(f"{settings.path}: {problem}; replaying it anyway", stacklevel=1)
        matchers: dict[str, Any] = dict(get_plugin_manager().matchers())
        match_on: list[str] = []
        for matcher in settings.match_on:
            if callable(matcher):  # an inline matcher function in the marker
                name = f"{getattr(matcher, '__qualname__', 'matcher')}#{id(matcher)}"
                matchers[name] = matcher
                match_on.append(name)
            else:
                match_on.append(str(matcher))

        def attach(broker: Any) -> ReplayEngine:
            return ReplayEngine(
                broker,
                cassette,
                match_on=match_on,
                matchers=matchers,
                ignore_fields=settings.ignore_fields,
                allow_playback_repeats=settings.allow_playback_repeats,
                compare=settings.compare,
                ignore_args=settings.ignore_args,
            )

        try:
            self.engine = self.broker.call(attach)
        except ReplayError as exc:
            raise pytest.UsageError(f"{MARKER}: {exc}") from None
        if settings.block_network:
            fake = urlsplit(self.broker.url)
            self.blocker = NetworkBlocker(
                [(fake.hostname or "127.0.0.1", fake.port or 5672)], settings.allowed_hosts
            ).start()

    def finish(self, test_failed: bool = False) -> None:
        if self.recording:
            self._finish_recording(test_failed)
        else:
            self._finish_replay(test_failed)

    def _finish_recording(self, test_failed: bool) -> None:
        proxy = self.proxy
        try:
            recorded: Cassette = proxy.cassette()
        finally:
            proxy.stop()
            self.broker.url_override = None
            if self._fake_traffic is not None:
                self.broker.recorder = self._fake_traffic
        settings = self.settings
        if test_failed and not settings.record_on_exception:
            proxy.proxy.recorder.remove_journal()
            return  # as VCR.py: a test that failed while recording writes nothing
        unreachable = [c for c in recorded.connections if c.ending == "upstream-unreachable"]
        if unreachable:
            proxy.proxy.recorder.remove_journal()
            pytest.fail(
                f"recording {settings.path} failed, the cassette is untouched: "
                f"{unreachable[0].error or 'the upstream RabbitMQ could not be reached'}",
                pytrace=False,
            )
        if settings.record_mode == "new_episodes" and settings.path.exists():
            recorded, added = _append_episodes(load_cassette(settings.path), recorded)
            if not added:
                proxy.proxy.recorder.remove_journal()
                return  # nothing new: the cassette stays exactly as it was
        if recorded.header.test is None:
            recorded.header.test = self.test
        settings.path.parent.mkdir(parents=True, exist_ok=True)
        write_cassette(recorded, settings.path, secrets=proxy.proxy.upstream.passwords)
        proxy.proxy.recorder.remove_journal()

    def replay_problems(self) -> str | None:
        """What went wrong in the replay so far (mismatches, repeats folded), for the
        test's own report; they are not reported again at teardown."""
        engine = self.engine
        if engine is None or not engine.mismatches:
            return None
        mismatches = list(engine.mismatches)
        self.reported = len(mismatches)
        parts = fold_mismatches(mismatches)
        if not self.settings.allow_unused:
            # what never replayed, as far as the test got: with the mismatch, this says
            # what the outside world was still waiting for
            unused = self.broker.call(lambda _b: engine.unused())
            if unused:
                parts.append(
                    "recorded interactions not replayed when the test ended:\n"
                    + "\n".join(f"  {line}" for line in unused)
                )
        return "\n".join(parts)

    def unplayed_text(self) -> str | None:
        """What the recording did that this run has not (for a failing test's report)."""
        engine = self.engine
        if engine is None or self.settings.allow_unused:
            return None
        unused = self.broker.call(lambda _b: engine.unused())
        if not unused:
            return None
        where = self.settings.path
        return f"the cassette {where} had what this run did not do:\n" + "\n".join(
            f"  {line}" for line in unused
        )

    def _finish_replay(self, test_failed: bool = False) -> None:
        blocked = None
        if self.blocker is not None:
            self.blocker.stop()
            blocked = self.blocker.report()
        engine = self.engine
        if engine is None:
            return
        # what the test's own report said is not said again; when the test failed, what
        # never replayed is the failure's consequence, not news
        report = self.broker.call(
            lambda _b: engine.report(
                self.settings.allow_unused or test_failed, skip_mismatches=self.reported
            )
        )
        self.broker.call(lambda _b: engine.close())
        problems = [text for text in (blocked, report) if text]
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)


def _check_upstream(settings: CassetteSettings) -> None:
    """Fail the test before anything is recorded when no upstream host accepts a TCP
    connection, naming the upstream (password hidden) and why."""
    from amqpmock.proxy import UpstreamURLError, parse_upstream_url

    try:
        upstream = parse_upstream_url(str(settings.upstream))
    except UpstreamURLError as exc:
        pytest.fail(f"cannot record {settings.path}: {exc}", pytrace=False)
    problems = []
    for host in upstream.hosts:
        try:
            socket.create_connection((host.host, host.port), timeout=5).close()
        except OSError as exc:
            problems.append(f"{host.address}: {exc}")
        else:
            return
    pytest.fail(
        f"cannot record {settings.path}: the upstream RabbitMQ {upstream.redacted()} is "
        f"unreachable ({'; '.join(problems)}); the cassette is untouched",
        pytrace=False,
    )


def _episode(conn: CassetteConnection) -> tuple[tuple[str, str, str], ...]:
    """What a connection's client did, with the values that differ every run shaped
    (server-named queues, tags, ids): two recordings of the same episode are equal."""
    steps = []
    for item in conn.interactions:
        if item.dir != "c2s" or item.method.startswith("Connection."):
            continue
        args = json.dumps(item.args, sort_keys=True, default=str)
        body = (item.body or b"").decode("utf-8", "replace")
        steps.append((item.method, shape(args), shape(body)))
    return tuple(steps)


def _c2s_indexes(conn: CassetteConnection) -> list[int]:
    return [n for n, item in enumerate(conn.interactions) if item.dir == "c2s"]


def _append_episodes(old: Cassette, recorded: Cassette) -> tuple[Cassette, int]:
    """VCR.py's new_episodes: the cassette keeps what it knows, and gains only the
    connections whose episode it does not have yet. Returns (cassette, how many new)."""
    known: dict[tuple[tuple[str, str, str], ...], list[CassetteConnection]] = {}
    for conn in old.connections:
        known.setdefault(_episode(conn), []).append(conn)
    same: dict[int, CassetteConnection] = {}  # new connection id -> the old one like it
    fresh: list[CassetteConnection] = []
    for conn in recorded.connections:
        twins = known.get(_episode(conn))
        if twins:
            same[conn.id] = twins.pop(0)
        else:
            fresh.append(conn)
    next_id = max((c.id for c in old.connections), default=0)
    renumber = {}
    for conn in fresh:
        next_id += 1
        renumber[conn.id] = next_id
    by_id = {c.id: c for c in recorded.connections}
    for conn in fresh:
        for item in conn.interactions:
            if item.source is None:
                continue
            source_conn, index = item.source
            if source_conn in same:  # the publish is one the cassette already had
                ordinal = _c2s_indexes(by_id[source_conn]).index(index)
                twin = same[source_conn]
                item.source = (twin.id, _c2s_indexes(twin)[ordinal])
            else:
                item.source = (renumber.get(source_conn, source_conn), index)
    for conn in fresh:
        conn.id = renumber[conn.id]
    old.connections.extend(fresh)
    return old, len(fresh)


def record_report(item: pytest.Item, report: pytest.TestReport) -> None:
    item.stash.setdefault(REPORTS, {})[report.when] = report
    session = item.stash.get(SESSION, None)
    if report.when != "call" or session is None:
        return
    explained = session.replay_problems()
    if not explained:
        if report.failed:
            # no mismatch, but the test failed (its own timeout, say): what the recording
            # did that this run did not is the likeliest reason
            unplayed = session.unplayed_text()
            if unplayed:
                text = f"amqpmock: when the test failed, {unplayed}"
                add = getattr(report.longrepr, "addsection", None)
                if add is not None:
                    add("amqpmock cassette replay", text)
                else:
                    report.longrepr = f"{report.longrepr}\n\n{text}"
        return
    # The mismatch is the headline of the test's own report, whatever the client made
    # of the replay's 406 (aio-pika: "Channel closed by RPC timeout"; FastStream: its
    # own timeout), and a test that passed anyway (a nack where the recording acked
    # closes nothing) fails: replay passes only code that made the same recording.
    text = f"amqpmock: the cassette replay went wrong ({session.settings.path}):\n{explained}"
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        said = (
            f"{crash.path}:{crash.lineno}: {crash.message}"
            if crash is not None
            else (str(report.longrepr).strip().splitlines() or [""])[-1]
        )
        if len(said) > 600:
            said = said[:600] + "..."
        text += f"\n\nand then the test failed (the client's view of it):\n  {said}"
    else:
        text += "\n\nthe test's own assertions passed; the replay fails it"
    report.outcome = "failed"
    report.longrepr = text


@pytest.fixture
def amqp_cassette_dir(request: pytest.FixtureRequest) -> str:
    """The folder of this test's default cassette; override it in a conftest.py (as
    pytest-recording's ``vcr_cassette_dir``). Default: ``<amqp_cassette_dir
    ini>/<module path>``."""
    return str(default_dir(request))


@pytest.fixture
def default_amqp_cassette_name(request: pytest.FixtureRequest) -> str:
    """This test's default cassette name, without ``.yaml``; override it to choose
    another (as pytest-recording's ``default_cassette_name``). Default:
    ``<Class>.<test>`` or ``<test>``."""
    return default_name(request)


@pytest.fixture
def amqp_cassette_config() -> dict[str, Any]:
    """Cassette options for the tests in its scope (``record_mode``, ``match_on``,
    ``ignore_fields``, ``allow_playback_repeats``, ``allow_unused``); markers override
    them. Override this fixture in a conftest.py or module to set defaults."""
    return {}


@pytest.fixture
def amqp_cassette(
    request: pytest.FixtureRequest,
    amqp_broker: BrokerFixture,
    amqp_cassette_dir: str,
    default_amqp_cassette_name: str,
    amqp_cassette_config: dict[str, Any],
) -> Iterator[CassetteSession | None]:
    """The test's cassette session (None for tests without the amqp_cassette marker)."""
    settings = settings_for(
        request, amqp_cassette_dir, default_amqp_cassette_name, amqp_cassette_config
    )
    if settings is None:
        yield None
        return
    cache = request.config.stash.setdefault(CACHE, CassetteCache())
    session = CassetteSession(settings, amqp_broker, request.node.nodeid, cache)
    request.node.stash[SESSION] = session
    yield session
    reports = request.node.stash.get(REPORTS, {})
    session.finish(test_failed=any(r.failed for r in reports.values()))


@pytest.fixture(autouse=True)
def _amqp_cassette_for_marked_tests(request: pytest.FixtureRequest) -> None:
    """A marked test gets its cassette whichever amqpmock fixture it uses (``amqp_url``
    or only ``amqp_broker``): the marker alone is enough, as with pytest-recording."""
    if request.node.get_closest_marker(MARKER) is not None and not request.config.getoption(
        "--amqp-disable-recording"
    ):
        request.getfixturevalue("amqp_cassette")
