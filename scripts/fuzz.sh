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

failed=()
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	printf '== %s %s (%ss)\n' "$pkg" "$name" "$secs"
	# Minimising each new input for up to 60s (the default) stalls a short run and can end it
	# in "context deadline exceeded" on a busy machine; one try keeps the run fuzzing.
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "${secs}s" -fuzzminimizetime 1x "$pkg" </dev/null; then
		failed+=("$pkg $name")
	fi
done

echo "fuzz.sh: ${#targets[@]} targets, ${secs}s each, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
	printf 'failed: %s\n' "${failed[@]}" >&2
	exit 1
fi
