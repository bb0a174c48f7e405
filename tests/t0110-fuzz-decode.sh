#!/usr/bin/env bash
# t0110-fuzz-decode: a short libFuzzer run of the message decoder (with
# ASan and UBSan).  Longer runs: tests/fuzz/run-fuzz.sh SECONDS.
exec "$(dirname "$0")/fuzz/run-fuzz.sh" "${FUZZ_SECONDS:-20}"
