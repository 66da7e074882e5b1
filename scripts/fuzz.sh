#!/usr/bin/env bash
# Runs every fuzz target of the repository for SECONDS each (default 10):
#
#	scripts/fuzz.sh 30
#
# Targets are found from the `func FuzzX(` declarations in the test files
# that build on this OS (go list), so a new target needs no edit here. A
# failing input is saved by go test under the package's testdata/fuzz/, where
# it then runs as a seed in every `go test`: commit it with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-10}
case $secs in
'' | *[!0-9]* | 0)
	echo "fuzz.sh: SECONDS must be a positive whole number, got \"$secs\"" >&2
	exit 2
	;;
esac

targets=()
while read -r dir files; do
	for f in $files; do
		while read -r name; do
			targets+=("./${dir#"$PWD"/} $name")
		done < <(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$dir/$f")
	done
done < <(go list -f '{{.Dir}}{{range .TestGoFiles}} {{.}}{{end}}{{range .XTestGoFiles}} {{.}}{{end}}' ./...)

if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 2
fi

# fuzz_one fuzzes one target. Go 1.26's coordinator can end a run at its
# -fuzztime with a bare "context deadline exceeded" and no input found
# (go.dev/issue/75804, fixed in Go 1.27): such a run, and only such a run,
# is tried once more. A finding always says "Failing input written to".
fuzz_one() {
	local log try
	log=$(mktemp)
	for try in 1 2; do
		# Minimising each new input for up to 60s (the default) stalls a short run; one try
		# keeps it fuzzing.
		if go test -run '^$' -fuzz "^${2}\$" -fuzztime "${secs}s" -fuzzminimizetime 1x "$1" </dev/null 2>&1 | tee "$log"; then
			rm -f "$log"
			return 0
		fi
		if ! grep -q '^    context deadline exceeded$' "$log" || grep -q 'Failing input written to' "$log" || [ "$try" = 2 ]; then
			rm -f "$log"
			return 1
		fi
		echo "fuzz.sh: $2 ended at its deadline with nothing found (go.dev/issue/75804); once more"
	done
}

failed=()
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	printf '== %s %s (%ss)\n' "$pkg" "$name" "$secs"
	if ! fuzz_one "$pkg" "$name"; then
		failed+=("$pkg $name")
	fi
done

echo "fuzz.sh: ${#targets[@]} targets, ${secs}s each, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
	printf 'failed: %s\n' "${failed[@]}" >&2
	exit 1
fi
