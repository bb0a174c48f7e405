#!/usr/bin/env bash
# scripts/deps.sh - install the Debian packages the project needs, only
# when some are missing.  usage: scripts/deps.sh [SET...]   (default: all)
#   build   compilers and the libraries the programs link
#   run     what ./cluster.sh needs: build, fuse3, python3-ipyparallel
#   test    what ./test.sh needs beyond run: the tests' tools, the batch
#           systems they drive, and every module the recorded expected
#           counts of ipyparallel's suite assume (tests/ipp-suite/*.txt,
#           "# modules:" lines)
#   all     run + test (what .ci/run and ./test.sh install)
#   sge     Grid Engine, for "make check-batch" only (conflicts, see below)
#   fresh   mmdebstrap, for "make check-fresh" only
set -eu
build="build-essential pkg-config libzmq3-dev libjansson-dev libsqlite3-dev
	libsodium-dev nettle-dev libpython3-dev libfuse3-dev"
# python3-traitlets evaluates the profile's *_config.py (libipp/pyconf.c)
run="$build fuse3 python3 python3-ipyparallel python3-jupyter-client
	python3-traitlets"
# the reference peer's test suite, the tests' tools (libclang-rt-dev:
# libFuzzer for t0110, not pulled in by clang without recommends;
# python3-ipython: "ipython profile create" in t3130), the batch systems
# t3040-t3065 drive, and the optional modules ipyparallel's suite skips
# tests without (numpy: ~19 tests, matplotlib: the %pylab tests)
test="python3-pytest python3-zmq procps psmisc valgrind clang libclang-rt-dev
	python3-ipython
	python3-pytest-asyncio python3-pytest-tornado python3-pytest-timeout
	python3-testpath python3-joblib python3-cloudpickle
	python3-numpy python3-matplotlib
	openmpi-bin python3-mpi4py openssh-server openssh-client
	slurm-wlm munge slurm-wlm-torque iproute2 util-linux
	chromium python3-pil prometheus-node-exporter"
# Grid Engine for "make check-batch" (tests/t3100): only on request, since
# gridengine-client and slurm-wlm-torque both ship /usr/bin/qsub and
# conflict; apt removes slurm-wlm-torque (the PBS part of t3050 is then
# skipped).  The debconf answers make the master's postinst create the
# cell for this host.
sge="gridengine-master gridengine-exec gridengine-client"
fresh="mmdebstrap"
[ $# -eq 0 ] && set -- all
want=
for set in "$@"; do
	case $set in
	build) want="$want $build" ;;
	run) want="$want $run" ;;
	test) want="$want $test" ;;
	all) want="$want $run $test" ;;
	fresh) want="$want $fresh" ;;
	sge) want="$want $sge"
	     for p in gridengine-common gridengine-master gridengine-client \
		 gridengine-exec; do
		printf '%s shared/gridengineconfig boolean true\n' "$p"
		printf '%s shared/gridenginecell string default\n' "$p"
		printf '%s shared/gridenginemaster string %s\n' "$p" "$(hostname)"
	     done | $([ "$(id -u)" -eq 0 ] || echo sudo) debconf-set-selections 2>/dev/null || true ;;
	*) echo "usage: $0 [build|run|test|all|sge|fresh]..." >&2; exit 2 ;;
	esac
done
missing=()
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
