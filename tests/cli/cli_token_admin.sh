#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# hsmkey init-token and set-pin on a SoftHSM2 store that starts empty: a
# free slot initialized with its label and both PINs (from pin sources, or
# asked twice without echo), a token initialized again only when
# confirmed, the user PIN changed with the current one or reset by the
# security officer.  Every PIN is checked independently with pkcs11-tool,
# and none may appear in any output (lib.sh scans them all).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

# A store of our own with no token at all: one free slot.
E=$T/empty
mkdir -p "$E/tokens"
sed "s|@TOKDIR@|$E/tokens|" "$HSMKEY_SRC/softhsm-conf/softhsm2.conf.in" \
    >"$E/softhsm2.conf"
export SOFTHSM2_CONF=$E/softhsm2.conf

pinfile() { # NAME VALUE: a pin file (mode 0600) under $T/secret
    printf '%s\n' "$2" >"$T/secret/$1"
    secret "$2"
}
SO=31415-so-pin-admin
U1=27182-user-pin-one
U2=16180-user-pin-two
U3=14142-user-pin-three
pinfile so "$SO"
pinfile u1 "$U1"
pinfile u2 "$U2"
pinfile u3 "$U3"

# p11_as LABEL ARGS...: pkcs11-tool on token LABEL of the empty store.
p11_as() {
    local label=$1
    shift
    OPENSSL_CONF=$SW_CNF pkcs11-tool --module "$TOKEN_MODULE" \
        --token-label "$label" "$@" >"$T/out/p11.$label" 2>&1
}
user_pin_is() { # LABEL PIN
    p11_as "$1" --login --pin "$2" --list-objects ||
        die "token $1 refuses the user PIN it should have"
}
user_pin_is_not() { # LABEL PIN
    ! p11_as "$1" --login --pin "$2" --list-objects ||
        die "token $1 still takes a PIN it should not"
}
so_pin_is() { # LABEL SO-PIN USER-PIN: the SO logs in (and sets the user PIN
    # to the value it has)
    p11_as "$1" --login --login-type so --so-pin "$2" --init-pin \
        --new-pin "$3" || die "token $1 refuses its SO PIN"
}

say "a free slot, initialized: label, SO PIN, user PIN"
hk_ok tokens
assert_file_match "^[0-9]+ +- .* uninitialized,login-required +yes " "$HK_OUT"
hk_ok init-token --label node1 --so-pin-source "file:$T/secret/so" \
    --pin-source "file:$T/secret/u1"
assert_file_match "^label: node1\$" "$HK_OUT"
assert_file_match "^serial: [0-9a-f]+\$" "$HK_OUT"
assert_file_match "token 'node1' initialized \(serial [0-9a-f]+\), its user PIN set" "$HK_ERR"
hk_ok tokens
assert_file_match "^[0-9]+ +node1 .* initialized,login-required,user-pin-initialized +no " "$HK_OUT"
user_pin_is node1 "$U1"
so_pin_is node1 "$SO" "$U1"
say "ok: node1 takes both PINs (checked by pkcs11-tool)"

say "the next free slot, --json; a label in use is refused"
hk_ok --json init-token --label node2 --so-pin-source "file:$T/secret/so" \
    --pin-source "file:$T/secret/u2"
json_ok "$HK_OUT"
assert_eq "$(json_q "$HK_OUT" 'sorted(j)')" '["label", "manufacturer", "model", "serial"]'
assert_eq "$(json_q "$HK_OUT" 'j["label"]')" node2
user_pin_is node2 "$U2"
hk_exit 2 "init-token: the token in slot [0-9]+ is labelled 'node1' already: choose another label" \
    init-token --label node1 --so-pin-source "file:$T/secret/so" \
    --pin-source "file:$T/secret/u1"
hk_exit 2 "longer than the 32 bytes of a token label" \
    init-token --label "$(printf 'x%.0s' {1..33})" --so-pin-source "file:$T/secret/so"

say "PINs asked twice without echo on a terminal; two entries that differ"
printf '%s\n%s\n%s\n%s\n' "$SO" "$SO" "$U3" "$U3" >"$T/secret/answers"
python3 "$HSMKEY_SRC/tests/cli/ptyrun.py" "$T/secret/answers" "$HSMKEY" \
    --module "$TOKEN_MODULE" init-token --label node3 >"$T/out/pty.init" 2>&1 ||
    die "init-token with prompts failed: $(cat "$T/out/pty.init")"
assert_file_match "New SO PIN for token 'node3': " "$T/out/pty.init"
assert_file_match "Repeat the new user PIN for token 'node3': " "$T/out/pty.init"
user_pin_is node3 "$U3"
so_pin_is node3 "$SO" "$U3"
printf '%s\n%s\n' "$SO" "$SO-typo" >"$T/secret/answers.typo"
python3 "$HSMKEY_SRC/tests/cli/ptyrun.py" "$T/secret/answers.typo" "$HSMKEY" \
    --module "$TOKEN_MODULE" init-token --label node4 >"$T/out/pty.typo" 2>&1 &&
    die "init-token went ahead with two different SO PINs"
