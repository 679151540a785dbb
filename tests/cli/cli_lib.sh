# SPDX-License-Identifier: Apache-2.0
# tests/cli/cli_lib.sh -- sourced by the CLI tests after tests/lib.sh.
#
#   hk ARGS...            the hsmkey CLI with --module of the test token;
#                         stdout/stderr kept under $T/out (scanned for the
#                         PIN by lib.sh) and replayed; returns its status
#   hk_ok ARGS...         must exit 0; its stdout in $HK_OUT, stderr $HK_ERR
#   hk_exit CODE RE ARGS... must exit with CODE (no signal) and, unless RE
#                         is empty, print /RE/ on stderr
#   json_ok FILE          FILE is valid JSON (python3 -m json.tool)
#   json_q FILE EXPR      a Python expression over the parsed JSON (as j);
#                         prints its value
#   p11 ARGS...           pkcs11-tool on the test token (checks made
#                         independently of hsmkey), PIN from the pin file
#   ski FILE              SHA-1 (hex) of a public key's subjectPublicKey bits
#                         (PEM or DER SubjectPublicKeyInfo)
#   token_pubkey LABEL OUT.pem  the public key object LABEL, read off the
#                         token by pkcs11-tool
# Every hsmkey run has stdin from /dev/null unless the caller redirects,
# so no PIN prompt can appear.

HSMKEY=$HSMKEY_BUILD/tool/hsmkey
[ -x "$HSMKEY" ] || die "hsmkey CLI $HSMKEY not built (meson compile -C build)"
# The CLI takes its settings from options and HSMKEY_* only.
unset HSMKEY_PKCS11_MODULE HSMKEY_PIN_SOURCE
PIN_OPT=(--pin-source "file:$TOKEN_PIN_FILE")

_HK_N=0
HK_OUT=
HK_ERR=
HK_RC=0

# _hk: run hsmkey, keep its output, set HK_OUT/HK_ERR/HK_RC.
_hk() {
    _HK_N=$((_HK_N + 1))
    HK_OUT=$T/out/hk.$_HK_N.out
    HK_ERR=$T/out/hk.$_HK_N.err
    HK_RC=0
    "$HSMKEY" --module "$TOKEN_MODULE" "$@" >"$HK_OUT" 2>"$HK_ERR" \
        </dev/null || HK_RC=$?
    _status_check "$HK_RC" "$HK_ERR" "hsmkey $*" || true
}

hk() {
    _hk "$@"
    cat "$HK_OUT"
    cat "$HK_ERR" >&2
    return "$HK_RC"
}

hk_ok() {
    _hk "$@"
    if [ "$HK_RC" -ne 0 ]; then
        sed 's/^/  | /' "$HK_ERR" >&2
        die "hsmkey $* failed with status $HK_RC"
    fi
}

hk_exit() {
    local code=$1 re=$2
    shift 2
    _hk "$@"
    if [ "$HK_RC" -ne "$code" ]; then
        sed 's/^/  | /' "$HK_ERR" >&2
        die "hsmkey $*: status $HK_RC, expected $code"
    fi
    if [ -n "$re" ] && ! grep -aqE -- "$re" "$HK_ERR"; then
        sed 's/^/  | /' "$HK_ERR" >&2
        die "hsmkey $*: stderr does not match /$re/"
    fi
    if [ "$code" -ne 0 ] && ! grep -aq '^hsmkey: ' "$HK_ERR"; then
        die "hsmkey $*: no 'hsmkey: <message>' on stderr"
    fi
    say "ok: exit $code${re:+ /$re/}: hsmkey $*"
}

json_ok() {
    OPENSSL_CONF=$SW_CNF python3 -m json.tool "$1" >/dev/null ||
        die "not valid JSON: ${1#"$T"/}: $(head -c 400 "$1")"
}

json_q() {
    OPENSSL_CONF=$SW_CNF python3 - "$1" "$2" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if not isinstance(v, str) else v)
EOF
}

# pkcs11-tool and SoftHSM read OPENSSL_CONF too: keep hsmkey out of them.
p11() {
    OPENSSL_CONF=$SW_CNF pkcs11-tool --module "$TOKEN_MODULE" --token-label "$TOKEN_LABEL" "$@"
}

# p11_login ARGS...: pkcs11-tool logged in (the test's own check, outside
# hsmkey; pkcs11-tool never prints the PIN).
p11_login() {
    p11 --login --pin "$TOKEN_PIN" "$@"
}

token_pubkey() {
    if p11 --read-object --type pubkey --label "$1" -o "$T/out/pub.$1.raw" \
        >/dev/null 2>&1; then
        ossl_sw pkey -pubin -in "$T/out/pub.$1.raw" -out "$2" ||
            die "public key $1 from pkcs11-tool is not a key"
        return 0
    fi
    # Some OpenSC versions cannot export every curve: build the EC
    # SubjectPublicKeyInfo from the EC_PARAMS and EC_POINT it lists.
    p11_objects pubkey "$1" >"$T/out/pub.$1.list"
    OPENSSL_CONF=$SW_CNF python3 - "$T/out/pub.$1.list" "$T/out/pub.$1.der" <<'EOF'
import re, sys

text = open(sys.argv[1]).read()
point = bytes.fromhex(re.search(r"EC_POINT: +([0-9a-f]+)", text).group(1))
params = bytes.fromhex(re.search(r"EC_PARAMS: +([0-9a-f]+)", text).group(1))

def der(tag, body):
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    k = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | k]) + n.to_bytes(k, "big") + body

def unwrap(b):  # the DER OCTET STRING around the point
    n, i = b[1], 2
    if n & 0x80:
        i = 2 + (n & 0x7f)
    return b[i:]

ec = bytes.fromhex("06072a8648ce3d0201")
spki = der(0x30, der(0x30, ec + params) + der(0x03, b"\0" + unwrap(point)))
open(sys.argv[2], "wb").write(spki)
EOF
    ossl_sw pkey -pubin -inform DER -in "$T/out/pub.$1.der" -out "$2" ||
        die "cannot read public key $1 off the token"
}

# p11_objects TYPE LABEL [--login]: pkcs11-tool's listing of the TYPE
# (privkey, pubkey, cert) objects labelled LABEL, one block per object.
p11_objects() {
    local type=$1 label=$2 list=p11
    [ "${3:-}" != --login ] || list=p11_login
    $list --list-objects --type "$type" 2>/dev/null |
        awk -v want="$label" '
            / Object;/ { if (blk != "" && hit) printf "%s", blk; blk = ""; hit = 0 }
            { blk = blk $0 "\n" }
            /^ +label: +/ { l = $0; sub(/^ +label: +/, "", l); hit = (l == want) }
            END { if (blk != "" && hit) printf "%s", blk }'
}

ski() {
    ossl_sw pkey -pubin -in "$1" -outform DER -out "$T/out/ski.der" ||
        die "ski: $1 is not a public key"
    OPENSSL_CONF=$SW_CNF python3 - "$T/out/ski.der" <<'EOF'
import hashlib, sys

def tlv(b, i):
    tag, n = b[i], b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7f
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    return tag, i, i + n

der = open(sys.argv[1], "rb").read()
_, i, end = tlv(der, 0)          # SubjectPublicKeyInfo
_, i, j = tlv(der, i)            # AlgorithmIdentifier
tag, i, j = tlv(der, j)          # subjectPublicKey BIT STRING
assert tag == 0x03
print(hashlib.sha1(der[i + 1:j]).hexdigest())   # skip the unused-bits byte
EOF
}
