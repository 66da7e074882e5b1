#!/usr/bin/env bash
# package-test.sh: build the .deb with scripts/package.sh, install it with
# dpkg, check that man, bash-completion and `udsls --version` find what it
# installed, remove it and check that its files are gone. Checks the .rpm's
# file list too where rpm is installed.
#
# usage: scripts/package-test.sh   (as root, on Debian or Ubuntu)
#
# Needs the Debian packages man-db and bash-completion; checks the .rpm with
# rpm, and zsh's and fish's lookups with zsh and fish, where installed. Refuses to run where a udsls package is already installed, which it
# would replace and then remove.
set -euo pipefail

cd "$(dirname "$0")/.."
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }
step() { echo "package-test: $*"; }

[[ $(id -u) == 0 ]] || fail "run as root: it installs and removes a package"
for tool in dpkg man bash; do
	command -v "$tool" >/dev/null || fail "$tool is not installed"
done
[[ -r /usr/share/bash-completion/bash_completion ]] || fail "bash-completion is not installed (Debian package bash-completion)"
if dpkg-query -W -f='${Status}' udsls 2>/dev/null | grep -q 'ok installed'; then
	fail "a udsls package is already installed; remove it first (dpkg -r udsls)"
fi

# A version that would split -ldflags is refused before anything is built.
bad_out=$(mktemp -d)
set +e
OUT=$bad_out VERSION='v1 2' bash scripts/package.sh 2>/dev/null
code=$?
set -e
[[ $code == 2 ]] || fail "package.sh with VERSION='v1 2' exited $code, want 2"
[[ -z $(ls -A "$bad_out") ]] || fail "package.sh with a bad VERSION wrote $(ls "$bad_out")"
rmdir "$bad_out"

# A version N commits after a tag: stamped as given, packaged so it sorts after the tag.
export VERSION=v1.2.3-4-gabcdef0
want_pkg_version=1.2.3+4.gabcdef0
out=$(mktemp -d)
installed=
cleanup() {
	if [[ -n $installed ]]; then dpkg -r udsls >/dev/null || true; fi
	rm -rf "$out"
}
trap cleanup EXIT

packagers=deb
if command -v rpm >/dev/null; then packagers="deb rpm"; fi
step "scripts/package.sh ($packagers)"
OUT=$out PACKAGERS=$packagers scripts/package.sh
deb=$(echo "$out"/udsls_*.deb)
[[ -f $deb ]] || fail "no .deb in $out"

want_files=(
	/usr/bin/udsls
	/usr/share/man/man1/udsls.1.gz
	/usr/share/bash-completion/completions/udsls
	/usr/share/zsh/vendor-completions/_udsls
	/usr/share/fish/vendor_completions.d/udsls.fish
)
step "dpkg -c $(basename "$deb")"
dpkg -c "$deb" | tee "$out/deb.list"
for f in "${want_files[@]}"; do
	grep -q " \.$f\$" "$out/deb.list" || fail "$f is not in the .deb"
done
[[ $(dpkg-deb -f "$deb" Version) == "$want_pkg_version" ]] || fail "package version $(dpkg-deb -f "$deb" Version), want $want_pkg_version"

if [[ $packagers == *rpm* ]]; then
	rpm=$(echo "$out"/udsls-*.rpm)
	step "rpm -qpl $(basename "$rpm")"
	rpm -qpl "$rpm" | tee "$out/rpm.list"
	for f in /usr/bin/udsls /usr/share/man/man1/udsls.1.gz /usr/share/bash-completion/completions/udsls \
		/usr/share/zsh/site-functions/_udsls /usr/share/fish/vendor_completions.d/udsls.fish; do
		grep -qx "$f" "$out/rpm.list" || fail "$f is not in the .rpm"
	done
fi

step "dpkg -i"
installed=1
dpkg -i "$deb"

step "man -w udsls"
page=$(man -w udsls) || fail "man -w udsls found no page"
echo "$page"
[[ $page == /usr/share/man/man1/udsls.1.gz ]] || fail "man -w udsls = $page"
warnings=$(MANWIDTH=80 MANPAGER=cat man --warnings=w udsls 2>&1 >/dev/null)
[[ -z $warnings ]] || fail "man udsls warned: $warnings"

step "complete -p udsls in a login bash with bash-completion"
# bash-completion loads a command's script the first time it is completed;
# __load_completion is that lookup, by the command's name.
got=$(bash -lic '__load_completion udsls && complete -p udsls && COMP_WORDS=(udsls --st) COMP_CWORD=1 && _udsls udsls --st udsls && echo "${COMPREPLY[*]}"' 2>/dev/null) ||
	fail "a login bash did not load the udsls completion"
echo "$got"
[[ $got == "complete -F _udsls udsls"$'\n'"--stale" ]] || fail "unexpected completion: $got"

# zsh and fish, where installed, find theirs in their vendor directories.
if command -v zsh >/dev/null; then
	step "zsh compinit"
	got=$(HOME=$out zsh -fc 'autoload -U compinit && compinit -u -D && print -r -- $_comps[udsls]')
	echo "$got"
	[[ $got == _udsls ]] || fail "zsh's compinit did not bind _udsls to udsls: $got"
fi
if command -v fish >/dev/null; then
	step "fish complete -C 'udsls --st'"
	got=$(HOME=$out XDG_CONFIG_HOME=$out fish -c 'complete -C "udsls --st"')
	echo "$got"
	[[ $got == --stale$'\t'* ]] || fail "fish did not complete udsls --st: $got"
fi

step "udsls --version"
v=$(udsls --version)
echo "$v"
[[ $v == "udsls $VERSION" ]] || fail "udsls --version = $v, want udsls $VERSION"
go version -m /usr/bin/udsls | grep -q $'^\tbuild\t-trimpath=true$' || fail "/usr/bin/udsls was not built with -trimpath"
cmp -s <(udsls --completion bash) /usr/share/bash-completion/completions/udsls ||
	fail "the installed bash completion is not what the installed udsls prints"

step "dpkg -r udsls"
dpkg -r udsls
installed=
for f in "${want_files[@]}"; do
	[[ ! -e $f ]] || fail "$f is still there after dpkg -r"
done
if man -w udsls >/dev/null 2>&1; then fail "man -w udsls still finds a page"; fi
if command -v udsls >/dev/null; then fail "udsls is still on PATH: $(command -v udsls)"; fi
step "ok"
