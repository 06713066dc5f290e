"""Start a RabbitMQ node, write its URL to /tmp/probe_url, keep it alive until killed."""
import signal
import sys
import time

sys.path.insert(0, "/work/main")
from amqpmock.testing.rabbitmq import RabbitMQNode

node = RabbitMQNode().start()
open("/tmp/probe_url", "w").write(node.url)
print(node.url, node.started_in, flush=True)
signal.signal(signal.SIGTERM, lambda *a: (node.stop(), sys.exit(0)))
try:
    while True:
        time.sleep(1)
finally:
    node.stop()
