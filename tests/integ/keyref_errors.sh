#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# keyref_errors.sh -- bad key-reference files in the programs people run:
# garbage, empty, truncated (cut-off PEM; armoured but cut-off DER), a
# description other than the format's, a reference to a key that is not on
# the token, and a URI with an unknown attribute. Each program must fail
# with its normal error status (never a signal) and say what is wrong where
# it prints errors: the openssl CLI, nginx -t and Node print OpenSSL's error
# queue, so the provider's own message must be there for a file that is a
# key reference; Python and curl print only a summary of their own, which is
# asserted as such. Every case is run and the failures are listed together.
. "$(dirname "$0")/integ.sh"
need_tool python3 node nginx curl timeout

make_ca ca
node_cert ca node "$(uri rsa-key)" server.test
keyref_encoder good "$(uri rsa-key)"

# ---------------------------------------------------------------- the files
B=$T/bad
mkdir "$B"
printf 'this is not a key reference\n' >"$B/garbage.pem"
head -c 700 /dev/urandom >"$B/random.pem"
: >"$B/empty.pem"
# cut off in the middle of the base64: no END line
head -c 100 "$T/good.ref.pem" >"$B/cut-pem.pem"
# complete armour around a DER body cut off in the middle
ossl_sw asn1parse -in "$T/good.ref.pem" -out "$T/good.ref.der" -noout
head -c 40 "$T/good.ref.der" >"$T/cut.der"
keyref_pem "$T/cut.der" "$B/cut-der.pem"
keyref_by_hand missing "pkcs11:token=$TOKEN_LABEL;object=no-such-key;type=private"
cp "$T/missing.ref.pem" "$B/missing-key.pem"
keyref_by_hand unknown "pkcs11:foo=bar"
cp "$T/unknown.ref.pem" "$B/unknown-attr.pem"
keyref_by_hand unknown2 "pkcs11:token=$TOKEN_LABEL;object=rsa-key;type=private;foo=bar"
cp "$T/unknown2.ref.pem" "$B/unknown-attr2.pem"
# a description other than "PKCS#11 Provider URI v1.0"
sed -e 's/^desc = .*/desc = VISIBLESTRING:Some other description/' \
    "$T/unknown.genconf" | sed "s|^uri = .*|uri = UTF8:$(uri rsa-key)|" >"$T/desc.genconf"
ossl_sw asn1parse -genconf "$T/desc.genconf" -out "$T/desc.der" -noout
keyref_pem "$T/desc.der" "$B/wrong-desc.pem"

# What the provider must say about each file that is a key reference
# (empty = not a key reference: the program's own message is enough).
# (The marker "error:XXXXXXXX:hsmkey:" is the provider's entry in OpenSSL's
# error queue; the rest must be in that entry's own text.)
P='error:[0-9A-F]{8}:hsmkey:.*' # reason, file and line, then the message
# shellcheck disable=SC2034 # used through a nameref
declare -A WHY=(
    [garbage]=''
    [random]=''
    [empty]=''
    [cut-pem]="$P(key.reference|truncated|END line|malformed PEM)"
    [cut-der]="$P(key.reference|[^A-Z]DER|truncated)"
    [wrong-desc]="$P(description|Some other description)"
    [missing-key]="$P(key not found|no private key matches).*no-such-key"
    [unknown-attr]="$P(unknown|bad pkcs11 URI).*'foo'"
    [unknown-attr2]="$P(unknown|bad pkcs11 URI).*'foo'"
)

# Node prints only the reason string of OpenSSL's first error, never its
# data, so for Node the reason must say it.
# shellcheck disable=SC2034
declare -A WHY_NODE=(
    [garbage]=''
    [random]=''
    [empty]=''
    [cut-pem]='hsmkey::bad input'
    [cut-der]='hsmkey::bad input'
    [wrong-desc]='hsmkey::bad input'
    [missing-key]='hsmkey::key not found'
    [unknown-attr]='hsmkey::bad pkcs11 URI'
    [unknown-attr2]='hsmkey::bad pkcs11 URI'
)
CASES=(garbage random empty cut-pem cut-der wrong-desc missing-key unknown-attr unknown-attr2)

