#!/usr/bin/env bash
# t2040-engined-buffers: numpy arrays pushed to engined, passed to apply
# as arguments and pulled back are exactly what was sent, however long
# they live and whatever traffic comes after (request buffers must stay
# alive as long as an object built on them does).  Sizes 1 KB to 100 MB;
# between storing and checking, other pushes and applies carry other
# buffers.  Also the case that used to kill the engine: a pushed
# np.arange(100000.) read after the next request.
. "$(dirname "$0")/lib.sh"
need_python_ipp
$PY -c 'import numpy' 2>/dev/null || skip "python3-numpy is not installed"
one_engine_py <<'PYEOF'
import time, numpy as np

# the reported case: a pushed array, then another request's buffer
e.push({"a": np.arange(10000.)})
t.eq(e.apply_sync(lambda: float(a.sum())), 49995000.0, "pushed arange sum")
e.apply_sync(lambda x: float(x.sum()), np.ones(10000))
t.eq(e.apply_sync(lambda: float(a.sum())), 49995000.0,
     "pushed arange sum after another apply's buffer")
e.push({"big": np.arange(100000.)})
e.apply_sync(lambda x: float(x.sum()), np.ones(100000))
t.eq(e.apply_sync(lambda: float(big.sum())), 4999950000.0,
     "np.arange(100000.) read after the next request (was a segfault)")


def pub(x):
    from ipyparallel.datapub import publish_data
    publish_data({"x": x, "y": x[::2]})   # an array view, not contiguous


ar = e.apply_async(pub, np.arange(50000.))
ar.get(30)
ar.wait_for_output(30)
t.ok(np.array_equal(ar.data.get("x"), np.arange(50000.)) and
     np.array_equal(ar.data.get("y"), np.arange(50000.)[::2]),
     "publish_data of arrays (data_message buffers)")


def keep(name, x):
    globals()[name] = x         # outlives the request that carried it
    return x                    # a reply buffer made of a request buffer


def keep_size(name, x):
    globals()[name] = x
    return x.nbytes


def traffic(n, salt):
    """Other requests with other buffers, of the same size (at most 10 MB)."""
    m = min(n, 10 * 2**20 // 8)
    e.push({"junk": np.full(m, salt)})
    e.apply_sync(lambda x: float(x.sum()), np.full(m, salt + 1))
    e.apply_sync(keep_size, "junk2", np.full(m, salt + 2))
    e.execute("junk3 = bytearray(%d)" % (m * 8))
    e.push({"junk": None, "junk2": None})


rng = np.random.default_rng(2040)
t0 = time.time()
for label, nbytes in (("1 KB", 2**10), ("1 MB", 2**20), ("10 MB", 10 * 2**20),
                      ("100 MB", 100 * 2**20)):
    n = nbytes // 8
    pushed = rng.random(n)
    passed = rng.random(n)
    e.push({"p": pushed})
    back = e.apply_sync(keep, "q", passed)
    traffic(n, 3.0)
    traffic(n, 5.0)
    sums = e.apply_sync(lambda: (float(p.sum()), float(q.sum())))
    t.eq(sums, (float(pushed.sum()), float(passed.sum())),
         "%s: sums on the engine after other traffic" % label)
    t.ok(np.array_equal(e.pull("p"), pushed), "%s: pushed array pulled back "
         "exactly" % label)
    t.ok(np.array_equal(e.pull("q"), passed), "%s: apply argument kept and "
         "pulled back exactly" % label)
    t.ok(np.array_equal(back, passed), "%s: apply result (the argument)"
         % label)
    e.push({"p": None, "q": None})
print("# sizes done in %.1f s" % (time.time() - t0))
t.eq(e.apply_sync(lambda: float(a.sum())), 49995000.0,
     "first pushed array intact at the end")
t.eq(len(c.ids), 1, "the engine is still registered")
t.done()
PYEOF
grep -i "segmentation\|fatal" "$T_DIR/engined1.log" && no "engine log clean"
exit $fail
