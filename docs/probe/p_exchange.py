from common import *

def ed(before, after):
    def f(c):
        ch = c.channel()
        x = uid("x")
        ch.exchange_declare(x, **before)
        ch.exchange_declare(x, **after)
        return "ok"
    return f

print("## exchange.declare")
scenario("unknown type", lambda c: c.channel().exchange_declare(uid("x"), exchange_type="bogus"))
scenario("type x-foo", lambda c: c.channel().exchange_declare(uid("x"), exchange_type="x-foo"))
scenario("redeclare direct->topic", ed({}, dict(exchange_type="topic")))
scenario("redeclare durable F->T", ed({}, dict(durable=True)))
scenario("redeclare durable T->F", ed(dict(durable=True), {}))
scenario("redeclare auto_delete F->T", ed({}, dict(auto_delete=True)))
scenario("redeclare internal F->T", ed({}, dict(internal=True)))
scenario("redeclare internal T->F", ed(dict(internal=True), {}))
scenario("redeclare args added alternate-exchange", ed({}, dict(arguments={"alternate-exchange": "ae"})))
scenario("redeclare args changed alternate-exchange", ed(dict(arguments={"alternate-exchange": "a"}), dict(arguments={"alternate-exchange": "b"})))
scenario("redeclare args removed alternate-exchange", ed(dict(arguments={"alternate-exchange": "a"}), {}))
scenario("redeclare args added x-foo", ed({}, dict(arguments={"x-foo": "1"})))
scenario("passive missing", lambda c: c.channel().exchange_declare("nope-x", passive=True))
scenario("passive existing other type", lambda c: (c.channel().exchange_declare("amq.direct", exchange_type="topic", passive=True), "ok")[1])
scenario("declare amq.foo", lambda c: c.channel().exchange_declare("amq.foo"))
scenario("declare amq.foo passive", lambda c: c.channel().exchange_declare("amq.foo", passive=True))
scenario("declare amq.direct same (durable)", lambda c: (c.channel().exchange_declare("amq.direct", durable=True), "ok")[1])
scenario("declare amq.direct non-durable", lambda c: c.channel().exchange_declare("amq.direct", durable=False))
scenario("declare amq.direct type topic", lambda c: c.channel().exchange_declare("amq.direct", exchange_type="topic", durable=True))
scenario("declare amq.topic", lambda c: (c.channel().exchange_declare("amq.topic", exchange_type="topic", durable=True), "ok")[1])
scenario("declare amq.headers", lambda c: (c.channel().exchange_declare("amq.headers", exchange_type="headers", durable=True), "ok")[1])
scenario("declare amq.match headers", lambda c: (c.channel().exchange_declare("amq.match", exchange_type="headers", durable=True), "ok")[1])
scenario("declare amq.rabbitmq.trace", lambda c: (c.channel().exchange_declare("amq.rabbitmq.trace", exchange_type="topic", durable=True, internal=True), "ok")[1])
scenario("declare amq.rabbitmq.trace passive", lambda c: (c.channel().exchange_declare("amq.rabbitmq.trace", passive=True), "ok")[1])
scenario("declare '' direct", lambda c: c.channel().exchange_declare("", exchange_type="direct", durable=True))
scenario("declare '' passive", lambda c: (c.channel().exchange_declare("", passive=True), "ok")[1])
scenario("declare '' fanout", lambda c: c.channel().exchange_declare("", exchange_type="fanout"))

print("## exchange.delete")
scenario("delete missing", lambda c: (c.channel().exchange_delete("nope-x"), "ok")[1])
scenario("delete missing if_unused", lambda c: (c.channel().exchange_delete("nope-x", if_unused=True), "ok")[1])
scenario("delete amq.direct", lambda c: c.channel().exchange_delete("amq.direct"))
scenario("delete amq.foo (missing, reserved)", lambda c: c.channel().exchange_delete("amq.foo"))
scenario("delete ''", lambda c: c.channel().exchange_delete(""))

def del_in_use(c):
    ch = c.channel()
    x = uid("x"); q = uid()
    ch.exchange_declare(x)
    ch.queue_declare(q)
    ch.queue_bind(q, x, "k")
    return ch.exchange_delete(x, if_unused=True)
scenario("delete if_unused with binding as source", del_in_use)

def del_in_use_dest(c):
    ch = c.channel()
    x = uid("x"); x2 = uid("x")
    ch.exchange_declare(x)
    ch.exchange_declare(x2)
    ch.exchange_bind(x2, x, "k")  # destination x2, source x
    ch.exchange_delete(x2, if_unused=True)
    return "ok (dest-only exchange deleted)"
scenario("delete if_unused exchange only as e2e destination", del_in_use_dest)

print("## autodelete exchange")
def ad_x(c):
    ch = c.channel()
    x = uid("x"); q = uid()
    ch.exchange_declare(x, auto_delete=True)
    ch.queue_declare(q)
    ch.queue_bind(q, x, "k")
    ch.queue_unbind(q, x, "k")
    return outcome(lambda: c.channel().exchange_declare(x, passive=True))