FAILURES=()
N=0
# expect_error CASE PROGRAM STATUS-RE MESSAGE-RE CMD...: CMD fails with a
# status matching STATUS-RE (never >128) and its output matches MESSAGE-RE
# (and the provider's message for CASE: PROVIDER_MSG=WHY or WHY_NODE names
# the table).
expect_error() {
    local case=$1 prog=$2 status_re=$3 re=$4 rc=0 out why=''
    if [ -n "${PROVIDER_MSG:-}" ]; then
        local -n _why=$PROVIDER_MSG
        why=${_why[$1]}
    fi
    shift 4
    N=$((N + 1))
    out=$T/out/err.$N.$prog.$case
    timeout 60 "$@" >"$out" 2>&1 </dev/null || rc=$?
    if [ "$rc" -eq 0 ]; then
        FAILURES+=("$prog $case: succeeded: $*")
        return 0
    fi
    if [ "$rc" -gt 128 ] || [ "$rc" -eq 124 ]; then
        FAILURES+=("$prog $case: crashed or hung (status $rc): $*")
        fatal "$prog $case: status $rc" || true
        return 0
    fi
    if ! [[ $rc =~ ^($status_re)$ ]]; then
        FAILURES+=("$prog $case: status $rc, expected $status_re: $*")
    fi
    if ! grep -aqE -- "$re" "$out"; then
        FAILURES+=("$prog $case: no /$re/ in: $(head -c 600 "$out" | tr '\n' ' ')")
    fi
    if [ -n "$why" ] && ! grep -aqE -- "$why" "$out"; then
        FAILURES+=("$prog $case: the provider does not say what is wrong (/$why/): $*
      output: $(head -c 600 "$out" | tr '\n' ' ')")
    fi
    # SoftHSM's own OpenSSL errors (its rdrand engine) are not ours to show
    if grep -aqE 'rdrand|engine routines' "$out"; then
        FAILURES+=("$prog $case: the PKCS#11 module's OpenSSL errors reach the program: $(grep -aoE '.{0,60}(rdrand|engine routines).{0,60}' "$out" | head -1 || true)")
    fi
    say "checked: $prog $case (status $rc)"
}

# ---------------------------------------------------------------- openssl CLI
for c in "${CASES[@]}"; do
    PROVIDER_MSG=WHY expect_error "$c" openssl-pkey 1 \
        "Could not read (private )?key from $B/$c\\.pem" \
        "${PRE[@]}" openssl pkey -in "$B/$c.pem" -noout
done
PORT=$(free_port)
PROVIDER_MSG=WHY expect_error missing-key openssl-s_server 1 \
    "Could not read server certificate private key from $B/missing-key\\.pem" \
    "${PRE[@]}" openssl s_server -accept "127.0.0.1:$PORT" -naccept 1 \
    -cert "$T/node.pem" -key "$B/missing-key.pem"

# ---------------------------------------------------------------- nginx -t
NG=$T/nginx
mkdir -p "$NG/logs"
for c in "${CASES[@]}"; do
    cat >"$NG/$c.conf" <<EOF
pid $NG/nginx.pid;
error_log $NG/logs/error.log;
events {}
http {
    server {
        listen 127.0.0.1:$PORT ssl;
        ssl_certificate $T/node.pem;
        ssl_certificate_key $B/$c.pem;
    }
}
EOF
    PROVIDER_MSG=WHY expect_error "$c" nginx 1 \
        "\\[emerg\\] cannot load certificate key \"$B/$c\\.pem\"" \
        "${PRE[@]}" nginx -p "$NG" -e "$NG/logs/error.log" -c "$NG/$c.conf" -t
done

# ---------------------------------------------------------------- Node.js
for c in "${CASES[@]}"; do
    PROVIDER_MSG=WHY_NODE expect_error "$c" node 1 '^error=ERR_[A-Z0-9_]+: ' \
        "${PRE[@]}" node "$INTEG_DIR/tls_peer.js" load "$B/$c.pem"
done

# ---------------------------------------------------------------- Python
# load_cert_chain() reports only the last error: "[SSL] PEM lib". It must
# be that SSLError, not an OSError from a stray errno (e.g. "No such file").
for c in "${CASES[@]}"; do
    expect_error "$c" python 1 '^error=SSLError: \[SSL\] PEM lib' \
        "${PRE[@]}" python3 "$INTEG_DIR/tls_peer.py" load --cert "$T/node.pem" --key "$B/$c.pem"
done

# ---------------------------------------------------------------- curl
# curl needs a server to get as far as loading its client key.
start_bg sw-server env OPENSSL_CONF="$SW_CNF" openssl s_server \
    -accept "127.0.0.1:$PORT" -cert "$T/ca.pem" -key "$T/secret/ca.key" -www
wait_output "$T/sw-server.out" '^ACCEPT$' 30
for c in "${CASES[@]}"; do
    expect_error "$c" curl 58 "curl: \\(58\\) unable to set private key file: '$B/$c\\.pem' type PEM" \
        "${CURL[@]}" -sS --max-time 30 --cacert "$T/ca.pem" --cert "$T/node.pem" \
        --key "$B/$c.pem" "https://127.0.0.1:$PORT/"
done
# (stop_bg returns s_server's SIGTERM status)
stop_bg sw-server || true

say "the good key reference still works everywhere after all that"
ossl pkey -in "$T/good.ref.pem" -pubout -out "$T/out/good.pub" ||
    die "openssl pkey cannot read the good key reference"
"${PRE[@]}" node "$INTEG_DIR/tls_peer.js" load "$T/good.ref.pem" >"$T/out/good.node" 2>&1 ||
    die "node cannot read the good key reference: $(cat "$T/out/good.node")"
"${PRE[@]}" python3 "$INTEG_DIR/tls_peer.py" load --cert "$T/node.pem" --key "$T/good.ref.pem" \
    >"$T/out/good.py" 2>&1 || die "python cannot read the good key reference: $(cat "$T/out/good.py")"

if [ ${#FAILURES[@]} -gt 0 ]; then
    printf 'FAIL %s: %d problem(s):\n' "$TEST_NAME" "${#FAILURES[@]}" >&2
    printf '  - %s\n' "${FAILURES[@]}" >&2
    exit 1
fi
say "all $N error cases fail cleanly with a clear message"
