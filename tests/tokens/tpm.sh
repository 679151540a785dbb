#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tpm.sh PROV_FORK -- the token matrix (matrix_lib.sh) on a TPM 2.0: swtpm
# (a software TPM) behind tpm2-abrmd on a private D-Bus session bus, used
# through tpm2-pkcs11 with a store made by tpm2_ptool, all in the temp dir.
#
#   swtpm socket   TPM on 127.0.0.1:P, its control channel on P+1 (the
#                  swtpm TCTI's rule)
#   dbus-daemon    a session bus of our own (unix:path=$T/bus)
#   tpm2-abrmd     the resource manager every client shares (the TPM takes
#                  one connection at a time), named on that bus
#   tpm2_ptool     the tpm2-pkcs11 store, a token and keys of its own
# The daemons are stopped by PID at exit.
# shellcheck disable=SC2034 # read by matrix_lib.sh
setup_t0=$(($(date +%s%N) / 1000000))
TEST_TOKEN=none
# shellcheck source=../lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
# tpm2-pkcs11 leaks on every C_SignInit (lsan.supp); matching that needs
# whole allocation stacks, which make this test ten times slower under
# ASan.  Memory errors are still caught here, and hsmkey's own leaks on the
# other tokens of the matrix, which run the same code.
[ -z "${HSMKEY_TEST_PRELOAD:-}" ] ||
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
# shellcheck source=../tls_lib.sh
. "$HSMKEY_SRC/tests/tls_lib.sh"

MODULE=${HSMKEY_TPM2_PKCS11:-/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so}
for tool in swtpm dbus-daemon dbus-send tpm2-abrmd tpm2_ptool; do
    command -v "$tool" >/dev/null ||
        die "$tool is not installed (see tests/deps.sh)"
done
[ -r "$MODULE" ] || die "$MODULE missing (apt-get install libtpm2-pkcs11-1)"
[ -r /usr/lib/x86_64-linux-gnu/libtss2-tcti-tabrmd.so.0 ] ||
    die "the tabrmd TCTI is missing (apt-get install libtss2-tcti-tabrmd0)"

TOKEN_DIR=$T/tpm
TOKEN_PIN=73951-tpm-user-pin
SO_PIN=26480-tpm-so-pin
mkdir -p "$TOKEN_DIR/state" "$TOKEN_DIR/store"
(umask 077 && printf '%s\n' "$TOKEN_PIN" >"$TOKEN_DIR/pin")
secret "$SO_PIN"

# Two free ports in a row (TPM, control), else the next pair.
tpm_ports() {
    python3 - <<'EOF'
import socket
while True:
    a = socket.socket()
    a.bind(("127.0.0.1", 0))
    port = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", port + 1))
    except OSError:
        a.close()
        continue
    a.close()
    b.close()
    print(port)
    break
EOF
}

# Everything that talks to the TPM finds it through these.
export DBUS_SESSION_BUS_ADDRESS=unix:path=$TOKEN_DIR/bus
export TPM2TOOLS_TCTI=tabrmd:bus_type=session
export TPM2_PKCS11_TCTI=tabrmd:bus_type=session
export TPM2_PKCS11_STORE=$TOKEN_DIR/store
export TPM2_PKCS11_LOG_LEVEL=0 # errors only, on stderr
export PYTHONDONTWRITEBYTECODE=1 # tpm2_ptool: no caches outside the temp dir

tpm_up() {
    local try port n
    for try in 1 2 3; do
        port=$(tpm_ports)
        start_bg swtpm swtpm socket --tpm2 --tpmstate "dir=$TOKEN_DIR/state" \
            --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
            --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
            --flags not-need-init,startup-clear
        n=100
        while [ "$n" -gt 0 ] && kill -0 "$(_bg_pid swtpm)" 2>/dev/null &&
            ! ss -ltnH "sport = :$((port + 1))" | grep -q .; do
            sleep 0.02
            n=$((n - 1))
        done
        if ss -ltnH "sport = :$((port + 1))" | grep -q .; then
            TPM_PORT=$port
            return 0
        fi
        stop_bg swtpm
        say "swtpm could not take ports $port/$((port + 1)); another try"
    done
    die "swtpm did not start: $(cat "$T/swtpm.err")"
}

tpm_up
start_bg dbus dbus-daemon --session --nofork --nopidfile \
    --address="$DBUS_SESSION_BUS_ADDRESS"
