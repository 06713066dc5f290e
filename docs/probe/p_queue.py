from common import *


def qd(args_before, args_after, **kw):
    def f(c):
        ch = c.channel()
        q = uid()
        ch.queue_declare(q, **args_before)
        r = ch.queue_declare(q, **args_after)
        return (r.method.queue == q, r.method.message_count, r.method.consumer_count)
    return f

print("## queue.declare")
scenario("declare amq.foo", lambda c: c.channel().queue_declare("amq.foo"))
scenario("declare amq.foo passive", lambda c: c.channel().queue_declare("amq.foo", passive=True))
scenario("passive missing", lambda c: c.channel().queue_declare("nope-q", passive=True))
scenario("durable F->T", qd({}, dict(durable=True)))
scenario("durable T->F", qd(dict(durable=True), {}))
scenario("exclusive F->T", qd({}, dict(exclusive=True)))
scenario("exclusive T->F", qd(dict(exclusive=True), {}))
scenario("auto_delete F->T", qd({}, dict(auto_delete=True)))
scenario("auto_delete T->F", qd(dict(auto_delete=True), {}))
scenario("ttl added", qd({}, dict(arguments={"x-message-ttl": 1000})))
scenario("ttl removed", qd(dict(arguments={"x-message-ttl": 1000}), {}))
scenario("ttl changed", qd(dict(arguments={"x-message-ttl": 1000}), dict(arguments={"x-message-ttl": 2000})))
scenario("ttl same", qd(dict(arguments={"x-message-ttl": 1000}), dict(arguments={"x-message-ttl": 1000})))
scenario("ttl int vs long-ish 1000 as str", qd(dict(arguments={"x-message-ttl": 1000}), dict(arguments={"x-message-ttl": "1000"})))
scenario("max-length added", qd({}, dict(arguments={"x-max-length": 5})))
scenario("max-length changed", qd(dict(arguments={"x-max-length": 5}), dict(arguments={"x-max-length": 6})))
scenario("dlx added", qd({}, dict(arguments={"x-dead-letter-exchange": "dlx"})))
scenario("dlx changed", qd(dict(arguments={"x-dead-letter-exchange": "a"}), dict(arguments={"x-dead-letter-exchange": "b"})))
scenario("unknown arg x-foo added", qd({}, dict(arguments={"x-foo": 1})))
scenario("non-x arg foo added", qd({}, dict(arguments={"foo": 1})))
scenario("x-expires added", qd({}, dict(arguments={"x-expires": 10000})))
scenario("x-max-priority added", qd({}, dict(arguments={"x-max-priority": 5})))
scenario("x-overflow added", qd({}, dict(arguments={"x-overflow": "reject-publish"})))
scenario("x-queue-type classic added", qd({}, dict(arguments={"x-queue-type": "classic"})))
scenario("bad ttl -1", lambda c: c.channel().queue_declare(uid(), arguments={"x-message-ttl": -1}))
scenario("bad ttl string", lambda c: c.channel().queue_declare(uid(), arguments={"x-message-ttl": "abc"}))
scenario("bad max-length -1", lambda c: c.channel().queue_declare(uid(), arguments={"x-max-length": -1}))
scenario("bad overflow", lambda c: c.channel().queue_declare(uid(), arguments={"x-overflow": "nope"}))
scenario("bad x-expires 0", lambda c: c.channel().queue_declare(uid(), arguments={"x-expires": 0}))
scenario("bad x-max-priority 300", lambda c: c.channel().queue_declare(uid(), arguments={"x-max-priority": 300}))
scenario("x-queue-type bogus", lambda c: c.channel().queue_declare(uid(), arguments={"x-queue-type": "bogus"}))

def srv_named(c):
    ch = c.channel()
    r = ch.queue_declare("", exclusive=True)
    return r.method.queue, len(r.method.queue)
scenario("server named", srv_named)
scenario("server named 2", srv_named)

def passive_counts(c):
    ch = c.channel()
    q = uid()
    ch.queue_declare(q)
    for i in range(3):
        ch.basic_publish("", q, b"x")
    ch.basic_consume(q, lambda *a: None)
    ch2 = c.channel()
    ch2.basic_consume(q, lambda *a: None, auto_ack=False)
    import time; time.sleep(0.2)
    c.process_data_events(0.1)
    r = c.channel().queue_declare(q, passive=True)
    r2 = c.channel().queue_declare(q)
    return (r.method.message_count, r.method.consumer_count, r2.method.message_count, r2.method.consumer_count)
scenario("declare-ok counts with 3 msgs then 2 consumers(prefetch none)", passive_counts)

def passive_counts_unconsumed(c):
    ch = c.channel()
    q = uid()
    ch.queue_declare(q)
    for i in range(3):
        ch.basic_publish("", q, b"x")
    ch.confirm_delivery()
    r = ch.queue_declare(q, passive=True)
    return (r.method.message_count, r.method.consumer_count)
scenario("declare-ok counts 3 msgs no consumers", passive_counts_unconsumed)

def excl_other(kind):
    def f(c):
        ch = c.channel()
        q = uid()
        ch.queue_declare(q, exclusive=True)
        c2 = conn()
        try:
            ch2 = c2.channel()
            if kind == "declare":
                return ch2.queue_declare(q)
            if kind == "passive":
                return ch2.queue_declare(q, passive=True)
            if kind == "consume":
                return ch2.basic_consume(q, lambda *a: None)
            if kind == "delete":
                return ch2.queue_delete(q)
            if kind == "purge":
                return ch2.queue_purge(q)
            if kind == "bind":
                return ch2.queue_bind(q, "amq.direct", "k")
            if kind == "get":
                return ch2.basic_get(q)
            if kind == "publish":
                ch2.confirm_delivery()
                ch2.basic_publish("", q, b"x")
                return "published"
        finally:
            if c2.is_open:
                c2.close()
    return f
for k in ["declare", "passive", "consume", "delete", "purge", "bind", "get", "publish"]:
    scenario(f"exclusive queue from other connection: {k}", excl_other(k))