scenario("auto_delete exchange after last unbind", ad_x)
def ad_x_nobind(c):
    ch = c.channel()
    x = uid("x")
    ch.exchange_declare(x, auto_delete=True)
    return outcome(lambda: (c.channel().exchange_declare(x, passive=True), "exists")[1])
scenario("auto_delete exchange never bound", ad_x_nobind)
def ad_x_qdel(c):
    ch = c.channel()
    x = uid("x"); q = uid()
    ch.exchange_declare(x, auto_delete=True)
    ch.queue_declare(q)
    ch.queue_bind(q, x, "k")
    ch.queue_delete(q)
    return outcome(lambda: c.channel().exchange_declare(x, passive=True))
scenario("auto_delete exchange after bound queue deleted", ad_x_qdel)

print("## bind/unbind")
def bindmiss(kind):
    def f(c):
        ch = c.channel()
        q = uid(); x = uid("x")
        if kind == "missing queue":
            return ch.queue_bind("nope-q", "amq.direct", "k")
        if kind == "missing exchange":
            ch.queue_declare(q)
            return ch.queue_bind(q, "nope-x", "k")
        if kind == "both missing":
            return ch.queue_bind("nope-q", "nope-x", "k")
        if kind == "default exchange":
            ch.queue_declare(q)
            return ch.queue_bind(q, "", q)
        if kind == "unbind default exchange":
            ch.queue_declare(q)
            return ch.queue_unbind(q, "", q)
        if kind == "unbind missing queue":
            return ch.queue_unbind("nope-q", "amq.direct", "k")
        if kind == "unbind missing exchange":
            ch.queue_declare(q)
            return ch.queue_unbind(q, "nope-x", "k")
        if kind == "unbind missing binding":
            ch.queue_declare(q)
            ch.queue_unbind(q, "amq.direct", "k")
            return "ok"
        if kind == "bind twice":
            ch.queue_declare(q)
            ch.queue_bind(q, "amq.direct", "k")
            ch.queue_bind(q, "amq.direct", "k")
            ch.basic_publish("amq.direct", "k", b"x")
            import time; time.sleep(0.1)
            return ("ok", ch.queue_declare(q, passive=True).method.message_count)
        if kind == "e2e missing source":
            ch.exchange_declare(x)
            return ch.exchange_bind(x, "nope-x", "k")
        if kind == "e2e missing dest":
            ch.exchange_declare(x)
            return ch.exchange_bind("nope-x", x, "k")
        if kind == "e2e default as dest":
            return ch.exchange_bind("", "amq.direct", "k")
        if kind == "e2e default as source":
            ch.exchange_declare(x)
            return ch.exchange_bind(x, "", "k")
        if kind == "bind to internal exchange":
            ch.exchange_declare(x, internal=True)
            ch.queue_declare(q)
            ch.queue_bind(q, x, "k")
            return "ok"
        if kind == "bind amq.foo queue":
            return ch.queue_bind("amq.foo", "amq.direct", "k")
    return f
for k in ["missing queue", "missing exchange", "both missing", "default exchange", "unbind default exchange",
          "unbind missing queue", "unbind missing exchange", "unbind missing binding", "bind twice",
          "e2e missing source", "e2e missing dest", "e2e default as dest", "e2e default as source",
          "bind to internal exchange", "bind amq.foo queue"]:
    scenario(f"bind: {k}", bindmiss(k))

print("## queue.delete/purge")
def qdel(kind):
    def f(c):
        ch = c.channel()
        q = uid()
        if kind == "missing":
            r = ch.queue_delete("nope-q")
            return ("delete-ok", r.method.message_count)
        if kind == "missing if_unused":
            r = ch.queue_delete("nope-q", if_unused=True, if_empty=True)
            return ("delete-ok", r.method.message_count)
        ch.queue_declare(q)
        if kind == "if_empty":
            ch.basic_publish("", q, b"x")
            ch.confirm_delivery()
            return ch.queue_delete(q, if_empty=True)
        if kind == "if_unused":
            ch.basic_consume(q, lambda *a: None)
            return ch.queue_delete(q, if_unused=True)
        if kind == "count":
            ch.confirm_delivery()
            for _ in range(4):
                ch.basic_publish("", q, b"x")
            r = ch.queue_delete(q)
            return ("delete-ok", r.method.message_count)
        if kind == "purge missing":
            return ch.queue_purge("nope-q")
        if kind == "purge count":
            ch.confirm_delivery()
            for _ in range(4):
                ch.basic_publish("", q, b"x")
            r = ch.queue_purge(q)
            return ("purge-ok", r.method.message_count)
        if kind == "delete amq.foo":
            return ch.queue_delete("amq.foo")
    return f
for k in ["missing", "missing if_unused", "if_empty", "if_unused", "count", "purge missing", "purge count", "delete amq.foo"]:
    scenario(f"queue: {k}", qdel(k))
