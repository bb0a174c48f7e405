"""tap.py - a small TAP producer for the Python-driven scenario tests.

Each check prints "ok N - name" or "not ok N - name" with the reason;
done() prints the plan and exits 1 when anything failed, so the shell
test that runs the script fails too.
"""
import sys
import time
import traceback


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, detail=""):
        self.n += 1
        if cond:
            print("ok %d - %s" % (self.n, name), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, name), flush=True)
            if detail:
                for line in str(detail).splitlines():
                    print("#   " + line)
        return cond

    def eq(self, got, want, name):
        return self.ok(got == want, name, "got:  %r\nwant: %r" % (got, want))

    def case(self, name):
        """Decorator: run the function now; an exception is a failure."""
        def run(fn):
            t0 = time.time()
            try:
                fn()
            except Exception:
                self.ok(False, name + " (raised)", traceback.format_exc())
            else:
                print("# %s: %.2fs" % (name, time.time() - t0), flush=True)
            return fn
        return run

    def raises(self, fn, ename, name):
        """fn() must raise a RemoteError (or subclass) named ename."""
        try:
            r = fn()
        except Exception as e:
            got = getattr(e, "ename", type(e).__name__)
            return self.eq(got, ename, name)
        return self.ok(False, name, "no exception; returned %r" % (r,))

    def done(self):
        print("1..%d" % self.n)
        if self.failed:
            print("# %d of %d failed" % (self.failed, self.n))
        sys.exit(1 if self.failed else 0)
