#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# meson_install.sh -- where `meson install` puts hsmkey.so: OpenSSL's own
# modules directory only when --prefix is the prefix it lies under (here
# /usr), PREFIX/LIBDIR/ossl-modules for any other prefix (and setup says
# OpenSSL will not find it there), -Dmodulesdir wherever it says.  Each
# case is a `meson setup` of this tree in a temp dir; nothing is built or
# installed (meson introspect --installed reads the plan).
set -euo pipefail
SRC=${HSMKEY_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
T=$(mktemp -d "${TMPDIR:-/tmp}/hsmkey-meson_install.XXXXXX")
trap 'rm -rf "$T"' EXIT
die() { echo "FAIL meson_install: $*" >&2; exit 1; }
say() { echo "== meson_install: $*"; }

system=$(pkg-config --variable=modulesdir libcrypto)
[ -n "$system" ] || die "pkg-config gives no modulesdir for libcrypto"

# dest ARGS...: where hsmkey.so would go with these setup options, in
# $got; the setup output in $T/setup.out.
N=0
dest() {
    N=$((N + 1))
    meson setup -Dtests=false "$@" "$T/b$N" "$SRC" >"$T/setup.out" 2>&1 ||
        die "meson setup $*: $(cat "$T/setup.out")"
    got=$(meson introspect --installed "$T/b$N" | python3 -c '
import json, sys
print([v for k, v in json.load(sys.stdin).items() if k.endswith("/hsmkey.so")][0])')
}

say "--prefix /usr: OpenSSL's modules directory $system"
dest --prefix /usr
[ "$got" = "$system/hsmkey.so" ] || die "--prefix /usr: $got"
grep -q "OpenSSL does not search" "$T/setup.out" &&
    die "setup warned for OpenSSL's own directory"

say "--prefix $T/opt: under that prefix, and setup says so"
dest --prefix "$T/opt" --libdir lib
[ "$got" = "$T/opt/lib/ossl-modules/hsmkey.so" ] || die "--prefix $T/opt: $got"
grep -q "hsmkey.so will be installed into $T/opt/lib/ossl-modules, which OpenSSL does not search (its modules directory is $system)" \
    "$T/setup.out" || die "setup did not say where hsmkey.so goes: $(cat "$T/setup.out")"
grep -q -- "-Dmodulesdir=$system" "$T/setup.out" ||
    die "setup did not say how to change it"

say "-Dmodulesdir: absolute as given, relative under the prefix"
dest --prefix "$T/opt" -Dmodulesdir="$T/mods"
[ "$got" = "$T/mods/hsmkey.so" ] || die "-Dmodulesdir absolute: $got"
dest --prefix "$T/opt" -Dmodulesdir=lib/mods
[ "$got" = "$T/opt/lib/mods/hsmkey.so" ] || die "-Dmodulesdir relative: $got"
say "PASS"
