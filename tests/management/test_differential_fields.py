"""What list requests ask of their answer and the fields clients read (issue 19),
differential: each test runs against RabbitMQ 3.10.8 (with ``rabbitmq_management``)
and against the fake and asserts what RabbitMQ answered: ``columns=``, ``sort=`` and
``sort_reverse=``, ``name=`` filters, and the key sets (with value types) of users,
nodes, the overview, vhosts, connections and a definitions export. Values that are
the machine's own (memory, ports, times) are compared by type only."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import pika
import pytest

from .conftest import Target
from .test_differential import poll, q, unique


@pytest.fixture
def vhost(target: Target) -> Iterator[str]:
    name = unique("vh")
    assert target.call("PUT", f"/api/vhosts/{q(name)}", {}).status == 201
    yield name
    target.call("DELETE", f"/api/vhosts/{q(name)}")


def names(rows: Any) -> list[str]:
    return [row["name"] for row in rows]


def test_sort_and_sort_reverse(target: Target, vhost: str) -> None:
    v = q(vhost)
    for name, length in (("sa", 3), ("sb", 1), ("Sc", 2), ("xd", 5), ("none", None)):
        arguments = {} if length is None else {"x-max-length": length}
        made = target.call("PUT", f"/api/queues/{v}/{name}", {"arguments": arguments})
        assert made.status == 201

    def listed(query: str) -> list[str]:
        return names(target.call("GET", f"/api/queues/{v}?{query}").body)

    assert listed("") == ["Sc", "none", "sa", "sb", "xd"]  # by octets: upper case first
    assert listed("sort=name&sort_reverse=true") == ["xd", "sb", "sa", "none", "Sc"]
    assert listed("sort_reverse=true") == ["xd", "sb", "sa", "none", "Sc"]
    # a dotted path; a missing value counts as 0, before every number
    assert listed("sort=arguments.x-max-length") == ["none", "sb", "Sc", "sa", "xd"]
    assert listed("sort=arguments.x-max-length&sort_reverse=true") == [
        "xd",
        "sa",
        "Sc",
        "sb",
        "none",
    ]
    assert listed("sort=nothing.here") == ["Sc", "none", "sa", "sb", "xd"]
    # sorted before the columns are cut: by type, then by name
    assert target.call("PUT", f"/api/exchanges/{v}/aaa", {"type": "topic"}).status == 201
    exchanges = target.call("GET", f"/api/exchanges/{v}?sort=type&columns=name").body
    assert names(exchanges) == [
        "",
        "amq.direct",
        "amq.fanout",
        "amq.headers",
        "amq.match",
        "aaa",
        "amq.rabbitmq.trace",
        "amq.topic",
    ]
    # the name filter applies to pages only
    assert listed("name=s") == ["Sc", "none", "sa", "sb", "xd"]
    page = target.call("GET", f"/api/queues/{v}?page=1&page_size=2&name=s&sort_reverse=true")
    assert (page.body["filtered_count"], names(page.body["items"])) == (3, ["sb", "sa"])
    regex = target.call("GET", f"/api/queues/{v}?page=1&name=%5Es&use_regex=true&columns=name")
    assert regex.body["items"] == [{"name": "Sc"}, {"name": "sa"}, {"name": "sb"}]


def test_columns(target: Target, vhost: str) -> None:
    v = q(vhost)
    assert (
        target.call("PUT", f"/api/queues/{v}/work", {"arguments": {"x-max-length": 3}}).status
        == 201
    )
    one = target.call("GET", f"/api/queues/{v}/work?columns=name,durable").body
    assert one == {"name": "work", "durable": False}
    # arguments are an Erlang map: asked for by a dotted path, they come whole
    rows = target.call("GET", f"/api/queues/{v}?columns=name,nope,arguments.x-expires").body
    assert rows == [{"name": "work", "arguments": {"x-max-length": 3}}]
    # a proplist is cut, and left empty it is a list
    state = target.call("GET", f"/api/vhosts/{v}?columns=name,cluster_state.nobody").body
    assert state == {"name": vhost, "cluster_state": []}
    assert target.call("GET", f"/api/vhosts/{v}?columns=").body == []
    listeners = target.call("GET", "/api/overview?columns=listeners.protocol").body
    assert {"amqp", "http"} <= {item["protocol"] for item in listeners["listeners"]}
    assert all(item.keys() == {"protocol"} for item in listeners["listeners"])
    totals = target.call("GET", "/api/overview?columns=object_totals.queues").body
    assert totals["object_totals"].keys() == {
        "channels",
        "connections",
        "consumers",
        "exchanges",
        "queues",
    }
    kept = target.call("GET", "/api/overview?columns=sample_retention_policies.basic").body
    assert kept == {"sample_retention_policies": {"basic": [600, 3600]}}
    page = target.call("GET", f"/api/queues/{v}?page=1&columns=name").body
    assert page["items"] == [{"name": "work"}]
    assert target.call("GET", "/api/whoami?columns=name").body == {"name": "guest"}
    exported = target.call("GET", f"/api/definitions/{v}?columns=queues").body
    assert exported == {
        "queues": [
            {  # without its vhost
                "name": "work",
                "durable": False,
                "auto_delete": False,
                "arguments": {"x-max-length": 3},
            }
        ]
    }


def kinds(body: dict[str, Any]) -> dict[str, str]:
    """Each key's JSON type."""
    return {key: type(value).__name__ for key, value in body.items()}


