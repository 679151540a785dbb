#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/fuzz/mkseeds.sh [HSMKEY] -- write the seed corpus of every fuzz
# target into tests/fuzz/corpus/<target>/: small inputs that each reach one
# path (valid, and each kind of bad input), certificates made here with the
# openssl CLI and key-reference files written by `hsmkey keyref` (HSMKEY,
# default build/tool/hsmkey).  Seeds named bug-* are regression inputs of
# bugs the fuzzers found: this script leaves them alone.  Re-running it
# makes new keys, so certificate seeds change; commit what it wrote.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
hsmkey=${1:-$src/build/tool/hsmkey}
corpus=$here/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[ -x "$hsmkey" ] || { echo "mkseeds: $hsmkey: build hsmkey first" >&2; exit 1; }

# seed TARGET NAME: stdin becomes corpus/TARGET/NAME
seed() {
    mkdir -p "$corpus/$1"
    cat > "$corpus/$1/$2"
}
# args TARGET NAME ARG...: the arguments joined with NUL bytes
args() {
    local t=$1 n=$2
    shift 2
    printf '%s\0' "$@" | head -c -1 | seed "$t" "$n"
}

for t in uri keyref pin pin_file config args check; do
    mkdir -p "$corpus/$t"
    find "$corpus/$t" -type f ! -name 'bug-*' -delete
done

# ---- uri: what a store, a key reference or --key hands hsmkey_uri_parse
while read -r name uri; do
    printf '%s' "$uri" | seed uri "$name"
done <<'URIS'
token-object-type pkcs11:token=node1;object=node-key;type=private
id-percent pkcs11:token=node1;id=%01%02%a0%ff;type=private
cert pkcs11:token=node1;object=node-cert;type=cert
public pkcs11:object=node-key;type=public
data-secret pkcs11:type=data;object=x
secret-key pkcs11:type=secret-key
every-path pkcs11:library-description=d;library-manufacturer=m;library-version=1.2;manufacturer=SoftHSM%20project;model=SoftHSM%20v2;serial=0a1b;slot-description=s;slot-id=3;slot-manufacturer=sm;token=t
pin-source pkcs11:token=node1;object=k?pin-source=file:/etc/hsmkey/node.pin
pin-value pkcs11:token=node1;object=k?pin-value=1234
pin-value-twice pkcs11:object=k?pin-value=12&pin-value=34
module pkcs11:token=t?module-name=softhsm2&module-path=/usr/lib/softhsm/libsofthsm2.so
upper-scheme PKCS11:token=a;OBJECT=b
empty pkcs11:
trailing-semicolon pkcs11:token=a;
unknown-path pkcs11:token=a;colour=blue
unknown-query pkcs11:object=a?colour=blue
bad-type pkcs11:type=key
bad-percent pkcs11:object=%zz
bad-version pkcs11:library-version=x.y
bad-slot-id pkcs11:slot-id=-1
not-pkcs11 file:/etc/ssl/key.pem
no-colon pkcs11
pin-in-path pkcs11:token=a;pin-value=1234
utf8 pkcs11:object=n%C3%B8de;token=t%C3%B8k
URIS

# ---- keyref: key-reference files as hsmkey writes them, as DER, and bad
ref() { "$hsmkey" keyref --key "$1" --out "$2" >/dev/null 2>&1; }
ref 'pkcs11:token=node1;object=node-key;type=private' "$work/k.pem"
seed keyref pem < "$work/k.pem"
openssl base64 -d -in <(grep -v -- ----- "$work/k.pem") -out "$work/k.der"
seed keyref der < "$work/k.der"
ref 'pkcs11:token=t;id=%01%02;type=private' "$work/id.pem"
seed keyref pem-id < "$work/id.pem"
printf -- '-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n' \
    | cat - "$work/k.pem" | seed keyref pem-after-other-block
sed '1a Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n' "$work/k.pem" \
    | seed keyref pem-with-headers
