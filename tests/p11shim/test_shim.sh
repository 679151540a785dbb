#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_shim.sh MODE -- tests of hsmkey-p11shim.so itself, on a throwaway
# SoftHSM2 token (tests/lib.sh).
#   cli         drive the shim with pkcs11-tool: counts, faults, stall,
#               token-absent view, malformed rules, strict mode
#   c PROGRAM   run shim_counts (in-process counters, runtime control file,
#               session/removal effects, threads, fork, re-initialization)
#   profile PROGRAM MODE
#               run shim_profiles MODE: the real-HSM limits (sessions,
#               readonly, no-copy), the live accounting, the instant token
# Environment (from meson): HSMKEY_BUILD, HSMKEY_SRC, HSMKEY_SHIM.
TEST_TOKEN_LABEL=shimtest
# shellcheck source=../lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
TEST_NAME=p11shim-${1:-cli}${3:+-$3}

SHIM=${HSMKEY_SHIM:-$HSMKEY_BUILD/tests/p11shim/hsmkey-p11shim.so}
[ -s "$SHIM" ] || die "shim $SHIM not built (meson compile -C build)"
unset HSMKEY_SHIM_FAULTS HSMKEY_SHIM_CONTROL HSMKEY_SHIM_COUNTS \
    HSMKEY_SHIM_STRICT HSMKEY_SHIM_MODULE

# pkcs11-tool through the shim. Under the asan setup the shim is
# instrumented and pkcs11-tool is not: preload the runtime, and leave
# pkcs11-tool's own leaks to its maintainers (shim_counts checks ours).
p11() {
    LD_PRELOAD=${HSMKEY_TEST_PRELOAD:-} \
        ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        pkcs11-tool --module "$SHIM" "$@"
}
p11_login() {
    p11 --token-label "$TOKEN_LABEL" --login --pin "$TOKEN_PIN" "$@"
}
sign() { # OUT: sign $T/data with rsa-key (id 01)
    p11_login --sign --mechanism SHA256-RSA-PKCS --id 01 -i "$T/data" -o "$1"
}
ms() { echo $(($(date +%s%N) / 1000000)); }

# counts_is FILE NAME VALUE
counts_is() {
    assert_file_match "^$2 $3\$" "$1" "counts file: $2 should be $3"
}