NODE_RATED = [
    "channel_closed",
    "channel_created",
    "connection_closed",
    "connection_created",
    "context_switches",
    "disk_free",
    "fd_used",
    "gc_bytes_reclaimed",
    "gc_num",
    "io_read_avg_time",
    "io_read_bytes",
    "io_read_count",
    "io_reopen_count",
    "io_seek_avg_time",
    "io_seek_count",
    "io_sync_avg_time",
    "io_sync_count",
    "io_write_avg_time",
    "io_write_bytes",
    "io_write_count",
    "mem_used",
    "mnesia_disk_tx_count",
    "mnesia_ram_tx_count",
    "msg_store_read_count",
    "msg_store_write_count",
    "proc_used",
    "queue_created",
    "queue_declared",
    "queue_deleted",
    "queue_index_read_count",
    "queue_index_write_count",
    "sockets_used",
]
NODE_KINDS = {
    **{key: "int" for key in NODE_RATED},
    **{f"{key}_details": "dict" for key in NODE_RATED},
    **{key: "float" for key in NODE_RATED if key.endswith("_avg_time")},
    **dict.fromkeys(
        [
            "applications",
            "auth_mechanisms",
            "cluster_links",
            "config_files",
            "contexts",
            "enabled_plugins",
            "exchange_types",
            "log_files",
            "partitions",
        ],
        "list",
    ),
    **dict.fromkeys(
        [
            "disk_free_limit",
            "fd_total",
            "mem_limit",
            "net_ticktime",
            "proc_total",
            "processors",
            "run_queue",
            "sockets_total",
            "uptime",
        ],
        "int",
    ),
    **dict.fromkeys(
        ["db_dir", "mem_calculation_strategy", "name", "os_pid", "rates_mode", "type"], "str"
    ),
    **dict.fromkeys(["disk_free_alarm", "mem_alarm", "running"], "bool"),
    "metrics_gc_queue_length": "dict",
    "ra_open_file_metrics": "dict",
}
OVERVIEW_KINDS = {
    **dict.fromkeys(
        [
            "churn_rates",
            "message_stats",
            "object_totals",
            "queue_totals",
            "sample_retention_policies",
        ],
        "dict",
    ),
    **dict.fromkeys(
        [
            "cluster_name",
            "erlang_full_version",
            "erlang_version",
            "management_version",
            "node",
            "product_name",
            "product_version",
            "rabbitmq_version",
            "rates_mode",
            "release_series_support_status",
        ],
        "str",
    ),
    **dict.fromkeys(["contexts", "exchange_types", "listeners"], "list"),
    "disable_stats": "bool",
    "enable_queue_totals": "bool",
    "statistics_db_event_queue": "int",
}
CHURN = [
    "channel_closed",
    "channel_created",
    "connection_closed",
    "connection_created",
    "queue_created",
    "queue_declared",
    "queue_deleted",
]


