#!/usr/bin/env bash
# t3040-launch-mpi: 4 engines as one Open MPI job (mpiexec, as root, more
# ranks than cores) with mpi4py; engine ids are the MPI ranks and the
# engines can talk MPI to each other.  Skipped without mpiexec/mpi4py.
# timeout: 300
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
command -v mpiexec >/dev/null || skip "no mpiexec (apt-get install openmpi-bin)"
$PY -c 'import mpi4py' 2>/dev/null || skip "no mpi4py (apt-get install python3-mpi4py)"

launch_cmd start -n 4 --daemonize --engines mpi --timeout=120 >"$T_DIR/out" 2>&1 ||
    { cat "$T_DIR/out"; no "start --engines mpi"; exit 1; }
ok "4 MPI engines registered"
$PY - "$PROFILE" <<'PYEOF' || exit 1
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=10)
c.wait_for_engines(4, timeout=30)
def info():
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    return comm.Get_rank(), comm.Get_size(), comm.allreduce(comm.Get_rank())
r = c[:].apply_sync(info)
print("# ids", c.ids, "ranks", r)
assert sorted(c.ids) == [0, 1, 2, 3], c.ids
assert [x[0] for x in r] == c.ids, (c.ids, r)
assert all(x[1] == 4 and x[2] == 6 for x in r), r
print("ok - engine ids are MPI ranks; allreduce across engines works")
c.close()
PYEOF
pids=$(launch_pids)
ranks=$(pgrep -f -- "engined --profile-dir=$PROFILE" | tr '\n' ' ')
launch_cmd stop >/dev/null 2>&1 || { no "stop"; exit 1; }
# shellcheck disable=SC2086
pids_gone $pids $ranks || { no "MPI processes left"; exit 1; }
ok "stop ended mpiexec and every rank"
exit $fail
