#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/demo.sh -- hsmkey end to end on a fresh Debian 12 machine:
# installs what is needed, builds, makes a throwaway SoftHSM2 token, two node
# keys on it (hsmkey keygen), a dev CA on disk and a certificate per node
# (hsmkey devcert), runs mutual TLS between node1 (openssl s_server) and
# node2 (openssl s_client), each using its key on the token through the
# hsmkey provider, and hsmkey check on both.
#
#   tests/demo.sh              install packages, build into ./build, run it
#   tests/demo.sh --test       only run it against an existing build
#                              (meson test)
#   tests/demo.sh --installed  run it with what the hsmkey package installed:
#                              hsmkey from PATH, hsmkey.so from OpenSSL's
#                              modules directory, openssl.cnf written by
#                              `hsmkey config`; no build tree is used (CI runs
#                              it where the source tree is hidden)
# Environment: HSMKEY_BUILD (build dir, default ./build), HSMKEY_KEEP_TMP=1.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=full
case "${1:-}" in
--test) mode=test ;;
--installed) mode=installed ;;
"") ;;
*)
    echo "usage: tests/demo.sh [--test | --installed]" >&2
    exit 2
    ;;
esac

if [ -t 1 ]; then
    step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
    step() { printf '\n== %s\n' "$*"; }
fi
run() { printf '   $ %s\n' "$*"; "$@"; }
die() {
    echo "demo: FAILED: $*" >&2
    exit 1
}

build=${HSMKEY_BUILD:-$src/build}
if [ "$mode" = full ]; then
    step "Installing packages (apt-get)"
    "$src/tests/deps.sh"
    step "Building into $build"
    # quiet unless something fails
    quiet() {
        "$@" >"${TMPDIR:-/tmp}/hsmkey-demo-build.log" 2>&1 || {
            cat "${TMPDIR:-/tmp}/hsmkey-demo-build.log" >&2
            die "$*"
        }
    }
    if [ -f "$build/build.ninja" ]; then
        printf '   $ meson setup --reconfigure %s\n' "$build"
        quiet meson setup --reconfigure "$build" "$src"
    else
        printf '   $ meson setup %s\n' "$build"
        quiet meson setup "$build" "$src"
    fi
    printf '   $ meson compile -C %s\n' "$build"
    quiet meson compile -C "$build"
fi
if [ "$mode" = installed ]; then
    # The modules directory of the libcrypto that openssl and hsmkey use.
    modulesdir=$(openssl version -m | sed -n 's/^MODULESDIR: "\(.*\)"$/\1/p')
    provider=$modulesdir/hsmkey.so
    hsmkey=$(command -v hsmkey) || die "hsmkey is not installed (apt-get install ./hsmkey_*.deb)"
    [ -s "$provider" ] || die "$provider is not installed"
    unset HSMKEY_BUILD HSMKEY_SRC
else
    provider=$build/provider/hsmkey.so
    hsmkey=$build/tool/hsmkey
    [ -s "$provider" ] || die "$provider is not built"
fi

