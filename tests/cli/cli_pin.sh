#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# PINs and passphrases typed at a terminal: asked without echo, once per
# run, never printed; used by the core (keys, keygen) and handed to the
# provider inside the in-memory URI (csr).  Wrong and empty answers.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"
# Ed25519 keys through SoftHSM2 under leak checking (lib.sh).
full_unwind

PTY=$HSMKEY_SRC/tests/cli/ptyrun.py
printf '%s\n' "$TOKEN_PIN" >"$T/secret/answers"

# on_tty NAME CMD...: CMD on a terminal answering from $T/secret/answers;
# its terminal output in $T/out/NAME.tty, status in TTY_RC.
TTY_RC=0
on_tty() {
    local name=$1
    shift
    TTY_RC=0
    python3 "$PTY" "$T/secret/answers" "$HSMKEY" --module "$TOKEN_MODULE" \
        "$@" >"$T/out/$name.tty" 2>&1 || TTY_RC=$?
    _status_check "$TTY_RC" "$T/out/$name.tty" "hsmkey $*"
}

on_tty keys keys --token "$TOKEN_LABEL"
assert_eq "$TTY_RC" 0 "keys with a typed PIN"
assert_eq "$(grep -c "PIN for token '$TOKEN_LABEL': " "$T/out/keys.tty")" 1
assert_eq "$(grep -c ' private ' "$T/out/keys.tty")" 5
say "ok: keys asks for the PIN once on a terminal"

on_tty keygen keygen --token "$TOKEN_LABEL" --label tty-key --type ec:P-256 \
    --out "$T/tty-key.ref"
assert_eq "$TTY_RC" 0 "keygen with a typed PIN"
assert_eq "$(grep -c "PIN for token" "$T/out/keygen.tty")" 1
assert_file_match "^pkcs11:.*object=tty-key;type=private" "$T/out/keygen.tty"
say "ok: keygen with a typed PIN"

if "$HSMKEY" --help | grep -q '^  csr '; then
    on_tty csr csr --key "$T/tty-key.ref" --subject /CN=tty.example \
        --out "$T/tty.csr"
    assert_eq "$TTY_RC" 0 "csr with a typed PIN"
    assert_eq "$(grep -c "PIN for token" "$T/out/csr.tty")" 1
    ossl_sw req -in "$T/tty.csr" -verify -noout 2>/dev/null ||
        die "the CSR signed with a typed PIN does not verify"
    say "ok: csr: the typed PIN reaches the provider"
fi

# A passphrase and the PIN, each asked once, in that order.
ossl_sw genpkey -algorithm ED25519 -out "$T/secret/ed.pem"
printf 'tty passphrase\n' >"$T/secret/pass"
ossl_sw pkcs8 -topk8 -in "$T/secret/ed.pem" -passout "file:$T/secret/pass" \
    -out "$T/secret/ed.p8"
printf 'tty passphrase\n%s\n' "$TOKEN_PIN" >"$T/secret/answers"
on_tty import import --token "$TOKEN_LABEL" --label tty-ed \
    --key "$T/secret/ed.p8"
assert_eq "$TTY_RC" 0 "import with a typed passphrase and PIN"
assert_file_match "^Passphrase for $T/secret/ed.p8: " "$T/out/import.tty"
assert_eq "$(grep -c "PIN for token" "$T/out/import.tty")" 1
grep -q "tty passphrase" "$T/out/import.tty" && die "the passphrase was echoed"
say "ok: import asks for passphrase and PIN"

# Wrong and empty PINs fail as token errors (3).
printf 'not-the-pin\n' >"$T/secret/answers"
on_tty wrong keys --token "$TOKEN_LABEL"
assert_eq "$TTY_RC" 3 "a wrong typed PIN"
assert_file_match "C_Login: CKR_PIN_INCORRECT" "$T/out/wrong.tty"
grep -q "not-the-pin" "$T/out/wrong.tty" && die "the wrong PIN was echoed"
printf '\n' >"$T/secret/answers"
on_tty empty keys --token "$TOKEN_LABEL"
assert_eq "$TTY_RC" 3 "an empty typed PIN"
assert_file_match "the answer is empty" "$T/out/empty.tty"
say "ok: wrong and empty PINs"
# lib.sh checks at exit that no output file holds the PIN.
