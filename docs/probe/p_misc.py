import time
import pika
import pika.spec as spec
from common import *

def raw(ch, method, content=None):
    ch._impl._send_method(method, content)

def wait(c, t=0.3):
    time.sleep(t)
    c.process_data_events(0.2)

print("## tx / confirm")
def tx(kind):
    def f(c):
        ch = c.channel()
        if kind == "commit without select":
            return ch.tx_commit()
        if kind == "rollback without select":
            return ch.tx_rollback()
        if kind == "confirm after tx":
            ch.tx_select(); return ch.confirm_delivery()
        if kind == "tx after confirm":
            ch.confirm_delivery(); return ch.tx_select()
        if kind == "tx publish rollback":
            q = uid(); ch.queue_declare(q)
            ch.tx_select(); ch.basic_publish("", q, b"a"); ch.tx_rollback()
            n1 = ch.queue_declare(q, passive=True).method.message_count
            ch.basic_publish("", q, b"b"); ch.tx_commit()
            n2 = ch.queue_declare(q, passive=True).method.message_count
            return n1, n2
        if kind == "tx ack rollback":
            q = uid(); ch.queue_declare(q)
            ch.basic_publish("", q, b"a"); ch.basic_publish("", q, b"b")
            ch.tx_select(); ch.tx_commit()
            m, p, b = ch.basic_get(q)
            ch.basic_ack(m.delivery_tag)
            ch.tx_rollback()
            # is the message still unacked? ack it again
            r = outcome(lambda: (ch.basic_ack(m.delivery_tag), ch.tx_commit(), "re-ack ok")[-1])
            return r
        if kind == "tx select twice":
            ch.tx_select(); ch.tx_select(); return "ok"
        if kind == "confirm select twice":
            ch.confirm_delivery(); raw(ch, spec.Confirm.Select(nowait=False)); wait(c); return ("open", ch.is_open)
        if kind == "tx mandatory unroutable":
            got = []
            ch.add_on_return_callback(lambda ch_, m, p, b: got.append((m.reply_code, m.reply_text)))
            ch.tx_select()
            ch.basic_publish("amq.direct", "nowhere", b"x", mandatory=True)
            wait(c)
            before = list(got)
            ch.tx_commit()
            wait(c)
            return ("before commit", before, "after", got)
    return f
for k in ["commit without select", "rollback without select", "confirm after tx", "tx after confirm",
          "tx publish rollback", "tx ack rollback", "tx select twice", "confirm select twice", "tx mandatory unroutable"]:
    scenario(f"tx: {k}", tx(k))

def confirm_tags(c):
    ch = c.channel(); q = uid(); ch.queue_declare(q)
    acks = []
    ch._impl.add_callback(lambda fr: acks.append(("ack", fr.method.delivery_tag, fr.method.multiple)), [spec.Basic.Ack], one_shot=False)
    ch._impl.add_callback(lambda fr: acks.append(("nack", fr.method.delivery_tag, fr.method.multiple)), [spec.Basic.Nack], one_shot=False)
    raw(ch, spec.Confirm.Select(nowait=False)); wait(c)
    for i in range(3):
        raw(ch, spec.Basic.Publish(exchange="", routing_key=q), (spec.BasicProperties(), b"x"))
    raw(ch, spec.Basic.Publish(exchange="amq.direct", routing_key="nowhere"), (spec.BasicProperties(), b"x"))
    wait(c, 0.5)
    return acks
scenario("confirm delivery tags (3 to queue + 1 unroutable)", confirm_tags)

