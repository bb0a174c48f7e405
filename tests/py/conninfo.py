"""conninfo.py - a test profile's connection files, for the scripts that
talk to a controller socket by socket (badinput.py, hostile.py).

load(profile) gives (client file, engine file, key bytes, a Session
signing with that key), and url(info, port) the address of one port.
"""
import json
import os

from jupyter_client.session import Session


def load(profile):
    sec = os.path.join(profile, "security")
    with open(os.path.join(sec, "ipcontroller-client.json")) as f:
        cf = json.load(f)
    with open(os.path.join(sec, "ipcontroller-engine.json")) as f:
        ef = json.load(f)
    key = cf["key"].encode()
    return cf, ef, key, Session(key=key, signature_scheme="hmac-sha256")


def url(info, port):
    return "%s:%d" % (info["interface"], port)
