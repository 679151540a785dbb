#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ock.sh PROV_FORK -- the token matrix (matrix_lib.sh) on openCryptoki's
# soft token (libpkcs11_sw through libopencryptoki), keys made by
# pkcs11-tool (OpenSC) beside hsmkey's own.
#
# openCryptoki keeps its configuration, token store, lock files and its
# slot daemon's socket in fixed places (/etc/opencryptoki,
# /var/lib/opencryptoki, /run, /var/log/opencryptoki).  The test runs in a
# mount and IPC namespace of its own (unshare -m -i) where those are temp
# directories bind-mounted over the real ones, so nothing is written
# outside the temp dir and the daemon's shared memory is private.
# pkcsslotd is stopped by the PID it wrote.
if [ -z "${HSMKEY_OCK_NS:-}" ]; then
    [ "$(id -u)" -eq 0 ] ||
        { echo "FAIL ock: needs root (mount namespace for openCryptoki)" >&2; exit 1; }
    export HSMKEY_OCK_NS=1
    exec unshare -m -i --propagation private bash "$0" "$@"
fi
# shellcheck disable=SC2034 # read by matrix_lib.sh
setup_t0=$(($(date +%s%N) / 1000000))
TEST_TOKEN=none
# shellcheck source=../lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
# The module leaks (lsan.supp names it): its suppression needs whole
# allocation stacks.
full_unwind
# shellcheck source=../tls_lib.sh
. "$HSMKEY_SRC/tests/tls_lib.sh"

OCK=/usr/lib/x86_64-linux-gnu/opencryptoki
MODULE=${HSMKEY_OCK_MODULE:-$OCK/libopencryptoki.so.0}
for tool in pkcsslotd pkcsconf; do
    command -v "$tool" >/dev/null ||
        die "$tool is not installed (apt-get install opencryptoki)"
done
[ -r "$MODULE" ] || die "$MODULE missing (apt-get install opencryptoki)"
getent group pkcs11 >/dev/null ||
    die "group pkcs11 missing (the opencryptoki package makes it)"

TOKEN_DIR=$T/ock
TOKEN_PIN=7395ock1 # openCryptoki takes user PINs of 4 to 8 characters
SO_PIN=87654321    # the soft token's initial SO PIN
mkdir -p "$TOKEN_DIR/etc" "$TOKEN_DIR/lib/swtok/TOK_OBJ" \
    "$TOKEN_DIR/run/lock/opencryptoki" "$TOKEN_DIR/log/opencryptoki"
chgrp -R pkcs11 "$TOKEN_DIR/lib" "$TOKEN_DIR/run/lock" "$TOKEN_DIR/log"
chmod -R 0770 "$TOKEN_DIR/lib" "$TOKEN_DIR/run/lock/opencryptoki" \
    "$TOKEN_DIR/log/opencryptoki"
chmod 0755 "$TOKEN_DIR/run" "$TOKEN_DIR/run/lock"
(umask 077 && printf '%s\n' "$TOKEN_PIN" >"$TOKEN_DIR/pin")
cat >"$TOKEN_DIR/etc/opencryptoki.conf" <<'EOF'
version opencryptoki-3.1
slot 3
{
stdll = libpkcs11_sw.so
}
EOF
mount --bind "$TOKEN_DIR/etc" /etc/opencryptoki
mount --bind "$TOKEN_DIR/lib" /var/lib/opencryptoki
mount --bind "$TOKEN_DIR/run" /run
mount --bind "$TOKEN_DIR/log" /var/log

SLOTD_PID=
slotd_stop() {
    [ -n "$SLOTD_PID" ] || return 0
    kill "$SLOTD_PID" 2>/dev/null
    local n=100
    while kill -0 "$SLOTD_PID" 2>/dev/null && [ "$n" -gt 0 ]; do
        sleep 0.02
        n=$((n - 1))
    done
    SLOTD_PID=
}
# shellcheck disable=SC2154 # _rc is set in the trap itself
trap '_rc=$?; set +e; slotd_stop; (exit "$_rc"); _cleanup' EXIT
# It forks into the background; the PID it writes is the daemon's.
pkcsslotd >"$T/out/pkcsslotd.log" 2>&1 ||
    die "pkcsslotd: $(cat "$T/out/pkcsslotd.log")"
n=250
until [ -S /run/pkcsslotd.socket ] && [ -s /run/pkcsslotd.pid ]; do
    n=$((n - 1))
    [ "$n" -gt 0 ] || die "pkcsslotd did not start: $(cat "$T/out/pkcsslotd.log")"
    sleep 0.02
done
SLOTD_PID=$(cat /run/pkcsslotd.pid)

ockconf() {
    pkcsconf "$@" >>"$T/out/pkcsconf.log" 2>&1 </dev/null ||
        die "pkcsconf $*: $(tail -n 5 "$T/out/pkcsconf.log")"
}
printf 'ocktoken\n' | pkcsconf -I -c 3 -S "$SO_PIN" >>"$T/out/pkcsconf.log" 2>&1 ||
    die "pkcsconf -I: $(tail -n 5 "$T/out/pkcsconf.log")"
ockconf -u -c 3 -S "$SO_PIN" -n 87651234
ockconf -p -c 3 -U 87651234 -n "$TOKEN_PIN"
say "pkcsslotd (pid $SLOTD_PID) and token 'ocktoken':" \
    "$(($(date +%s%N) / 1000000 - setup_t0)) ms"

# Keys of another tool: pkcs11-tool (OpenSC) over libopencryptoki.
p11() {
    OPENSSL_CONF=$SW_CNF pkcs11-tool --module "$MODULE" \
        --token-label ocktoken --login --pin "$TOKEN_PIN" "$@" \
        >>"$T/out/p11.log" 2>&1 || die "pkcs11-tool $*: $(tail -n 5 "$T/out/p11.log")"
}
p11 --keypairgen --key-type rsa:2048 --id c1 --label p11tool-rsa
p11 --keypairgen --key-type rsa:2048 --id c2 --label p11tool-rsa-bare
p11 --delete-object --type pubkey --id c2

MX_COLUMN="openCryptoki (soft token)"
MX_MODULE=$MODULE
MX_INIT_ARGS=
MX_LABEL=ocktoken
MX_PIN_FILE=$TOKEN_DIR/pin
MX_NO_EC="the soft token of openCryptoki 3.8 has no EC mechanisms (no CKM_EC_KEY_PAIR_GEN, no CKM_ECDSA)"
MX_NO_IMPORT=
MX_NO_FORK_AFTER=
MX_FOREIGN="pkcs11-tool rsa c1 p11tool-rsa pub
pkcs11-tool rsa c2 p11tool-rsa-bare none"
MX_SETUP_MS=$(($(date +%s%N) / 1000000 - setup_t0))
# shellcheck source=matrix_lib.sh
. "$HSMKEY_SRC/tests/tokens/matrix_lib.sh"
matrix_run "${1:?usage: ock.sh PROV_FORK}"
