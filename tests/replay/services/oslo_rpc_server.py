"""A remote service for record/replay tests: an oslo.messaging RPCServer (the seed's
dhcp_agent on node-1, control_exchange neutron) in its own process.
Usage: python oslo_rpc_server.py TRANSPORT_URL READY_FILE"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_messaging import conffixture


class DhcpAgent:
    def get_active_networks(self, ctxt: dict[str, Any], host: str) -> list[str]:
        return [f"net-for-{host}"]

    def port_update(self, ctxt: dict[str, Any], port: dict[str, Any]) -> None:
        print(f"port_update {port}", flush=True)

    def network_delete(self, ctxt: dict[str, Any], network_id: str) -> None:
        print(f"network_delete {network_id}", flush=True)


def main(url: str, ready: Path) -> None:
    conf = cfg.ConfigOpts()
    conf([], project="amqpmock-service")
    conffixture.ConfFixture(conf).setUp()
    conf.set_override("control_exchange", "neutron")
    conf.set_override("heartbeat_timeout_threshold", 0, group="oslo_messaging_rabbit")
    transport = messaging.get_rpc_transport(conf, url=url)
    server = messaging.get_rpc_server(
        transport,
        messaging.Target(topic="dhcp_agent", server="node-1"),
        [DhcpAgent()],
        executor="threading",
    )
    server.start()
    ready.write_text("ready")
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
