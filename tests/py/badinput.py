"""badinput.py - hostile and broken messages on every hubd socket.

Sends unsigned, badly signed, replayed, truncated and non-JSON messages
and unknown message types to every socket a peer can write to, then
checks that hubd still serves a normal client and that the query socket
answered the unknown type with hub_error.
usage: badinput.py PROFILE_DIR
"""
import sys
import time

import zmq
from jupyter_client.session import Session

import ipyparallel as ipp
import conninfo
from tap import Tap

profile = sys.argv[1]
t = Tap()
cf, ef, key, good = conninfo.load(profile)
evil = Session(key=b"not-the-key", signature_scheme="hmac-sha256")
ctx = zmq.Context()


def url(port):
    return conninfo.url(cf, port)


def signed(parts):
    """Correctly signed frames around JSON parts that may be broken."""
    import hashlib
    import hmac
    d = hmac.new(key, b"".join(parts), hashlib.sha256).hexdigest()
    return [b"<IDS|MSG>", d.encode()] + parts


def frames(session, msg_type, content=None, unsigned=False):
    msg = session.msg(msg_type, content=content or {})
    parts = session.serialize(msg)
    if unsigned:
        parts[1] = b""
    return parts


targets = [
    ("registration", zmq.DEALER, cf["registration"], []),
    ("mux", zmq.DEALER, cf["mux"], [b"no-such-engine"]),
    ("task", zmq.DEALER, cf["task"], []),
    ("control", zmq.DEALER, cf["control"], [b"no-such-engine"]),
    ("broadcast", zmq.DEALER, cf["broadcast"], []),
    ("mux (engine side)", zmq.DEALER, ef["mux"], [b"x"]),
    ("task (engine side)", zmq.DEALER, ef["task"], [b"x"]),
    ("control (engine side)", zmq.DEALER, ef["control"], [b"x"]),
    ("broadcast leaf", zmq.DEALER, ef["broadcast"][0], [b"x"]),
    ("iopub (engine side)", zmq.PUB, ef["iopub"], []),
    ("heartbeat", zmq.DEALER, ef["hb_pong"], []),
]
socks = []
for name, kind, port, pre in targets:
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(url(port))
    socks.append((name, s, pre))
time.sleep(0.3)  # let PUB subscriptions settle
for name, s, pre in socks:
    valid = frames(good, "bogus_request")
    batch = [
        pre + frames(good, "apply_request", unsigned=True),
        pre + frames(evil, "apply_request"),
        pre + valid,
        pre + valid,                      # replay
        pre + valid[:3],                  # truncated
        pre + [b"<IDS|MSG>"],
        pre + [b"garbage"] * 3,
        pre + signed([b"{not json", b"{}", b"{}", b"{}"]),
        pre + signed([b"[1, 2]", b"{}", b"{}", b"{}"]),
        pre + signed([b'{"msg_id": 5}', b"{}", b"{}", b"{}"]),
        pre + signed([b'{"msg_id": "a", "msg_type": "x"}', b"{}", b"{}",
                      b"\xff\xfe"]),
        pre + [b"\xff" * 100000],
        [b"<IDS|MSG>"] * 40,
        [b""],
    ]
    for parts in batch:
        s.send_multipart(parts)
t.ok(True, "sent %d kinds of bad input to %d sockets" % (13, len(socks)))

# the notification socket hears subscriptions: an XSUB may send it
# anything, subscriptions by the thousand included
x = ctx.socket(zmq.XSUB)
x.setsockopt(zmq.LINGER, 0)
x.connect(url(cf["notification"]))
for parts in ([b"\x01"], [b"\x01", b"\x01", b"\x00"], [b"garbage"] * 3,
              [b"\xff" * 100000], [b""]):
    x.send_multipart(parts)
for i in range(2000):
    x.send(b"\x01")
t.ok(True, "sent bad frames and 2000 subscriptions to the notification socket")

# the query socket answers a signed unknown type with hub_error
q = ctx.socket(zmq.DEALER)
q.setsockopt(zmq.LINGER, 0)
q.connect(url(cf["registration"]))
good.send(q, "bogus_request", {})
ok = q.poll(5000)
t.ok(ok, "hub answered a signed unknown request")
if ok:
    idents, msg = good.feed_identities(q.recv_multipart())
    reply = good.deserialize(msg)
    t.eq(reply["header"]["msg_type"], "hub_error", "reply type is hub_error")
    t.ok("bogus_request" in reply["content"].get("evalue", ""),
         "hub_error names the bad type", repr(reply["content"]))
# and a registration with a bad uuid gets an error, not a crash
good.send(q, "registration_request", {"uuid": 12})
if q.poll(5000):
    idents, msg = good.feed_identities(q.recv_multipart())
    reply = good.deserialize(msg)
    t.eq(reply["content"].get("status"), "error",
         "registration with a non-string uuid refused")

c = ipp.Client(profile_dir=profile, timeout=10)
c.wait_for_engines(1, timeout=20)
t.eq(c[:].apply_async(lambda: 5).get(10), [5] * len(c.ids), "hub still serves")
t.eq(c.load_balanced_view().apply_async(lambda: 6).get(10), 6,
     "scheduler still serves")
t.eq(c.broadcast_view().apply_async(lambda: 7).get(10), [7] * len(c.ids),
     "broadcast still serves")
t.done()
