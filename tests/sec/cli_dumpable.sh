#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cli_dumpable.sh -- the CLI makes its process non-dumpable before it reads
# a PIN or a private key: no core file holds them, and other processes of
# the same user can neither ptrace it nor read /proc/PID/mem.  The CLI's
# own main() runs inside test_dumpable (dumpable_main.c), which reads the
# Dumpable field of /proc/self/status before and after.
. "$(dirname "$0")/../lib.sh"

ossl_sw genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$T/secret/import.pem"

run_dumpable() { # NAME HSMKEY-ARGS...
    local name=$1 rc=0
    shift
    preloaded "$HSMKEY_SEC_BIN/test_dumpable" --module "$TOKEN_MODULE" \
        --pin-source "file:$TOKEN_PIN_FILE" "$@" >"$T/out/$name.out" \
        2>"$T/out/$name.err" </dev/null || rc=$?
    _status_check "$rc" "$T/out/$name.err" "test_dumpable $*"
    cat "$T/out/$name.out"
    [ "$rc" -eq 0 ] || { cat "$T/out/$name.err" >&2; die "$name: status $rc"; }
    assert_file_match 'hsmkey exit 0, Dumpable before 1, after 0' \
        "$T/out/$name.out"
}

say "import (a private key and a PIN in memory)"
run_dumpable import import --token "$TOKEN_LABEL" --label dump-key \
    --key "$T/secret/import.pem"
say "keys (a PIN in memory)"
run_dumpable keys keys --token "$TOKEN_LABEL"
