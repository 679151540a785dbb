#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# doc_security.sh -- the security claims are written once and true:
#  - README.md's "Security" section is, sentence for sentence, the "What
#    hsmkey promises" section of docs/THREATS.md;
#  - every test docs/THREATS.md names exists and is registered with meson;
#  - what the README says about the openssl CLI itself holds: it looks for
#    a file named like the URI first (`-key 'pkcs11:...'`), and a pin-value
#    in a URI reaches its own messages (use pin-source).
. "$(dirname "$0")/../lib.sh"

README=$HSMKEY_SRC/README.md
THREATS=$HSMKEY_SRC/docs/THREATS.md
[ -s "$THREATS" ] || die "docs/THREATS.md is missing"

# section FILE HEADING: the text under "## HEADING" up to the next "## ",
# one sentence per line, whitespace and markdown line breaks normalized
section() {
    awk -v h="## $2" '
        $0 == h { on = 1; next }
        on && /^## / { exit }
        on { print }' "$1" | tr '\n' ' ' | sed 's/  */ /g; s/\. /.\n/g' |
        sed 's/^ *//; s/ *$//' | grep -v '^$'
}
section "$README" Security >"$T/readme.claims"
section "$THREATS" "What hsmkey promises" >"$T/threats.claims"
[ "$(wc -l <"$T/threats.claims")" -ge 10 ] ||
    die "docs/THREATS.md: the promises section is missing or short"
if ! diff -u "$T/threats.claims" "$T/readme.claims" >"$T/out/claims.diff"; then
    cat "$T/out/claims.diff" >&2
    die "README.md's Security section differs from docs/THREATS.md"
fi
say "ok: README.md and docs/THREATS.md make the same claims"

# Every test named in THREATS.md: a script or a cmocka test that meson runs.
grep -oE '`(tests/[a-z_/]+\.(sh|c))`' "$THREATS" | tr -d '`' | sort -u \
    >"$T/named"
[ -s "$T/named" ] || die "docs/THREATS.md names no test"
while read -r f; do
    [ -f "$HSMKEY_SRC/$f" ] || die "docs/THREATS.md names $f: no such file"
    base=$(basename "$f" .sh)
    base=${base%.c}
    grep -rqE "'${base#test_}'|'$base'|$base\.sh|'test_' \+ t|test_$base" \
        "$HSMKEY_SRC/tests" --include=meson.build ||
        die "docs/THREATS.md names $f, which meson does not run"
done <"$T/named"
say "ok: the $(wc -l <"$T/named") tests docs/THREATS.md names exist"

# What the README says about the openssl CLI, shown to be so.
assert_file_match "looks for a file of that name first" "$README"
assert_file_match "pin-value.*openssl.*messages|openssl.*messages.*pin-value" \
    "$README"
U="pkcs11:token=$TOKEN_LABEL;object=no-such-key;type=private"
should_fail 'doc-probe-4711' ossl_raw pkey -in "$U?pin-value=doc-probe-4711" \
    -pubout
if grep -a ':hsmkey:' "$LAST_ERR" | grep -aq 'doc-probe-4711'; then
    die "hsmkey's own message repeats a pin-value"
fi
say "ok: the openssl CLI repeats a URI's pin-value, hsmkey does not"
mkdir "$T/cwd"
cd "$T/cwd"
U=$(uri ec-key)
ossl_sw genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$U"
ossl_sw pkey -in "$U" -pubout -out "$T/planted.pub"
ossl pkey -in "$U" -pubout -out "$T/loaded.pub"
cmp -s "$T/planted.pub" "$T/loaded.pub" ||
    die "the openssl CLI no longer prefers a file named like the URI: fix README"
say "ok: the openssl CLI's -in 'pkcs11:...' loads a file of that name first"
