import time
import pika
from common import *

def props_dict(p):
    d = {k: v for k, v in vars(p).items() if v is not None}
    return d

def get_all(ch, q):
    out = []
    while True:
        m, p, b = ch.basic_get(q, auto_ack=True)
        if m is None: break
        out.append(dict(body=b.decode(), exchange=m.exchange, routing_key=m.routing_key, redelivered=m.redelivered, props=props_dict(p)))
    return out

def typed(v):
    # show python types of header values
    if isinstance(v, dict):
        return {k: typed(x) for k, x in v.items()}
    if isinstance(v, list):
        return [typed(x) for x in v]
    return (type(v).__name__, v)

print("## TTL + DLX")
def ttl_dlx(c):
    ch = c.channel(); q = uid(); dq = uid("dq"); dlx = uid("dlx")
    ch.exchange_declare(dlx, "fanout")
    ch.queue_declare(dq); ch.queue_bind(dq, dlx)
    ch.queue_declare(q, arguments={"x-message-ttl": 50, "x-dead-letter-exchange": dlx})
    ch.basic_publish("", q, b"hello", pika.BasicProperties(content_type="text/plain", headers={"h": "v"}, message_id="mid", delivery_mode=2, priority=3, correlation_id="cid", reply_to="rt", timestamp=123))
    ch.confirm_delivery()
    time.sleep(0.3)
    out = get_all(ch, dq)
    for o in out:
        o["props"]["headers"] = typed(o["props"]["headers"])
    return q, dq, dlx, out
scenario("x-message-ttl=50 + DLX (fanout)", ttl_dlx)

def per_msg_exp(c):
    ch = c.channel(); q = uid(); dq = uid("dq"); dlx = uid("dlx")
    ch.exchange_declare(dlx, "fanout")
    ch.queue_declare(dq); ch.queue_bind(dq, dlx)
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": "newkey"})
    ch.basic_publish("", q, b"exp", pika.BasicProperties(expiration="50"))
    ch.confirm_delivery()
    time.sleep(0.3)
    ch.basic_get(q)  # trigger expiry check
    time.sleep(0.1)
    out = get_all(ch, dq)
    for o in out:
        o["props"]["headers"] = typed(o["props"]["headers"])
    return q, dq, dlx, out
scenario("per-message expiration=50 on DLX queue with x-dead-letter-routing-key", per_msg_exp)

def rejected(c):
    ch = c.channel(); q = uid(); dq = uid("dq")
    ch.queue_declare(dq)
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dq})
    ch.basic_publish("", q, b"r1"); ch.basic_publish("", q, b"r2")
    ch.confirm_delivery()
    m, p, b = ch.basic_get(q)
    ch.basic_nack(m.delivery_tag, requeue=False)
    m, p, b = ch.basic_get(q)
    ch.basic_reject(m.delivery_tag, requeue=False)
    time.sleep(0.2)
    out = get_all(ch, dq)
    for o in out:
        o["props"]["headers"] = typed(o["props"]["headers"])
    return q, dq, out
scenario("nack/reject requeue=False via default exchange DLX", rejected)

def maxlen(c):
    ch = c.channel(); q = uid(); dq = uid("dq")
    ch.queue_declare(dq)
    ch.queue_declare(q, arguments={"x-max-length": 2, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dq})
    for i in range(1, 5):
        ch.basic_publish("", q, f"m{i}".encode())
    ch.confirm_delivery()
    time.sleep(0.2)
    left = [o["body"] for o in get_all(ch, q)]
    out = get_all(ch, dq)
    for o in out:
        o["props"]["headers"] = typed(o["props"]["headers"])
    return q, dq, left, out
scenario("x-max-length=2 drop-head + DLX, publish m1..m4", maxlen)

def double_dl(c):
    ch = c.channel(); q1 = uid("q1"); q2 = uid("q2"); dq = uid("dq")
    ch.queue_declare(dq)
    ch.queue_declare(q2, arguments={"x-message-ttl": 30, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dq})
    ch.queue_declare(q1, arguments={"x-message-ttl": 30, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q2})
    ch.basic_publish("", q1, b"dd")
    ch.confirm_delivery()
    time.sleep(0.4)
    out = get_all(ch, dq)
    for o in out:
        o["props"]["headers"] = typed(o["props"]["headers"])
    return q1, q2, dq, out
