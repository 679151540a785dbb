#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tls_node.sh -- Node.js https server and client, mutual TLS on 127.0.0.1,
# each `key` read with fs.readFileSync() from a key-reference file; the
# provider loaded by Node from the `nodejs_conf` section of OPENSSL_CONF.
#
# Works with the `node` on PATH whether it links the system OpenSSL
# (Debian's nodejs) or bundles OpenSSL statically (nodesource, nodejs.org):
# a static node exports its OpenSSL symbols, and hsmkey.so's (and the
# PKCS#11 module's) libcrypto calls bind to node's copy, so one OpenSSL
# serves everything. That needs node's OpenSSL to be 3.x and to export every
# libcrypto symbol hsmkey.so imports: checked here, with a clear message.
#
# Also shown: Node reads `nodejs_conf`, not `openssl_conf`, unless started
# with --openssl-shared-config.
. "$(dirname "$0")/integ.sh"
need_tool node timeout nm ldd comm rev
PEER=$INTEG_DIR/tls_peer.js

NODE_OSSL=$(no_provider node -p process.versions.openssl) || die "node does not start"
say "node $(no_provider node -v), OpenSSL $NODE_OSSL"
case $NODE_OSSL in
3.*) ;;
*) die "node's OpenSSL is $NODE_OSSL, not 3.x: it cannot load an OpenSSL 3 provider" ;;
esac
NODE_BIN=$(command -v node)
ldd "$NODE_BIN" >"$T/out/node.ldd" 2>&1 || true
if grep -q 'libcrypto\.so' "$T/out/node.ldd"; then
    say "node links the system libcrypto: $(grep -o 'libcrypto[^ ]* => [^ ]*' "$T/out/node.ldd")"
else
    say "node bundles OpenSSL $NODE_OSSL statically; checking it exports what hsmkey.so needs"
    # hsmkey.so's imports that libcrypto defines
    libcrypto=$(ldd "$HSMKEY_SO" | awk '$1 ~ /^libcrypto\.so/ {print $3}')
    [ -r "$libcrypto" ] || die "cannot find the libcrypto hsmkey.so links"
    nm -D --defined-only "$libcrypto" | awk '{print $3}' | sed 's/@.*//' |
        sort -u >"$T/out/libcrypto.exports"
    nm -D --undefined-only "$HSMKEY_SO" | awk '{print $2}' | sed 's/@.*//' |
        sort -u | comm -12 - "$T/out/libcrypto.exports" >"$T/out/hsmkey.needs"
    nm -D --defined-only "$NODE_BIN" | awk '{print $3}' | sed 's/@.*//' |
        sort -u >"$T/out/node.exports"
    comm -23 "$T/out/hsmkey.needs" "$T/out/node.exports" >"$T/out/missing"
    [ -s "$T/out/hsmkey.needs" ] || die "nm found no imports in $HSMKEY_SO"
    [ ! -s "$T/out/missing" ] ||
        die "this node does not export libcrypto symbols hsmkey.so uses, so they would come from a second libcrypto: $(tr '\n' ' ' <"$T/out/missing")"
fi

make_ca ca
make_ca other-ca
node_cert ca srv-rsa "$(uri rsa-key)" server.test
node_cert ca srv-ec "$(uri ec-key)" server.test
node_cert ca cli-ec "$(uri ec384-key)" client.test
node_cert ca cli-rsa "$(uri rsa-other)" client.test
node_cert other-ca cli-foreign "$(uri ec521-key)" client.test
keyref_encoder srv-rsa "$(uri rsa-key)"
keyref_by_hand srv-ec "$(uri ec-key)"
keyref_by_hand cli-ec "$(uri ec384-key)"
keyref_encoder cli-rsa "$(uri rsa-other)"
keyref_encoder cli-foreign "$(uri ec521-key)"

# Configurations: the test token's openssl.cnf has both `openssl_conf` and
# `nodejs_conf`; these two keep one of them only.
grep -v '^openssl_conf' "$OPENSSL_CONF" >"$T/nodejs-only.cnf"
grep -v '^nodejs_conf' "$OPENSSL_CONF" >"$T/openssl-only.cnf"
grep -q '^nodejs_conf *= *openssl_init' "$T/nodejs-only.cnf" ||
    die "the token's openssl.cnf has no 'nodejs_conf = openssl_init' line"

say "nodejs_conf alone loads the provider: a key-reference file is a key"
OPENSSL_CONF=$T/nodejs-only.cnf timeout 60 "${PRE[@]}" node "$PEER" load "$T/srv-rsa.ref.pem" \
    >"$T/out/load-nodejs.out" 2>&1 || {
    sed 's/^/  | /' "$T/out/load-nodejs.out" >&2
    die "node could not load a key-reference file with nodejs_conf"
}
assert_file_match '^load\.type=rsa$' "$T/out/load-nodejs.out"
assert_file_match '^load=ok$' "$T/out/load-nodejs.out"
OPENSSL_CONF=$T/nodejs-only.cnf timeout 60 "${PRE[@]}" node "$PEER" load "$T/srv-ec.ref.pem" \
    >"$T/out/load-nodejs-ec.out" 2>&1 || die "node: hand-made EC key reference"
assert_file_match '^load\.type=ec$' "$T/out/load-nodejs-ec.out"

say "openssl_conf alone is not read by node: no provider, the file is not a key"
should_fail 'error=ERR_OSSL_UNSUPPORTED: .*DECODER routines::unsupported' \
    env OPENSSL_CONF="$T/openssl-only.cnf" timeout 60 "${PRE[@]}" node "$PEER" load "$T/srv-rsa.ref.pem"
