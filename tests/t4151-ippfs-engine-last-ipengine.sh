#!/usr/bin/env bash
# t4151-ippfs-engine-last-ipengine.sh - t4150 (engines/N/result and its
# siblings follow the last task; host and pid of each engine) over the
# real ipcontroller and ipengines, with 5 rounds of the README's idiom.
T4150_IPCONTROLLER=1 exec bash "$(dirname "$0")/t4150-ippfs-engine-last.sh"
