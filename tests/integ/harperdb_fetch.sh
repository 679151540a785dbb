#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# harperdb_fetch.sh DIR -- `harperdb` from npm, at the version the tests
# pin, installed once into DIR/harperdb-VERSION (npm's cache in DIR too);
# prints that directory.  Concurrent runs wait for each other (a lock in
# DIR), and a complete install is reused.  harperdb.sh calls it with its
# build directory; tests/run-all.sh starts it first, in the background, so
# the download overlaps the builds and both build directories share it.
set -euo pipefail
HDB_VERSION=4.7.29
dir=${1:?usage: harperdb_fetch.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
home=$dir/harperdb-$HDB_VERSION
pkg=$home/node_modules/harperdb/package.json
tmp=$home.tmp.$$
# The tools without the provider: this is about npm, not hsmkey.
quiet() { env -u LD_PRELOAD OPENSSL_CONF=/dev/null "$@"; }

exec 9>"$dir/.harperdb.lock"
flock -w 900 9 || { echo "harperdb_fetch: cannot lock $dir" >&2; exit 1; }
have=
[ -f "$pkg" ] && have=$(quiet node -p "require('$pkg').version")
if [ "$have" != "$HDB_VERSION" ]; then
    echo "harperdb_fetch: installing harperdb@$HDB_VERSION into $home" >&2
    rm -rf "$tmp" "$home"
    mkdir -p "$tmp"
    # umask: readable by the unprivileged user the nodes run as;
    # --ignore-scripts: the native modules it needs ship prebuilt
    (umask 022 && cd "$tmp" && quiet timeout 600 npm install \
        --no-audit --no-fund --ignore-scripts --no-package-lock \
        --cache "$dir/.npm-cache" "harperdb@$HDB_VERSION") >"$tmp.log" 2>&1 || {
        tail -20 "$tmp.log" >&2
        rm -rf "$tmp" "$tmp.log"
        echo "harperdb_fetch: npm install harperdb@$HDB_VERSION failed" >&2
        exit 1
    }
    rm -f "$tmp.log"
    chmod -R go+rX "$tmp"
    mv "$tmp" "$home"
fi
echo "$home"
