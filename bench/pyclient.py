"""pyclient.py - the Python-client half of bench/b-python-client.sh.

Connects an ipyparallel Client to the controller in --profile-dir, waits
for the engines, then measures, with the controller's CPU taken from
/proc around the phase (summed over the process tree rooted at
--controller-pid, since ipcontroller forks its schedulers):

  tasks:  --tasks no-op LoadBalancedView.apply_async calls, all awaited;
          controller CPU per task (item 4a)
  rtt:    --rtt LoadBalancedView.apply_sync calls one after another;
          the median round trip (item 4b)

Prints "key value" lines.  Run with /usr/bin/python3.
"""
import argparse
import os
import statistics
import sys
import time

import ipyparallel as ipp

HZ = os.sysconf("SC_CLK_TCK")


def noop():
    return None


def tree(pid):
    """pid and its descendants, from /proc."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_seconds(pids):
    t = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        t += int(fields[11]) + int(fields[12])
    return t / HZ


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile-dir", required=True)
    ap.add_argument("--controller-pid", type=int, required=True)
    ap.add_argument("--engines", type=int, default=2)
    ap.add_argument("--tasks", type=int, default=10000)
    ap.add_argument("--rtt", type=int, default=500)
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()

    rc = ipp.Client(profile_dir=a.profile_dir, timeout=30)
    rc.wait_for_engines(a.engines, timeout=120)
    lv = rc.load_balanced_view()
    for _ in range(20):  # warm up: function canning, connections
        lv.apply_sync(noop)

    pids = tree(a.controller_pid)
    c0 = cpu_seconds(pids)
    t0 = time.monotonic()
    ars = [lv.apply_async(noop) for _ in range(a.tasks)]
    rc.wait(ars, timeout=a.timeout)
    t1 = time.monotonic()
    c1 = cpu_seconds(pids)
    done = sum(1 for ar in ars if ar.ready())
    bad = sum(1 for ar in ars if ar.ready() and not ar.successful())
    print(f"tasks {done}")
    print(f"task_errors {bad}")
    print(f"tasks_wall_s {t1 - t0:.3f}")
    print(f"controller_cpu_s {c1 - c0:.3f}")
    print(f"cpu_us_per_task {(c1 - c0) / max(done, 1) * 1e6:.1f}")
    print(f"controller_processes {len(pids)}")

    lat = []
    for _ in range(a.rtt):
        s = time.perf_counter()
        lv.apply_sync(noop)
        lat.append((time.perf_counter() - s) * 1e6)
    lat.sort()
    print(f"rtt_calls {len(lat)}")
    print(f"rtt_p50_us {statistics.median(lat):.1f}")
    print(f"rtt_p90_us {lat[int(len(lat) * 0.9)]:.1f}")
    rc.close()
    sys.exit(0 if done == a.tasks and bad == 0 else 1)


if __name__ == "__main__":
    main()
