#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cli_prompt_path.sh -- a PIN typed at the CLI's prompt goes from the
# terminal to C_Login only through hsmkey's protected PIN memory: it is in
# no URI, so no file system call ever sees it (OpenSSL's file scheme would
# stat() a URI carrying it, visible to syscall audit and network file
# systems) and no message or error queue entry holds it.  The CLI runs on
# a terminal (ptyrun.py) under strace, which records every call that takes
# a path; the log must not hold the PIN, nor a stat of the URI.
. "$(dirname "$0")/../lib.sh"
. "$HSMKEY_SRC/tests/cli/cli_lib.sh"

command -v strace >/dev/null || die "strace is not installed (tests/deps.sh)"
PTY=$HSMKEY_SRC/tests/cli/ptyrun.py
printf '%s\n' "$TOKEN_PIN" >"$T/secret/answers"
U=$(uri ec-key)

# traced NAME HSMKEY-ARGS...: on a terminal, under strace (path calls only)
TTY_RC=0
traced() {
    local name=$1
    shift
    TTY_RC=0
    # LeakSanitizer cannot run under ptrace: leaks are checked elsewhere.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        python3 "$PTY" "$T/secret/answers" strace -f -qq -s 4096 \
        -e trace=%file -o "$T/secret/$name.strace" \
        "$HSMKEY" --module "$TOKEN_MODULE" "$@" >"$T/out/$name.tty" 2>&1 ||
        TTY_RC=$?
    _status_check "$TTY_RC" "$T/out/$name.tty" "hsmkey $*"
    if grep -aqF -- "$TOKEN_PIN" "$T/secret/$name.strace"; then
        grep -aF -- "$TOKEN_PIN" "$T/secret/$name.strace" |
            sed "s/$TOKEN_PIN/<PIN>/g; s/^/  | /" | head -5 >&2
        die "$name: a system call saw the typed PIN"
    fi
    if grep -aqE 'stat[a-z0-9]*\([^)]*"pkcs11:' "$T/secret/$name.strace"; then
        die "$name: the URI was looked up as a file"
    fi
}

say "csr with the PIN typed at the prompt"
traced csr csr --key "$U" --subject /CN=tty.example --out "$T/tty.csr"
assert_eq "$TTY_RC" 0 "csr with a typed PIN"
assert_eq "$(grep -c "PIN for token '$TOKEN_LABEL'" "$T/out/csr.tty")" 1
ossl_sw req -in "$T/tty.csr" -verify -noout 2>&1 | grep -q 'verify OK' ||
    die "the CSR signed with a typed PIN does not verify"

say "devcert and check (core and provider share one answer)"
traced devcert devcert --ca-dir "$T/ca" --key "$U" --cn tty.example \
    --out "$T/tty.pem"
assert_eq "$TTY_RC" 0 "devcert with a typed PIN"
traced check check --cert "$T/tty.pem" --ca "$T/ca/ca.pem" --key "$U"
assert_eq "$TTY_RC" 0 "check with a typed PIN"
assert_eq "$(grep -c "PIN for token" "$T/out/check.tty")" 1
assert_file_match '^PASS key-proof' "$T/out/check.tty"

say "a key that is not there: the message holds no PIN"
traced missing csr --key "$(uri no-such-key)" --subject /CN=x \
    --out "$T/x.csr"
assert_eq "$TTY_RC" 3 "csr of a missing key"
assert_file_match "no private key|no private key matches" "$T/out/missing.tty"
# lib.sh checks at exit that no output file holds the PIN.
