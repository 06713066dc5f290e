import time
from common import *

def f(c):
    ch = c.channel(); q = uid(); ch.queue_declare(q)
    for i in range(5):
        ch.basic_publish("", q, b"x")
    ch.confirm_delivery()
    got = []
    ch.basic_consume(q, lambda *a: got.append(1))
    ch.basic_qos(prefetch_count=1)
    q2 = uid(); ch.queue_declare(q2)
    for i in range(5):
        ch.basic_publish("", q2, b"x")
    got2 = []
    ch.basic_consume(q2, lambda *a: got2.append(1))
    t = time.time()
    while time.time() - t < 0.5:
        c.process_data_events(0.05)
    return ("consumer before qos(1):", len(got), "consumer after:", len(got2))
scenario("qos(1) set after first consumer", f)