# Under the test suite's sanitizer setup the ASan runtime must come first
# in an uninstrumented openssl that loads the instrumented provider.
if [ -n "${HSMKEY_TEST_PRELOAD:-}" ]; then
    openssl() { LD_PRELOAD=$HSMKEY_TEST_PRELOAD command openssl "$@"; }
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/hsmkey-demo.XXXXXX")
srv_pid=
cleanup() {
    [ -z "$srv_pid" ] || kill "$srv_pid" 2>/dev/null || true
    if [ -n "${HSMKEY_KEEP_TMP:-}" ]; then
        echo "demo: files kept in $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
cd "$work"

step "A throwaway SoftHSM2 token in $work/token (nothing in /var/lib/softhsm)"
HSMKEY_SO=$provider HSMKEY_TOKEN_KEYS=none \
    run "$src/softhsm-conf/mktoken.sh" "$work/token" demo-cluster
. "$work/token/token.vars"
export SOFTHSM2_CONF OPENSSL_CONF=$TOKEN_OPENSSL_CNF
[ -x "$hsmkey" ] || die "$hsmkey is not built"
if [ "$mode" = installed ]; then
    step "openssl.cnf for the installed provider, written by $hsmkey"
    run "$hsmkey" --module "$TOKEN_MODULE" --pin-source "file:$TOKEN_PIN_FILE" \
        config --out "$work/openssl.cnf"
    OPENSSL_CONF=$work/openssl.cnf
    grep -qxF "module        = $provider" "$OPENSSL_CONF" ||
        die "hsmkey config does not name the installed $provider: $(grep '^module ' "$OPENSSL_CONF")"
    openssl list -providers | sed 's/^/   | /'
    # One version, from meson.build: the CLI's and the provider's agree.
    version=$("$hsmkey" --version | sed -n 's/^hsmkey //p')
    openssl list -providers | grep -A2 'hsmkey PKCS#11 provider' |
        grep -qxF "    version: $version" ||
        die "openssl does not load the installed provider $version"
fi
echo "   SOFTHSM2_CONF=$SOFTHSM2_CONF"
echo "   OPENSSL_CONF=$OPENSSL_CONF  (loads the default and hsmkey providers,"
echo "   PIN from $TOKEN_PIN_FILE)"
# The CLI's PKCS#11 module and PIN: the same as the provider's.
export HSMKEY_PKCS11_MODULE=$TOKEN_MODULE HSMKEY_PIN_SOURCE=file:$TOKEN_PIN_FILE
hk() { ${HSMKEY_TEST_PRELOAD:+env LD_PRELOAD=$HSMKEY_TEST_PRELOAD} "$hsmkey" "$@"; }

step "Two node keys generated inside the token (never extractable)"
for n in node1:ec:P-256 node2:rsa:2048; do
    IFS=: read -r node type size <<<"$n"
    printf '   $ hsmkey keygen --token demo-cluster --label %s-key --type %s --out %s.key.pem\n' \
        "$node" "$type:$size" "$node"
    hk keygen --token demo-cluster --label "$node-key" --type "$type:$size" \
        --out "$node.key.pem" | sed 's/^/   | /' ||
        die "hsmkey keygen $node"
done
printf '   $ hsmkey keys --token demo-cluster\n'
hk keys --token demo-cluster | sed 's/^/   | /'

for node in node1 node2; do
    step "$node: certificate from a development CA on disk, for its token key"
    printf '   $ hsmkey devcert --ca-dir ca --key %s.key.pem --cn %s.demo.test --san DNS:%s.demo.test,IP:127.0.0.1 --out %s.pem\n' \
        "$node" "$node" "$node" "$node"
    hk devcert --ca-dir ca --key "$node.key.pem" --cn "$node.demo.test" \
        --san "DNS:$node.demo.test,IP:127.0.0.1" \
        --out "$node.pem" >/dev/null || die "hsmkey devcert $node"
    openssl x509 -in "$node.pem" -noout -subject -issuer -ext \
        subjectAltName,extendedKeyUsage | sed 's/^/   | /'
done
cp ca/ca.pem ca.pem
echo "   (ca/ca.pem and its key ca/ca.key, mode 0600, are the dev CA)"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
step "node1 serves TLS on 127.0.0.1:$port and demands a client certificate"
printf '   $ openssl s_server -accept 127.0.0.1:%s -cert node1.pem -key %s -CAfile ca.pem -Verify 1 -verify_return_error -rev -naccept 1\n' \
    "$port" "pkcs11:token=demo-cluster;object=node1-key;type=private"
env ${HSMKEY_TEST_PRELOAD:+LD_PRELOAD=$HSMKEY_TEST_PRELOAD} \
    openssl s_server -accept "127.0.0.1:$port" -naccept 1 -rev \
    -cert node1.pem -key "pkcs11:token=demo-cluster;object=node1-key;type=private" \
    -CAfile ca.pem -Verify 1 -verify_return_error \
    </dev/null >server.out 2>server.err &
srv_pid=$!
for _ in $(seq 100); do
    grep -q '^ACCEPT' server.out 2>/dev/null && break
    kill -0 "$srv_pid" 2>/dev/null || break
    sleep 0.1
done
grep -q '^ACCEPT' server.out || die "s_server did not start: $(cat server.err)"

step "node2 connects with its own token key (mutual TLS) and sends a line"
printf '   $ openssl s_client -connect 127.0.0.1:%s -cert node2.pem -key %s -CAfile ca.pem -verify_return_error -verify_hostname node1.demo.test\n' \
    "$port" "pkcs11:token=demo-cluster;object=node2-key;type=private"
printf 'hello from node2\nCLOSE\n' |
    timeout 60 env ${HSMKEY_TEST_PRELOAD:+LD_PRELOAD=$HSMKEY_TEST_PRELOAD} \
        openssl s_client -connect "127.0.0.1:$port" -ign_eof \
        -cert node2.pem -key "pkcs11:token=demo-cluster;object=node2-key;type=private" \
        -CAfile ca.pem -verify_return_error -verify_hostname node1.demo.test \
        >client.out 2>client.err || die "s_client failed: $(cat client.err)"
wait "$srv_pid" || die "s_server failed: $(cat server.err)"
srv_pid=

echo "   node2 saw:"
grep -E '^(New, |Peer signature type|Verification:|Verified peername)' \
    client.out | sed 's/^/   | /'
echo "   node1 saw:"
grep -E '^(Protocol version|Peer certificate|Signature type|Verification)' \
    server.err | sed 's/^/   | /'
reply=$(grep -ao '2edon morf olleh' client.out | head -1) ||
    die "no reply from node1"
echo "   node1 answered (the line reversed): $reply"
grep -q '^Verification: OK' client.out || die "node2 did not verify node1"
grep -q '^Verification: OK' server.err || die "node1 did not verify node2"

for node in node1 node2; do
    step "hsmkey check: $node's certificate, CA and token key belong together"
    printf '   $ hsmkey check --cert %s.pem --ca ca.pem --key %s.key.pem --host %s.demo.test\n' \
        "$node" "$node" "$node"
    hk check --cert "$node.pem" --ca ca.pem --key "$node.key.pem" \
        --host "$node.demo.test" | sed 's/^/   | /'
    [ "${PIPESTATUS[0]}" -eq 0 ] || die "hsmkey check $node"
done

step "Done: mutual TLS between two nodes whose private keys never left the token"