sed '2s/^M/N/' "$work/k.pem" | seed keyref pem-bad-base64
printf 'no PEM here\n' | seed keyref no-pem
# DER made by hand: the description, a URI and SEQUENCE framing (asn1parse)
der() { # der NAME DESC URI [EXTRA-CONF-LINES]
    printf 'asn1=SEQUENCE:kr\n[kr]\ndesc=VISIBLESTRING:%s\nuri=UTF8:%s\n%s' \
        "$2" "$3" "${4:-}" > "$work/kr.cnf"
    openssl asn1parse -genconf "$work/kr.cnf" -out "$work/kr.der" >/dev/null
    seed keyref "$1" < "$work/kr.der"
}
der der-wrong-desc 'PKCS\#11 Provider URI v2.0' 'pkcs11:object=k'
der der-not-pkcs11 'PKCS\#11 Provider URI v1.0' 'file:/k.pem'
der der-extra-field 'PKCS\#11 Provider URI v1.0' 'pkcs11:object=k' 'x=INT:1'
{ cat "$work/k.der"; printf '\0\0'; } | seed keyref der-trailing
# the same SEQUENCE with a long-form length: BER lengths are taken
python3 - "$work/k.der" <<'PY' | seed keyref der-long-length
import sys
d = open(sys.argv[1], 'rb').read()
sys.stdout.buffer.write(b'\x30\x81' + d[1:2] + d[2:])
PY
# every length long, with leading zeros; an indefinite length; the
# description as a constructed string: BER the decoder refuses
python3 - "$work/k.der" "$work" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
def tlv(tag, v, n=0):
    ln = len(v).to_bytes(n, 'big') if n else bytes([len(v)])
    return bytes([tag]) + (bytes([0x80 | n]) if n else b'') + ln + v
desc = d[4:4 + d[3]]
uri = d[4 + d[3] + 2:]
inner = tlv(0x1a, desc, 3) + tlv(0x0c, uri, 2)
open(sys.argv[2] + '/long-all', 'wb').write(tlv(0x30, inner, 4))
open(sys.argv[2] + '/indefinite', 'wb').write(
    b'\x30\x80' + tlv(0x1a, desc) + tlv(0x0c, uri) + b'\0\0')
open(sys.argv[2] + '/constructed', 'wb').write(
    tlv(0x30, tlv(0x3a, tlv(0x1a, desc)) + tlv(0x0c, uri)))
PY
seed keyref der-long-all < "$work/long-all"
seed keyref der-indefinite < "$work/indefinite"
seed keyref der-constructed-string < "$work/constructed"
printf 'pkcs11:object=k\x01' | seed keyref uri-control-char

# ---- pin: pin sources (fuzz_pin.c makes the files and variables)
for s in file:pin file:crlf file:nonl file:two file:cr file:empty \
         file:blank file:blankcrlf file:sub/pin file:max file:over file:maxnl \
         file:huge file:nul file:link file:dangling file:missing file:sub \
         file:../pin file: env:HSMKEY_FUZZ_PIN env:HSMKEY_FUZZ_EMPTY \
         env:HSMKEY_FUZZ_MAX env:HSMKEY_FUZZ_OVER env:HSMKEY_FUZZ_UNSET env: \
         1234 pin:1234 FILE:pin file-pin 'ENV:HSMKEY_FUZZ_PIN'; do
    printf '%s' "$s" | seed pin "$(printf '%s' "$s" | tr -c 'A-Za-z0-9_.-' '_')"
done

# ---- pin_file: what a pin file or variable holds
printf '1234\n' | seed pin_file lf
printf '1234\r\n' | seed pin_file crlf
printf '1234' | seed pin_file no-newline
printf '1234\r' | seed pin_file cr-only
printf '1234\nsecond\n' | seed pin_file two-lines
printf '' | seed pin_file empty
printf '\n' | seed pin_file blank
printf '\r\n' | seed pin_file blank-crlf
printf '12\00034\n' | seed pin_file nul-inside
head -c 256 /dev/zero | tr '\0' 7 | seed pin_file max
head -c 257 /dev/zero | tr '\0' 7 | seed pin_file over
{ head -c 256 /dev/zero | tr '\0' 7; printf '\r\n'; } | seed pin_file max-crlf
printf 'p\xc3\xa4ss w\xf6rd\n' | seed pin_file utf8-latin1

# ---- config: pkcs11-module NUL pin-source
args config absolute /usr/lib/softhsm/libsofthsm2.so file:/etc/hsmkey/node.pin
args config env-pin /usr/lib/softhsm/libsofthsm2.so env:HSMKEY_PIN
args config relative libsofthsm2.so file:node.pin
args config dot-slash ./lib/x.so file:./pin
args config module-only /usr/lib/x.so
args config pin-only '' env:PIN
args config bad-pin-source /usr/lib/x.so 1234
args config spaces '/opt/my lib/x.so' 'file:/etc/my pin'

