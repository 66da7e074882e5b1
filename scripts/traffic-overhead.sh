#!/usr/bin/env bash
# traffic-overhead.sh: what the BPF traffic counter (platform.OpenTraffic,
# shown by the watch view) costs a busy Unix socket, measured.
#
# usage: scripts/traffic-overhead.sh [--rounds N] [--time DURATION] [--size BYTES]
#                                    [--type stream|seqpacket|dgram]
#
# A 64-byte ping-pong between two threads over a socket pair runs with the
# counter off and on, in N alternating rounds (default 10 of 2s each way),
# first with the threads wherever the scheduler puts them, then both on
# CPU 0. Each round prints round trips per second and the CPU time spent
# per round trip, off and on, and their ratios; the last lines give the
# medians. Then one run with the kernel timing each run of the counting
# programs (BPF_ENABLE_STATS), which is their own cost without the
# tracepoints' calling them; stats themselves add about one clock read.
#
# Run it as root on an idle Linux machine: throughput on a shared one
# moves with its other tenants far more than with the counter, which is
# why rounds alternate and CPU per trip is shown too.
set -euo pipefail
cd "$(dirname "$0")/.."

args=()
while [ $# -gt 0 ]; do
	case $1 in
	--rounds | --time | --size | --type) args+=("-${1#--}" "$2"); shift ;;
	*) echo "usage: $0 [--rounds N] [--time DURATION] [--size BYTES] [--type stream|seqpacket|dgram]" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "traffic-overhead: error: run as root (loading BPF needs it)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/trafficbench" ./scripts/trafficbench

echo "# $(uname -sr), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/trafficbench" -rounds 10 -time 2s "${args[@]}"
echo
"$work/trafficbench" -rounds 10 -time 2s -cpu 0 "${args[@]}"
echo
"$work/trafficbench" -stats -time 2s "${args[@]}"
