# SPDX-License-Identifier: Apache-2.0
# tests/check/check_lib.sh -- sourced by the tests of `hsmkey check`, `csr`
# and `devcert`, after tests/lib.sh (private token in $T, asserts, PIN scan
# of every file under $T on exit).
#
#   hk RC ARGS...           run build/tool/hsmkey with the test token's
#                           module and PIN file; its exit status must be RC.
#                           Output in $HK_OUT / $HK_ERR (files under $T/out).
#   item STATUS NAME [RE]   $HK_OUT has "STATUS NAME: ..." (matching RE)
#   no_item NAME            $HK_OUT has no line for item NAME
#   ca_make NAME [PARENT]   a CA ($T/NAME.pem, key in $T/secret); with
#                           PARENT an intermediate signed by that CA
#   csr_for OBJECT OUT      a CSR for token key OBJECT, made by `hsmkey csr`
#   issue CA CSR OUT [EKU] [START] [END] [SAN]
#                           openssl ca signs CSR: EKU default
#                           "serverAuth,clientAuth" ("-" for none), dates as
#                           `date -d` strings (default -1 day / +1 year), SAN
#                           default DNS:node1.example.com,IP:127.0.0.1;
#                           Key Usage $ISSUE_KU (default digitalSignature,
#                           keyEncipherment)

HSMKEY_BIN=$HSMKEY_BUILD/tool/hsmkey
[ -x "$HSMKEY_BIN" ] || die "hsmkey CLI $HSMKEY_BIN not built"

# The CLI finds the token through these, as an operator's shell would.
export HSMKEY_PKCS11_MODULE=$TOKEN_MODULE
export HSMKEY_PIN_SOURCE=file:$TOKEN_PIN_FILE

_HK_N=0
HK_OUT=
HK_ERR=
hk() {
    local want=$1 rc=0
    shift
    _HK_N=$((_HK_N + 1))
    HK_OUT=$T/out/hk.$_HK_N.out
    HK_ERR=$T/out/hk.$_HK_N.err
    "$HSMKEY_BIN" "$@" >"$HK_OUT" 2>"$HK_ERR" </dev/null || rc=$?
    _status_check "$rc" "$HK_ERR" "hsmkey $*" || true
    if [ "$rc" -ne "$want" ]; then
        sed 's/^/  out| /' "$HK_OUT" >&2
        sed 's/^/  err| /' "$HK_ERR" >&2
        die "hsmkey $* exited $rc, expected $want"
    fi
    say "ok: exit $rc: hsmkey $*"
}

item() {
    local line
    line=$(grep -aE "^[A-Z]+ $2: " "$HK_OUT" || true)
    [ -n "$line" ] || { sed 's/^/  | /' "$HK_OUT" >&2; die "no item '$2'"; }
    case "$line" in
    "$1 $2: "*) ;;
    *) die "item $2: expected $1, got: $line" ;;
    esac
    [ -z "${3:-}" ] || assert_match "$3" "$line" "item $2"
}

no_item() {
    assert_file_nomatch "^[A-Z]+ $1: " "$HK_OUT" "item $1 should not be there"
}

# ---------------------------------------------------------------- CAs
_CA_N=0
ca_make() {
    local name=$1 parent=${2:-}
    mkdir -p "$T/ca.$name/new"
    : >"$T/ca.$name/index.txt"
    echo 1000 >"$T/ca.$name/serial"
    cat >"$T/ca.$name/ca.cnf" <<EOF
[ca]
default_ca = ca_sect
[ca_sect]
database = $T/ca.$name/index.txt
new_certs_dir = $T/ca.$name/new
serial = $T/ca.$name/serial
certificate = $T/$name.pem
private_key = $T/secret/$name.key
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[policy_any]
commonName = supplied
organizationName = optional
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    if [ -z "$parent" ]; then
        make_ca "$name"
        return
    fi
    ossl_sw req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$T/secret/$name.key" -subj "/O=hsmkey tests/CN=$name" \
        -out "$T/ca.$name/req.pem" 2>"$T/out/ca.$name.err" ||
        die "cannot make the request of CA $name"
    _ca_sign "$parent" "$T/ca.$name/req.pem" "$T/$name.pem" v3_ca \
        "$T/ca.$parent/ca.cnf" -days 365
}

# _ca_sign CA CSR OUT EXTSECTION EXTFILE DATE-ARGS...
_ca_sign() {
    local ca=$1 csr=$2 out=$3 sect=$4 extfile=$5
    shift 5
    _CA_N=$((_CA_N + 1))
    ossl_sw ca -batch -notext -config "$T/ca.$ca/ca.cnf" -in "$csr" \
        -out "$out" -extfile "$extfile" -extensions "$sect" "$@" \
        >"$T/out/ca.$_CA_N.out" 2>"$T/out/ca.$_CA_N.err" ||
        die "CA $ca cannot sign $csr: $(cat "$T/out/ca.$_CA_N.err")"
}

csr_for() {
    hk 0 csr --key "$(uri "$1")" --subject "/CN=node1.example.com/O=tests" \
        --out "$2"
}

_stamp() {
    date -u -d "$1" +%Y%m%d%H%M%SZ
}

issue() {
    local ca=$1 csr=$2 out=$3 eku=${4:-serverAuth,clientAuth}
    local start=${5:--1 day} end=${6:-+1 year}
    local san=${7:-DNS:node1.example.com,IP:127.0.0.1}
    {
        echo "[node]"
        echo "basicConstraints = critical,CA:FALSE"
        echo "keyUsage = critical,${ISSUE_KU:-digitalSignature,keyEncipherment}"
        [ "$eku" = - ] || echo "extendedKeyUsage = $eku"
        [ "$san" = - ] || echo "subjectAltName = $san"
        echo "subjectKeyIdentifier = hash"
        echo "authorityKeyIdentifier = keyid"
    } >"$out.ext"
    _ca_sign "$ca" "$csr" "$out" node "$out.ext" \
        -startdate "$(_stamp "$start")" -enddate "$(_stamp "$end")"
}
