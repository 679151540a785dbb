#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# prov_setuid.sh -- in a setuid program, the environment belongs to the
# caller: HSMKEY_PKCS11_MODULE must not make the provider load a shared
# object the caller names (code run with the program's privileges), nor
# HSMKEY_PIN_SOURCE choose the PIN it sends.  setuid_probe.c loads the
# provider as configured and a key; a copy of it, setuid to the user
# daemon, is run as nobody.  The same program without the setuid bit shows
# the variables are otherwise obeyed.  Needs root (chown, setuid bit,
# setpriv), as CI runs.
. "$(dirname "$0")/../lib.sh"

[ "$(id -u)" -eq 0 ] || die "needs root: makes a setuid program for daemon"
command -v setpriv >/dev/null || die "setpriv (util-linux) is not installed"
# Everything the unprivileged run touches, under $T/secret (its token copy
# holds the PIN; lib.sh removes it with $T).  Only the path is opened up:
# every other entry of $T stays 0700.
chmod 0711 "$T" "$T/secret"
S=$T/secret/setuid
mkdir -m 0755 "$S"

cp -a "$TOKEN_DIR" "$S/token"
sed -i "s|$TOKEN_DIR|$S/token|g" "$S/token/softhsm2.conf"
chown -R daemon:daemon "$S/token"
pinfile=$S/token/pin # daemon's, 0600: a PIN the setuid program could use
cat >"$S/nopin.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
hsmkey = hsmkey_sect
[default_sect]
activate = 1
[hsmkey_sect]
module = $HSMKEY_SO
pkcs11-module = $TOKEN_MODULE
activate = 1
CNF
sed "s|^pkcs11-module.*|&\npin-source = file:$pinfile|" "$S/nopin.cnf" \
    >"$S/pin.cnf"
chmod 0644 "$S/nopin.cnf" "$S/pin.cnf"
install -m 0755 "$HSMKEY_SEC_BIN/setuid_probe" "$S/plain_probe"
install -m 4755 -o daemon "$HSMKEY_SEC_BIN/setuid_probe" "$S/setuid_probe"
EVIL=$HSMKEY_SEC_BIN/evil_module.so
U=$(uri ec-key)

# as_nobody NAME PROGRAM ARGS...: run as nobody with the caller's variables
as_nobody() {
    local name=$1 rc=0
    shift
    # setuid_probe.c turns LeakSanitizer off for itself (an ASan build).
    setpriv --reuid=nobody --regid=nogroup --clear-groups env \
        HSMKEY_PKCS11_MODULE="$EVIL" HSMKEY_PIN_SOURCE="file:$pinfile" \
        SOFTHSM2_CONF="$S/token/softhsm2.conf" \
        "$@" >"$T/out/$name.out" 2>"$T/out/$name.err" </dev/null || rc=$?
    _status_check "$rc" "$T/out/$name.err" "$name"
    sed "s/^/  $name| /" "$T/out/$name.out" "$T/out/$name.err"
    RC=$rc
}

say "not setuid: the caller's HSMKEY_PKCS11_MODULE is obeyed (control)"
as_nobody plain "$S/plain_probe" "$S/nopin.cnf" "$U"
assert_file_match 'secure=0' "$T/out/plain.out"
assert_file_match 'EVIL MODULE LOADED' "$T/out/plain.err"

say "setuid: the caller's module is not loaded, its pin source not used"
as_nobody setuid "$S/setuid_probe" "$S/nopin.cnf" "$U"
assert_file_match 'ruid=65534 euid=1 secure=1' "$T/out/setuid.out"
assert_file_match '^not loaded' "$T/out/setuid.out"
assert_file_nomatch 'EVIL' "$T/out/setuid.err"
assert_file_match 'needs a PIN and none is configured' "$T/out/setuid.err"
assert_file_nomatch "$pinfile" "$T/out/setuid.err"

say "setuid: the configuration's own settings still work"
as_nobody setuid-cnf "$S/setuid_probe" "$S/pin.cnf" "$U"
assert_eq "$RC" 0 "the setuid program with a configured PIN"
assert_file_match '^loaded' "$T/out/setuid-cnf.out"
assert_file_nomatch 'EVIL' "$T/out/setuid-cnf.err"
