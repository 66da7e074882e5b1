#!/usr/bin/env bash
# bench.sh: how long a full listing takes next to ss, netstat, lsof and the
# floor, on live sockets it opens itself.
#
# usage: scripts/bench.sh [--big] [--runs N] [--sizes "1000 10000 50000"]
#                         [--baseline UDSLS]
#
#   --big     add a run at 200k sockets (without netstat and lsof, which
#             take minutes there, and with at most 3 runs)
#   --runs N  timed runs per command and size (default 7); the table shows
#             medians
#   --baseline UDSLS
#             also time `-a` and `-a -o json` of another udsls binary (an
#             older build) in the same rounds, and take the peak RSS of
#             both in turns, $runs times: the two side by side, as ratios
#
# For each size it starts `udsls --serve --count N -o json` in several
# processes (sets of listener, accepted connection and client: 3 sockets
# each), waits for each manifest line, then times, each command in turn:
#
#   udsls -a -o json   every socket with processes, peers and file status
#   udsls -a           the same as the table a person reads
#   --fd-source bpf, --fd-source procfs
#                      the same, with the holders found by the BPF iterator
#                      and by the /proc/*/fd walk, whatever auto would pick
#   ss -xap, netstat -xap, lsof -U
#   floor              one sock_diag dump and one /proc/*/fd walk joined in
#                      a map (scripts/benchtool), the least work a listing
#                      with processes needs
#   udsls              the default view, and filtered by -p PID and by path
#
# plus udsls's peak RSS (GNU time), and at the end `udsls --stale` over a
# tree of 100k files next to `find -type s`. Run it as root on an idle Linux
# machine: ss, netstat and lsof only see every process as root. It installs
# what it needs with apt-get and takes a few minutes (more with --big).
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C # a decimal point in EPOCHREALTIME

runs=7
sizes="1000 10000 50000"
baseline=
while [ $# -gt 0 ]; do
	case $1 in
	--big) sizes="$sizes 200000" ;;
	--runs) runs=$2; shift ;;
	--sizes) sizes=$2; shift ;;
	--baseline) baseline=$(realpath "$2"); shift ;;
	*) echo "usage: $0 [--big] [--runs N] [--sizes \"N ...\"] [--baseline UDSLS]" >&2; exit 2 ;;
	esac
	shift
done

die() { echo "bench: error: $*" >&2; exit 1; }