print("## direct reply-to")
def drt(kind):
    def f(c):
        ch = c.channel()
        if kind == "consume no_ack=False":
            return ch.basic_consume("amq.rabbitmq.reply-to", lambda *a: None, auto_ack=False)
        if kind == "publish without consuming":
            ch.basic_publish("", "rpcq-none", b"x", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to"))
            wait(c); return ("open", ch.is_open)
        if kind == "full roundtrip":
            srv = c.channel(); q = uid(); srv.queue_declare(q)
            replies = []
            ch.basic_consume("amq.rabbitmq.reply-to", lambda ch_, m, p, b: replies.append(dict(body=b, exchange=m.exchange, rk=m.routing_key, redelivered=m.redelivered, tag=m.delivery_tag, ctag=m.consumer_tag, corr=p.correlation_id)), auto_ack=True)
            ch.basic_publish("", q, b"req", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to", correlation_id="c1"))
            wait(c)
            m, p, b = srv.basic_get(q, auto_ack=True)
            rt = p.reply_to
            srv.basic_publish("", rt, b"resp", pika.BasicProperties(correlation_id=p.correlation_id))
            wait(c)
            # passive declare of the reply-to name
            pd = outcome(lambda: c.channel().queue_declare(rt, passive=True).method)
            pd2 = outcome(lambda: c.channel().queue_declare("amq.rabbitmq.reply-to", passive=True).method)
            # publish to bogus reply name
            ch3 = c.channel(); ch3.confirm_delivery()
            bogus = outcome(lambda: ch3.basic_publish("", "amq.rabbitmq.reply-to.bogus", b"x"))
            ch4 = c.channel(); ch4.confirm_delivery()
            bogus_m = outcome(lambda: ch4.basic_publish("", "amq.rabbitmq.reply-to.bogus", b"x", mandatory=True))
            return dict(reply_to=rt, len=len(rt), replies=replies, passive_rt=pd, passive_base=pd2, bogus=bogus, bogus_mandatory=bogus_m)
        if kind == "consume twice":
            ch.basic_consume("amq.rabbitmq.reply-to", lambda *a: None, auto_ack=True)
            return ch.basic_consume("amq.rabbitmq.reply-to", lambda *a: None, auto_ack=True)
        if kind == "reply_to on other channel":
            ch.basic_consume("amq.rabbitmq.reply-to", lambda *a: None, auto_ack=True)
            ch2 = c.channel()
            ch2.basic_publish("", "x", b"x", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to"))
            wait(c); return ("open", ch2.is_open)
        if kind == "server ctag":
            r = raw(ch, spec.Basic.Consume(queue="amq.rabbitmq.reply-to", consumer_tag="", no_ack=True))
            got = []
            ch._impl.add_callback(lambda fr: got.append(fr.method.consumer_tag), [spec.Basic.ConsumeOk], one_shot=True)
            wait(c); return got
    return f
for k in ["consume no_ack=False", "publish without consuming", "full roundtrip", "consume twice", "reply_to on other channel", "server ctag"]:
    scenario(f"direct reply-to: {k}", drt(k))

print("## channels")
def chan(kind):
    def f(c):
        ch = c.channel()
        if kind == "reopen open channel":
            raw(ch, spec.Channel.Open()); wait(c); return ("open", ch.is_open, c.is_open)
        if kind == "method on unopened channel":
            # send queue.declare on channel 77 without opening
            c._impl._send_method(77, spec.Queue.Declare(queue="x"))
            wait(c); return ("open", c.is_open)
        if kind == "server consumer tag":
            q = uid(); ch.queue_declare(q)
            got = []
            ch._impl.add_callback(lambda fr: got.append(fr.method.consumer_tag), [spec.Basic.ConsumeOk], one_shot=True)
            raw(ch, spec.Basic.Consume(queue=q, consumer_tag=""))
            wait(c); return got
        if kind == "recover requeue=false":
            raw(ch, spec.Basic.Recover(requeue=False)); wait(c); return ("open", ch.is_open)
        if kind == "recover_async":
            raw(ch, spec.Basic.RecoverAsync(requeue=True)); wait(c); return ("open", ch.is_open)
        if kind == "channel.flow false":
            got = []
            ch._impl.add_callback(lambda fr: got.append(fr.method), [spec.Channel.FlowOk], one_shot=True)
            raw(ch, spec.Channel.Flow(active=False)); wait(c); return ("open", ch.is_open, c.is_open, got)
        if kind == "channel.flow true":
            got = []
            ch._impl.add_callback(lambda fr: got.append(fr.method), [spec.Channel.FlowOk], one_shot=True)
            raw(ch, spec.Channel.Flow(active=True)); wait(c); return ("open", ch.is_open, c.is_open, got)
        if kind == "access.request":
            raw(ch, spec.Access.Request(realm="/data")); wait(c); return ("open", ch.is_open, c.is_open)
        if kind == "content without publish":
            c._impl._send_frame(pika.frame.Header(ch.channel_number, 1, spec.BasicProperties()))
            wait(c); return ("open", c.is_open)
        if kind == "basic.deliver from client":
            raw(ch, spec.Basic.Deliver(consumer_tag="x", delivery_tag=1, exchange="", routing_key="x")); wait(c); return ("open", c.is_open)
        if kind == "queue.declare nowait then error":
            raw(ch, spec.Queue.Declare(queue="amq.bad", nowait=True)); wait(c); return ("open", c.is_open)
        if kind == "long queue name":
            return ch.queue_declare("a" * 256)
    return f
for k in ["reopen open channel", "method on unopened channel", "server consumer tag", "recover requeue=false",
          "recover_async", "channel.flow false", "channel.flow true", "access.request", "content without publish",
          "basic.deliver from client", "queue.declare nowait then error"]:
    scenario(f"channel: {k}", chan(k))

print("## priorities")
def prio(c):
    ch = c.channel(); q = uid()
    ch.queue_declare(q, arguments={"x-max-priority": 5})
    for i, p in enumerate([None, 1, 5, 9, 3, 0, 5, 1]):
        ch.basic_publish("", q, f"m{i}-p{p}".encode(), pika.BasicProperties(priority=p))
    ch.confirm_delivery()
    out = []
    while True:
        m, pp, b = ch.basic_get(q, auto_ack=True)
        if m is None: break
        out.append(b.decode())
    return out
scenario("x-max-priority 5: publish priorities None,1,5,9,3,0,5,1 then get all", prio)
def prio_none(c):
    ch = c.channel(); q = uid()
    ch.queue_declare(q)
    for i, p in enumerate([1, 5, 9]):
        ch.basic_publish("", q, f"m{i}-p{p}".encode(), pika.BasicProperties(priority=p))
    ch.confirm_delivery()
    out = []
    while True:
        m, pp, b = ch.basic_get(q, auto_ack=True)
        if m is None: break
        out.append(b.decode())
    return out
scenario("no x-max-priority: priorities ignored", prio_none)

print("## server properties")
def sp(c):
    return c._impl.params and c._impl.server_properties if hasattr(c._impl, "server_properties") else None
def sp2(c):
    return c._impl._impl.server_properties if hasattr(c._impl, "_impl") else None
c = conn()
props = None
for attr in ["server_properties"]:
    props = getattr(c._impl, attr, None)
print("- server_properties:", repr(props))
print("- server frame_max/channel_max/heartbeat (pika negotiated):", c._impl.params.frame_max, c._impl.params.channel_max, c._impl.params.heartbeat)
c.close()
