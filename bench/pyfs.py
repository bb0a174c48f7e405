"""pyfs.py - the Python-client half of bench/b-ippfs.sh.

Does through ipyparallel.Client what tools/fsbench does through ippfs,
against the same kind of cluster (hubd and two engined):

  exec:  --rtt DirectView.execute(CODE, silent=False, block=True) calls
         on engine 0, one after another, each also waiting for the
         value (iopub's execute_result; ippfs's round trip submits code
         and reads its result); p50 and p90
  tasks: --tasks LoadBalancedView.apply_async(f) calls submitted at
         once, f returning 6 * 7 (a LoadBalancedView has no execute),
         then every result awaited, --repeat rounds; tasks/s, median
  push:  DirectView.push({'x': bytes of --push-mb megabytes}, block=True)
         to engine 0, --push-n times after one warm-up; MB/s, median;
         then DirectView.pull('x', block=True) as many times (pull)

Prints "key value" lines.  Run with /usr/bin/python3.
"""
import argparse
import statistics
import time

import ipyparallel as ipp


def six_times_seven():
    return 6 * 7


def pct(v, p):
    v = sorted(v)
    return v[int(p * (len(v) - 1) + 0.5)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile-dir", required=True)
    ap.add_argument("--engines", type=int, default=2)
    ap.add_argument("--code", default="6 * 7")
    ap.add_argument("--rtt", type=int, default=500)
    ap.add_argument("--tasks", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--push-mb", type=float, default=100)
    ap.add_argument("--push-n", type=int, default=3)
    ap.add_argument("--only", default="exec,tasks,push")
    a = ap.parse_args()
    only = a.only.split(",")

    rc = ipp.Client(profile_dir=a.profile_dir, timeout=30)
    rc.wait_for_engines(a.engines, timeout=120)
    dv = rc[0]
    lv = rc.load_balanced_view()

    if "exec" in only:
        def one():
            # silent=False: the value comes back, as tasks/ID/result has it
            ar = dv.execute(a.code, silent=False, block=True)
            ar.wait_for_output()
            return ar

        for _ in range(20):
            one()
        us = []
        for _ in range(a.rtt):
            t0 = time.perf_counter()
            ar = one()
            us.append((time.perf_counter() - t0) * 1e6)
        print(f"exec_n {a.rtt}")
        print(f"exec_p50_us {pct(us, 0.5):.1f}")
        print(f"exec_p90_us {pct(us, 0.9):.1f}")
        res = ar.get().execute_result or {"data": {}}
        print(f"exec_last_result {res['data'].get('text/plain')}")

    if "tasks" in only:
        rates = []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            ars = [lv.apply_async(six_times_seven) for _ in range(a.tasks)]
            t1 = time.perf_counter()
            for ar in ars:
                ar.get(timeout=600)
            t2 = time.perf_counter()
            rates.append(a.tasks / (t2 - t0))
            print(f"tasks_round {a.tasks} submit_s {t1 - t0:.3f} "
                  f"total_s {t2 - t0:.3f} tasks_per_s {rates[-1]:.0f}")
            try:
                rc.purge_everything()
            except Exception:  # hubd --nodb keeps no results to purge
                pass
        print(f"tasks_per_s {statistics.median(rates):.0f}")

    if "push" in only:
        data = bytes(range(256)) * int(a.push_mb * 1e6 / 256)
        dv.push({"x": data}, block=True)
        secs = []
        for _ in range(a.push_n):
            t0 = time.perf_counter()
            dv.push({"x": data}, block=True)
            secs.append(time.perf_counter() - t0)
        s = statistics.median(secs)
        print(f"push_bytes {len(data)}")
        print(f"push_s_p50 {s:.4f}")
        print(f"push_mb_per_s {len(data) / 1e6 / s:.1f}")
        # pull: the same value back, as ns/x.raw's read does
        dv.pull("x", block=True)
        secs = []
        for _ in range(a.push_n):
            t0 = time.perf_counter()
            got = dv.pull("x", block=True)
            secs.append(time.perf_counter() - t0)
            assert len(got) == len(data)
        s = statistics.median(secs)
        print(f"pull_mb_per_s {len(data) / 1e6 / s:.1f}")
        dv.execute("del x", block=True)
    rc.close()


if __name__ == "__main__":
    main()