test_cli() {
    local pub=$T/pub.pem out ckr t0 t1 base

    head -c 1000 /dev/urandom >"$T/data"
    token_pub 01 "$pub"

    say "list slots: counts file at C_Finalize"
    HSMKEY_SHIM_COUNTS=$T/list.counts p11 -L >"$T/list.out"
    assert_file_match "token label +: $TOKEN_LABEL" "$T/list.out"
    counts_is "$T/list.counts" C_Initialize 1
    counts_is "$T/list.counts" C_Finalize 1
    assert_file_match '^C_GetSlotList [1-9]' "$T/list.counts"
    assert_eq "$(grep -c '^C_' "$T/list.counts")" 68 "one line per function"

    say "sign: one C_SignInit, one C_Sign; %p in the path"
    HSMKEY_SHIM_COUNTS=$T/sign.%p.counts sign "$T/sig" >/dev/null 2>&1
    out=$(ls "$T"/sign.*.counts)
    assert_match '/sign\.[0-9]+\.counts$' "$out" "%p not expanded"
    counts_is "$out" C_SignInit 1
    counts_is "$out" C_Sign 1
    counts_is "$out" faults 0
    ossl_sw dgst -sha256 -verify "$pub" -signature "$T/sig" "$T/data" |
        grep -q 'Verified OK' || die "signature through the shim does not verify"

    say "each fault value is returned as named"
    for ckr in CKR_SESSION_HANDLE_INVALID CKR_SESSION_CLOSED \
        CKR_DEVICE_REMOVED CKR_TOKEN_NOT_PRESENT CKR_DEVICE_ERROR \
        CKR_USER_NOT_LOGGED_IN CKR_PIN_INCORRECT CKR_GENERAL_ERROR; do
        HSMKEY_SHIM_FAULTS=C_SignInit:$ckr \
            should_fail "C_SignInit failed: rv = $ckr" sign "$T/x"
    done
    HSMKEY_SHIM_FAULTS=C_Login:CKR_PIN_INCORRECT \
        should_fail "C_Login failed: rv = CKR_PIN_INCORRECT" sign "$T/x"

    say "a failed C_Sign ends the real operation (pkcs11-tool retries)"
    HSMKEY_SHIM_FAULTS=C_Sign:CKR_DEVICE_ERROR \
        HSMKEY_SHIM_COUNTS=$T/retry.counts sign "$T/sig2" >/dev/null 2>&1
    counts_is "$T/retry.counts" C_SignInit 2
    counts_is "$T/retry.counts" C_SignFinal 1
    counts_is "$T/retry.counts" faults 1
    ossl_sw dgst -sha256 -verify "$pub" -signature "$T/sig2" "$T/data" |
        grep -q 'Verified OK' || die "retried signature does not verify"

    say "after=1: the second C_SignInit fails"
    HSMKEY_SHIM_FAULTS='C_Sign:CKR_GENERAL_ERROR, C_SignInit:CKR_DEVICE_ERROR:after=1' \
        HSMKEY_SHIM_COUNTS=$T/nth.counts \
        should_fail "C_SignInit failed: rv = CKR_DEVICE_ERROR" sign "$T/x"
    counts_is "$T/nth.counts" C_SignInit 2
    counts_is "$T/nth.counts" faults 2

    say "stall=1500 delays the signature by 1.5 s"
    t0=$(ms); sign "$T/x" >/dev/null 2>&1; t1=$(ms); base=$((t1 - t0))
    t0=$(ms)
    HSMKEY_SHIM_FAULTS=C_SignInit:stall=1500 HSMKEY_SHIM_COUNTS=$T/stall.counts \
        sign "$T/x" >/dev/null 2>&1
    t1=$(ms)
    [ $((t1 - t0)) -ge 1500 ] || die "stalled sign took $((t1 - t0)) ms"
    counts_is "$T/stall.counts" stalls 1
    say "  stalled: $((t1 - t0)) ms, without: $base ms"

    say "token absent while a removal rule fires on slot calls"
    HSMKEY_SHIM_FAULTS='C_GetSlot*:CKR_TOKEN_NOT_PRESENT' p11 -L >"$T/absent.out"
    assert_file_match '\(empty\)' "$T/absent.out"
    assert_file_nomatch 'token label' "$T/absent.out"
    HSMKEY_SHIM_FAULTS='*:CKR_DEVICE_REMOVED' \
        should_fail "No slot with token named \"$TOKEN_LABEL\"" \
        p11 --token-label "$TOKEN_LABEL" -O
    HSMKEY_SHIM_FAULTS='C_OpenSession:CKR_DEVICE_REMOVED' \
        should_fail 'C_OpenSession failed: rv = CKR_TOKEN_NOT_PRESENT' \
        p11 --token-label "$TOKEN_LABEL" -O

    say "rules from the control file"
    echo 'C_SignInit:CKR_USER_NOT_LOGGED_IN   # comment' >"$T/control"
    HSMKEY_SHIM_CONTROL=$T/control \
        should_fail 'C_SignInit failed: rv = CKR_USER_NOT_LOGGED_IN' sign "$T/x"
    HSMKEY_SHIM_CONTROL=$T/no-such-file sign "$T/x" >/dev/null 2>&1

    say "malformed rules: one line each on stderr, ignored"
    HSMKEY_SHIM_FAULTS='C_Sign:CKR_NOPE,C_Sgin:CKR_DEVICE_ERROR,C_Sign:stall=x,C_Sign:CKR_DEVICE_ERROR:after=-1,C_Sign:CKR_DEVICE_ERROR:often=2,C_Sign,C_Sign:CKR_DEVICE_ERROR:every=0' \
        sign "$T/x" >"$T/bad.out" 2>"$T/bad.err"
    for rule in "C_Sign:CKR_NOPE" "C_Sgin:CKR_DEVICE_ERROR" "C_Sign:stall=x" \
        "C_Sign:CKR_DEVICE_ERROR:after=-1" "C_Sign:CKR_DEVICE_ERROR:often=2" \
        "C_Sign" "C_Sign:CKR_DEVICE_ERROR:every=0"; do
        assert_file_match "^hsmkey-p11shim: HSMKEY_SHIM_FAULTS: bad rule '$rule': .* \\(ignored\\)\$" "$T/bad.err"
    done
    assert_eq "$(grep -c 'bad rule' "$T/bad.err")" 7 "one line per bad rule"
    echo 'C_Nope:CKR_DEVICE_ERROR' >"$T/badcontrol"
    HSMKEY_SHIM_CONTROL=$T/badcontrol sign "$T/x" >/dev/null 2>"$T/badctl.err"
    assert_file_match "HSMKEY_SHIM_CONTROL: bad rule 'C_Nope:CKR_DEVICE_ERROR'" \
        "$T/badctl.err"

    say "strict mode: a bad rule makes C_Initialize fail"
    HSMKEY_SHIM_STRICT=1 HSMKEY_SHIM_FAULTS='C_Sign:CKR_NOPE,C_Sign:CKR_DEVICE_ERROR' \
        should_fail 'C_Initialize failed: rv = CKR_ARGUMENTS_BAD' sign "$T/x"
    assert_file_match "HSMKEY_SHIM_STRICT=1 and 1 bad rule" "$LAST_ERR"
    HSMKEY_SHIM_STRICT=1 HSMKEY_SHIM_CONTROL=$T/badcontrol \
        should_fail 'CKR_ARGUMENTS_BAD' sign "$T/x"

    say "limits: a read-only token, shown and enforced"
    HSMKEY_SHIM_LIMITS=readonly p11 -L >"$T/ro.out"
    assert_file_match 'token flags +:.*readonly' "$T/ro.out"
    HSMKEY_SHIM_LIMITS=readonly HSMKEY_SHIM_COUNTS=$T/ro.counts \
        should_fail 'C_OpenSession failed: rv = CKR_TOKEN_WRITE_PROTECTED' \
        p11_login --keypairgen --key-type EC:prime256v1 --label ro-key
    counts_is "$T/ro.counts" limited 1
    HSMKEY_SHIM_LIMITS='readonly, sessions=2' sign "$T/sig3" >/dev/null 2>&1
    ossl_sw dgst -sha256 -verify "$pub" -signature "$T/sig3" "$T/data" |
        grep -q 'Verified OK' || die "signature on a read-only token"

    say "limits: one session only"
    HSMKEY_SHIM_LIMITS=sessions=1 HSMKEY_SHIM_COUNTS=$T/one.counts \
        sign "$T/sig4" >/dev/null 2>&1
    counts_is "$T/one.counts" limited 0
    counts_is "$T/one.counts" sessions_open 0
    counts_is "$T/one.counts" session_objects 0

    say "limits: a bad one is named and ignored, strict mode refuses it"
    HSMKEY_SHIM_LIMITS='sessions=0,rw-sessions=x,no-copy,readwrite' \
        p11 -L >/dev/null 2>"$T/badlim.err"
    for item in sessions=0 rw-sessions=x readwrite; do
        assert_file_match "^hsmkey-p11shim: HSMKEY_SHIM_LIMITS: bad limit '$item': .* \\(ignored\\)\$" \
            "$T/badlim.err"
    done
    assert_eq "$(grep -c 'bad limit' "$T/badlim.err")" 3 "one line per bad limit"
    HSMKEY_SHIM_STRICT=1 HSMKEY_SHIM_LIMITS=readwrite \
        should_fail 'C_Initialize failed: rv = CKR_ARGUMENTS_BAD' sign "$T/x"

    say "a missing real module is named"
    HSMKEY_SHIM_MODULE=$T/no-such-module.so \
        should_fail 'hsmkey-p11shim: cannot load the real module: .*no-such-module' \
        p11 -L
}

