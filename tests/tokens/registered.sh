#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# registered.sh -- the default mode (no pkcs11-module: every module
# registered with p11-kit) with a module among them that cannot start:
# tpm2-pkcs11 without a TPM, as on a machine where libtpm2-pkcs11-1 is
# installed and no TPM is reachable.
#
#  1. not marked critical: hsmkey tokens / keys work, and say once on
#     stderr that the module was skipped; the provider loads a key from the
#     working module and mentions the skipped one only when no token
#     matches at all;
#  2. marked critical ("critical: yes" in its p11-kit module file): hsmkey
#     and the provider fail, naming the module and its CKR_* value;
#  3. the same module named by path is an error, skipped or not;
#  4. init args apply to a module named by path only; a registered module
#     takes its own from x-init-reserved (NSS softoken registered so works).
#
# p11-kit reads registered modules from fixed directories (and, for root,
# no per-user ones), so the test runs in a mount namespace of its own
# (unshare -m) where a temp dir is bind-mounted over p11-kit's module
# directory; nothing outside the temp dir changes.
if [ -z "${HSMKEY_REG_NS:-}" ]; then
    [ "$(id -u)" -eq 0 ] ||
        { echo "FAIL registered: needs root (mount namespace for p11-kit's module directory)" >&2; exit 1; }
    export HSMKEY_REG_NS=1
    exec unshare -m --propagation private bash "$0" "$@"
fi
# shellcheck source=../lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
# The module leaks (lsan.supp names it): its suppression needs whole
# allocation stacks.
full_unwind

HSMKEY=$HSMKEY_BUILD/tool/hsmkey
TPM2_MODULE=${HSMKEY_TPM2_PKCS11:-/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so}
NSS_MODULE=${HSMKEY_NSS_SOFTOKEN:-/usr/lib/x86_64-linux-gnu/libsoftokn3.so}
# Where p11-kit looks (the packages' directory and the administrator's).
PACKAGE_DIR=$(pkg-config --variable=p11_module_configs p11-kit-1)
SYSTEM_DIR=$(pkg-config --variable=sysconfdir p11-kit-1)/pkcs11/modules
[ -x "$HSMKEY" ] || die "hsmkey CLI $HSMKEY not built"
[ -r "$TPM2_MODULE" ] || die "$TPM2_MODULE missing (apt-get install libtpm2-pkcs11-1)"
[ -r "$NSS_MODULE" ] || die "$NSS_MODULE missing (apt-get install libnss3)"
[ -d "$PACKAGE_DIR" ] || die "$PACKAGE_DIR missing (apt-get install p11-kit-modules)"
unset HSMKEY_PKCS11_MODULE HSMKEY_PKCS11_MODULE_INIT_ARGS HSMKEY_PIN_SOURCE

# Our modules only: the SoftHSM2 test token and tpm2-pkcs11 with no TPM
# (a TCTI naming a device that is not there; its store in the temp dir).
MODS=$T/p11-kit-modules
mkdir -p "$MODS" "$T/empty" "$T/tpm2-store"
mount --bind "$MODS" "$PACKAGE_DIR"
[ ! -d "$SYSTEM_DIR" ] || mount --bind "$T/empty" "$SYSTEM_DIR"
export TPM2_PKCS11_TCTI="device:$T/no-such-tpm"
export TPM2_PKCS11_STORE=$T/tpm2-store
export TPM2_PKCS11_LOG_LEVEL=0
printf 'module: %s\n' "$TOKEN_MODULE" >"$MODS/softhsm2.module"
tpm2_module() { # yes|no: critical
    printf 'module: %s\ncritical: %s\n' "$TPM2_MODULE" "$1" \
        >"$MODS/tpm2_pkcs11.module"
}

_N=0
# run NAME CMD...: CMD's status in RC, output in $T/out/NAME.{out,err}.
run() {
    local name=$1
    shift
    RC=0
    "$@" >"$T/out/$name.out" 2>"$T/out/$name.err" </dev/null || RC=$?
    _status_check "$RC" "$T/out/$name.err" "$*" || true
}
expect_rc() { # NAME WANT
    if [ "$RC" -ne "$2" ]; then
        sed 's/^/  | /' "$T/out/$1.out" "$T/out/$1.err" >&2
        die "$1: status $RC, expected $2"
    fi
}
count() { grep -c -- "$1" "$2" || true; }
# openssl with the provider in the default mode (no pkcs11-module).
ossl_default() { OPENSSL_CONF=$T/default.cnf preloaded openssl "$@"; }

