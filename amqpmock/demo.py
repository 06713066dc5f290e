"""`make demo`: the seed document's three oslo.messaging flows on the in-memory broker.

Builds what oslo.messaging's rabbit driver builds (a topic exchange named by
control_exchange, queues ``<topic>`` and ``<topic>.<server>``, a fanout exchange
``<topic>_fanout``, a ``reply_<id>`` queue), then runs call, cast and fanout_cast
through the broker core and prints where each message went.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from amqpmock.fake import Broker, LocalClient


def main() -> None:
    broker = Broker()
    server, client = LocalClient(broker), LocalClient(broker)
    sch, cch = server.channel(), client.channel()
    topic, host, control = "dhcp_agent", "node-1", "neutron"
    sch.exchange_declare(control, "topic")
    sch.exchange_declare(f"{topic}_fanout", "fanout", auto_delete=True)
    for queue, exchange, key in (
        (topic, control, topic),
        (f"{topic}.{host}", control, f"{topic}.{host}"),
        (f"{topic}_fanout_0f1e2d", f"{topic}_fanout", topic),
    ):
        sch.queue_declare(queue)
        sch.queue_bind(queue, exchange, key)
    reply_q = "reply_5a4b3c"
    cch.exchange_declare(reply_q, "direct", auto_delete=True)
    cch.queue_declare(reply_q, auto_delete=True)
    cch.queue_bind(reply_q, reply_q, reply_q)
    cch.consume(reply_q, no_ack=True)

    def envelope(msg: Mapping[str, object]) -> str:
        return json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(msg)})

    print(f"exchanges: {sorted(n for n in broker.exchanges() if n and not n.startswith('amq.'))}")
    print(f"queues:    {sorted(broker.queues())}")
    flows = [
        (
            "call",
            control,
            f"{topic}.{host}",
            {"method": "get_active_networks", "_msg_id": "m1", "_reply_q": reply_q},
        ),
        ("cast", control, topic, {"method": "port_update"}),
        ("fanout_cast", f"{topic}_fanout", topic, {"method": "network_delete"}),
    ]
    for name, exchange, key, msg in flows:
        routed = broker.publish(exchange, key, envelope(msg))
        print(f"{name:12} -> exchange {exchange!r} key {key!r} -> queues {routed}")
    got = sch.get(f"{topic}.{host}", no_ack=True)
    assert got is not None
    request = json.loads(json.loads(got.body)["oslo.message"])
    sch.publish(
        reply_q,
        request["_reply_q"],
        envelope({"result": ["net-1"], "ending": True, "_msg_id": request["_msg_id"]}),
    )
    reply = cch.deliveries[-1]
    print(f"call reply  <- {json.loads(json.loads(reply.body)['oslo.message'])}")


if __name__ == "__main__":
    main()
