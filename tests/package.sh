#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/package.sh [WORKDIR] -- the Debian package end to end, as CI runs it:
#
#   1. the versions agree: meson.build's project version (the one place it
#      is written), debian/changelog's, and a "## VERSION" entry in NEWS.md;
#   2. dpkg-buildpackage -us -uc -b in a copy of the source tree (its
#      dh_auto_test runs the unit tests, which need nothing but the build);
#   3. lintian on the result: no error (warnings and notes are printed);
#   4. the package installed with `apt-get install ./hsmkey_*.deb` after any
#      hsmkey already installed is purged;
#   5. the demo (tests/demo.sh --installed, copied out of the tree) against
#      the installed files only, in a mount namespace where the source tree,
#      and so every build directory, is hidden under an empty tmpfs, with a
#      clean environment;
#   6. the package purged again (HSMKEY_KEEP_PACKAGE=1 keeps it installed).
#
# WORKDIR (default: a temp dir, removed) keeps the build and the .deb files.
# Needs root (apt-get, unshare) and the build dependencies of debian/control
# (tests/deps.sh installs them).  HSMKEY_JOBS: parallel build jobs.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf '== package: %s\n' "$*"; }
die() {
    printf 'FAIL package: %s\n' "$*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root: it installs the package and uses a mount namespace"
for tool in dpkg-buildpackage lintian apt-get unshare meson; do
    command -v "$tool" >/dev/null || die "$tool is missing (tests/deps.sh)"
done

own_work=
if [ -n "${1:-}" ]; then
    work=$(mkdir -p "$1" && cd "$1" && pwd)
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/hsmkey-package.XXXXXX")
    own_work=1
fi
installed=
cleanup() {
    if [ -n "$installed" ] && [ -z "${HSMKEY_KEEP_PACKAGE:-}" ]; then
        apt_get purge -y -qq hsmkey >/dev/null 2>&1 || true
    fi
    [ -z "$own_work" ] || rm -rf "$work"
}
trap cleanup EXIT
apt_get() {
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"
}
case $work/ in
"$src"/*) die "WORKDIR $work is inside the source tree, which the demo hides" ;;
esac

# ---- 1. one version
version=$(meson introspect --projectinfo "$src/meson.build" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
deb_version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
say "version $version (meson.build); debian/changelog: $deb_version"
[ "${deb_version%%-*}" = "$version" ] ||
    die "debian/changelog's version $deb_version is not meson.build's $version (dch -v $version)"
grep -qx "## $version" "$src/NEWS.md" ||
    die "NEWS.md has no '## $version' entry"

# ---- 2. build, from a copy of the tree (what git tracks, and new files it
# does not ignore): the .deb files land next to the copy, not next to the
# checkout, and no build directory of the checkout takes part.
rm -rf "$work/src"
mkdir -p "$work/src/hsmkey-$version"
tree=$work/src/hsmkey-$version
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$src" ls-files -co --exclude-standard -z |
        (cd "$src" && tar --null -T - -cf -) | tar -xf - -C "$tree"
else
    tar -C "$src" --exclude='./build*' --exclude=./debian/hsmkey -cf - . |
        tar -xf - -C "$tree"
fi
say "dpkg-buildpackage -us -uc -b in $tree"
(cd "$tree" && dpkg-buildpackage -us -uc -b -j"${HSMKEY_JOBS:-$(nproc)}") \
    >"$work/build.log" 2>&1 || {
    tail -n 60 "$work/build.log" >&2
    die "dpkg-buildpackage failed (log: $work/build.log)"
}
grep -E '^(Ok|Fail|Skipped|Timeout): ' "$work/build.log" | sed 's/^/   dh_auto_test: /'
deb=$work/src/hsmkey_${version}_$(dpkg --print-architecture).deb
[ -s "$deb" ] || die "no $deb"
dpkg-deb -c "$deb" | awk '{print "   " $6}' | grep -vE '/$'

# ---- 3. lintian
say "lintian"
rc=0
lintian --fail-on error --display-info "$work"/src/hsmkey_"$version"_*.changes \
    >"$work/lintian.log" 2>&1 || rc=$?
grep -v '^running with root privileges' "$work/lintian.log" | sed 's/^/   /' || true
[ "$rc" -eq 0 ] || die "lintian reports errors (status $rc)"

# ---- 4. install in a clean state
if dpkg-query -W -f='${Status}' hsmkey 2>/dev/null | grep -q 'installed'; then
    say "purging the hsmkey installed before"
    apt_get purge -y -qq hsmkey >/dev/null
fi
say "apt-get install $deb"
installed=1
apt_get install -y -qq --no-install-recommends "$deb" >"$work/install.log" 2>&1 || {
    cat "$work/install.log" >&2
    die "apt-get install failed"
}
dpkg -L hsmkey | grep -E 'bin/hsmkey$|ossl-modules/hsmkey.so$|man1/hsmkey.1.gz$' |
    sed 's/^/   installed: /'

# ---- 5. the demo against the installed files only
demo=$work/demo
rm -rf "$demo"
mkdir -p "$demo/tests" "$demo/softhsm-conf"
cp "$src/tests/demo.sh" "$demo/tests/"
cp "$src/softhsm-conf/mktoken.sh" "$src/softhsm-conf/softhsm2.conf.in" \
    "$src/softhsm-conf/openssl.cnf.in" "$demo/softhsm-conf/"
say "tests/demo.sh --installed, with $src hidden"
# shellcheck disable=SC2016 # expanded by the inner shell
unshare --mount --propagation private bash -c '
    mount -t tmpfs -o size=64k,mode=0755 hsmkey-source-hidden "$1" || exit 1
    [ -z "$(ls -A "$1")" ] || exit 1
    exec env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
        HOME="${HOME:-/root}" LANG=C.UTF-8 TMPDIR="$2" \
        bash "$3/tests/demo.sh" --installed
' hide "$src" "$work" "$demo" >"$work/demo.log" 2>&1 || {
    cat "$work/demo.log" >&2
    die "the demo failed against the installed package"
}
grep -E '^   \| (PASS|WARN|FAIL) |version:|^== Done' "$work/demo.log" |
    sed 's/^/   /' || true
say "ok: hsmkey $version built, lintian-clean, installed, demo passed"
