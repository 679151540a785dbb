#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# mktoken.sh DIR [LABEL] -- create a throwaway SoftHSM2 token in DIR.
#
# Writes, all under DIR (nothing goes to the system's SoftHSM store):
#   softhsm2.conf   SoftHSM2 config (tokendir = DIR/tokens); export SOFTHSM2_CONF
#   tokens/         the token store
#   pin             the user PIN and a newline, mode 0600
#   openssl.cnf     loads the default provider and hsmkey (pin-source file:DIR/pin)
#   rsa-cert.pem    the certificate also stored on the token as `rsa-cert` (id 01)
#   token.vars      shell variables describing the token (sourced by tests/lib.sh)
#
# Objects on the token (label, CKA_ID):
#   rsa-key 01 (RSA 2048), ec-key 02 (P-256), ec384-key 03 (P-384),
#   ec521-key 04 (P-521), rsa-other 05 (RSA 2048), rsa-cert 01 (X.509 of rsa-key)
#
# Environment:
#   HSMKEY_SO            hsmkey.so to name in openssl.cnf (default:
#                        $HSMKEY_BUILD/provider/hsmkey.so, else ../build/...)
#   HSMKEY_SOFTHSM_MODULE  SoftHSM2 PKCS#11 module
#                        (default /usr/lib/softhsm/libsofthsm2.so)
#   HSMKEY_TOKEN_KEYS    "all" (default) or "none" (token without keys)
#   HSMKEY_TOKEN_CACHE   a directory of template tokens (the tests use
#                        <build>/token-cache): the token store is made once
#                        per label and kind, there, and copied into DIR.
#                        Making one costs seconds (five key pairs); a copy,
#                        milliseconds.  SoftHSM2 keeps a token as files with
#                        no path inside, so a copy is a token of its own.  A
#                        template is made again when this script or
#                        softhsm2.conf.in changed, and after a week (the
#                        token's certificate is valid 30 days).
set -euo pipefail

die() { echo "mktoken.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: mktoken.sh DIR [LABEL]"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$1
label=${2:-hsmkey-test}

user_pin=73951-hsmkey-test-pin
so_pin=26480-hsmkey-test-so-pin
softhsm=${HSMKEY_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
if [ -n "${HSMKEY_SO:-}" ]; then
    provider=$HSMKEY_SO
elif [ -n "${HSMKEY_BUILD:-}" ]; then
    provider=$HSMKEY_BUILD/provider/hsmkey.so
else
    provider=$(cd "$here/.." && pwd)/build/provider/hsmkey.so
fi

for tool in softhsm2-util pkcs11-tool openssl; do
    command -v "$tool" >/dev/null || die "required tool '$tool' not found (apt-get install softhsm2 opensc openssl)"
done
[ -r "$softhsm" ] || die "SoftHSM2 module $softhsm not found (apt-get install softhsm2)"

# The tools below (openssl, and pkcs11-tool and SoftHSM through libcrypto)
# use the default provider only, whatever OPENSSL_CONF the caller has.
export OPENSSL_CONF=/dev/null

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
[ ! -e "$dir/tokens" ] || die "$dir/tokens already exists; use an empty directory"
log=$dir/mktoken.log
: >"$log"
keys=${HSMKEY_TOKEN_KEYS:-all}
case $keys in all | none) ;; *) die "HSMKEY_TOKEN_KEYS: all or none, not '$keys'" ;; esac

# Run a command with its output in the log; on failure show the log and stop.
run() {
    if ! "$@" >>"$log" 2>&1; then
        echo "mktoken.sh: failed: $1 ${2:-}" >&2
        sed 's/^/  | /' "$log" >&2
        exit 1
    fi
}

sed "s|@TOKDIR@|$dir/tokens|" "$here/softhsm2.conf.in" >"$dir/softhsm2.conf"
export SOFTHSM2_CONF=$dir/softhsm2.conf

(umask 077 && printf '%s\n' "$user_pin" >"$dir/pin")
chmod 0600 "$dir/pin"

# make_store: the token and its objects, made in $dir/tokens by SoftHSM2,
# pkcs11-tool and openssl.
make_store() {
    mkdir -m 0700 "$dir/tokens"
    run softhsm2-util --init-token --free --label "$label" \
        --so-pin "$so_pin" --pin "$user_pin"
    [ "$keys" = none ] || make_keys
}