say "... unless node runs with --openssl-shared-config"
OPENSSL_CONF=$T/openssl-only.cnf timeout 60 "${PRE[@]}" node --openssl-shared-config "$PEER" \
    load "$T/srv-rsa.ref.pem" >"$T/out/load-shared.out" 2>&1 || {
    sed 's/^/  | /' "$T/out/load-shared.out" >&2
    die "node --openssl-shared-config could not load a key-reference file"
}
assert_file_match '^load=ok$' "$T/out/load-shared.out"

N=0
# pair NAME TLSVERSION SRV_CERT SRV_KEY CLI_CERT CLI_KEY: https server and
# client. Statuses in BG_STATUS / CLI_STATUS, outputs $T/NAME.{srv,cli}.*
pair() {
    local name=$1 tls=$2 port
    N=$((N + 1))
    MSG="node-hsmkey-$N-$RANDOM"
    start_bg "$name.srv" timeout 60 "${PRE[@]}" node "$PEER" server "$3" "$4" "$T/ca.pem" \
        "$T/$name.port" "$tls"
    wait_output "$T/$name.port" '^[0-9]+$' 30
    port=$(cat "$T/$name.port")
    CLI_STATUS=0
    PEER_MESSAGE=$MSG timeout 60 "${PRE[@]}" node "$PEER" client "$5" "$6" "$T/ca.pem" \
        "$port" server.test "$tls" >"$T/$name.cli.out" 2>"$T/$name.cli.err" ||
        CLI_STATUS=$?
    _status_check "$CLI_STATUS" "$T/$name.cli.err" "$name: node client" || true
    wait_bg "$name.srv" 60
}

expect_ok() { # NAME PROTOCOL CIPHER-RE
    local name=$1 srv=$T/$1.srv.out cli=$T/$1.cli.out
    if [ "$CLI_STATUS" -ne 0 ] || [ "$BG_STATUS" -ne 0 ]; then
        sed 's/^/  srv| /' "$T/$name.srv.err" >&2
        sed 's/^/  cli| /' "$T/$name.cli.err" >&2
        die "$name: client status $CLI_STATUS, server status $BG_STATUS"
    fi
    assert_file_match "^client\\.version=$2\$" "$cli" "$name: client protocol"
    assert_file_match "^server\\.version=$2\$" "$srv" "$name: server protocol"
    assert_file_match "^client\\.cipher=$3\$" "$cli" "$name: cipher"
    assert_file_match '^client\.authorized=true$' "$cli" "$name: server verified"
    assert_file_match '^server\.authorized=true$' "$srv" "$name: client verified"
    assert_file_match '^client\.peer=server\.test$' "$cli" "$name: server cert"
    assert_file_match '^server\.peer=client\.test$' "$srv" "$name: client cert"
    assert_file_match '^server\.peer_issuer=ca$' "$srv" "$name: client issuer"
    assert_file_match '^client\.status=200$' "$cli" "$name: HTTP status"
    assert_file_match "^server\\.received=$MSG\$" "$srv" "$name: data to server"
    assert_eq "$(sed -n 's/^client\.reply=//p' "$cli")" \
        "echo:$(printf '%s' "$MSG" | rev)" "$name: data back to the client"
    say "ok: $name ($2, $(sed -n 's/^client\.cipher=//p' "$cli"))"
}

TLS13_CIPHER='TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)'
for tls in TLSv1.3 TLSv1.2; do
    say "$tls: RSA server (encoder ref) <-> EC P-384 client (hand-made ref)"
    pair "rsa-ec-$tls" "$tls" "$T/srv-rsa.pem" "$T/srv-rsa.ref.pem" \
        "$T/cli-ec.pem" "$T/cli-ec.ref.pem"
    if [ "$tls" = TLSv1.3 ]; then c=$TLS13_CIPHER; else c='TLS_ECDHE_RSA_WITH_[A-Z0-9_]+'; fi
    expect_ok "rsa-ec-$tls" "$tls" "$c"

    say "$tls: EC P-256 server (hand-made ref) <-> RSA client (encoder ref)"
    pair "ec-rsa-$tls" "$tls" "$T/srv-ec.pem" "$T/srv-ec.ref.pem" \
        "$T/cli-rsa.pem" "$T/cli-rsa.ref.pem"
    if [ "$tls" = TLSv1.3 ]; then c=$TLS13_CIPHER; else c='TLS_ECDHE_ECDSA_WITH_[A-Z0-9_]+'; fi
    expect_ok "ec-rsa-$tls" "$tls" "$c"
done

for tls in TLSv1.3 TLSv1.2; do
    say "$tls: client certificate from another CA is refused"
    pair "foreign-$tls" "$tls" "$T/srv-ec.pem" "$T/srv-ec.ref.pem" \
        "$T/cli-foreign.pem" "$T/cli-foreign.ref.pem"
    [ "$CLI_STATUS" -eq 1 ] || die "foreign-$tls: client status $CLI_STATUS, not 1"
    [ "$BG_STATUS" -eq 1 ] || die "foreign-$tls: server status $BG_STATUS, not 1"
    assert_file_match '^server\.authorizationError=(UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$' \
        "$T/foreign-$tls.srv.err" "foreign-$tls: server refusal"
    assert_file_match '^error=' "$T/foreign-$tls.cli.err" "foreign-$tls: client error"
    assert_file_nomatch '^server\.received=' "$T/foreign-$tls.srv.out" \
        "foreign-$tls: data reached the server"
    assert_file_nomatch '^client\.reply=' "$T/foreign-$tls.cli.out" \
        "foreign-$tls: data came back"
    say "ok: foreign-$tls refused ($(head -1 "$T/foreign-$tls.cli.err"))"
done