# ---- args: argv after "hsmkey", NUL-separated
args args keygen keygen --token node1 --label node-key --type ec:P-256 \
    --id 0a:1b:2c --out k.pem --force
args args check check --cert c.pem --ca ca.pem \
    --key 'pkcs11:token=node1;object=node-key;type=private' --host node1 \
    --warn-days 30
args args globals --module /usr/lib/x.so --pin-source=file:/p --json tokens
args args csr csr --key 'pkcs11:object=k' --subject /CN=node1/O=Example \
    --san DNS:node1.example.com,IP:10.0.0.1,URI:spiffe://x/y \
    --eku serverAuth,clientAuth
args args devcert devcert --ca-dir ca --key k.pem --cn node1 --san DNS:n \
    --days 30
args args import import --token t --label l --key k.pem --passin env:P --id=01
args args keyref-pin keyref --key 'pkcs11:object=k?pin-value=1' --out r.pem
args args keys keys --token=node1
args args dashdash keys -- --json
args args twice keygen --token a --token b
args args missing-value keygen --type
args args flag-value keygen --force=yes
args args unknown frob --x
args args help --help check
args args subject-escape csr --subject '/CN=a\/b/O=x\\y' --eku none
args args bad-hex keygen --id 0:a1
args args bad-type keygen --type rsa:1024
args args bad-san csr --san 'DNS:a b,FTP:x'

# ---- check: certificates, chains and what is not one
cd "$work"
cat > ext.cnf <<'CNF'
[ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
[leaf]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:node1.example.com,DNS:*.example.com,IP:10.0.0.1,IP:::1
[server]
keyUsage=digitalSignature,keyEncipherment,keyCertSign
extendedKeyUsage=serverAuth,emailProtection,1.2.3.4
[noext]
CNF
key() { openssl genpkey -algorithm "$@" 2>/dev/null; }
key EC -pkeyopt ec_paramgen_curve:P-256 > root.key
key EC -pkeyopt ec_paramgen_curve:P-256 > int.key
key EC -pkeyopt ec_paramgen_curve:P-256 > leaf.key
key RSA -pkeyopt rsa_keygen_bits:2048 > rsa.key
key ED25519 > ed.key
openssl req -x509 -new -key root.key -subj /CN=Root -days 3650 \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign -out root.pem 2>/dev/null
issue() { # issue NAME KEY SUBJ CA CAKEY EXT [DAYS] [-> NAME.pem]
    openssl req -new -key "$2" -subj "$3" -out "$1.csr" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA "$4" -CAkey "$5" -CAcreateserial \
        -days "${7:-365}" -extfile ext.cnf -extensions "$6" -out "$1.pem" \
        2>/dev/null
}
issue int int.key /CN=Intermediate root.pem root.key ca 1825
issue leaf leaf.key /CN=node1.example.com/O=Example int.pem int.key leaf
issue ed ed.key /CN=10.0.0.9 root.pem root.key noext
issue rsa rsa.key /CN=rsa-node root.pem root.key server
cat leaf.pem int.pem root.pem | seed check chain-full
cat leaf.pem int.pem | seed check leaf-and-intermediate
seed check leaf < leaf.pem
seed check root-self-signed < root.pem
seed check rsa-server-only < rsa.pem
seed check ed25519-no-ext < ed.pem
openssl x509 -in leaf.pem -outform DER | seed check leaf-der
# a terminal escape in a SAN DNS name (same length, signature now wrong)
python3 - "$corpus/check/leaf-der" <<'PY' | seed check san-control-chars
import sys
d = open(sys.argv[1], 'rb').read()
i = d.find(b'node1.example.com', d.find(b'\x55\x1d\x11'))
sys.stdout.buffer.write(d[:i] + b'\x1b[2J' + d[i + 4:])
PY
cat ed.pem root.pem | seed check ed25519-and-root
{ cat "$here/corpus/keyref/pem"; cat leaf.pem root.pem; } \
    | seed check keyref-then-chain
head -c 300 leaf.pem | seed check truncated-pem
openssl x509 -in leaf.pem -outform DER | head -c 200 | seed check truncated-der
printf -- '-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n' \
    | seed check empty-sequence
printf 'not a certificate\n' | seed check garbage
echo "wrote $(find "$corpus" -type f | wc -l) seeds into $corpus"
