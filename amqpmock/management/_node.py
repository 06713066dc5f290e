"""The node: ``overview``, ``nodes`` and ``nodes/{name}``, with the keys RabbitMQ 3.10.8
gives (observed) and values the fake can stand behind.

- Sizes the host has (``mem_used``, ``mem_limit``, ``disk_free``, ``fd_used``,
  ``fd_total``, ``processors``, ``os_pid``, ``uptime``) are this process's and this
  machine's; ``mem_limit`` is RabbitMQ's default watermark, 0.4 of the memory.
- What only Erlang has (``proc_used``, ``run_queue``, Mnesia and message-store counts)
  and churn (``connection_created`` ...) are plausible constants: the fake counts
  neither. Every ``*_details`` rate is 0.0.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import time
from typing import TYPE_CHECKING, Any

from amqpmock.fake import alarms
from amqpmock.management._api import Request, Response, Router
from amqpmock.management._errors import ManagementError
from amqpmock.management._listing import Whole
from amqpmock.management._values import crashed
from amqpmock.management._views import ERLANG, EXCHANGE_TYPE_TEXTS, VERSION

if TYPE_CHECKING:
    from amqpmock.management._context import Context

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]

CHURN = (
    "channel_closed",
    "channel_created",
    "connection_closed",
    "connection_created",
    "queue_created",
    "queue_declared",
    "queue_deleted",
)
RETENTION = {"basic": [600, 3600], "detailed": [600], "global": [600, 3600, 28800, 86400]}
# RabbitMQ's node lists them in its registry's order
NODE_EXCHANGE_ORDER = ("headers", "direct", "topic", "fanout")
APPLICATIONS = (
    ("amqp_client", "RabbitMQ AMQP Client", VERSION),
    ("cowboy", "Small, fast, modern HTTP server.", "2.8.0"),
    ("cowlib", "Support library for manipulating Web protocols.", "2.9.1"),
    ("kernel", "ERTS  CXC 138 10", "8.5.3"),
    ("mnesia", "MNESIA  CXC 138 12", "4.21.3"),
    ("os_mon", "CPO  CXC 138 46", "2.8"),
    ("rabbit", "RabbitMQ", VERSION),
    ("rabbit_common", "Modules shared by rabbitmq-server and rabbitmq-erlang-client", VERSION),
    ("rabbitmq_management", "RabbitMQ Management Console", VERSION),
    ("rabbitmq_management_agent", "RabbitMQ Management Agent", VERSION),
    ("rabbitmq_prelaunch", "RabbitMQ prelaunch setup", VERSION),
    ("rabbitmq_web_dispatch", "RabbitMQ Web Dispatcher", VERSION),
    ("ranch", "Socket acceptor pool for TCP protocols.", "2.1.0"),
    ("ssl", "Erlang/OTP SSL application", "10.8.7"),
    ("stdlib", "ERTS  CXC 138 10", "4.2"),
)
AUTH_MECHANISMS = (
    ("PLAIN", "SASL PLAIN authentication mechanism", True),
    ("AMQPLAIN", "QPid AMQPLAIN mechanism", True),
    ("RABBIT-CR-DEMO", "RabbitMQ Demo challenge-response authentication mechanism", False),
)
NODE_COUNTERS = (
    "context_switches",
    "gc_bytes_reclaimed",
    "gc_num",
    "io_read_bytes",
    "io_read_count",
    "io_reopen_count",
    "io_seek_count",
    "io_sync_count",
    "io_write_bytes",
    "io_write_count",
    "mnesia_disk_tx_count",
    "mnesia_ram_tx_count",
    "msg_store_read_count",
    "msg_store_write_count",
    "queue_index_read_count",
    "queue_index_write_count",
)
NODE_AVERAGES = ("io_read_avg_time", "io_seek_avg_time", "io_sync_avg_time", "io_write_avg_time")
GC_QUEUES = (
    "connection_closed",
    "channel_closed",
    "consumer_deleted",
    "exchange_deleted",
    "queue_deleted",
    "vhost_deleted",
    "node_node_deleted",
    "channel_consumer_deleted",
)
PROCESSES_AT_REST = 350  # what an idle RabbitMQ node runs, about


def _rate() -> dict[str, float]:
    return {"rate": 0.0}


def _with_rates(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        out[key] = value
        out[f"{key}_details"] = _rate()
    return out


def exchange_types(ctx: Context, order: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    names = sorted(ctx.broker.exchange_types)
    first = [n for n in order if n in names]
    return [
        {"name": n, "description": EXCHANGE_TYPE_TEXTS.get(n, ""), "enabled": True}
        for n in first + [n for n in names if n not in first]
    ]


def _http(ctx: Context) -> tuple[str, int]:
    for listener in ctx.listeners:
        if listener.protocol == "http":
            return listener.host, listener.port
    return "127.0.0.1", 15672


def contexts(ctx: Context, overview: bool) -> list[dict[str, Any]]:
    host, port = _http(ctx)
    context: dict[str, Any] = {
        "description": "RabbitMQ Management",
        "path": "/",
        "cowboy_opts": "[{sendfile,false}]",
        "ip": host,
        "port": str(port),
    }
    if overview:
        context.update(node=ctx.node, ssl_opts=[])
    return [context]


def _socket_opts(ctx: Context, protocol: str, host: str, port: int) -> dict[str, Any]:
    if protocol == "http":
        return {"cowboy_opts": {"sendfile": False}, "ip": host, "port": port}
    return {"backlog": 128, "nodelay": True, "linger": [True, 0], "exit_on_close": False}


def erlang_full_version() -> str:
    cpus = os.cpu_count() or 1
    return (
        f"Erlang/OTP {ERLANG.split('.')[0]} [erts-13.1.5] [source] [64-bit] "
        f"[smp:{cpus}:{cpus}] [ds:{cpus}:{cpus}:10] [async-threads:1] [jit:ns]"
    )


def overview(ctx: Context, req: Request, _: list[str]) -> Response:
    b = ctx.broker
    vhosts = [b.vhosts[name] for name in ctx.visible_vhosts()]
    queues = [q for v in vhosts for q in v.queues.values()]
    counts = ctx.unacked_by_queue()
    unacked = sum(counts.get(id(q), (0, 0))[0] for q in queues)
    ready = sum(q.message_count for q in queues if q.log is None)
    wire = list(ctx.visible_connections())
    totals = _with_rates(
        {
            "messages": ready + unacked,
            "messages_ready": ready,
            "messages_unacknowledged": unacked,
        }
    )
    return Response(
        200,
        {
            "management_version": VERSION,
            "rates_mode": "basic",
            "sample_retention_policies": dict(RETENTION),
            "exchange_types": exchange_types(ctx),
            "product_version": VERSION,
            "product_name": "RabbitMQ",
            "rabbitmq_version": VERSION,
            "cluster_name": ctx.node,
            "erlang_version": ERLANG,
            "erlang_full_version": erlang_full_version(),
            "release_series_support_status": "supported",
            "disable_stats": False,
            "enable_queue_totals": False,
            "message_stats": Whole(),
            "churn_rates": Whole(_with_rates(dict.fromkeys(CHURN, 0))),
            # RabbitMQ leaves the totals out when the user can see no queue
            "queue_totals": Whole(totals if queues else {}),
            "object_totals": Whole(
                {
                    "channels": sum(len(c.core.channels) for c in wire if c.core is not None),
                    "connections": len(wire),
                    "consumers": sum(len(q.consumers) for q in queues),
                    "exchanges": sum(len(v.exchanges) for v in vhosts),
                    "queues": len(queues),
                }
            ),
            "statistics_db_event_queue": 0,
            "node": ctx.node,
            "listeners": [
                {
                    "node": ctx.node,
                    "protocol": item.protocol,
                    "ip_address": item.host,
                    "port": item.port,
                    "socket_opts": _socket_opts(ctx, item.protocol, item.host, item.port),
                }
                for item in ctx.listeners
            ],
            "contexts": contexts(ctx, overview=True),
        },
    )


def cluster_name(ctx: Context, req: Request, _: list[str]) -> Response:
    return Response(200, {"name": ctx.node})


# --- the host -----------------------------------------------------------------------------


def _memory_used() -> int:
    with (
        contextlib.suppress(OSError, ValueError, IndexError),
        open("/proc/self/statm", encoding="ascii") as statm,
    ):
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    if resource is not None:
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
    return 0


def _memory_limit() -> int:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return int(0.4 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    return 0


def _fds() -> tuple[int, int]:
    used = 0
    with contextlib.suppress(OSError):
        used = len(os.listdir("/proc/self/fd"))
    total = 1024
    if resource is not None:
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        total = soft if 0 < soft < 2**31 else 1048576
    return used, total


def _context_switches() -> int:
    if resource is None:
        return 0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return int(usage.ru_nvcsw + usage.ru_nivcsw)


def node_view(ctx: Context) -> dict[str, Any]:
    wire = list(ctx.wire_connections())
    channels = sum(len(c.core.channels) for c in wire if c.core is not None)
    fd_used, fd_total = _fds()
    try:
        disk_free = shutil.disk_usage(os.getcwd()).free
    except OSError:
        disk_free = 0
    counters: dict[str, Any] = dict.fromkeys(NODE_COUNTERS, 0)
    counters["gc_num"] = sum(generation["collections"] for generation in gc.get_stats())
    counters["context_switches"] = _context_switches()
    averages = dict.fromkeys(NODE_AVERAGES, 0.0)
    view: dict[str, Any] = {
        "name": ctx.node,
        "type": "disc",
        "running": True,
        "partitions": [],
        "os_pid": str(os.getpid()),
        "processors": os.cpu_count() or 1,
        "uptime": int((time.monotonic() - ctx.started) * 1000),
        "run_queue": 0,
        "rates_mode": "basic",
        "net_ticktime": 60,
        "mem_alarm": "memory" in alarms.active(ctx.broker),
        "disk_free_alarm": "disk" in alarms.active(ctx.broker),
        "mem_calculation_strategy": "rss",
        "mem_limit": _memory_limit(),
        "disk_free_limit": 50000000,
        "fd_total": fd_total,
        "sockets_total": max(0, int((fd_total - 100) * 0.9)),
        "proc_total": 1048576,
        "exchange_types": exchange_types(ctx, NODE_EXCHANGE_ORDER),
        "auth_mechanisms": [
            {"name": n, "description": d, "enabled": e} for n, d, e in AUTH_MECHANISMS
        ],
        "applications": [{"name": n, "description": d, "version": v} for n, d, v in APPLICATIONS],
        "contexts": contexts(ctx, overview=False),
        "log_files": ["<stdout>"],
        "db_dir": f"/var/lib/rabbitmq/mnesia/{ctx.node}",
        "config_files": [],
        "enabled_plugins": ["rabbitmq_management"],
        "cluster_links": [],
        "metrics_gc_queue_length": Whole(dict.fromkeys(GC_QUEUES, 0)),
        "ra_open_file_metrics": Whole({"ra_log_wal": 1, "ra_log_segment_writer": 0}),
    }
    view.update(
        _with_rates(
            {
                "mem_used": _memory_used(),
                "disk_free": disk_free,
                "fd_used": fd_used,
                "sockets_used": len(wire),
                "proc_used": PROCESSES_AT_REST + 3 * len(wire) + channels,
                **counters,
                **averages,
                **dict.fromkeys(CHURN, 0),
            }
        )
    )
    return view


def _monitor(ctx: Context) -> None:
    if not ctx.sees_everything():
        raise ManagementError(401, "not_authorised", "Not monitor user")


def nodes(ctx: Context, req: Request, _: list[str]) -> Response:
    """Every node of the cluster (monitoring users and administrators only): those
    that are up in full, a stopped one (its Erlang node is there, the application is
    not) as ``running: false``."""
    _monitor(ctx)
    return Response(200, [_view_of(ctx, name) for name in ctx.broker.nodes])


def _view_of(ctx: Context, name: str) -> dict[str, Any]:
    if name in ctx.broker.down_nodes:
        return {"name": name, "type": "disc", "running": False}
    view = node_view(ctx)
    view["name"] = name
    view["db_dir"] = f"/var/lib/rabbitmq/mnesia/{name}"
    return view


def one_node(ctx: Context, req: Request, args: list[str]) -> Response:
    _monitor(ctx)
    if args[0] not in ctx.broker.nodes:
        raise crashed()  # RabbitMQ's handler crashes on a node it does not know
    return Response(200, _view_of(ctx, args[0]))


def register(router: Router) -> None:
    router.add("GET", "overview", overview)
    router.add("GET", "cluster-name", cluster_name)
    router.add("GET", "nodes", nodes)
    router.add("GET", "nodes/*", one_node)
