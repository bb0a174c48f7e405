"""datapath.py - the ipp data path (doc/data-path.md) over mux.

usage: datapath.py PROFILE_DIR engined|ipengine
With engined every operation works; with ipengine each request gets the
NotImplementedError reply.
"""
import json
import sys

import zmq
from jupyter_client.session import Session

import ipyparallel as ipp
from tap import Tap

profile, kind = sys.argv[1], sys.argv[2]
t = Tap()
c = ipp.Client(profile_dir=profile, timeout=20)
c.wait_for_engines(1, timeout=30)
uuid = c._engines[c.ids[0]].encode()
cf = json.load(open(profile + "/security/ipcontroller-client.json"))
s = Session(key=cf["key"].encode(), signature_scheme="hmac-sha256")
mux = zmq.Context().socket(zmq.DEALER)
mux.setsockopt(zmq.LINGER, 0)
mux.connect("%s:%d" % (cf["interface"], cf["mux"]))
CODE = ("raise NotImplementedError(\"this engine does not support the ipp "
        "data path (needs engined)\")")


def op(spec, buffers=None):
    msg = s.msg("execute_request", content={"code": CODE, "silent": True},
                metadata={"ipp_data": spec})
    s.send(mux, msg, ident=[uuid], buffers=buffers or [])
    if not mux.poll(20000):
        raise TimeoutError("no reply")
    idents, parts = s.feed_identities(mux.recv_multipart())
    return s.deserialize(parts)


r = op({"op": "push", "name": "blob", "format": "raw"}, [b"\x00\x01abc"])
if kind == "ipengine":
    t.eq(r["content"]["ename"], "NotImplementedError",
         "a foreign engine answers with NotImplementedError")
    t.done()
t.eq(r["content"]["status"], "ok", "push raw")
t.eq(c[0].pull("blob", block=True), b"\x00\x01abc", "pushed bytes visible "
     "to Python")
r = op({"op": "pull", "name": "blob", "format": "raw"})
t.eq(r["buffers"][0], b"\x00\x01abc", "pull raw")
r = op({"op": "push", "name": "cfg", "format": "json",
        "value": {"a": [1, 2.5, None, "x"]}})
t.eq(r["content"]["status"], "ok", "push json")
t.eq(c[0].pull("cfg", block=True), {"a": [1, 2.5, None, "x"]},
     "pushed JSON is a Python value")
c[0].execute("z = {'k': (1, 2)}\nbig = b'x' * (100 << 20)", block=True)
r = op({"op": "pull", "name": "z", "format": "json"})
t.eq(r["content"]["ipp_data"]["value"], {"k": [1, 2]}, "pull json")
r = op({"op": "pull", "name": "z", "format": "repr"})
t.eq(r["content"]["ipp_data"]["value"], "{'k': (1, 2)}", "pull repr")
r = op({"op": "pull", "name": "big", "format": "raw"})
t.eq(len(r["buffers"][0]), 100 << 20, "pull 100 MB raw")
r = op({"op": "push", "name": "big2", "format": "raw"}, [r["buffers"][0]])
t.eq(c[0].apply_sync(lambda: len(big2)), 100 << 20, "push 100 MB raw")
r = op({"op": "list"})
t.ok({"blob", "cfg", "z", "big", "big2"} <= set(r["content"]["ipp_data"]
                                                ["value"]), "list names")
r = op({"op": "delete", "name": "blob"})
t.eq(r["content"]["status"], "ok", "delete")
r = op({"op": "pull", "name": "blob", "format": "raw"})
t.eq(r["content"].get("ename"), "NameError", "pull of a deleted name")
r = op({"op": "pull", "name": "__builtins__", "format": "json"})
t.eq(r["content"]["status"], "error", "non-JSON value is an error")
t.done()
