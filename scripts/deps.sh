#!/usr/bin/env bash
# scripts/deps.sh - install the Debian packages the project needs, only
# when some are missing.  usage: scripts/deps.sh [build|test|all|sge]
set -eu
build="build-essential pkg-config libzmq3-dev libjansson-dev libsqlite3-dev
	libsodium-dev libpython3-dev libfuse3-dev fuse3"
# the reference peer and the test tools
test="python3 python3-ipyparallel python3-jupyter-client python3-pytest
	python3-traitlets python3-ipython
	python3-zmq procps psmisc valgrind clang
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
case "${1:-all}" in
build) want=$build ;;
test|all) want="$build $test" ;;
sge) want=$sge
     for p in gridengine-common gridengine-master gridengine-client \
	 gridengine-exec; do
	printf '%s shared/gridengineconfig boolean true\n' "$p"
	printf '%s shared/gridenginecell string default\n' "$p"
	printf '%s shared/gridenginemaster string %s\n' "$p" "$(hostname)"
     done | $([ "$(id -u)" -eq 0 ] || echo sudo) debconf-set-selections 2>/dev/null || true ;;
*) echo "usage: $0 [build|test|all|sge]" >&2; exit 2 ;;
esac
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