assert_file_match "the two entries of the new SO PIN differ: nothing changed" "$T/out/pty.typo"
hk_ok tokens
assert_file_nomatch " node4 " "$HK_OUT" "a token was initialized after a typo"
say "ok: prompts, and a typo stops before anything changes"

say "without a terminal a missing PIN source is an error, never a guess"
hk_exit 2 "init-token: the SO PIN: give --so-pin-source file:PATH\|env:VAR \(there is no terminal to ask on\)" \
    init-token --label node4
hk_exit 2 "init-token: the user PIN: give --pin-source" \
    init-token --label node4 --so-pin-source "file:$T/secret/so"
printf '12\n' >"$T/secret/short"
hk_exit 2 "token 'node4': the SO PIN is 2 characters; the token takes 4 to" \
    init-token --label node4 --so-pin-source "file:$T/secret/short" \
    --pin-source "file:$T/secret/u1"

say "initializing a token again destroys its keys: shown, and confirmed"
hk_ok keygen --token node2 --label k2 --type ec:P-256 --pin-source "file:$T/secret/u2"
slot2=$("$HSMKEY" --module "$TOKEN_MODULE" --json tokens |
    python3 -c 'import json,sys; print([s["slot"] for s in json.load(sys.stdin) if s["label"] == "node2"][0])')
hk_exit 2 "init-token: nothing done: confirm on a terminal, or add --yes" \
    init-token --label node2 --slot "$slot2" --so-pin-source "file:$T/secret/so" \
    --pin-source "file:$T/secret/u2"
assert_file_match "slot $slot2 holds the initialized token 'node2' \(serial [0-9a-f]+\): initializing it again destroys every key and certificate on it" "$HK_ERR"
hk_ok keys --token node2 --pin-source "file:$T/secret/u2"
assert_file_match "^k2 +private " "$HK_OUT"
hk_exit 3 "init-token: no slot 999999 \(see hsmkey tokens\)" init-token --label x --slot 999999 \
    --so-pin-source "file:$T/secret/so" --pin-source "file:$T/secret/u1"
hk_ok init-token --label node2 --slot "$slot2" --yes \
    --so-pin-source "file:$T/secret/so" --pin-source "file:$T/secret/u3"
hk_ok keys --token node2 --pin-source "file:$T/secret/u3"
assert_file_nomatch "^k2 " "$HK_OUT" "the old key survived re-initialization"
user_pin_is node2 "$U3"
say "ok: re-initialized only with --yes"

say "set-pin: the user changes the PIN with the current one"
hk_ok set-pin --token node1 --pin-source "file:$T/secret/u1" \
    --new-pin-source "file:$T/secret/u2"
assert_file_match "^token: node1\$" "$HK_OUT"
assert_file_match "^by: user\$" "$HK_OUT"
assert_file_match "update the pin-source files of the servers that use it" "$HK_ERR"
user_pin_is node1 "$U2"
user_pin_is_not node1 "$U1"
hk_exit 3 "token 'node1': C_SetPIN: CKR_PIN_INCORRECT" \
    set-pin --token node1 --pin-source "file:$T/secret/u1" \
    --new-pin-source "file:$T/secret/u3"
user_pin_is node1 "$U2"
# The new PIN asked twice; the current one from HSMKEY_PIN_SOURCE.
printf '%s\n%s\n' "$U3" "$U3" >"$T/secret/answers.new"
HSMKEY_PIN_SOURCE=file:$T/secret/u2 python3 "$HSMKEY_SRC/tests/cli/ptyrun.py" \
    "$T/secret/answers.new" "$HSMKEY" --module "$TOKEN_MODULE" set-pin \
    --token node1 >"$T/out/pty.setpin" 2>&1 ||
    die "set-pin with prompts failed: $(cat "$T/out/pty.setpin")"
assert_file_match "New user PIN for token 'node1': " "$T/out/pty.setpin"
user_pin_is node1 "$U3"

say "set-pin --so-pin-source: the security officer resets a lost user PIN"
hk_ok --json set-pin --token node1 --so-pin-source "file:$T/secret/so" \
    --new-pin-source "file:$T/secret/u1"
assert_eq "$(json_q "$HK_OUT" 'j')" '{"token": "node1", "by": "so"}'
user_pin_is node1 "$U1"
user_pin_is_not node1 "$U3"
hk_exit 3 "token 'node1': C_Login as SO: CKR_PIN_INCORRECT" \
    set-pin --token node1 --so-pin-source "file:$T/secret/u1" \
    --new-pin-source "file:$T/secret/u2"
user_pin_is node1 "$U1"
hk_exit 2 "set-pin: the user PIN: give --new-pin-source" \
    set-pin --token node1 --so-pin-source "file:$T/secret/so"
hk_exit 3 "no token labelled 'nope'" set-pin --token nope \
    --new-pin-source "file:$T/secret/u1"
# The provider and the CLI work with the PIN it set.
hk_ok keygen --token node1 --label after --type ec:P-256 --pin-source "file:$T/secret/u1"
say "ok: PIN changed, reset, and used"
