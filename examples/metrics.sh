#!/usr/bin/env bash
# metrics.sh - a one-line summary of the cluster from metrics/ipp.prom,
# the file prometheus-node-exporter's textfile collector exports.
# usage: metrics.sh MOUNTPOINT
# Prints e.g. "engines 3 up, tasks 120 done 5 failed 0 running, mean 0.012 s".
# To export the same file to Prometheus:
#   prometheus-node-exporter --collector.textfile.directory=MOUNTPOINT/metrics
set -eu
awk '
/^#/ { next }
$1 == "ipp_engines_up" { up = $2 }
$1 == "ipp_tasks_completed_total{outcome=\"done\"}" { done = $2 }
$1 == "ipp_tasks_failed_total" { failed = $2 }
$1 == "ipp_tasks{state=\"running\"}" { running = $2 }
$1 == "ipp_task_duration_seconds_sum" { sum = $2 }
$1 == "ipp_task_duration_seconds_count" { n = $2 }
END {
	printf "engines %d up, tasks %d done %d failed %d running, mean %.3f s\n",
	    up, done, failed, running, (n > 0 ? sum / n : 0)
}' "$1/metrics/ipp.prom"
