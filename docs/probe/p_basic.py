import time
from common import *

print("## basic.publish")
def pub_missing(c):
    ch = c.channel()
    ch.basic_publish("nope-x", "k", b"x")
    time.sleep(0.2)
    c.process_data_events(0.2)
    return ("channel open?", ch.is_open)
scenario("publish to missing exchange (no confirms)", pub_missing)
def pub_missing_conf(c):
    ch = c.channel(); ch.confirm_delivery()
    ch.basic_publish("nope-x", "k", b"x")
    return "ok"
scenario("publish to missing exchange (confirms)", pub_missing_conf)
def pub_internal(c):
    ch = c.channel(); x = uid("x")
    ch.exchange_declare(x, internal=True)
    ch.confirm_delivery()
    ch.basic_publish(x, "k", b"x")
    return "ok"
scenario("publish to internal exchange", pub_internal)
scenario("publish to amq.rabbitmq.trace", lambda c: (lambda ch: (ch.confirm_delivery(), ch.basic_publish("amq.rabbitmq.trace", "k", b"x"), "ok")[-1])(c.channel()))

def mandatory(c):
    ch = c.channel()
    got = []
    ch.add_on_return_callback(lambda ch_, m, p, b: got.append((m.reply_code, m.reply_text, m.exchange, m.routing_key, b)))
    ch.basic_publish("amq.direct", "nowhere", b"body", mandatory=True)
    ch.basic_publish("", "no-such-queue", b"body2", mandatory=True)
    time.sleep(0.2)
    c.process_data_events(0.3)
    return got
scenario("mandatory unroutable (no confirms)", mandatory)
def mandatory_confirm(c):
    ch = c.channel()
    ch.confirm_delivery()
    got = []
    ch.add_on_return_callback(lambda ch_, m, p, b: got.append((m.reply_code, m.reply_text)))
    try:
        ch.basic_publish("amq.direct", "nowhere", b"body", mandatory=True)
    except pe.UnroutableError as e:
        return ("UnroutableError (return then ack)", [ (m.method.reply_code, m.method.reply_text) for m in e.messages])
    return got
scenario("mandatory unroutable with confirms", mandatory_confirm)
def immediate(c):
    ch = c.channel()
    import pika.spec as spec
    ch._impl._send_method(spec.Basic.Publish(exchange="amq.direct", routing_key="k", immediate=True)) if False else None
    # pika blocks immediate; send raw method via impl
    ch._impl.basic_publish("amq.direct", "k", b"x", None, mandatory=False)
    return "see raw"
def immediate_raw(c):
    import pika.spec as spec
    ch = c.channel()
    impl = ch._impl
    impl._send_method(spec.Basic.Publish(exchange="amq.direct", routing_key="k", immediate=True), (spec.BasicProperties(), b"x"))
    time.sleep(0.3)
    c.process_data_events(0.3)
    return ("channel open?", ch.is_open)
scenario("publish immediate=true", immediate_raw)

print("## ack/nack/reject")
def ackcase(kind):
    def f(c):
        ch = c.channel(); q = uid()
        ch.queue_declare(q)
        ch.basic_publish("", q, b"m1")
        ch.basic_publish("", q, b"m2")
        ch.confirm_delivery()
        if kind == "unknown tag":
            ch.basic_ack(99)
        elif kind == "unknown tag nack":
            ch.basic_nack(99)
        elif kind == "unknown tag reject":
            ch.basic_reject(99)
        elif kind == "unknown tag multiple":
            ch.basic_ack(99, multiple=True)
        elif kind == "double ack":
            m, p, b = ch.basic_get(q)
            ch.basic_ack(m.delivery_tag)
            ch.basic_ack(m.delivery_tag)
        elif kind == "tag0 multiple nothing outstanding":
            ch.basic_ack(0, multiple=True)
        elif kind == "tag0 multiple with outstanding":
            ch.basic_get(q); ch.basic_get(q)
            ch.basic_ack(0, multiple=True)
            ch.queue_declare(q, passive=True)
            return ("remaining", ch.queue_declare(q, passive=True).method.message_count)
        elif kind == "tag0 single":
            ch.basic_get(q)
            ch.basic_ack(0)
        elif kind == "nack tag0 multiple requeue":
            ch.basic_get(q); ch.basic_get(q)
            ch.basic_nack(0, multiple=True, requeue=True)
            return ("remaining", ch.queue_declare(q, passive=True).method.message_count)
        elif kind == "ack no_ack get tag":
            m, p, b = ch.basic_get(q, auto_ack=True)
            ch.basic_ack(m.delivery_tag)
        elif kind == "ack no_ack consumer tag":
            got = []
            ch.basic_consume(q, lambda ch_, m, p, b: got.append(m.delivery_tag), auto_ack=True)
            while len(got) < 2:
                c.process_data_events(0.1)
            ch.basic_ack(got[0])
            ch.queue_declare(q, passive=True)
            return ("tags", got)
        elif kind == "ack multiple higher than outstanding":
            m, p, b = ch.basic_get(q)
            ch.basic_ack(m.delivery_tag + 5, multiple=True)
        ch.queue_declare(q, passive=True)
        return "ok"
    return f
for k in ["unknown tag", "unknown tag nack", "unknown tag reject", "unknown tag multiple", "double ack",
          "tag0 multiple nothing outstanding", "tag0 multiple with outstanding", "tag0 single",
          "nack tag0 multiple requeue", "ack no_ack get tag", "ack no_ack consumer tag",
          "ack multiple higher than outstanding"]:
    scenario(f"ack: {k}", ackcase(k))

