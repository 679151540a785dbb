#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The man page (tool/hsmkey.1 as the build fills it in) against the CLI's
# own --help: every command and every option a --help text names is
# documented there, the page renders without warnings, and it carries the
# version hsmkey --version prints (both from meson.build).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

page=$HSMKEY_BUILD/tool/hsmkey.1
[ -r "$page" ] || die "no man page $page"
version=$("$HSMKEY" --version)
assert_match '^hsmkey [0-9]+\.[0-9]+\.[0-9]+' "$version" "hsmkey --version"
assert_file_match "^\.TH HSMKEY 1 \"[0-9]+\" \"$version\" " "$page" \
    "the man page's version"
assert_file_nomatch '@[A-Z_]+@' "$page" "placeholders left in the man page"
# The page as text, with roff's escaped hyphens as plain ones.
sed 's/\\-/-/g' "$page" >"$T/page.txt"
if command -v groff >/dev/null; then
    groff -man -Tutf8 -ww "$page" >/dev/null 2>"$T/out/groff.err" || true
    [ ! -s "$T/out/groff.err" ] || die "groff: $(cat "$T/out/groff.err")"
fi

commands=$("$HSMKEY" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } /^$/ && on { exit }')
for cmd in $commands; do
    grep -q "^\\.SS \"hsmkey $cmd" "$T/page.txt" ||
        die "hsmkey.1 has no section for '$cmd'"
    "$HSMKEY" "$cmd" --help >"$T/out/$cmd.help"
    for opt in $(grep -oE -- '--[a-z][a-z0-9-]*' "$T/out/$cmd.help" | sort -u); do
        grep -qF -- "$opt" "$T/page.txt" ||
            die "hsmkey.1 does not document $opt of '$cmd'"
    done
done
for word in HSMKEY_PKCS11_MODULE HSMKEY_PIN_SOURCE HSMKEY_DEBUG "EXIT STATUS"; do
    grep -qF -- "$word" "$T/page.txt" || die "hsmkey.1 lacks $word"
done
say "ok: hsmkey.1 covers: $(echo $commands)"
