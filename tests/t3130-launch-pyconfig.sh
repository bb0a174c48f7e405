#!/usr/bin/env bash
# t3130-launch-pyconfig: a profile made by IPython's own "ipython profile
# create --parallel", edited only in its Python config files, started
# with "launch start --profile NAME" and no options: the engine count and
# launcher (ipcluster_config.py), the scheme, DB class and SQLite table
# (ipcontroller_config.py, read by hubd) and an engine startup_command
# (ipengine_config.py, read by engined) each take effect.  An unknown
# class is warned about by name; a syntax error in ipcluster_config.py
# stops the start, naming the file and line.
# timeout: 120
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
$PY -c 'import IPython' 2>/dev/null || skip "python3-ipython is not installed"

NAME=t3130
P=$IPYTHONDIR/profile_$NAME
$PY -m IPython profile create --parallel --profile=$NAME >"$T_DIR/create.log" 2>&1 ||
    { cat "$T_DIR/create.log"; no "ipython profile create"; exit 1; }
for f in ipcluster ipcontroller ipengine; do
	test -s "$P/${f}_config.py" || { no "no ${f}_config.py"; exit 1; }
done
ok "ipython profile create --parallel --profile=$NAME"

# MPI when Open MPI and mpi4py are there, else the local launcher
if command -v mpiexec >/dev/null && $PY -c 'import mpi4py' 2>/dev/null; then
	KIND=MPI WANT=mpi
else
	KIND=Local WANT=local
	echo "# no mpiexec/mpi4py: the engine launcher checked is Local"
fi
cat >>"$P/ipcluster_config.py" <<PYEOF
c.IPClusterEngines.n = 3
c.IPClusterEngines.engine_launcher_class = '$KIND'
c.Cluster.engine_timeout = 60
c.NoSuchLauncherThing.x = 1
PYEOF
cat >>"$P/ipcontroller_config.py" <<'PYEOF'
c.TaskScheduler.scheme_name = 'lru'
c.IPController.db_class = 'ipyparallel.controller.sqlitedb.SQLiteDB'
c.SQLiteDB.table = 't3130-table'
PYEOF
cat >>"$P/ipengine_config.py" <<'PYEOF'
c.IPEngine.startup_command = 't3130_name = "defined at start " + str(6 * 7)'
PYEOF

"$LAUNCH" start --profile $NAME >"$T_DIR/out" 2>&1 &
LPID=$!
T_PIDS+=("$LPID")
wait_for 90 grep -q "registered: 3/3" "$T_DIR/out" ||
    { cat "$T_DIR/out"; tail "$P"/log/*.log; no "3 engines"; exit 1; }
ok "c.IPClusterEngines.n = 3: 3 engines registered"
check "unknown class named in a warning" grep -q "unknown class 'NoSuchLauncherThing'" "$T_DIR/out"
check "c.IPClusterEngines.engine_launcher_class = '$KIND'" \
    sh -c "'$LAUNCH' list --profile $NAME | grep -q ' $WANT\$'"

$PY - "$P" <<'PYEOF' >"$T_DIR/py.out" 2>&1
import sys, json, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=10)
c.wait_for_engines(3, timeout=30)
print("names", c[:].pull("t3130_name", block=True))
print("scheme", json.load(open(sys.argv[1] + "/security/ipcontroller-client.json"))["task_scheme"])
v = c.load_balanced_view()
print("tasks", v.map_sync(lambda x: x * 2, range(6)))
c.close()
PYEOF
cat "$T_DIR/py.out"
check "c.IPEngine.startup_command: its name is defined on every engine" \
    grep -q "names \['defined at start 42', 'defined at start 42', 'defined at start 42'\]" "$T_DIR/py.out"
check "c.TaskScheduler.scheme_name = 'lru': the client file says so" grep -q "scheme lru" "$T_DIR/py.out"
check "tasks ran" grep -q "tasks \[0, 2, 4, 6, 8, 10\]" "$T_DIR/py.out"
check "hubd runs the lru scheme with SQLite" grep -q "scheme lru, db sqlite" "$P"/log/ipcontroller*.log
rows=$($PY - "$P/hubd-tasks.db" <<'PYEOF'
import sys, sqlite3
db = sqlite3.connect(sys.argv[1])
print(db.execute('select count(*) from "t3130-table"').fetchone()[0])
PYEOF
)
check "c.SQLiteDB.table: the tasks are in table t3130-table ($rows rows)" test "${rows:-0}" -ge 6

kill -INT "$LPID"
wait_for 20 sh -c "! kill -0 $LPID" || no "launch stops on SIGINT"
wait "$LPID"
check "the cluster is gone" sh -c "! ls '$P'/security/cluster-*.json 2>/dev/null"

# a syntax error stops the start, naming the file and line
B=$IPYTHONDIR/profile_${NAME}bad
$PY -m IPython profile create --parallel --profile=${NAME}bad >/dev/null 2>&1
line=$(($(wc -l <"$B/ipcluster_config.py") + 2))
printf 'c.Cluster.n = 2\nc.Cluster.engine_launcher_class = (\n' >>"$B/ipcluster_config.py"
"$LAUNCH" start --profile ${NAME}bad --daemonize >"$T_DIR/bad" 2>&1
rc=$?
cat "$T_DIR/bad"
check "a syntax error stops the start (exit 1)" test $rc -eq 1
check "the error names ipcluster_config.py:$line" grep -q "ipcluster_config.py:$line: SyntaxError" "$T_DIR/bad"
check "nothing was started" sh -c "! ls '$B'/security/cluster-*.json '$B'/pid/*.pid 2>/dev/null"
exit $fail