print("## basic.consume")
def cons(kind):
    def f(c):
        ch = c.channel(); q = uid()
        ch.queue_declare(q)
        if kind == "duplicate tag":
            ch.basic_consume(q, lambda *a: None, consumer_tag="t1")
            ch._impl._rpc  # noqa
            import pika.spec as spec
            ch2 = ch
            # pika refuses duplicates client-side; send raw
            ch._impl._send_method(spec.Basic.Consume(queue=q, consumer_tag="t1"))
            time.sleep(0.3); c.process_data_events(0.3)
            return ("open?", ch.is_open, c.is_open)
        if kind == "exclusive when has consumers":
            ch.basic_consume(q, lambda *a: None)
            return c.channel().basic_consume(q, lambda *a: None, exclusive=True)
        if kind == "consumer when exclusive exists":
            ch.basic_consume(q, lambda *a: None, exclusive=True)
            return c.channel().basic_consume(q, lambda *a: None)
        if kind == "exclusive when exclusive exists":
            ch.basic_consume(q, lambda *a: None, exclusive=True)
            return c.channel().basic_consume(q, lambda *a: None, exclusive=True)
        if kind == "missing queue":
            return ch.basic_consume("nope-q", lambda *a: None)
        if kind == "server tag format":
            return ch.basic_consume(q, lambda *a: None)
        if kind == "empty queue name no prior declare":
            c2 = conn(); ch3 = c2.channel()
            try:
                return ch3.basic_consume("", lambda *a: None)
            finally:
                if c2.is_open: c2.close()
        if kind == "empty queue name after declare":
            ch.queue_declare("", exclusive=True)
            import pika.spec as spec
            r = ch._impl._send_method(spec.Basic.Consume(queue="", consumer_tag="x"))
            time.sleep(0.2); c.process_data_events(0.2)
            return ("open?", ch.is_open)
        if kind == "cancel unknown tag":
            r = ch.basic_cancel("nope-tag")
            return ("ok", r)
    return f
for k in ["duplicate tag", "exclusive when has consumers", "consumer when exclusive exists",
          "exclusive when exclusive exists", "missing queue", "server tag format",
          "empty queue name no prior declare", "empty queue name after declare", "cancel unknown tag"]:
    scenario(f"consume: {k}", cons(k))

print("## qos / get")
scenario("qos prefetch_size=10", lambda c: c.channel().basic_qos(prefetch_size=10))
scenario("qos prefetch_count 5 global", lambda c: (c.channel().basic_qos(prefetch_count=5, global_qos=True), "ok")[1])
def get_empty(c):
    ch = c.channel(); q = uid(); ch.queue_declare(q)
    r = ch.basic_get(q)
    ch.basic_publish("", q, b"a"); ch.basic_publish("", q, b"b"); ch.basic_publish("", q, b"c")
    ch.confirm_delivery()
    m, p, b = ch.basic_get(q)
    return (r, m.message_count, m.delivery_tag, m.redelivered, m.exchange, m.routing_key, b)
scenario("get empty then get-ok", get_empty)
scenario("get missing queue", lambda c: c.channel().basic_get("nope-q"))

def prefetch_semantics(c):
    # per-consumer vs global
    ch = c.channel(); q1 = uid(); q2 = uid()
    ch.queue_declare(q1); ch.queue_declare(q2)
    for i in range(5):
        ch.basic_publish("", q1, b"x"); ch.basic_publish("", q2, b"x")
    ch.confirm_delivery()
    res = {}
    ch.basic_qos(prefetch_count=2, global_qos=False)
    ch.basic_qos(prefetch_count=3, global_qos=True)
    got = {q1: 0, q2: 0}
    def mk(qn):
        def cb(ch_, m, p, b): got[qn] += 1
        return cb
    ch.basic_consume(q1, mk(q1)); ch.basic_consume(q2, mk(q2))
    t = time.time()
    while time.time() - t < 0.5:
        c.process_data_events(0.1)
    return got
scenario("qos per-consumer 2 + global 3, two consumers each 5 msgs", prefetch_semantics)
def prefetch_global_only(c):
    ch = c.channel(); q1 = uid(); q2 = uid()
    ch.queue_declare(q1); ch.queue_declare(q2)
    for i in range(5):
        ch.basic_publish("", q1, b"x"); ch.basic_publish("", q2, b"x")
    ch.confirm_delivery()
    ch.basic_qos(prefetch_count=3, global_qos=True)
    got = {q1: 0, q2: 0}
    def mk(qn):
        def cb(ch_, m, p, b): got[qn] += 1
        return cb
    ch.basic_consume(q1, mk(q1)); ch.basic_consume(q2, mk(q2))
    t = time.time()
    while time.time() - t < 0.5:
        c.process_data_events(0.1)
    return got
scenario("qos global 3 only, two consumers", prefetch_global_only)
def prefetch_cons_only(c):
    ch = c.channel(); q1 = uid(); q2 = uid()
    ch.queue_declare(q1); ch.queue_declare(q2)
    for i in range(5):
        ch.basic_publish("", q1, b"x"); ch.basic_publish("", q2, b"x")
    ch.confirm_delivery()
    ch.basic_qos(prefetch_count=2)
    got = {q1: 0, q2: 0}
    def mk(qn):
        def cb(ch_, m, p, b): got[qn] += 1
        return cb
    ch.basic_consume(q1, mk(q1)); ch.basic_consume(q2, mk(q2))
    t = time.time()
    while time.time() - t < 0.5:
        c.process_data_events(0.1)
    return got
scenario("qos per-consumer 2 only, two consumers", prefetch_cons_only)
def prefetch_after_consume(c):
    ch = c.channel(); q1 = uid()
    ch.queue_declare(q1)
    for i in range(5):
        ch.basic_publish("", q1, b"x")
    ch.confirm_delivery()
    got = []
    ch.basic_consume(q1, lambda ch_, m, p, b: got.append(m.delivery_tag))
    return "skip"
