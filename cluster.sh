#!/usr/bin/env bash
# cluster.sh - the one command that starts a local cluster on a fresh
# Debian 12 machine: installs what is missing, builds, then runs
# `launch start` in the foreground: hubd, N engined engines, and ippfs
# mounted at MOUNT.  Ctrl-C stops everything and unmounts.
# usage: ./cluster.sh [-n N] [--profile NAME] [--mount DIR]
set -eu
cd "$(dirname "$0")"
n=$(nproc)
profile=default
mnt=/tmp/ipp-$(id -un)
while [ $# -gt 0 ]; do
	case $1 in
	-n) n=$2; shift 2 ;;
	--profile) profile=$2; shift 2 ;;
	--mount) mnt=$2; shift 2 ;;
	*) echo "usage: $0 [-n N] [--profile NAME] [--mount DIR]" >&2; exit 2 ;;
	esac
done
scripts/deps.sh run
make -j2 >/dev/null
mkdir -p "$mnt"
cat <<MSG
Starting hubd and $n engines (profile '$profile'), files at $mnt.
When the cluster is up, from another shell:
    echo 'x = 6 * 7' > $mnt/engines/all/exec
    echo 'x' > $mnt/engines/0/exec; cat $mnt/engines/0/result
    cat $mnt/engines/index $mnt/status
or from Python:
    /usr/bin/python3 -c 'import ipyparallel as ipp; c = ipp.Client(profile="$profile"); print(c[:].apply_sync(lambda: 6 * 7))'
Press Ctrl-C here (or run: launch/launch stop --profile $profile) to stop.
MSG
exec launch/launch start -n "$n" --profile "$profile" --mount "$mnt"
