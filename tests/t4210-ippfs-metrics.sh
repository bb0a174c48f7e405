#!/usr/bin/env bash
# t4210-ippfs-metrics.sh - metrics/ipp.prom through the real consumer:
# prometheus-node-exporter's textfile collector pointed at the mounted
# metrics/ directory, scraped over 127.0.0.1.  After a known workload
# (2 engines, 30 tasks of which 5 raise) the ipp_* series are exported
# with the cluster's values, the exporter reports no parse error, the
# controller's queue figures and round trip appear, and st_size agrees
# with what a read returns.
# timeout: 120
. "$(dirname "$0")/lib.sh"
need_python_ipp
NODEEXP=$(command -v prometheus-node-exporter) ||
    skip "prometheus-node-exporter is not installed (scripts/deps.sh test)"
ippfs_cluster 2

for i in $(seq 30); do
	if [ $((i % 6)) = 0 ]; then printf 'raise ValueError(%d)\n' "$i"; else printf '%d\n' "$i"; fi
	printf '\036\n'
done > "$T_DIR/batch"
exec 3<>tasks/batch; cat "$T_DIR/batch" >&3; ids=$(cat <&3); exec 3>&-
exec 3<>tasks/waitall; echo $ids >&3; timeout 60 cat <&3 > "$T_DIR/wait"; exec 3>&-
check "30 tasks ended" test "$(tail -1 "$T_DIR/wait" | cut -d' ' -f3)" = 30/30

cat metrics/ipp.prom > "$T_DIR/ipp.prom"
check "ls metrics shows ipp.prom" test "$(ls metrics)" = ipp.prom
# as the exporter does it: open, read to the end, fstat; and stat, read
sizes=$($PY -c '
import os
with open("metrics/ipp.prom", "rb") as f:
    n = len(f.read()); print(n, os.fstat(f.fileno()).st_size, end=" ")
s = os.stat("metrics/ipp.prom").st_size
print(s, len(open("metrics/ipp.prom", "rb").read()))')
set -- $sizes
check "st_size is what a read returns (read $1, fstat $2; stat $3, read $4)" test "$1" = "$2" -a "$3" = "$4"
check "every family has HELP and TYPE" $PY - "$T_DIR/ipp.prom" <<'EOF'
import sys, re
fams, seen, help_, type_ = set(), set(), set(), set()
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# HELP "):
        help_.add(line.split()[2]); continue
    if line.startswith("# TYPE "):
        type_.add(line.split()[2]); continue
    m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$', line)
    assert m, "bad line: %r" % line
    float(m.group(3))
    assert (m.group(1), m.group(2)) not in seen, "duplicate " + line
    seen.add((m.group(1), m.group(2)))
    base = re.sub(r'_(bucket|sum|count)$', '', m.group(1))
    assert base in type_ or m.group(1) in type_, "no TYPE for " + line
    assert base in help_ or m.group(1) in help_, "no HELP for " + line
EOF

port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
spawn exporter "$NODEEXP" --web.listen-address=127.0.0.1:$port \
    --collector.disable-defaults --collector.textfile \
    --collector.textfile.directory="$MNT/metrics"
scrape() {
	$PY - "$port" > "$T_DIR/scrape" <<'EOF'
import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode())
EOF
}
wait_for 20 scrape || { no "the exporter answers"; cat "$T_DIR/exporter.log"; exit 1; }
val() { awk -v k="$1" '$1 == k { print $2 }' "$T_DIR/scrape"; }
check "no textfile scrape error" test "$(val node_textfile_scrape_error)" = 0 ||
    { grep -i error "$T_DIR/exporter.log" | tail -3; }
check "ipp_engines_up 2" test "$(val ipp_engines_up)" = 2
check "25 done" test "$(val 'ipp_tasks_completed_total{outcome="done"}')" = 25
check "5 failed" test "$(val 'ipp_tasks_completed_total{outcome="failed"}')" = 5
check "ipp_tasks_failed_total 5" test "$(val ipp_tasks_failed_total)" = 5
check "ipp_tasks done 30-5" test "$(val 'ipp_tasks{state="done"}')" = 25
check "histogram count 30" test "$(val ipp_task_duration_seconds_count)" = 30
check "histogram +Inf bucket 30" test "$(val 'ipp_task_duration_seconds_bucket{le="+Inf"}')" = 30
check "the mtime of the file is exported" grep -q '^node_textfile_mtime_seconds{file=".*ipp.prom"}' "$T_DIR/scrape"
# the controller's figures come from queue_requests sent while the file is read
rtt_seen() { scrape && grep -q '^ipp_controller_rtt_seconds ' "$T_DIR/scrape"; }
wait_for 20 rtt_seen && ok "the controller's round trip is exported ($(val ipp_controller_rtt_seconds) s)" ||
    no "the controller's round trip is exported"
check "queue depth per engine" test "$(grep -c '^ipp_queue_depth{engine=' "$T_DIR/scrape")" = 4
check "controller counts 30 completed" test "$(awk '/^ipp_engine_completed/ { s += $2 } END { print s }' "$T_DIR/scrape")" = 30
grep '^ipp_' "$T_DIR/scrape" | head -60 | sed 's/^/# /'
cd / || exit 1
exit $fail
