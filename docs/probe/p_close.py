import time
import pika
import pika.spec as spec
from common import *

def closed_reason(kind):
    def f(c):
        ch = c.channel()
        reasons = []
        ch._impl.add_on_close_callback(lambda chan, reason: reasons.append(reason))
        if kind == "publish missing exchange":
            ch.basic_publish("nope-x", "k", b"x")
        if kind == "drt publish without consuming":
            ch.basic_publish("", "rpcq-none", b"x", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to"))
        if kind == "drt reply_to consumer on other channel":
            c.channel().basic_consume("amq.rabbitmq.reply-to", lambda *a: None, auto_ack=True)
            ch.basic_publish("", "x", b"x", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to"))
        if kind == "basic.deliver from client":
            ch._impl._send_method(spec.Basic.Deliver(consumer_tag="x", delivery_tag=1, exchange="", routing_key="x"))
        if kind == "queue.declare nowait amq.bad":
            ch._impl._send_method(spec.Queue.Declare(queue="amq.bad", nowait=True))
        if kind == "publish mandatory to missing exchange":
            ch.basic_publish("nope-x", "k", b"x", mandatory=True)
        if kind == "publish to reply-to base name":
            ch.basic_publish("", "amq.rabbitmq.reply-to", b"x")
        if kind == "long exchange name 256":
            ch._impl._send_method(spec.Exchange.Declare(exchange="a" * 300, type="direct"))
        time.sleep(0.3)
        for _ in range(5):
            c.process_data_events(0.1)
        return ("channel reasons", [repr(r) for r in reasons], "conn open", c.is_open)
    return f
for k in ["publish missing exchange", "drt publish without consuming", "drt reply_to consumer on other channel",
          "basic.deliver from client", "queue.declare nowait amq.bad", "publish mandatory to missing exchange",
          "publish to reply-to base name"]:
    scenario(k, closed_reason(k))
