#!/usr/bin/env bash
# t0001-readme: every command the README and doc/ippfs.1's EXAMPLES show,
# extracted from them by scripts/readme-run (not copied here), runs with
# its output checked: the README's run command (./cluster.sh -n 4, with a
# private mount point and IPYTHONDIR) brings up the cluster, each example
# runs against it, and a Ctrl-C to its process group stops everything and
# unmounts.  ./test.sh and the long make targets are covered elsewhere
# (make check-fresh, CI); the output says so line by line.
# timeout: 900
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -c /dev/fuse ] || skip "no /dev/fuse"
mkdir -p "$T_DIR/mnt"
T_HOOKS+=("mountpoint -q '$T_DIR/mnt' && { fusermount3 -u '$T_DIR/mnt' || umount -l '$T_DIR/mnt'; }")
"$T_TOP/scripts/readme-run" --mount "$T_DIR/mnt" || fail=1
exit $fail
