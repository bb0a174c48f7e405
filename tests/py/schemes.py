"""schemes.py - where each scheduling scheme of hubd places tasks.

Run by tests/t1010-hubd-schemes.sh against hubd --scheme=SCHEME --hwm=2
with three engines:  schemes.py PROFILE_DIR SCHEME

Two loads, each placement read back from the task's engine_id:
  S (recency): 200 tasks (30 for the round robins) one after another on
    idle engines.  Knowing each
    engine's last use gives the rank, in least-recently-used order, of the
    engine each task went to: lru, pure and leastload always take rank 0
    (round robin); plainrandom and weighted (equal loads) are uniform;
    twobin, the less recent of two random picks, takes rank 0 with
    probability 5/9 and rank 2 with 1/9.  Score: freq(rank 0) - freq(rank 2),
    0 +- 0.06 for uniform, 0.44 +- 0.05 for twobin.
  W (load): one engine B is busy with a long task (load 1), then 24 quick
    tasks one after another.  leastload and weighted never add to B (an idle
    engine is less loaded; weighted's odds are a million to one); lru adds
    one, the third (B is then least recently used, and at hwm 2 it is full
    after); pure ignores hwm and adds every third; plainrandom and twobin
    add one somewhere (then B is full; none in 24 has odds (2/3)^24 < 1e-4).
Each scheme's own expectations are checked, so two schemes swapped fail.
"""
import os
import sys
import tempfile
import time

import ipyparallel as ipp

from tap import Tap

profile, scheme = sys.argv[1], sys.argv[2]
t = Tap()
c = ipp.Client(profile_dir=profile, timeout=20)
c.wait_for_engines(3, timeout=60)
lv = c.load_balanced_view()


def quick():
    return 0


# --- S: ranks in least-recently-used order, on idle engines -------------------
last = {}            # engine id -> index of the task that used it last
ranks = []
# a round robin shows in a few placements; a random scheme needs ~200
for i in range(30 if scheme in ("lru", "pure", "leastload") else 200):
    ar = lv.apply_async(quick)
    ar.get(30)
    e = ar.engine_id
    if len(last) == 3:     # the order is known once each engine was used
        order = sorted(last, key=last.get)
        ranks.append(order.index(e))
    last[e] = i
n = len(ranks)
freq = [ranks.count(r) / n for r in range(3)]
score = freq[0] - freq[2]
what = "S: %d placements, rank frequencies %.2f %.2f %.2f, score %.2f" % (
    n, freq[0], freq[1], freq[2], score)
if scheme in ("lru", "pure", "leastload"):
    t.ok(freq[0] == 1.0, what + ": always the least recently used")
elif scheme == "twobin":
    t.ok(score > 0.22 and freq[0] < 1.0,
         what + ": the less recent of two random picks (want ~0.44)")
else:
    t.ok(abs(score) < 0.22 and freq[0] < 1.0,
         what + ": uniform (want ~0)")

# --- W: one engine busy (load 1), quick tasks one by one --------------------------
flag = tempfile.mktemp(prefix="schemes-flag.")


def hold(flag):
    import os, time
    t0 = time.time()
    while not os.path.exists(flag) and time.time() - t0 < 120:
        time.sleep(0.02)
    return os.getpid()


# the engine the long task went to is known by its pid
pids = dict(zip(c.ids, c[:].apply_sync(os.getpid)))
busy = lv.apply_async(hold, flag)
probes = []
try:
    for i in range(24):
        ar = lv.apply_async(quick)
        try:
            ar.get(1.0)     # a probe queued behind the long task waits
        except ipp.error.TimeoutError:
            pass
        probes.append(ar)
finally:
    open(flag, "w").close()
bpid = busy.get(60)
os.unlink(flag)
B = [e for e, p in pids.items() if p == bpid][0]
for ar in probes:
    ar.get(60)
on_b = [i + 1 for i, ar in enumerate(probes) if ar.engine_id == B]
what = "W: quick tasks added to the busy engine: %s" % (on_b or "none")
if scheme in ("leastload", "weighted"):
    t.eq(on_b, [], what + ": never (an idle engine is less loaded)")
elif scheme == "lru":
    t.eq(on_b, [3], what + ": the third (least recently used), then full at hwm 2")
elif scheme == "pure":
    t.eq(on_b, list(range(3, 25, 3)), what + ": every third (round robin, no hwm)")
else:
    t.eq(len(on_b), 1, what + ": one, at random (then full at hwm 2)")
t.done()
