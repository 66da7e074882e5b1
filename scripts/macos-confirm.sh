#!/usr/bin/env bash
# Run once on a Mac to confirm the macOS backend against the real tools:
#   scripts/macos-confirm.sh [OUTDIR]
# It builds udsls, opens the test server's sockets, captures lsof and
# netstat while they are open, runs udsls live and on the captures, and
# packs everything into OUTDIR.tar.gz. Run it with sudo to see every
# process's sockets; without, lsof lists only your own.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-udsls-macos-confirm-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
tmp=$(mktemp -d)
bin=$tmp/udsls
trap 'rm -rf "$tmp"' EXIT
go -C "$repo" build -o "$bin" ./cmd/udsls

"$bin" --serve -o json "$out/serve" >"$out/manifest.json" 2>"$out/serve.stderr" &
serve=$!
trap 'kill "$serve" 2>/dev/null || true; wait "$serve" 2>/dev/null || true; rm -rf "$tmp"' EXIT
# The manifest is one JSON line, printed once every socket is open.
for _ in $(seq 100); do
	grep -q '}$' "$out/manifest.json" 2>/dev/null && break
	kill -0 "$serve" 2>/dev/null || { cat "$out/serve.stderr" >&2; exit 1; }
	sleep 0.1
done
grep -q '}$' "$out/manifest.json" || { echo "udsls --serve printed no manifest" >&2; exit 1; }

{ sw_vers; uname -a; id -u; lsof -v 2>&1 | sed -n 2p; } >"$out/system.txt" 2>&1 || true
# The fields are darwin.LsofFields; lsof exits 1 when some process could
# not be examined, which is not a failure.
lsof -U -n -P -w -F pcuLftdinT0 >"$out/lsof-F0.txt" || [ $? -eq 1 ]
lsof -U -n -P -w >"$out/lsof.txt" || [ $? -eq 1 ]
netstat -f unix -n -v >"$out/netstat-v.txt"
netstat -f unix -n >"$out/netstat.txt"

run() { # name, udsls arguments...
	name=$1
	shift
	status=0
	"$bin" "$@" >"$out/$name.out" 2>"$out/$name.stderr" || status=$?
	echo "udsls $* -> exit $status" >>"$out/runs.txt"
}
run live-json -a -o json
run live-table -a
run from-v-json -a -o json --from "lsof:$out/lsof-F0.txt" --from "netstat:$out/netstat-v.txt"
run from-plain-json -a -o json --from "lsof:$out/lsof-F0.txt" --from "netstat:$out/netstat.txt"
run from-table-json -a -o json --from "lsof:$out/lsof.txt" --from "netstat:$out/netstat.txt"

kill "$serve" 2>/dev/null || true
wait "$serve" 2>/dev/null || true
tar -czf "$out.tar.gz" "$out"
cat "$out/runs.txt"
echo
echo "Please send back $out.tar.gz (or file an issue with it attached)."
echo "It holds this Mac's socket paths, process names and user names: look"
echo "through $out/ first and remove anything private."