test_c() {
    local prog=$1
    [ -x "$prog" ] || die "test program $prog not built"
    mkdir -p "$T/c"
    "$prog" "$SHIM" "$TOKEN_LABEL" "$TOKEN_PIN_FILE" "$T/c" \
        >"$T/c.out" 2>"$T/c.err" || {
        cat "$T/c.out"
        sed 's/^/  | /' "$T/c.err" >&2
        die "shim_counts failed"
    }
    cat "$T/c.out"
    assert_file_match '^8 passed, 0 failed$' "$T/c.out"
}

test_profile() {
    local prog=$1 mode=$2 want
    [ -x "$prog" ] || die "test program $prog not built"
    mkdir -p "$T/p"
    "$prog" "$SHIM" "$TOKEN_LABEL" "$TOKEN_PIN_FILE" "$T/p" "$mode" \
        >"$T/p.out" 2>"$T/p.err" || {
        cat "$T/p.out"
        sed 's/^/  | /' "$T/p.err" >&2
        die "shim_profiles $mode failed"
    }
    cat "$T/p.out"
    case $mode in
    sessions | accounting) want=3 ;;
    instant) want=5 ;;
    *) want=1 ;;
    esac
    assert_file_match "^$want passed, 0 failed\$" "$T/p.out"
}

case ${1:-cli} in
cli) test_cli ;;
c) test_c "${2:?usage: test_shim.sh c PROGRAM}" ;;
profile) test_profile "${2:?usage: test_shim.sh profile PROGRAM MODE}" \
    "${3:?usage: test_shim.sh profile PROGRAM MODE}" ;;
*) die "usage: test_shim.sh cli | c PROGRAM | profile PROGRAM MODE" ;;
esac
