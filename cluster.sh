#!/usr/bin/env bash
# cluster.sh - the one command that starts a local cluster on a fresh
# Debian 12 machine: installs what is missing, builds, starts hubd and N
# engined engines (or Python's ipengines with --ipengine) in profile
# PROFILE, prints how to use it, and stops everything on Ctrl-C.
# usage: ./cluster.sh [-n N] [--profile NAME] [--ipengine]
set -eu
cd "$(dirname "$0")"
n=$(nproc)
profile=default
engine=engined
while [ $# -gt 0 ]; do
	case $1 in
	-n) n=$2; shift 2 ;;
	--profile) profile=$2; shift 2 ;;
	--ipengine) engine=ipengine; shift ;;
	*) echo "usage: $0 [-n N] [--profile NAME] [--ipengine]" >&2; exit 2 ;;
	esac
done
scripts/deps.sh all
make -j2 >/dev/null
pids=()
stop() {
	trap - INT TERM EXIT
	echo
	echo "stopping cluster"
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap stop INT TERM EXIT
./hubd/hubd --profile="$profile" &
pids+=($!)
top=${IPYTHONDIR:-$HOME/.ipython}/profile_$profile
for _ in $(seq 100); do
	[ -s "$top/security/ipcontroller-engine.json" ] && break
	sleep 0.05
done
mkdir -p "$top/log"
for i in $(seq "$n"); do
	if [ "$engine" = engined ]; then
		./engined/engined --profile="$profile" \
		    >"$top/log/engined-$i.log" 2>&1 &
	else
		/usr/bin/python3 -m ipyparallel.engine --profile="$profile" \
		    --log-level=WARN >"$top/log/ipengine-$i.log" 2>&1 &
	fi
	pids+=($!)
done
/usr/bin/python3 - "$profile" "$n" <<'PY'
import sys, ipyparallel as ipp
c = ipp.Client(profile=sys.argv[1], timeout=20)
c.wait_for_engines(int(sys.argv[2]), timeout=60)
print("cluster up: %d engines, ids %s" % (len(c.ids), c.ids))
PY
cat <<MSG

Use it from Python (in another shell):
    /usr/bin/python3 -c 'import ipyparallel as ipp; c = ipp.Client(profile="$profile"); print(c[:].apply_sync(lambda: 6 * 7))'
Connection files: $top/security/   Engine logs: $top/log/
Press Ctrl-C to stop the cluster.
MSG
wait "${pids[0]}"
