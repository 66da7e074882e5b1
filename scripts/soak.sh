#!/usr/bin/env bash
# Soaks udsls under churn for DURATION (a Go duration, default 5m): sockets
# and the processes holding them come and go at hundreds per second while
# udsls lists, checks and removes stale files in a loop, under the race
# detector. It is TestChurn (cmd/udsls/cli_churn_linux_test.go) run for
# longer; it fails on a panic, a hung run, a failed listing, a row that
# contradicts itself, or a live socket's file removed.
#
#	scripts/soak.sh 30m
#
# The test logs how many sockets, processes, listings, checks and removals
# there were. Linux only; run as root to include every holder.
set -euo pipefail
cd "$(dirname "$0")/.."

dur=${1:-5m}
if ! [[ $dur =~ ^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$ ]]; then
	echo "soak.sh: DURATION must be a Go duration such as 90s, 30m or 2h, got \"$dur\"" >&2
	exit 2
fi

# No go test timeout: TestChurn bounds every run itself and fails with the
# goroutines' stacks when one hangs.
UDSLS_CHURN_FOR=$dur exec go test -race -count=1 -timeout 0 -run '^TestChurn$' -v ./cmd/udsls
