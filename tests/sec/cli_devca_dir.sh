#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cli_devca_dir.sh -- `devcert --ca-dir` trusts only a directory and key of
# the caller's: another user's pre-made directory (holding their CA), one
# others can write, a symbolic link, a CA key others can read or that
# belongs to someone else, and links planted for ca.pem/ca.key are refused,
# and nothing is ever written through a link.  Needs root (to give files
# to another user), as CI runs.
. "$(dirname "$0")/../lib.sh"
. "$HSMKEY_SRC/tests/cli/cli_lib.sh"

[ "$(id -u)" -eq 0 ] ||
    die "needs root: files are given to another user (nobody) with chown"
U=$(uri ec-key)
devcert() { # EXIT REGEX DIR
    hk_exit "$1" "$2" --pin-source "file:$TOKEN_PIN_FILE" devcert \
        --ca-dir "$3" --key "$U" --cn node1.example --out "$T/node1.pem"
}

say "a fresh directory: created 0700 with ca.key 0600"
devcert 0 '' "$T/ca"
assert_eq "$(stat -c %a "$T/ca")" 700
assert_eq "$(stat -c %a "$T/ca/ca.key")" 600
devcert 0 '' "$T/ca" # reused

say "another user's directory with their CA in it: refused"
mkdir -m 0700 "$T/theirs"
ossl_sw req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/theirs/ca.key" -out "$T/theirs/ca.pem" -days 30 \
    -subj /CN=theirs -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign 2>/dev/null
chown -R nobody "$T/theirs"
devcert 2 'must belong to this user .*it is uid 65534' "$T/theirs"
say "a directory others can write: refused"
mkdir -m 0700 "$T/open"
chmod 0777 "$T/open"
devcert 2 'not be writable by group or others .* mode 0777' "$T/open"
chmod 0770 "$T/open"
devcert 2 'mode 0770' "$T/open"
say "a symbolic link to a directory: refused"
ln -s "$T/ca" "$T/ca-link"
devcert 2 'symbolic link is refused' "$T/ca-link"

say "a CA key others can read, or another user's: refused"
cp -a "$T/ca" "$T/ca2"
chmod 0644 "$T/ca2/ca.key"
devcert 2 'ca.key: must be a regular file of this user .* mode 0644' "$T/ca2"
chmod 0600 "$T/ca2/ca.key"
chown nobody "$T/ca2/ca.key"
devcert 2 'ca.key: must be a regular file .* uid 65534' "$T/ca2"
chown root "$T/ca2/ca.key"
devcert 0 '' "$T/ca2"
say "ca.pem another user may write: refused"
chmod 0666 "$T/ca2/ca.pem"
devcert 2 'ca.pem: must be a regular file .* mode 0666' "$T/ca2"

say "links planted for ca.pem or ca.key: refused, nothing written there"
mkdir -m 0700 "$T/planted" "$T/planted2"
ln -s "$T/victim.pem" "$T/planted/ca.pem"
devcert 2 'ca.pem' "$T/planted"
[ ! -e "$T/victim.pem" ] || die "devcert wrote through the ca.pem link"
ln -s "$T/victim.key" "$T/planted2/ca.key"
devcert 2 'ca.key' "$T/planted2"
[ ! -e "$T/victim.key" ] || die "devcert wrote through the ca.key link"
ln -sf "$T/ca/ca.pem" "$T/planted2/ca.pem"
devcert 2 'symbolic link: refused' "$T/planted2"
