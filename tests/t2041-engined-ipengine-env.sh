#!/usr/bin/env bash
# t2041-engined-ipengine-env: what user code finds around it is as under
# ipengine, checked side by side with a real ipengine on one hubd:
# - the working directory is first on sys.path (''), so a function
#   pickled by reference from a module there is found on the engine;
# - %matplotlib inline works, and a cell that plots sends its figure as
#   display_data (image/png) when it ends.
. "$(dirname "$0")/lib.sh"
need_python_ipp
$PY -c 'import matplotlib, matplotlib_inline' 2>/dev/null ||
    skip "python3-matplotlib is not installed"
mkdir -p "$T_DIR/cwd" "$T_DIR/mpl"
# private matplotlib caches, so a first run builds its font cache here
export MPLCONFIGDIR=$T_DIR/mpl
cat >"$T_DIR/cwd/t2041mod.py" <<'EOF'
def triple(x):
    return 3 * x
EOF
start_hubd --nodb
cd "$T_DIR/cwd" || exit 1
start_engined 1 --id=0
wait_engines 1 || exit 1
start_ipengines 1
$PY - "$PROFILE" <<'PYEOF' || fail=1
import os, sys, ipyparallel as ipp
from tap import Tap
import t2041mod
t = Tap()
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(2, timeout=60)
kinds = c[:].apply_sync(lambda: "_engined" in __import__("sys").modules)
views = {"engined": c[kinds.index(True)], "ipengine": c[kinds.index(False)]}
for name, v in sorted(views.items()):
    v.block = True
    t.eq(v.apply_sync(os.getcwd), os.getcwd(), "%s: runs in the cwd" % name)
    t.eq(v.apply_sync(lambda: __import__("sys").path[0]), "",
         "%s: '' is first on sys.path" % name)
    try:
        got = v.apply_sync(t2041mod.triple, 5)
    except Exception as e:
        got = e
    t.eq(got, 15, "%s: a function from a module in the cwd" % name)
outs = {}
for name, v in sorted(views.items()):
    ok = True
    for code in ("%matplotlib inline",
                 "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3]);"):
        ar = v.execute(code, block=False)
        try:
            ar.get(60)
            ar.wait_for_output(30)  # iopub may come after the reply
        except Exception as e:
            ok = t.ok(False, "%s: %r runs" % (name, code), e)
    if ok:
        t.ok(True, "%s: %%matplotlib inline and a plot run" % name)
    outs[name] = [sorted(o.get("data", {})) for o in ar.outputs]
    t.ok(any("image/png" in d for d in outs[name]),
         "%s: the figure came as display_data image/png" % name, outs[name])
    t.eq(v.apply_sync(lambda: __import__("matplotlib").get_backend()),
         "module://matplotlib_inline.backend_inline",
         "%s: the inline backend is active" % name)
t.eq(outs.get("engined"), outs.get("ipengine"),
     "the same display outputs as ipengine")
# a GUI toolkit: ipengine's kernel would run its event loop; engined has
# none, and says so (%gui reports errors on stderr, as IPython does)
ar = views["engined"].execute("%gui qt", block=False)
ar.get(30)
ar.wait_for_output(30)
t.ok("engined runs no GUI event loop" in ar.stderr,
     "engined: %gui qt refused with a clear message", ar.stderr)
t.done()
PYEOF
exit $fail