n=100
until [ -S "$TOKEN_DIR/bus" ] || [ "$n" -le 0 ]; do
    sleep 0.02
    n=$((n - 1))
done
[ -S "$TOKEN_DIR/bus" ] || die "dbus-daemon did not start: $(cat "$T/dbus.err")"
start_bg abrmd tpm2-abrmd --session --dbus-name=com.intel.tss2.Tabrmd \
    --allow-root --tcti="swtpm:host=127.0.0.1,port=$TPM_PORT"
n=250
until dbus-send --session --print-reply --dest=org.freedesktop.DBus \
    /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
    string:com.intel.tss2.Tabrmd 2>/dev/null | grep -q 'boolean true'; do
    n=$((n - 1))
    if [ "$n" -le 0 ] || ! kill -0 "$(_bg_pid abrmd)" 2>/dev/null; then
        die "tpm2-abrmd did not start: $(cat "$T/abrmd.err")"
    fi
    sleep 0.02
done
# Stop the resource manager before the TPM, then the bus; then lib.sh.
# shellcheck disable=SC2154 # _rc is set in the trap itself
trap '_rc=$?; set +e; stop_bg abrmd; stop_bg dbus; stop_bg swtpm;
      (exit "$_rc"); _cleanup' EXIT
say "swtpm on 127.0.0.1:$TPM_PORT, tpm2-abrmd on a private bus:" \
    "$(($(date +%s%N) / 1000000 - setup_t0)) ms"

ptool() {
    tpm2_ptool "$@" --path "$TOKEN_DIR/store" >>"$T/out/ptool.log" 2>&1 ||
        die "tpm2_ptool $1: $(tail -n 5 "$T/out/ptool.log")"
}
ptool_key() { # ALG ID LABEL
    ptool addkey --label=tpmtok --userpin="$TOKEN_PIN" --algorithm="$1" \
        --id="$2" --key-label="$3"
}
# tpm2_ptool takes --id as text: its bytes are the CKA_ID.
hexid() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

ptool init
ptool addtoken --pid=1 --sopin="$SO_PIN" --userpin="$TOKEN_PIN" \
    --label=tpmtok
ptool_key rsa2048 k1 ptool-rsa
ptool_key ecc256 k2 ptool-ec
ptool_key ecc256 k3 ptool-ec-bare
# A software key moved in by tpm2_ptool import (hsmkey import cannot).
ossl_sw genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$T/secret/k4.pem" 2>/dev/null
ptool import --label=tpmtok --userpin="$TOKEN_PIN" --algorithm=ecc \
    --privkey="$T/secret/k4.pem" --id=k4 --key-label=ptool-imported
# Nothing beside k3: its public key object deleted (pkcs11-tool, through
# tpm2-pkcs11 itself).
OPENSSL_CONF=$SW_CNF pkcs11-tool --module "$MODULE" --token-label tpmtok \
    --login --pin "$TOKEN_PIN" --delete-object --type pubkey \
    --id "$(hexid k3)" >>"$T/out/p11.log" 2>&1 ||
    die "pkcs11-tool --delete-object: $(tail -n 5 "$T/out/p11.log")"

MX_COLUMN="TPM 2.0 (swtpm, tpm2-pkcs11)"
MX_MODULE=$MODULE
MX_INIT_ARGS=
MX_LABEL=tpmtok
MX_PIN_FILE=$TOKEN_DIR/pin
MX_NO_EC=
MX_NO_IMPORT="tpm2-pkcs11 creates no private key objects (C_CreateObject takes RSA public keys and data objects only): import keys with tpm2_ptool import, then use them by id or label"
MX_NO_FORK_AFTER="tpm2-pkcs11 cannot start over in a child: its C_Initialize there answers CKR_CRYPTOKI_ALREADY_INITIALIZED (which p11-kit takes as success), so the child shares the parent's TPM session and its responses fail the HMAC check"
MX_FOREIGN="tpm2_ptool rsa $(hexid k1) ptool-rsa pub
tpm2_ptool ec $(hexid k2) ptool-ec pub
tpm2_ptool ec $(hexid k3) ptool-ec-bare none
tpm2_ptool-import ec $(hexid k4) ptool-imported pub"
MX_SETUP_MS=$(($(date +%s%N) / 1000000 - setup_t0))
# shellcheck source=matrix_lib.sh
. "$HSMKEY_SRC/tests/tokens/matrix_lib.sh"
matrix_run "${1:?usage: tpm.sh PROV_FORK}"