scenario("double dead-lettering q1 -ttl-> q2 -ttl-> dq", double_dl)

def cycle_count(c):
    # dead letter twice from same queue for same reason: count increments
    ch = c.channel(); q = uid(); dq = uid("dq")
    ch.queue_declare(dq, arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": q})
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dq})
    ch.basic_publish("", q, b"cyc")
    ch.confirm_delivery()
    for target in [q, dq, q]:
        for _ in range(20):
            m, p, b = ch.basic_get(target)
            if m: break
            time.sleep(0.05)
        ch.basic_reject(m.delivery_tag, requeue=False)
        time.sleep(0.05)
    time.sleep(0.1)
    out = get_all(ch, dq)
    for o in out:
        o["props"]["headers"] = typed(o["props"]["headers"])
    return q, dq, out
scenario("reject cycle q->dq->q->dq (count increments)", cycle_count)

def cycle_ttl(c):
    ch = c.channel(); q = uid()
    ch.queue_declare(q, arguments={"x-message-ttl": 30, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q})
    ch.basic_publish("", q, b"loop")
    ch.confirm_delivery()
    time.sleep(0.4)
    r = ch.queue_declare(q, passive=True)
    return ("messages after 0.4s", r.method.message_count)
scenario("TTL self-cycle (automatic cycle detection drops)", cycle_ttl)

def dlx_missing(c):
    ch = c.channel(); q = uid()
    ch.queue_declare(q, arguments={"x-message-ttl": 30, "x-dead-letter-exchange": "nope-dlx"})
    ch.basic_publish("", q, b"z"); ch.confirm_delivery()
    time.sleep(0.2)
    return ch.queue_declare(q, passive=True).method.message_count
scenario("DLX missing exchange -> dropped", dlx_missing)

print("## overflow")
def reject_publish(c, ov="reject-publish"):
    ch = c.channel(); q = uid(); dq = uid("dq")
    ch.queue_declare(dq)
    ch.queue_declare(q, arguments={"x-max-length": 2, "x-overflow": ov, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dq})
    ch.confirm_delivery()
    res = []
    for i in range(1, 5):
        try:
            ch.basic_publish("", q, f"m{i}".encode())
            res.append("ack")
        except pe.NackError:
            res.append("nack")
    left = [o["body"] for o in get_all(ch, q)]
    dl = get_all(ch, dq)
    return res, left, dl
scenario("x-overflow reject-publish max-length 2, confirms", reject_publish)
scenario("x-overflow reject-publish-dlx max-length 2, confirms", lambda c: reject_publish(c, "reject-publish-dlx"))
def reject_publish_noconfirm(c):
    ch = c.channel(); q = uid()
    ch.queue_declare(q, arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    for i in range(3):
        ch.basic_publish("", q, b"x")
    time.sleep(0.1)
    return ch.queue_declare(q, passive=True).method.message_count, ch.is_open
scenario("reject-publish without confirms: silently dropped", reject_publish_noconfirm)
def reject_publish_multi(c):
    # message routed to two queues, one full with reject-publish
    ch = c.channel(); q1 = uid(); q2 = uid(); x = uid("x")
    ch.exchange_declare(x, "fanout")
    ch.queue_declare(q1, arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
    ch.queue_declare(q2)
    ch.queue_bind(q1, x); ch.queue_bind(q2, x)
    ch.confirm_delivery()
    try:
        ch.basic_publish(x, "", b"x")
        r = "ack"
    except pe.NackError:
        r = "nack"
    return r, ch.queue_declare(q2, passive=True).method.message_count
scenario("fanout to full reject-publish queue + normal queue", reject_publish_multi)
def maxlen_bytes(c):
    ch = c.channel(); q = uid()
    ch.queue_declare(q, arguments={"x-max-length-bytes": 10})
    for b in [b"12345", b"12345", b"123"]:
        ch.basic_publish("", q, b)
    ch.confirm_delivery()
    return [o["body"] for o in get_all(ch, q)]
scenario("x-max-length-bytes 10: publish 5,5,3 bytes", maxlen_bytes)
def maxlen0(c):
    ch = c.channel(); q = uid()
    ch.queue_declare(q, arguments={"x-max-length": 0})
    ch.basic_publish("", q, b"a")
    ch.confirm_delivery()
    return ch.queue_declare(q, passive=True).method.message_count
scenario("x-max-length 0 drop-head", maxlen0)
