#!/usr/bin/env bash
# watch-cost.sh: the CPU `udsls --watch` takes at the default interval of
# 1s on live sockets it opens itself, as a share of one CPU (the goal: 10%
# at 10k sockets).
#
# usage: scripts/watch-cost.sh [--sockets N] [--seconds S]
#
# It starts `udsls --serve --count N/3` (a listener, an accepted connection
# and a client per set), waits for its manifest, then runs for S seconds
# (default 30) each of:
#
#   --watch -o json        JSON lines of the default view, to /dev/null
#   --watch -a -o json     every socket
#   --watch -a             timed tables, to /dev/null
#   --watch -a in tmux     the full-screen view at 80x24 (when tmux is here)
#
# and prints user+system CPU seconds (GNU time) over S. Run it as root on
# an idle machine; root lets the holders be found with the BPF iterator,
# which a watch loads once. On a busy one, `unshare -n scripts/watch-cost.sh`
# keeps other sockets out of the count (not out of the fd scan).
set -euo pipefail
cd "$(dirname "$0")/.."

sockets=10000
seconds=30
while [ $# -gt 0 ]; do
	case $1 in
	--sockets) sockets=$2; shift ;;
	--seconds) seconds=$2; shift ;;
	*) echo "usage: $0 [--sockets N] [--seconds S]" >&2; exit 2 ;;
	esac
	shift
done

die() { echo "watch-cost: error: $*" >&2; exit 1; }
[ -x /usr/bin/time ] || die "GNU time is needed: apt-get install time"

work=$(mktemp -d "${TMPDIR:-/tmp}/udsls-watch-cost.XXXXXX")
server=
cleanup() {
	# SIGTERM lets the server remove its socket files.
	[ -z "$server" ] || { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; }
	[ ! -S "$work/tmux" ] || tmux -S "$work/tmux" kill-server 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

go build -o "$work/udsls" ./cmd/udsls
udsls=$work/udsls

# A file, not a pipe: the server ends when the reader of its output does.
"$udsls" --serve --count $((sockets / 3)) -o json "$work/run" >"$work/manifest.json" 2>"$work/serve.err" &
server=$!
until [ -s "$work/manifest.json" ] && [ -z "$(tail -c 1 "$work/manifest.json")" ]; do
	kill -0 "$server" 2>/dev/null || die "udsls --serve failed: $(cat "$work/serve.err")"
	sleep 0.05
done
total=$(($("$udsls" -a -o json | grep -c '^      "path": ') + 0))
echo "watch-cost: $total sockets in this network namespace, $seconds s per run, interval 1s"

# report LABEL: CPU seconds from $work/time over $seconds.
report() {
	read -r user sys <"$work/time"
	awk -v l="$1" -v u="$user" -v s="$sys" -v t="$seconds" \
		'BEGIN { printf "%-26s %6.2f s CPU  %5.1f%% of one CPU\n", l, u + s, 100 * (u + s) / t }'
}

for args in "-o json" "-a -o json" "-a"; do
	# shellcheck disable=SC2086 # the flags are words
	/usr/bin/time -f "%U %S" -o "$work/time" "$udsls" --watch -q $args --for "${seconds}s" >/dev/null
	report "--watch $args"
done

if command -v tmux >/dev/null; then
	tmux -S "$work/tmux" -f /dev/null new-session -d -x 80 -y 24 \
		"/usr/bin/time -f '%U %S' -o '$work/time.tmp' '$udsls' --watch -a --for ${seconds}s; mv '$work/time.tmp' '$work/time.done'"
	until [ -e "$work/time.done" ]; do sleep 0.2; done
	mv "$work/time.done" "$work/time"
	report "--watch -a (80x24 view)"
else
	echo "watch-cost: no tmux: the full-screen view is not measured" >&2
fi