def test_node_and_overview_fields(target: Target) -> None:
    node = poll(
        lambda: target.call("GET", "/api/nodes").body[0],
        lambda body: "mem_used" in body and "run_queue" in body,
    )
    assert kinds(node) == NODE_KINDS
    assert node["mem_used"] > 0 and node["mem_limit"] > node["mem_used"]
    assert node["fd_used"] > 0 and node["fd_total"] > node["fd_used"]
    assert node["disk_free"] > 0 and node["uptime"] > 0 and node["processors"] >= 1
    assert node["running"] is True and node["partitions"] == []
    one = target.call("GET", f"/api/nodes/{q(node['name'])}")
    assert one.status == 200 and one.body.keys() == node.keys()
    # (the session's RabbitMQ node lists no context; one started by hand lists its own)
    for context in node["contexts"]:
        assert context.keys() == {"description", "path", "cowboy_opts", "ip", "port"}
        assert isinstance(context["port"], str)
    assert {m["name"]: m["enabled"] for m in node["auth_mechanisms"]} == {
        "PLAIN": True,
        "AMQPLAIN": True,
        "RABBIT-CR-DEMO": False,
    }
    overview = poll(
        lambda: target.call("GET", "/api/overview").body, lambda body: "churn_rates" in body
    )
    assert kinds(overview) == OVERVIEW_KINDS
    assert overview["churn_rates"].keys() == set(CHURN) | {f"{c}_details" for c in CHURN}
    assert overview["sample_retention_policies"] == {
        "basic": [600, 3600],
        "detailed": [600],
        "global": [600, 3600, 28800, 86400],
    }
    assert overview["erlang_full_version"].startswith("Erlang/OTP 25 [erts-13.1.5]")
    for context in overview["contexts"]:
        assert context.keys() == {
            "cowboy_opts",
            "description",
            "ip",
            "node",
            "path",
            "port",
            "ssl_opts",
        }
    assert all(
        item.keys() == {"node", "protocol", "ip_address", "port", "socket_opts"}
        for item in overview["listeners"]
    )


def test_users_vhosts_and_export_fields(target: Target) -> None:
    user = unique("hashed")
    try:
        assert (
            target.call("PUT", f"/api/users/{q(user)}", {"password": "pw", "tags": ""}).status
            == 201
        )
        shown = target.call("GET", f"/api/users/{q(user)}").body
        assert shown.keys() == {"name", "password_hash", "hashing_algorithm", "tags", "limits"}
        assert shown["hashing_algorithm"] == "rabbit_password_hashing_sha256"
        assert len(base64.b64decode(shown["password_hash"])) == 4 + 32  # salt, SHA-256
        again = target.call("GET", "/api/users?columns=name,password_hash").body
        assert {"name": user, "password_hash": shown["password_hash"]} in again
    finally:
        target.call("DELETE", f"/api/users/{q(user)}")
    conn = pika.BlockingConnection(pika.URLParameters(target.amqp_url))
    counted = unique("counted")
    try:  # a queue and traffic in /, so that RabbitMQ has statistics for both
        channel = conn.channel()
        channel.queue_declare(counted, exclusive=True)
        channel.basic_publish("", counted, b"x")
        root = poll(
            lambda: target.call("GET", "/api/vhosts/%2F").body,
            lambda body: "recv_oct" in body and "messages" in body,
        )
    finally:
        conn.close()
    assert root["description"] == "Default virtual host"
    # the fake keeps no message statistics (message_stats): the other keys are RabbitMQ's
    assert set(root) - {"message_stats"} == {
        "cluster_state",
        "default_queue_type",
        "description",
        "messages",
        "messages_details",
        "messages_ready",
        "messages_ready_details",
        "messages_unacknowledged",
        "messages_unacknowledged_details",
        "metadata",
        "name",
        "recv_oct",
        "recv_oct_details",
        "send_oct",
        "send_oct_details",
        "tags",
        "tracing",
    }
    exported = target.call("GET", "/api/definitions").body
    (cluster_id,) = exported["global_parameters"]
    assert cluster_id["name"] == "internal_cluster_id"
    assert cluster_id["value"].startswith("rabbitmq-cluster-id-")
    assert len(cluster_id["value"]) == len("rabbitmq-cluster-id-") + 22
    assert target.call("GET", "/api/definitions").body["global_parameters"] == [cluster_id]
    assert target.call("GET", "/api/definitions/%2F").body.keys() == {
        "rabbit_version",
        "parameters",
        "policies",
        "queues",
        "exchanges",
        "bindings",
    }


