#!/usr/bin/env bash
# dump-overhead.sh: what `udsls --dump` costs the traffic it watches, and
# the traffic it does not.
#
# usage: scripts/dump-overhead.sh [--rounds N]
#
# A Unix stream transfer (scripts/dumpload: one client writing fixed-size
# chunks to a server that reads them) is timed in three settings, taken in
# turn, round after round, so that a machine growing busier or idler
# weighs on all three alike:
#
#   off      no dump running
#   watched  `udsls --dump` on the transfer's socket, writing a pcap
#            (default --max-bytes 4096) to a temporary file
#   other    `udsls --dump` on another socket: the cost every send on an
#            AF_UNIX socket pays while a dump runs anywhere
#
# for chunks of 64 B (the cost per call dominates), 4 KiB and 64 KiB (the
# copy dominates). It prints the median MB/s of each and the ratio to off.
# Run it as root on an idle machine; it takes a minute or two.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

rounds=5
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) rounds=$2; shift ;;
	*) echo "usage: $0 [--rounds N]" >&2; exit 2 ;;
	esac
	shift
done

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/udsls" ./cmd/udsls
go build -o "$tmp/dumpload" ./scripts/dumpload
for s in watched other; do
	"$tmp/dumpload" listen "$tmp/$s.sock" &
	pids+=($!)
done
until [ -S "$tmp/watched.sock" ] && [ -S "$tmp/other.sock" ]; do sleep 0.05; done

# dump TARGET starts a dump and waits until it is attached.
dump() {
	# The last dump's line must not pass for this one's.
	rm -f "$tmp/dump.err"
	"$tmp/udsls" --dump "$1" -w "$tmp/out.pcap" 2>"$tmp/dump.err" &
	dumppid=$!
	until grep -qs '^udsls: dumping' "$tmp/dump.err"; do
		kill -0 "$dumppid" 2>/dev/null || { cat "$tmp/dump.err" >&2; exit 1; }
		sleep 0.05
	done
}
undump() {
	kill -INT "$dumppid"
	wait "$dumppid" || true
	grep -h 'lost' "$tmp/dump.err" >&2 || true
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

printf '%-8s %-8s %10s %10s %8s\n' chunk setting MB/s writes/s ratio
for chunk in 64 4096 65536; do
	case $chunk in
	64) total=$((64 * 100000)) ;;
	4096) total=$((4096 * 50000)) ;;
	65536) total=$((65536 * 8000)) ;;
	esac
	: >"$tmp/off" ; : >"$tmp/watched" ; : >"$tmp/other"
	for _ in $(seq "$rounds"); do
		"$tmp/dumpload" send "$tmp/watched.sock" "$chunk" "$total" >>"$tmp/off"
		dump "$tmp/watched.sock"
		"$tmp/dumpload" send "$tmp/watched.sock" "$chunk" "$total" >>"$tmp/watched"
		undump
		dump "$tmp/other.sock"
		"$tmp/dumpload" send "$tmp/watched.sock" "$chunk" "$total" >>"$tmp/other"
		undump
	done
	off=$(cut -d' ' -f1 "$tmp/off" | median)
	for s in off watched other; do
		mb=$(cut -d' ' -f1 "$tmp/$s" | median)
		calls=$(cut -d' ' -f2 "$tmp/$s" | median)
		printf '%-8s %-8s %10s %10s %8s\n' "$chunk" "$s" "$mb" "$calls" "$(awk -v a="$mb" -v b="$off" 'BEGIN { printf "%.2f", a / b }')"
	done
done
