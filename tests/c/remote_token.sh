#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# remote_token.sh LOOP -- a token used remotely, as containers and network
# HSMs are: `p11-kit server` (Debian's p11-kit) serves the SoftHSM2 module
# on a unix socket, and the provider's PKCS#11 module is p11-kit-client.so.
# LOOP is tests/c/prov_loop (a signer that never reloads its key).
#
#  1. the openssl CLI signs through the remote token (RSA and EC); the
#     default provider alone verifies;
#  2. a long-running signer (prov_loop) signs on; the server is stopped
#     (its whole process group: the server and the p11-kit-remote it runs
#     per connection, as a service manager stops it), which the signer sees
#     as failures, then started again on the same socket: the signer's next
#     signatures must succeed again without it reloading its key.  Twice.
#
# p11-kit-client.so takes the server's address from P11_KIT_SERVER_ADDRESS
# (read when the module is loaded, at C_GetFunctionList), here
# unix:path=$T/p11.sock, and otherwise uses $XDG_RUNTIME_DIR/p11-kit/pkcs11.
# `p11-kit server -f -n SOCKET --provider MODULE TOKEN-URI` serves the
# tokens of MODULE that TOKEN-URI matches; it prints the address to use.
# Environment (meson): HSMKEY_BUILD, HSMKEY_SRC, HSMKEY_P11KIT_CLIENT (the
# client module; default: p11-kit's module directory).
# shellcheck disable=SC2034 # read by lib.sh
TEST_TOKEN_LABEL=remotetest
# shellcheck source=../lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"

LOOP=${1:?usage: remote_token.sh PROV_LOOP}
CLIENT=${HSMKEY_P11KIT_CLIENT:-$(pkg-config --variable=p11_module_path p11-kit-1)/p11-kit-client.so}
command -v p11-kit >/dev/null || die "p11-kit not installed (apt-get install p11-kit)"
[ -r "$CLIENT" ] || die "$CLIENT missing (apt-get install p11-kit-modules)"
[ -x "$LOOP" ] || die "$LOOP not built"

SOCK=$T/p11.sock
export P11_KIT_SERVER_ADDRESS=unix:path=$SOCK
export HSMKEY_PKCS11_MODULE=$CLIENT
RECOVER_S=${HSMKEY_REMOTE_RECOVER_S:-20} # a restart must be survived within

SERVER_PID='' STARTS=0
server_start() {
    STARTS=$((STARTS + 1))
    rm -f "$SOCK"
    # Its own process group (setsid), so stopping it stops its children.
    setsid p11-kit server -f -n "$SOCK" --provider "$TOKEN_MODULE" \
        "pkcs11:token=$TOKEN_LABEL" >"$T/server.$STARTS.out" 2>&1 &
    SERVER_PID=$!
    local n=50
    until [ -S "$SOCK" ]; do
        n=$((n - 1))
        if [ "$n" -le 0 ] || ! kill -0 "$SERVER_PID" 2>/dev/null; then
            die "p11-kit server did not start: $(cat "$T/server.$STARTS.out")"
        fi
        sleep 0.1
    done
}
server_stop() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    local n=50
    while kill -0 -- "-$SERVER_PID" 2>/dev/null && [ "$n" -gt 0 ]; do
        sleep 0.1
        n=$((n - 1))
    done
    SERVER_PID=
}
# The server's group first, then lib.sh's cleanup (the signer, the temp dir)
# with the test's status; without errexit, or `(exit 1)` would end the trap.
# shellcheck disable=SC2154 # _rc is set in the trap itself
trap '_rc=$?; set +e; server_stop; (exit "$_rc"); _cleanup' EXIT

# status FIELD: a field of the signer's status file (0 before it exists).
status() {
    sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" "$T/status" 2>/dev/null | grep . ||
        echo 0
}
# wait_status FIELD MIN SECONDS: until FIELD >= MIN; 1 on timeout.
wait_status() {
    local n=$(($3 * 20))
    while [ "$(status "$1")" -lt "$2" ]; do
        n=$((n - 1))
        [ "$n" -gt 0 ] || return 1
        sleep 0.05
    done
}

server_start
say "p11-kit server on $SOCK, provider module $CLIENT"

say "the openssl CLI signs through the remote token"
head -c 4096 /dev/urandom >"$T/data"
for key in rsa-key ec-key; do
    ossl dgst -sha256 -sign "$(uri "$key")" -out "$T/$key.sig" "$T/data" \
        2>"$T/$key.err" || die "signing with $key: $(cat "$T/$key.err")"
    ossl pkey -in "$(uri "$key")" -pubout -out "$T/$key.pub" 2>>"$T/$key.err"
    ossl_sw dgst -sha256 -verify "$T/$key.pub" -signature "$T/$key.sig" \
        "$T/data" | grep -q 'Verified OK' || die "$key: signature does not verify"
done

say "a long-running signer across server restarts"
start_bg loop "$LOOP" "$(uri ec-key)" "$T/status" "$T/stop" 2
wait_status ok 100 20 || die "the signer did not start: $(cat "$T/loop.out" "$T/loop.err")"
for cycle in 1 2; do
    ok0=$(status ok) fail0=$(status fail)
    server_stop
    wait_status fail $((fail0 + 5)) 10 ||
        die "restart $cycle: no failure seen with the server stopped"
    sleep 0.5 # an outage, not a blip
    server_start
    t0=$(date +%s%N)
    fail1=$(status fail)
    if ! wait_status run 100 "$RECOVER_S"; then
        die "restart $cycle: the signer did not recover within ${RECOVER_S}s" \
            "(ok $(status ok), failed $(status fail)); last errors:" \
            "$(tail -n 3 "$T/loop.out")"
    fi
    ms=$((($(date +%s%N) - t0) / 1000000))
    say "restart $cycle: $((ok0)) signed before; $(($(status fail) - fail0))" \
        "failed while down and after ($((fail1 - fail0)) while down);" \
        "100 in a row again within ${ms} ms of the restart"
    # A fresh process through the restarted server: the server side is fine.
    ossl dgst -sha256 -sign "$(uri ec-key)" -out "$T/after.sig" "$T/data" \
        2>"$T/after.err" || die "fresh process after restart: $(cat "$T/after.err")"
done
touch "$T/stop"
wait_bg loop 30
sed 's/^/  | /' "$T/loop.out"
[ "$BG_STATUS" -eq 0 ] || die "the signer ended with status $BG_STATUS"
say "figures: $(status ok) signatures succeeded, $(status fail) failed in" \
    "$(status outages) outages (2 server restarts)"
