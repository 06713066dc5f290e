import itertools
import json
import uuid

import pika
import pika.exceptions as pe

URL = open("/tmp/probe_url").read().strip()


def conn():
    return pika.BlockingConnection(pika.URLParameters(URL))


def uid(prefix="q"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def outcome(fn):
    """Run fn; return ('ok', value) or the broker error."""
    try:
        return ("ok", fn())
    except pe.ChannelClosedByBroker as e:
        return ("channel-close", e.reply_code, e.reply_text)
    except pe.ConnectionClosedByBroker as e:
        return ("connection-close", e.reply_code, e.reply_text)
    except Exception as e:  # noqa
        return ("exc", type(e).__name__, repr(e))


def show(name, res):
    print(f"- {name} -> {res!r}", flush=True)


def scenario(name, setup_and_fn):
    """setup_and_fn(conn) -> value; runs on fresh connection."""
    c = conn()
    try:
        res = outcome(lambda: setup_and_fn(c))
    finally:
        try:
            if c.is_open:
                c.close()
        except Exception:
            pass
    show(name, res)
    return res