SKIP_RE='^hsmkey: warning: PKCS#11 module tpm2_pkcs11 skipped: C_Initialize: CKR_[A-Z_]+ \(not marked critical'
KEY=$(uri ec-key)

say "1. a broken module not marked critical is skipped"
tpm2_module no
run tokens preloaded "$HSMKEY" tokens
expect_rc tokens 0
assert_file_match "^[0-9]+ +$TOKEN_LABEL " "$T/out/tokens.out" "the SoftHSM2 token"
[ "$(grep -cE "$SKIP_RE" "$T/out/tokens.err")" -eq 1 ] ||
    die "tokens: not exactly one skip warning: $(cat "$T/out/tokens.err")"
[ "$(count 'hsmkey: ' "$T/out/tokens.err")" -eq 1 ] ||
    die "tokens: other messages: $(cat "$T/out/tokens.err")"
run keys preloaded "$HSMKEY" --pin-source "file:$TOKEN_PIN_FILE" keys --token "$TOKEN_LABEL"
expect_rc keys 0
assert_file_match '^ec-key +private ' "$T/out/keys.out"
[ "$(grep -cE "$SKIP_RE" "$T/out/keys.err")" -eq 1 ] ||
    die "keys: not exactly one skip warning: $(cat "$T/out/keys.err")"

# The provider, configured by hsmkey config without a module.
"$HSMKEY" --pin-source "file:$TOKEN_PIN_FILE" config --out "$T/default.cnf"
grep -q '^pkcs11-module' "$T/default.cnf" && die "config names a module"
run pub ossl_default pkey -in "$KEY" -pubout
expect_rc pub 0
assert_file_match 'BEGIN PUBLIC KEY' "$T/out/pub.out"
assert_file_nomatch 'skipped' "$T/out/pub.err" "the provider found a token"
run missing ossl_default pkey \
    -in 'pkcs11:token=no-such-token;object=x;type=private' -pubout
[ "$RC" -ne 0 ] || die "a missing token loaded"
assert_file_match 'no token matches pkcs11:token=no-such-token' "$T/out/missing.err"
assert_file_match 'PKCS#11 module tpm2_pkcs11 was skipped: C_Initialize: CKR_' \
    "$T/out/missing.err" "no token found: the skipped module is named"
say "ok: skipped once, and named when no token matches"

say "2. the same module marked critical stops everything"
tpm2_module yes
run crit preloaded "$HSMKEY" tokens
expect_rc crit 3
assert_file_match '^hsmkey: PKCS#11 module tpm2_pkcs11: C_Initialize: CKR_[A-Z_]+ \(marked critical in p11-kit.s configuration\)' \
    "$T/out/crit.err"
run crit-pub ossl_default pkey -in "$KEY" -pubout
[ "$RC" -ne 0 ] || die "the provider loaded a key with a critical module down"
assert_file_match 'PKCS#11 module tpm2_pkcs11: C_Initialize: CKR_.*marked critical' \
    "$T/out/crit-pub.err"
say "ok: a critical module that fails is an error"

say "3. a module named by path must start"
tpm2_module no
run bypath preloaded "$HSMKEY" --module "$TPM2_MODULE" tokens
expect_rc bypath 3
assert_file_match "^hsmkey: PKCS#11 module $TPM2_MODULE: C_Initialize: CKR_" \
    "$T/out/bypath.err"
assert_file_nomatch 'skipped' "$T/out/bypath.err"

say "4. init args: by path only; registered modules use x-init-reserved"
run initargs preloaded "$HSMKEY" --module-init-args "configdir='sql:/nowhere'" tokens
expect_rc initargs 3
assert_file_match 'pkcs11-module-init-args is set but pkcs11-module is not' \
    "$T/out/initargs.err"
mkdir -m 0700 "$T/nssdb"
(umask 077 && printf 'nss-pass-1\n' >"$T/secret/nss.pin")
certutil -N -d "sql:$T/nssdb" -f "$T/secret/nss.pin" >/dev/null 2>&1 ||
    die "certutil -N failed"
cat >"$MODS/nss-softoken.module" <<EOF
module: $NSS_MODULE
x-init-reserved: configdir='sql:$T/nssdb' certPrefix='' keyPrefix='' secmod='secmod.db' flags=
EOF
run nss preloaded "$HSMKEY" tokens
expect_rc nss 0
assert_file_match ' NSS Certificate DB ' "$T/out/nss.out"
assert_file_match "^[0-9]+ +$TOKEN_LABEL " "$T/out/nss.out"
say "ok: NSS softoken registered with x-init-reserved starts"