p11() { run pkcs11-tool --module "$softhsm" --token-label "$label" "$@"; }
keygen() { # ID LABEL KEY-TYPE
    p11 --login --pin "$user_pin" --keypairgen --id "$1" --label "$2" \
        --key-type "$3"
}

make_keys() {
    keygen 01 rsa-key rsa:2048
    keygen 02 ec-key EC:prime256v1
    keygen 03 ec384-key EC:secp384r1
    keygen 04 ec521-key EC:secp521r1
    keygen 05 rsa-other rsa:2048

    # A certificate for rsa-key, stored on the token (cert-from-token case).
    # Its public key is read off the token by pkcs11-tool; a throwaway
    # software issuer signs it.
    work=$(mktemp -d "$dir/.mkcert.XXXXXX")
    p11 --read-object --type pubkey --id 01 -o "$work/pub.der"
    run openssl pkey -pubin -inform DER -in "$work/pub.der" -out "$work/pub.pem"
    run openssl req -new -newkey rsa:2048 -nodes -keyout "$work/tmp.key" \
        -subj "/CN=rsa-key.$label" -out "$work/tmp.csr"
    run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$work/issuer.key" -subj "/CN=$label token-cert issuer" \
        -days 30 -out "$work/issuer.pem"
    run openssl x509 -req -in "$work/tmp.csr" -CA "$work/issuer.pem" \
        -CAkey "$work/issuer.key" -set_serial 1 -days 30 \
        -force_pubkey "$work/pub.pem" -out "$dir/rsa-cert.pem"
    run openssl x509 -in "$dir/rsa-cert.pem" -outform DER -out "$work/cert.der"
    p11 --login --pin "$user_pin" --write-object "$work/cert.der" \
        --type cert --id 01 --label rsa-cert
    rm -rf "$work"
}

# copy_store CACHE: $dir/tokens (and rsa-cert.pem) copied from the template
# for this label and kind in CACHE, made first if it is missing or stale.
# Under one lock for the cache: a template is made once, by whoever asks
# first, and never replaced while another test copies it.
copy_store() {
    local cache=$1 stamp tpl new
    stamp=$(cat "$here/mktoken.sh" "$here/softhsm2.conf.in" | sha256sum |
        cut -c1-12)
    tpl=$cache/$label.$keys.$stamp
    mkdir -p "$cache"
    (
        flock 9
        if [ ! -d "$tpl" ] || [ -n "$(find "$tpl" -maxdepth 0 -mtime +6)" ]; then
            rm -rf "$cache/$label.$keys."*
            new=$(mktemp -d "$cache/.new.XXXXXX")
            HSMKEY_TOKEN_CACHE='' HSMKEY_TOKEN_KEYS=$keys \
                bash "$here/mktoken.sh" "$new" "$label" >/dev/null ||
                { rm -rf "$new"; exit 1; }
            mv "$new" "$tpl"
        fi
        cp -a "$tpl/tokens" "$dir/tokens"
        [ ! -f "$tpl/rsa-cert.pem" ] || cp "$tpl/rsa-cert.pem" "$dir/"
    ) 9>"$cache/.lock" || die "cannot copy the template token $tpl"
}

if [ -n "${HSMKEY_TOKEN_CACHE:-}" ]; then
    copy_store "$HSMKEY_TOKEN_CACHE"
else
    make_store
fi

sed -e "s|@MODULE@|$provider|" -e "s|@PKCS11_MODULE@|$softhsm|" \
    -e "s|@PIN_SOURCE@|file:$dir/pin|" \
    "$here/openssl.cnf.in" >"$dir/openssl.cnf"

cat >"$dir/token.vars" <<EOF
# written by softhsm-conf/mktoken.sh
TOKEN_DIR='$dir'
TOKEN_LABEL='$label'
TOKEN_PIN='$user_pin'
TOKEN_SO_PIN='$so_pin'
TOKEN_PIN_FILE='$dir/pin'
TOKEN_MODULE='$softhsm'
TOKEN_PROVIDER='$provider'
SOFTHSM2_CONF='$dir/softhsm2.conf'
TOKEN_OPENSSL_CNF='$dir/openssl.cnf'
# what SoftHSM2 $(softhsm2-util --version 2>/dev/null || echo '?') can do
TOKEN_HAS_CERT=$([ "$keys" = all ] && echo 1 || echo 0)
# RSA-PSS: the MGF1 digest must equal the message digest (CKR_ARGUMENTS_BAD)
TOKEN_PSS_MGF1_SAME_HASH_ONLY=1
EOF
