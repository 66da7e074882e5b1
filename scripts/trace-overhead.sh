#!/usr/bin/env bash
# trace-overhead.sh: what `udsls --trace` costs the processes it traces.
#
# usage: sudo scripts/trace-overhead.sh [--rounds N] [--connects N]
#
# scripts/traceloop makes N connect(2)s to a listener of its own (default
# 50000), then 10N getppid(2)s: every syscall of the machine passes the
# sys_enter/sys_exit hooks --trace attaches, not only connects. Each round
# runs it once without a trace and once under `udsls --trace -o json`
# (output to /dev/null, every connect of the machine reported), and the
# table gives the mean CPU time per call (user and system of the loop's
# process, which on a busy machine varies far less than wall time) and
# the ratio, side by side, then the medians. Run it as root.
set -euo pipefail

rounds=5 connects=50000
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) rounds=$2; shift 2 ;;
	--connects) connects=$2; shift 2 ;;
	*) echo "usage: $0 [--rounds N] [--connects N]" >&2; exit 2 ;;
	esac
done

cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
tracer=
cleanup() {
	if [ -n "$tracer" ]; then kill -INT "$tracer" 2>/dev/null || true; wait "$tracer" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/udsls" ./cmd/udsls
go build -o "$tmp/traceloop" ./scripts/traceloop

printf '%-6s %12s %12s %7s   %12s %12s %7s\n' round connect-ns traced-ns ratio getppid-ns traced-ns ratio
: >"$tmp/rows"
for r in $(seq "$rounds"); do
	read -r c0 g0 < <("$tmp/traceloop" "$connects")
	"$tmp/udsls" --trace -o json >/dev/null 2>"$tmp/err" &
	tracer=$!
	until grep -q tracing "$tmp/err"; do
		kill -0 "$tracer" 2>/dev/null || { cat "$tmp/err" >&2; exit 1; }
		sleep 0.05
	done
	read -r c1 g1 < <("$tmp/traceloop" "$connects")
	kill -INT "$tracer"
	wait "$tracer" || true
	tracer=
	grep -v tracing "$tmp/err" >&2 || true
	echo "$c0 $c1 $g0 $g1" >>"$tmp/rows"
	awk -v r="$r" '{ printf "%-6s %12.0f %12.0f %7.2f   %12.1f %12.1f %7.2f\n", r, $1, $2, $2/$1, $3, $4, $4/$3 }' <<<"$c0 $c1 $g0 $g1"
done
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mc0=$(cut -d' ' -f1 "$tmp/rows" | median)
mc1=$(cut -d' ' -f2 "$tmp/rows" | median)
mg0=$(cut -d' ' -f3 "$tmp/rows" | median)
mg1=$(cut -d' ' -f4 "$tmp/rows" | median)
awk -v a="$mc0" -v b="$mc1" -v c="$mg0" -v d="$mg1" 'BEGIN { printf "%-6s %12.0f %12.0f %7.2f   %12.1f %12.1f %7.2f\n", "median", a, b, b/a, c, d, d/c }'
