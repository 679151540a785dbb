#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cli_outfile.sh -- every --out (csr, devcert, keyref, keygen, config) is
# written to a new file beside it and renamed over it once complete: a
# symbolic link planted at the --out path is replaced, never written
# through, and a write that fails leaves the old file as it was and no
# half-written or temporary file behind.
. "$(dirname "$0")/../lib.sh"
. "$HSMKEY_SRC/tests/cli/cli_lib.sh"

U=$(uri ec-key)
PIN=(--pin-source "file:$TOKEN_PIN_FILE")
mkdir "$T/o"
printf 'victim\n' >"$T/victim"

planted() { # NAME: $T/o/NAME is a link to $T/victim
    ln -sfn "$T/victim" "$T/o/$1"
}
not_through() { # NAME REGEX: a regular file matching REGEX; victim intact
    [ -f "$T/o/$1" ] && [ ! -L "$T/o/$1" ] ||
        die "$1 is not a regular file after the write"
    assert_file_match "$2" "$T/o/$1"
    assert_eq "$(cat "$T/victim")" victim "written through the link $1"
    say "ok: $1 replaced the planted link"
}

planted req.pem
hk_ok "${PIN[@]}" csr --key "$U" --subject /CN=o.example --out "$T/o/req.pem"
not_through req.pem 'BEGIN CERTIFICATE REQUEST'

planted cert.pem
hk_ok "${PIN[@]}" devcert --ca-dir "$T/ca" --key "$U" --cn o.example \
    --out "$T/o/cert.pem"
not_through cert.pem 'BEGIN CERTIFICATE'

planted ref.pem
hk_ok keyref --key "$U" --out "$T/o/ref.pem"
not_through ref.pem 'BEGIN PKCS#11 PROVIDER URI'

planted new.pem
hk_ok "${PIN[@]}" keygen --token "$TOKEN_LABEL" --label out-key \
    --type ec:P-256 --out "$T/o/new.pem"
not_through new.pem 'BEGIN PKCS#11 PROVIDER URI'

planted hsmkey.cnf
hk_ok config --out "$T/o/hsmkey.cnf"
not_through hsmkey.cnf '^\[hsmkey_sect\]'
assert_eq "$(stat -c %a "$T/o/hsmkey.cnf")" 600 "mode 0644 less umask 077"

say "a write that fails leaves the old file and nothing else"
printf 'old content\n' >"$T/o/keep.cnf"
before=$(ls -A "$T/o" | sort | tr '\n' ' ')
# Every write to a file fails (EFBIG); the messages go through a pipe.
if (
    ulimit -f 0
    trap '' XFSZ
    exec "$HSMKEY" config --out "$T/o/keep.cnf"
) 2>&1 >/dev/null | cat >"$T/out/efbig.err"; then
    rc=0
else
    rc=${PIPESTATUS[0]}
fi
_status_check "$rc" "$T/out/efbig.err" "hsmkey config (no room)"
assert_eq "$rc" 2 "config with writes failing"
assert_file_match "cannot write $T/o/keep.cnf" "$T/out/efbig.err"
assert_eq "$(cat "$T/o/keep.cnf")" "old content" "the old file was changed"
assert_eq "$(ls -A "$T/o" | sort | tr '\n' ' ')" "$before" \
    "a temporary file was left behind"
