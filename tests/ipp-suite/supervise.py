#!/usr/bin/python3
"""Run one command with a time bound and kill everything it started.

usage: supervise.py --timeout SECONDS --tag TOKEN -- CMD [ARGS...]

* This process makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER),
  so processes that detach from CMD (ipyparallel starts controllers and
  engines with start_new_session=True, `ipcluster start --daemonize`
  double-forks) are re-parented to us instead of to init, and stay findable
  as our descendants.
* CMD runs in its own process group.  When it exits, or when the time bound
  is hit, every remaining descendant is sent SIGTERM, then SIGKILL after a
  grace period - each by PID.
* As a second net, any process whose environment contains
  IPP_SUITE_TAG=<TOKEN> (the caller sets that variable, so everything the
  suite starts inherits it) is also killed by PID.  TOKEN is unique per run,
  so nothing that this run did not start is touched.  No process is ever
  selected by name.

Exit status: CMD's exit status, or 124 if the time bound was hit.
"""
import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def descendants(root):
    """PIDs of all descendants of root (via /proc/<pid>/task/*/children)."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        try:
            tasks = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                continue
            for k in kids:
                out.append(k)
                todo.append(k)
    return out


def tagged(tag):
    """PIDs (other than us) whose environment has IPP_SUITE_TAG=tag."""
    needle = ("IPP_SUITE_TAG=%s" % tag).encode()
    me = os.getpid()
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if needle in env:
            pids.append(int(d))
    return pids


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf8", "replace").strip()
    except OSError:
        return "?"


def alive(pid):
    """True unless pid is gone or a zombie (exited, only waiting to be reaped)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def kill_all(tag, grace=5.0):
    killed = {}
    for sig in (signal.SIGTERM, signal.SIGKILL):
        reap()
        pids = set(descendants(os.getpid()))
        if tag:
            pids |= set(tagged(tag))
        pids = {p for p in pids if alive(p)}
        if not pids:
            break
        for p in pids:
            if p not in killed:
                killed[p] = cmdline(p)
            try:
                os.kill(p, sig)
            except OSError:
                pass
        if sig == signal.SIGTERM:
            deadline = time.time() + grace
            while time.time() < deadline:
                reap()
                left = set(descendants(os.getpid()))
                if tag:
                    left |= set(tagged(tag))
                if not any(alive(p) for p in left):
                    break
                time.sleep(0.1)
    reap()
    return killed


def main(argv):
    timeout, tag = None, None
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] == "--timeout":
            timeout = float(argv[i + 1])
            i += 2
        elif argv[i] == "--tag":
            tag = argv[i + 1]
            i += 2
        else:
            sys.exit("supervise.py: unknown option %s" % argv[i])
    cmd = argv[i + 1 :]
    if not cmd:
        sys.exit("supervise.py: no command")

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("supervise.py: warning: PR_SET_CHILD_SUBREAPER failed", file=sys.stderr)

    # forward SIGTERM/SIGINT/SIGHUP to the child, then clean up as usual
    proc = subprocess.Popen(cmd, start_new_session=True)
    stop = {"sig": None}

    def on_signal(sig, frame):
        stop["sig"] = sig
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except OSError:
            pass

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)

    timed_out = False
    deadline = time.time() + timeout if timeout else None
    while True:
        try:
            rc = proc.wait(timeout=1.0)
            break
        except subprocess.TimeoutExpired:
            pass
        reap()  # orphans re-parented to us
        if stop["sig"] is not None:
            try:
                rc = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                rc = proc.wait()
            break
        if deadline and time.time() > deadline:
            timed_out = True
            print(
                "supervise.py: time bound of %ss hit, stopping %s" % (timeout, cmd[:3]),
                file=sys.stderr,
            )
            # SIGINT first: pytest then still writes its junit xml / summary
            try:
                os.killpg(proc.pid, signal.SIGINT)
                rc = proc.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                rc = proc.wait()
            break

    killed = kill_all(tag)
    if killed:
        print(
            "supervise.py: cleaned up %d leftover process(es):" % len(killed),
            file=sys.stderr,
        )
        for p in sorted(killed):
            print("  %d %s" % (p, killed[p][:200]), file=sys.stderr)
    if timed_out:
        return 124
    if stop["sig"] is not None:
        return 128 + stop["sig"]
    return rc if rc >= 0 else 128 - rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