CONNECTION_KEYS = {
    "auth_mechanism",
    "channel_max",
    "channels",
    "client_properties",
    "connected_at",
    "frame_max",
    "garbage_collection",
    "host",
    "name",
    "node",
    "peer_cert_issuer",
    "peer_cert_subject",
    "peer_cert_validity",
    "peer_host",
    "peer_port",
    "port",
    "protocol",
    "recv_cnt",
    "recv_oct",
    "recv_oct_details",
    "reductions",
    "reductions_details",
    "send_cnt",
    "send_oct",
    "send_oct_details",
    "send_pend",
    "ssl",
    "ssl_cipher",
    "ssl_hash",
    "ssl_key_exchange",
    "ssl_protocol",
    "state",
    "timeout",
    "type",
    "user",
    "user_who_performed_action",
    "vhost",
}


def test_connection_fields(target: Target) -> None:
    name = unique("named")
    params = pika.URLParameters(target.amqp_url)
    params.client_properties = {"connection_name": name}
    before = time.time()
    named = pika.BlockingConnection(params)
    anonymous = pika.BlockingConnection(pika.URLParameters(target.amqp_url))
    try:
        named.channel()

        def rows() -> list[dict[str, Any]]:
            named.process_data_events(time_limit=0.05)
            anonymous.process_data_events(time_limit=0.05)
            return [
                c
                for c in target.call("GET", "/api/connections").body
                if c["client_properties"].get("connection_name") == name
                or c["client_properties"].get("product") == "Pika Python Client Library"
            ]

        found = poll(rows, lambda found: len(found) >= 2 and all("recv_oct" in c for c in found))
        mine = [c for c in found if c.get("user_provided_name") == name]
        assert len(mine) == 1
        (row,) = mine
        assert set(row) == CONNECTION_KEYS | {"user_provided_name"}
        assert before * 1000 - 5000 <= row["connected_at"] <= time.time() * 1000 + 5000
        assert (row["ssl"], row["ssl_protocol"], row["peer_cert_subject"]) == (False, None, None)
        assert all(isinstance(row[k], int) for k in ("recv_oct", "send_oct", "recv_cnt"))
        assert row["garbage_collection"].keys() == {
            "fullsweep_after",
            "max_heap_size",
            "min_bin_vheap_size",
            "min_heap_size",
            "minor_gcs",
        }
        unnamed = [c for c in found if "connection_name" not in c["client_properties"]]
        assert unnamed and all(set(c) == CONNECTION_KEYS for c in unnamed)
        # client_properties are an Erlang map: a dotted column takes them whole
        cut = target.call(
            "GET", f"/api/connections/{q(row['name'])}?columns=client_properties.product"
        ).body
        assert cut["client_properties"]["connection_name"] == name
    finally:
        named.close()
        anonymous.close()