# install PACKAGE... with apt-get, refreshing the lists only if needed.
install() {
	echo "bench: installing $*" >&2
	apt-get install -y -qq "$@" >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null && apt-get install -y -qq "$@" >/dev/null; } ||
		die "cannot install $*"
}
missing=()
[ -x /usr/bin/time ] || missing+=(time)
command -v ss >/dev/null || missing+=(iproute2)
command -v netstat >/dev/null || missing+=(net-tools)
command -v lsof >/dev/null || missing+=(lsof)
if [ ${#missing[@]} -gt 0 ]; then install "${missing[@]}"; fi
command -v go >/dev/null || die "go is needed to build udsls"

work=$(mktemp -d "${TMPDIR:-/tmp}/udsls-bench.XXXXXX")
servers=()
stop_servers() {
	# SIGTERM lets each server remove its socket files.
	if [ ${#servers[@]} -gt 0 ]; then
		kill "${servers[@]}" 2>/dev/null || true
		wait "${servers[@]}" 2>/dev/null || true
	fi
	servers=()
}
trap 'stop_servers; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

go build -o "$work/udsls" ./cmd/udsls
go build -o "$work/benchtool" ./scripts/benchtool
udsls=$work/udsls

# A process may hold at most RLIMIT_NOFILE descriptors (hard 20000 on the
# machine this was written on), so no server gets more than 6000 sets; and
# to look like a real machine, where sockets are spread over many
# processes, none gets more than 260 sets up to 64 processes.
nofile=$(ulimit -Hn)
max_sets=6000
if [ "$nofile" != unlimited ] && [ $(((nofile - 200) / 3)) -lt $max_sets ]; then
	max_sets=$(((nofile - 200) / 3))
fi

# start_load N: serve about N sockets (the fixed sockets of each server
# count too), leaving pid and path of one set in load_pid and load_path.
start_load() {
	local sets=$(($1 / 3)) procs per i
	procs=$(((sets + 259) / 260))
	[ "$procs" -le 64 ] || procs=64
	[ $(((sets + procs - 1) / procs)) -le "$max_sets" ] || procs=$(((sets + max_sets - 1) / max_sets))
	per=$(((sets + procs - 1) / procs))
	for ((i = 0; i < procs; i++)); do
		# A file, not a pipe: a server ends when the reader of its output
		# does.
		"$udsls" --serve --count "$per" -o json >"$work/manifest.json" 2>"$work/serve.err" &
		servers+=($!)
		# The manifest is the readiness signal: its line is printed once
		# every socket is bound, connected and queued.
		until [ -s "$work/manifest.json" ] && [ -z "$(tail -c 1 "$work/manifest.json")" ]; do
			kill -0 "${servers[-1]}" 2>/dev/null || die "udsls --serve failed: $(cat "$work/serve.err")"
			sleep 0.05
		done
	done
	load_procs=$procs
	load_pid=${servers[0]}
	load_path=$(sed -n 's/.*"role":"set-listener","path":"\([^"]*\)".*/\1/p' "$work/manifest.json")
}

# timeall COMMAND...: each argument is a command line, split on spaces.
# One warm-up round, then $runs rounds that run every command in turn, so
# that whatever else the machine does falls on all of them alike; sets
# ms[i] to the median wall time of command i in milliseconds.
timeall() {
	local n=$# round i t0 t1 rc
	local -a argv times
	for ((round = 0; round <= runs; round++)); do
		for ((i = 0; i < n; i++)); do
			read -ra argv <<<"${@:i+1:1}"
			t0=$EPOCHREALTIME
			rc=0
			"${argv[@]}" >/dev/null 2>"$work/cmd.err" || rc=$?
			t1=$EPOCHREALTIME
			# 1 is an answer (a filter that matched nothing, stale files found).
			[ "$rc" -le 1 ] || die "${argv[*]} exited $rc: $(head -c 300 "$work/cmd.err")"
			[ "$round" -eq 0 ] || times[i]+=" $((${t1/./} - ${t0/./}))"
		done
	done
	ms=()
	for ((i = 0; i < n; i++)); do
		# shellcheck disable=SC2086 # one time per word
		ms[i]=$(printf '%s\n' ${times[i]} | sort -n | awk '{ t[NR] = $1 } END { printf "%.0f", (NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2) / 1000 }')
	done
}

# rss COMMAND...: median peak RSS of three runs, in MiB.
rss() {
	for _ in 1 2 3; do
		/usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1
	done | sort -n | sed -n 2p | awk '{ printf "%.1f", $1 / 1024 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# rsspair A B ARG...: peak RSS of udsls binaries A and B with ARG..., in
# turns, $runs times each; sets rss_a and rss_b to the medians in MiB.
rsspair() {
	local a=$1 b=$2 i
	shift 2
	for ((i = 0; i < runs; i++)); do
		echo "a $(/usr/bin/time -f %M "$a" "$@" 2>&1 >/dev/null | tail -n 1)"
		echo "b $(/usr/bin/time -f %M "$b" "$@" 2>&1 >/dev/null | tail -n 1)"
	done >"$work/rss"
	rss_a=$(sed -n 's/^a //p' "$work/rss" | sort -n | awk '{ m[NR] = $1 } END { printf "%.1f", (NR % 2 ? m[(NR + 1) / 2] : (m[NR / 2] + m[NR / 2 + 1]) / 2) / 1024 }')
	rss_b=$(sed -n 's/^b //p' "$work/rss" | sort -n | awk '{ m[NR] = $1 } END { printf "%.1f", (NR % 2 ? m[(NR + 1) / 2] : (m[NR / 2] + m[NR / 2 + 1]) / 2) / 1024 }')
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "bench: $(nproc) cores ($cpu), Linux $(uname -r), $runs runs per cell, medians in ms" >&2
table=$work/table
filtered=$work/filtered
printf '| sockets | procs | load | udsls -a | udsls -a -o json | --fd-source bpf | --fd-source procfs | ss -xap | netstat -xap | lsof -U | floor | table/ss | json/ss | json/floor | table/json | peak RSS MiB (json, table) |\n' >"$table"
printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n' >>"$table"
printf '| sockets | udsls (default view) | udsls -p PID | udsls PATH | udsls -a -o json |\n' >"$filtered"
printf '|---|---|---|---|---|\n' >>"$filtered"
versus=$work/versus
printf '| sockets | `-a` ms | baseline | ratio | `-a -o json` ms | baseline | ratio | `-a` peak RSS MiB | baseline | ratio | `-a -o json` peak RSS MiB | baseline | ratio |\n' >"$versus"
printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n' >>"$versus"
declare -A wall mem
for n in $sizes; do
	start_load "$n"
	count=$(ss -xa | tail -n +2 | wc -l)
	echo "bench: $count sockets in $load_procs servers" >&2
	# The 1-minute load average before the timed rounds: other work on the
	# machine shows here, and falls on every command alike.
	load=$(cut -d' ' -f1 /proc/loadavg)
	if [ "$n" -le 50000 ]; then
		timeall "$udsls -a -o json" "ss -xap" "netstat -xap" "lsof -U" "$work/benchtool floor" \
			"$udsls -a -o json --fd-source bpf" "$udsls -a -o json --fd-source procfs" "$udsls -a"
		u=${ms[0]} s=${ms[1]} ns=${ms[2]} l=${ms[3]} f=${ms[4]} fb=${ms[5]} fp=${ms[6]} ut=${ms[7]}
	else
		# Beyond 50k ss alone takes tens of seconds a run, and netstat and
		# lsof longer: three runs, without those two.
		runs=$((runs < 3 ? runs : 3)) timeall "$udsls -a -o json" "ss -xap" "$work/benchtool floor" \
			"$udsls -a -o json --fd-source bpf" "$udsls -a -o json --fd-source procfs" "$udsls -a"
		u=${ms[0]} s=${ms[1]} ns=- l=- f=${ms[2]} fb=${ms[3]} fp=${ms[4]} ut=${ms[5]}
	fi
	m=$(rss "$udsls" -a -o json)
	mt=$(rss "$udsls" -a)
	wall[$n]=$u mem[$n]=$m
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s, %s |\n' "$count" "$load_procs" "$load" "$ut" "$u" "$fb" "$fp" "$s" "$ns" "$l" "$f" \
		"$(ratio "$ut" "$s")" "$(ratio "$u" "$s")" "$(ratio "$u" "$f")" "$(ratio "$ut" "$u")" "$m" "$mt" >>"$table"
	runs=$((n <= 50000 || runs < 3 ? runs : 3)) timeall "$udsls" "$udsls -p $load_pid" "$udsls $load_path"
	printf '| %s | %s | %s | %s | %s |\n' "$count" "${ms[0]}" "${ms[1]}" "${ms[2]}" "$u" >>"$filtered"
	if [ -n "$baseline" ]; then
		runs=$((n <= 50000 || runs < 3 ? runs : 3)) timeall "$udsls -a" "$baseline -a" "$udsls -a -o json" "$baseline -a -o json"
		vt=("${ms[@]}")
		runs=$((n <= 50000 || runs < 3 ? runs : 3)) rsspair "$udsls" "$baseline" -a
		rt=("$rss_a" "$rss_b")
		runs=$((n <= 50000 || runs < 3 ? runs : 3)) rsspair "$udsls" "$baseline" -a -o json
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$count" \
			"${vt[0]}" "${vt[1]}" "$(ratio "${vt[0]}" "${vt[1]}")" "${vt[2]}" "${vt[3]}" "$(ratio "${vt[2]}" "${vt[3]}")" \
			"${rt[0]}" "${rt[1]}" "$(ratio "${rt[0]}" "${rt[1]}")" "$rss_a" "$rss_b" "$(ratio "$rss_a" "$rss_b")" >>"$versus"
	fi
	stop_servers
done

# --stale over a tree of 100k files (1k of them stale sockets) against
# find -type s; the search also lists the sockets, to tell stale from live.
"$work/benchtool" tree "$work/tree"
timeall "$udsls --stale $work/tree" "find $work/tree -type s" "$udsls -a -o json"
st=${ms[0]} fi=${ms[1]} li=${ms[2]}

echo
echo "Full listing with processes ($(nproc) cores, $cpu, Linux $(uname -r)), median wall time in ms:"
echo
cat "$table"
echo
echo "Default view and filtered listings, median wall time in ms:"
echo
cat "$filtered"
echo
echo "udsls --stale over 100k files: $st ms; find -type s: $fi ms; listing: $li ms"
if [ -n "$baseline" ]; then
	echo
	echo "Against $baseline, medians of $runs runs in turns (ratio: this build / baseline):"
	echo
	cat "$versus"
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${wall[10000]:-}" ] && [ -n "${wall[50000]:-}" ]; then
	echo "growth: wall(50k)/wall(10k) = $(ratio "${wall[50000]}" "${wall[10000]}"), RSS(50k)/RSS(10k) = $(ratio "${mem[50000]}" "${mem[10000]}")"
fi
if [ -n "${wall[50000]:-}" ] && [ -n "${wall[200000]:-}" ]; then
	echo "growth: wall(200k)/wall(50k) = $(ratio "${wall[200000]}" "${wall[50000]}")"
fi
