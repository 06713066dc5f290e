import time
from common import *

def drain(c, ch, q, n, auto_ack=False, timeout=2.0):
    got = []
    def cb(ch_, m, p, b):
        got.append((b.decode(), m.redelivered, m.delivery_tag))
    tag = ch.basic_consume(q, cb, auto_ack=auto_ack)
    t = time.time()
    while len(got) < n and time.time() - t < timeout:
        c.process_data_events(0.05)
    return tag, got

def setup(c, n=5):
    ch = c.channel(); q = uid(); ch.queue_declare(q)
    for i in range(1, n + 1):
        ch.basic_publish("", q, f"m{i}".encode())
    ch.confirm_delivery()
    return ch, q

print("## requeue order")
def nack24(c):
    ch, q = setup(c)
    tag, got = drain(c, ch, q, 5)
    ch.basic_nack(got[1][2], requeue=True)
    ch.basic_nack(got[3][2], requeue=True)
    t = time.time(); more = []
    # consumer still active: redeliveries come to it
    n0 = len(got)
    while len(got) < 7 and time.time() - t < 2:
        c.process_data_events(0.05)
    return got
scenario("consume m1..m5, nack(requeue) m2 then m4 (consumer active)", nack24)

def nack42_get(c):
    ch, q = setup(c)
    tags = []
    for _ in range(5):
        m, p, b = ch.basic_get(q); tags.append(m.delivery_tag)
    ch.basic_nack(tags[3], requeue=True)
    ch.basic_nack(tags[1], requeue=True)
    out = []
    while True:
        m, p, b = ch.basic_get(q, auto_ack=True)
        if m is None: break
        out.append((b.decode(), m.redelivered))
    return out
scenario("get m1..m5, nack m4 then m2 requeue, then get all", nack42_get)

def nack24_get(c):
    ch, q = setup(c)
    tags = []
    for _ in range(5):
        m, p, b = ch.basic_get(q); tags.append(m.delivery_tag)
    ch.basic_nack(tags[1], requeue=True)
    ch.basic_nack(tags[3], requeue=True)
    ch.basic_publish("", q, b"m6")
    ch.confirm_delivery() if False else None
    time.sleep(0.1)
    out = []
    while True:
        m, p, b = ch.basic_get(q, auto_ack=True)
        if m is None: break
        out.append((b.decode(), m.redelivered))
    return out
scenario("get m1..m5, nack m2 then m4 requeue, publish m6, get all", nack24_get)

def partial_get_requeue(c):
    ch, q = setup(c)
    tags = []
    for _ in range(3):
        m, p, b = ch.basic_get(q); tags.append(m.delivery_tag)
    ch.basic_nack(tags[1], requeue=True)  # m2 back while m4, m5 still queued
    out = []
    while True:
        m, p, b = ch.basic_get(q, auto_ack=True)
        if m is None: break
        out.append((b.decode(), m.redelivered))
    return out
scenario("get m1..m3 (m4,m5 still ready), nack m2 requeue, get all", partial_get_requeue)

def close_requeue(c):
    ch, q = setup(c)
    tag, got = drain(c, ch, q, 5)
    ch.basic_ack(got[2][2])  # ack m3
    ch.close()
    ch2 = c.channel()
    out = []
    while True:
        m, p, b = ch2.basic_get(q, auto_ack=True)
        if m is None: break
        out.append((b.decode(), m.redelivered))
    return out
scenario("consume m1..m5, ack m3, close channel, get all", close_requeue)

def close_requeue_partial(c):
    ch, q = setup(c)
    ch.basic_qos(prefetch_count=2)
    tag, got = drain(c, ch, q, 2)
    ch.close()
    ch2 = c.channel()
    out = []
    while True:
        m, p, b = ch2.basic_get(q, auto_ack=True)
        if m is None: break
        out.append((b.decode(), m.redelivered))
    return out
scenario("prefetch 2: consume m1,m2 (m3..m5 ready), close channel, get all", close_requeue_partial)

def recover(c):
    ch, q = setup(c)
    tag, got = drain(c, ch, q, 5)
    ch.basic_ack(got[0][2])
    ch.basic_recover(requeue=True)
    t = time.time()
    while len(got) < 9 and time.time() - t < 2:
        c.process_data_events(0.05)
    return got
scenario("consume m1..m5, ack m1, basic.recover(requeue=True)", recover)

def recover_false(c):
    ch, q = setup(c)
    tag, got = drain(c, ch, q, 5)
    r = outcome(lambda: ch.basic_recover(requeue=False))
    t = time.time()
    while len(got) < 10 and time.time() - t < 1:
        c.process_data_events(0.05)
    return r, got
scenario("basic.recover(requeue=False)", recover_false)

def reject_multiple_order(c):
    ch, q = setup(c)
    tag, got = drain(c, ch, q, 5)
    ch.basic_cancel(tag)
    ch.basic_nack(0, multiple=True, requeue=True)
    out = []
    while True:
        m, p, b = ch.basic_get(q, auto_ack=True)
        if m is None: break
        out.append((b.decode(), m.redelivered))
    return out
scenario("consume 5, cancel, nack(0, multiple, requeue), get all", reject_multiple_order)

def nack_desc(c):
    ch, q = setup(c)
    tag, got = drain(c, ch, q, 5)
    ch.basic_cancel(tag)
    for i in [4, 2, 0]:
        ch.basic_nack(got[i][2], requeue=True)
    out = []
    while True:
        m, p, b = ch.basic_get(q, auto_ack=True)
        if m is None: break
        out.append((b.decode(), m.redelivered))
    return out
scenario("consume 5, cancel, nack m5,m3,m1 individually, get all", nack_desc)

def cancel_keeps_unacked(c):
    ch, q = setup(c)
    tag, got = drain(c, ch, q, 5)
    ch.basic_cancel(tag)
    r = ch.queue_declare(q, passive=True)
    ch.basic_ack(got[0][2])
    return ("ready after cancel", r.method.message_count, "ack after cancel ok", ch.is_open)
scenario("cancel consumer: unacked stay unacked and can still be acked", cancel_keeps_unacked)
