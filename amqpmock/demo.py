"""`make demo`: the seed document's three oslo.messaging flows against the fake broker.

Starts amqpmock's AMQP server on a free loopback port, runs oslo.messaging's real
``rabbit`` driver against it (an RPCServer for topic ``dhcp_agent`` on ``node-1`` with
control_exchange ``neutron``, and an RPCClient doing ``call``, ``cast`` and
``fanout_cast``), then prints what the broker built and where each message went.
Needs the test extra (oslo.messaging), which ``make demo`` installs.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from amqpmock.fake import Broker
from amqpmock.testing.inspection import TrafficRecorder
from amqpmock.wire.server import MonotonicClock, ServerThread

TOPIC, HOST, CONTROL = "dhcp_agent", "node-1", "neutron"


class DhcpAgent:
    def __init__(self) -> None:
        self.casts: list[str] = []
        self.done = threading.Event()

    def get_active_networks(self, ctxt: dict[str, Any], host: str) -> list[str]:
        return [f"net-1@{host}", f"net-2@{host}"]

    def port_update(self, ctxt: dict[str, Any], port: dict[str, Any]) -> None:
        self.casts.append(f"port_update({port})")
        self._check()

    def network_delete(self, ctxt: dict[str, Any], network_id: str) -> None:
        self.casts.append(f"network_delete({network_id})")
        self._check()

    def _check(self) -> None:
        if len(self.casts) == 2:
            self.done.set()


def main() -> None:
    import oslo_messaging as messaging
    from oslo_config import cfg
    from oslo_messaging import conffixture

    broker = Broker(MonotonicClock())
    with ServerThread(broker=broker) as server:
        recorder = server.call(lambda: TrafficRecorder(broker))
        print(f"amqpmock listening on {server.url}")
        conf = cfg.ConfigOpts()
        conf([], project="amqpmock-demo")
        conffixture.ConfFixture(conf).setUp()
        conf.set_override("control_exchange", CONTROL)
        conf.set_override("heartbeat_timeout_threshold", 0, group="oslo_messaging_rabbit")
        url = server.url.replace("amqp://", "rabbit://", 1)
        transport = messaging.get_rpc_transport(conf, url=url)
        agent = DhcpAgent()
        rpc_server = messaging.get_rpc_server(
            transport, messaging.Target(topic=TOPIC, server=HOST), [agent], executor="threading"
        )
        rpc_server.start()
        client = messaging.get_rpc_client(transport, messaging.Target(topic=TOPIC), timeout=10)
        try:
            started = time.perf_counter()
            result = client.prepare(server=HOST).call({}, "get_active_networks", host="h1")
            took = (time.perf_counter() - started) * 1000
            print(f"call        get_active_networks(host='h1') -> {result}  ({took:.1f} ms)")
            client.cast({}, "port_update", port={"id": "p1"})
            client.prepare(fanout=True).cast({}, "network_delete", network_id="n1")
            if not agent.done.wait(10):
                raise SystemExit("the casts did not arrive")
            print(f"cast / fanout_cast handled by the server: {agent.casts}")
        finally:
            rpc_server.stop()
            rpc_server.wait()
            transport.cleanup()

        def summary() -> tuple[list[str], list[str], list[tuple[str, str, str]], list[str]]:
            exchanges = sorted(n for n in broker.exchanges() if n and not n.startswith("amq."))
            queues = sorted(broker.queues())
            bindings = sorted((s, d, k) for s, d, k, _ in broker.bindings() if s)
            routes = [
                f"{r.exchange or '(default)'!s:22} {r.routing_key!s:40} -> {r.queues or '-'}"
                for r in recorder.published
            ]
            return exchanges, queues, bindings, routes

        exchanges, queues, bindings, routes = server.call(summary)
        print("\nexchanges:", ", ".join(exchanges))
        print("queues:   ", ", ".join(queues))
        print("bindings:")
        for source, dest, key in bindings:
            print(f"  {source} --[{key}]--> {dest}")
        print("publishes (exchange, routing key -> queues):")
        for line in routes:
            print(f"  {line}")


if __name__ == "__main__":
    main()
