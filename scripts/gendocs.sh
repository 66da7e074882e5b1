#!/usr/bin/env bash
# gendocs.sh: write what udsls installs beside its binary into DIR: the man
# page udsls.1.gz and the completion scripts udsls.bash, _udsls (zsh) and
# udsls.fish, all printed by udsls itself from its flag table and --help.
#
# usage: scripts/gendocs.sh DIR
#
# VERSION (default: git describe --tags, else 0.0.0+dev) is stamped into the
# udsls that prints them, so that the man page names it. The udsls is built
# for this machine, whatever GOOS/GOARCH the release is for.
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
cd "$(dirname "$0")/.."
VERSION=${VERSION:-$(git describe --tags 2>/dev/null || echo 0.0.0+dev)}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
env -u GOOS -u GOARCH CGO_ENABLED=0 go build -trimpath -ldflags "-X main.stamped=$VERSION" -o "$tmp/udsls" ./cmd/udsls
mkdir -p "$dir"
# -n: no name or time in the gzip header, so the same page makes the same file.
"$tmp/udsls" --man | gzip -9n >"$tmp/udsls.1.gz"
"$tmp/udsls" --completion bash >"$tmp/udsls.bash"
"$tmp/udsls" --completion zsh >"$tmp/_udsls"
"$tmp/udsls" --completion fish >"$tmp/udsls.fish"
mv "$tmp/udsls.1.gz" "$tmp/udsls.bash" "$tmp/_udsls" "$tmp/udsls.fish" "$dir/"
