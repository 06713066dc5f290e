import socket
import time
from urllib.parse import urlparse

from pamqp import commands, frame, header
from common import URL

u = urlparse(URL)
HOST, PORT = u.hostname, u.port

def recv_all(s, t=1.5):
    s.settimeout(t)
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                data += b"<EOF>"
                break
            data += d
    except socket.timeout:
        data += b"<TIMEOUT>"
    except ConnectionResetError:
        data += b"<RESET>"

    return data

def frames(data):
    out = []
    eof = None
    for tag in (b"<EOF>", b"<TIMEOUT>", b"<RESET>"):
        if data.endswith(tag):
            eof = tag.decode(); data = data[: -len(tag)]
    while data:
        try:
            n, ch, f = frame.unmarshal(data)
        except Exception as e:
            out.append(("undecodable", data[:40]))
            break
        out.append((ch, f.name, ({k: (v if k != 'server_properties' else '...') for k, v in dict(f).items()} if hasattr(f, '__iter__') else repr(f))))
        data = data[n:]
    if eof:
        out.append(eof)
    return out

def handshake(user="guest", pw="guest", vhost="/", mech="PLAIN", response=None, steps=("open",)):
    s = socket.create_connection((HOST, PORT))
    s.sendall(b"AMQP\x00\x00\x09\x01")
    d = recv_all(s, 0.5)
    resp = response if response is not None else f"\0{user}\0{pw}"
    s.sendall(frame.marshal(commands.Connection.StartOk(client_properties={"capabilities": {"authentication_failure_close": True}}, mechanism=mech, response=resp), 0))
    t0 = time.time(); d = recv_all(s, 3.5)
    fr = frames(d) + [("elapsed", round(time.time() - t0, 1))]
    fr = [x for x in fr if x != "TIMEOUT" or True]
    if fr and isinstance(fr[0], tuple) and fr[0][1] == "Connection.Tune":
        t = fr[0][2]
        s.sendall(frame.marshal(commands.Connection.TuneOk(channel_max=t["channel_max"], frame_max=t["frame_max"], heartbeat=0), 0))
        s.sendall(frame.marshal(commands.Connection.Open(virtual_host=vhost), 0))
        d2 = recv_all(s, 0.5)
        fr += frames(d2)
    return s, fr

def show(name, v):
    print(f"- {name} -> {v!r}", flush=True)

print("## connection level")
s, fr = handshake(pw="wrong"); show("wrong password PLAIN (auth_failure_close capability)", fr); s.close()
def handshake_nocap(pw):
    s = socket.create_connection((HOST, PORT))
    s.sendall(b"AMQP\x00\x00\x09\x01"); recv_all(s, 0.5)
    s.sendall(frame.marshal(commands.Connection.StartOk(client_properties={}, mechanism="PLAIN", response=f"\0guest\0{pw}"), 0))
    t0=time.time(); r = frames(recv_all(s, 6)); return r, round(time.time()-t0, 1)
show("wrong password PLAIN (no capability)", handshake_nocap("wrong"))
s, fr = handshake(user="nobody"); show("unknown user PLAIN", fr); s.close()
s, fr = handshake(vhost="novhost"); show("vhost does not exist", fr); s.close()
s, fr = handshake(mech="FOO"); show("unknown mechanism FOO", fr); s.close()
s, fr = handshake(mech="AMQPLAIN", response=""); show("AMQPLAIN empty response", fr); s.close()
s, fr = handshake(); show("ok handshake", [f for f in fr]); s.close()

def start_frame():
    s = socket.create_connection((HOST, PORT))
    s.sendall(b"AMQP\x00\x00\x09\x01")
    return frames(recv_all(s, 0.5))
show("connection.start", start_frame())

for hdr in [b"AMQP\x00\x00\x09\x00", b"AMQP\x01\x01\x00\x09", b"AMQP\x00\x01\x00\x00", b"HTTP/1.1", b"GET / HTTP/1.1\r\n\r\n", b"AMQP\x00\x00\x08\x00", b"AMQP\x03\x01\x00\x00"]:
    s = socket.create_connection((HOST, PORT))
    s.sendall(hdr)
    show(f"protocol header {hdr!r}", recv_all(s, 1.5))
    s.close()

# frame-level errors after open
def after_open(payload_fn, name):
    s, fr = handshake()
    s.sendall(payload_fn())
    show(name, frames(recv_all(s, 1.0)))
    s.close()

after_open(lambda: frame.marshal(commands.Channel.Open(), 1) + frame.marshal(commands.Channel.Open(), 1), "channel.open twice")
after_open(lambda: frame.marshal(commands.Queue.Declare(queue="x"), 3), "queue.declare on unopened channel 3")
after_open(lambda: frame.marshal(commands.Channel.Open(), 1) + frame.marshal(commands.Basic.Deliver(consumer_tag="x", delivery_tag=1, exchange="", routing_key="x"), 1), "client sends basic.deliver")
after_open(lambda: frame.marshal(commands.Channel.Open(), 1) + frame.marshal(commands.Channel.Close(reply_code=200, reply_text="bye", class_id=0, method_id=0), 1) + frame.marshal(commands.Queue.Declare(queue="x"), 1), "method after channel.close (before close-ok)")
after_open(lambda: frame.marshal(commands.Channel.Open(), 70000 % 65536), "channel.open above channel_max (4464)")
after_open(lambda: frame.marshal(commands.Channel.Open(), 1) + b"\x09\x00\x01\x00\x00\x00\x00\xce", "bad frame type 9")
after_open(lambda: frame.marshal(commands.Channel.Open(), 1) + b"\x01\x00\x01\x00\x00\x00\x04\x00\x14\x00\x0a\x00", "bad frame end byte")
after_open(lambda: frame.marshal(commands.Channel.Open(), 1) + b"\x01\x00\x01\x00\x00\x00\x04\x00\x63\x00\x0a\xce", "unknown class 99")
after_open(lambda: frame.marshal(commands.Channel.Open(), 1) + frame.marshal(commands.Basic.Publish(exchange="", routing_key="x"), 1) + frame.marshal(commands.Queue.Declare(queue="y"), 1), "method instead of content header")
after_open(lambda: frame.marshal(commands.Channel.Open(), 1) + frame.marshal(header.ContentHeader(0, 10), 1), "content header without publish")
after_open(lambda: frame.marshal(commands.Channel.Open(), 1) + b"\x01\x00\x01\x7f\xff\xff\xff", "huge frame size")
after_open(lambda: frame.marshal(commands.Channel.Open(), 0), "channel.open on channel 0")
after_open(lambda: frame.marshal(commands.Connection.Close(reply_code=200, reply_text="bye", class_id=0, method_id=0), 0), "clean connection.close")
