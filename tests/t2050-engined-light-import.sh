#!/usr/bin/env bash
# t2050-engined-light-import: engined's first apply imports ipyparallel's
# serialisation alone (engine.py, _serialize_alone), not the client stack,
# and everything that needs more still gets it: the stand-in constants
# agree with jupyter_client.session's, push/pull (ipyparallel.util) see
# the engine's namespace, ipyparallel's own names load the package,
# display() publishes once IPython is imported, numpy arrays imported
# after the first apply are still sent as buffers, a Reference resolves.
. "$(dirname "$0")/lib.sh"
need_python_ipp
one_engine_py <<'PYEOF'


def loaded():
    import sys
    return sorted(m for m in ("IPython", "zmq", "tornado", "jupyter_client",
                              "traitlets", "numpy", "ipyparallel.client")
                  if m in sys.modules)


t.eq(e.apply_sync(loaded), [], "a no-op apply loads none of the client stack")


def constants():
    import ipyparallel.serialize.serialize as s
    import jupyter_client.session as real
    return (s.MAX_ITEMS, s.MAX_BYTES) == (real.MAX_ITEMS, real.MAX_BYTES)


t.ok(e.apply_sync(constants), "stand-in MAX_ITEMS/MAX_BYTES are the real ones")
e.push({"pushed": 42})
t.eq(e.pull("pushed"), 42, "push and pull through ipyparallel.util")
t.eq(e.apply_sync(lambda: pushed + 1), 43, "pushed value in the namespace")


def package():
    import ipyparallel
    from ipyparallel.client.asyncresult import AsyncHubResult
    return ipyparallel.Client.__name__, AsyncHubResult.__name__


t.eq(list(e.apply_sync(package)), ["Client", "AsyncHubResult"],
     "the package's names and submodules load on use")

t.eq(e.apply_sync(lambda r: r, ipp.Reference("pushed")), 42, "Reference")


def show():
    from IPython.display import display
    display("shown")


ar = e.apply_async(show)
ar.get(30)
ar.wait_for_output(30)
t.ok(any("shown" in str(o.get("data", {}).get("text/plain", ""))
         for o in ar.outputs), "display() after IPython loads: display_data")

try:
    import numpy as np
except ImportError:
    t.ok(True, "numpy not installed: array cases skipped")
else:
    def arr(n):
        import numpy
        return numpy.arange(n, dtype=float)
    a = e.apply_sync(arr, 100000)
    t.ok(np.array_equal(a, np.arange(100000.)), "array made after numpy loads")
    t.ok(e.apply_sync(lambda x: float(x.sum()), np.ones(5000)) == 5000.0,
         "array argument")
t.done()
PYEOF
exit $fail
