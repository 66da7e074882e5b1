#!/usr/bin/env bash
# package.sh: build the udsls .deb and .rpm into $OUT (default dist/).
#
# usage: scripts/package.sh
#
# Each package holds /usr/bin/udsls (static, -trimpath, VERSION stamped so
# that `udsls --version` prints it), the man page
# /usr/share/man/man1/udsls.1.gz and the bash, zsh and fish completions in
# their distributions' directories. Environment:
#
#   VERSION     stamped into udsls (default: git describe --tags, else
#               0.0.0+dev); the packages' version is it without a leading v,
#               with "-N-gHASH" (N commits after a tag) as "+N.gHASH" so
#               that it sorts after the tag
#   OUT         where the packages go (default dist/)
#   GOARCH      the architecture to build for (default: this machine's)
#   PACKAGERS   which packages (default "deb rpm")
#   MAINTAINER  the packages' Maintainer field
#
# nfpm is pinned in scripts/tools/go.mod and run with `go tool`; the first
# run downloads and builds it.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
VERSION=${VERSION:-$(git describe --tags 2>/dev/null || echo 0.0.0+dev)}
OUT=${OUT:-dist}
GOARCH=${GOARCH:-$(go env GOARCH)}
PACKAGERS=${PACKAGERS:-deb rpm}
MAINTAINER=${MAINTAINER:-udsls developers <udsls@users.noreply.github.com>}

# It goes into -ldflags, where a space would split it, and into the
# packages' version fields.
if [[ ! $VERSION =~ ^[A-Za-z0-9][A-Za-z0-9.+~_-]*$ ]]; then
	echo "package.sh: VERSION \"$VERSION\" is not a version: want letters, digits and . + ~ _ -" >&2
	exit 2
fi
pkg_version=${VERSION#v}
if [[ $pkg_version =~ ^(.+)-([0-9]+)-g([0-9a-f]+)$ ]]; then
	pkg_version="${BASH_REMATCH[1]}+${BASH_REMATCH[2]}.g${BASH_REMATCH[3]}"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
CGO_ENABLED=0 GOOS=linux GOARCH=$GOARCH go build -trimpath \
	-ldflags "-s -w -X main.stamped=$VERSION" -o "$stage/udsls" ./cmd/udsls
VERSION=$VERSION scripts/gendocs.sh "$stage"

mkdir -p "$OUT"
out=$(cd "$OUT" && pwd)
for p in $PACKAGERS; do
	# nfpm runs in its own module; the paths it gets are absolute.
	STAGE=$stage ARCH=$GOARCH PKG_VERSION=$pkg_version MAINTAINER=$MAINTAINER \
		go -C "$root/scripts/tools" tool nfpm package --config "$root/scripts/nfpm.yaml" \
		--packager "$p" --target "$out/"
done
