#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tls_python.sh -- Python's ssl module, server and client, mutual TLS on
# 127.0.0.1 with both private keys on the token, each named by a
# key-reference file handed to SSLContext.load_cert_chain(). The provider
# comes from OPENSSL_CONF only. Key-reference files made two ways: by our
# encoder (openssl pkey -in pkcs11:... -out ref.pem) and by hand from the
# format's ASN.1 (openssl asn1parse -genconf). A client certificate from
# another CA is refused.
. "$(dirname "$0")/integ.sh"
need_tool python3 timeout rev
PEER=$INTEG_DIR/tls_peer.py

PY_OSSL=$(no_provider python3 -c 'import ssl; print(ssl.OPENSSL_VERSION)') ||
    die "python3 cannot import ssl"
case $PY_OSSL in
"OpenSSL 3."*) say "python3 $(no_provider python3 -V 2>&1 | cut -d' ' -f2), $PY_OSSL" ;;
*) die "python3's ssl is not built on OpenSSL 3: $PY_OSSL" ;;
esac

make_ca ca
make_ca other-ca
node_cert ca srv-ec "$(uri ec-key)" server.test
node_cert ca srv-rsa "$(uri rsa-key)" server.test
node_cert ca cli-rsa "$(uri rsa-other)" client.test
node_cert ca cli-ec "$(uri ec384-key)" client.test
node_cert other-ca cli-foreign "$(uri ec521-key)" client.test

keyref_encoder srv-ec "$(uri ec-key)"
keyref_encoder cli-ec "$(uri ec384-key)"
keyref_by_hand srv-rsa "$(uri rsa-key)"
keyref_by_hand cli-rsa "$(uri rsa-other)"
keyref_encoder cli-foreign "$(uri ec521-key)"

# A combined file: the certificate and the key reference in one PEM.
cat "$T/srv-rsa.pem" "$T/srv-rsa.ref.pem" >"$T/srv-rsa.combined.pem"

N=0
# pair NAME TLS SRV_CERT SRV_KEY CLI_CERT CLI_KEY: one server, one client.
# Server status in BG_STATUS, client's in CLI_STATUS; outputs in
# $T/NAME.{srv,cli}.{out,err}.
pair() {
    local name=$1 tls=$2 port
    N=$((N + 1))
    MSG="python-hsmkey-$N-$RANDOM"
    start_bg "$name.srv" timeout 60 "${PRE[@]}" python3 "$PEER" server --tls "$tls" \
        --cert "$3" ${4:+--key "$4"} --ca "$T/ca.pem" --port-file "$T/$name.port"
    wait_output "$T/$name.port" '^[0-9]+$' 30
    port=$(cat "$T/$name.port")
    CLI_STATUS=0
    timeout 60 "${PRE[@]}" python3 "$PEER" client --tls "$tls" --cert "$5" --key "$6" \
        --ca "$T/ca.pem" --port "$port" --host server.test --message "$MSG" \
        >"$T/$name.cli.out" 2>"$T/$name.cli.err" || CLI_STATUS=$?
    _status_check "$CLI_STATUS" "$T/$name.cli.err" "$name: python client" || true
    wait_bg "$name.srv" 60
}

expect_ok() { # NAME TLSVERSION CIPHER-RE
    local name=$1 srv=$T/$1.srv.out cli=$T/$1.cli.out
    if [ "$CLI_STATUS" -ne 0 ] || [ "$BG_STATUS" -ne 0 ]; then
        sed 's/^/  srv| /' "$T/$name.srv.err" >&2
        sed 's/^/  cli| /' "$T/$name.cli.err" >&2
        die "$name: client status $CLI_STATUS, server status $BG_STATUS"
    fi
    assert_file_match '^openssl=OpenSSL 3\.' "$cli"
    assert_file_match "^client\\.version=$2\$" "$cli" "$name: client protocol"
    assert_file_match "^server\\.version=$2\$" "$srv" "$name: server protocol"
    assert_file_match "^client\\.cipher=$3\$" "$cli" "$name: cipher"
    assert_file_match '^client\.peer=server\.test$' "$cli" "$name: server cert"
    assert_file_match '^client\.peer_issuer=ca$' "$cli" "$name: server issuer"
    assert_file_match '^server\.peer=client\.test$' "$srv" "$name: client cert"
    assert_file_match '^server\.peer_issuer=ca$' "$srv" "$name: client issuer"
    assert_file_match "^server\\.received=$MSG\$" "$srv" "$name: data to server"
    assert_eq "$(sed -n 's/^client\.reply=//p' "$cli")" \
        "echo:$(printf '%s' "$MSG" | rev)" "$name: data back to the client"
    say "ok: $name ($2, $(sed -n 's/^client\.cipher=//p' "$cli"))"
}

TLS13_CIPHER='TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)'
TLS12_ECDSA='ECDHE-ECDSA-[A-Z0-9-]+'
TLS12_RSA='ECDHE-RSA-[A-Z0-9-]+'

for tls in 1.3 1.2; do
    say "TLSv$tls: EC server (encoder ref) <-> RSA client (hand-made ref)"
    pair "ec-rsa-$tls" "$tls" "$T/srv-ec.pem" "$T/srv-ec.ref.pem" \
        "$T/cli-rsa.pem" "$T/cli-rsa.ref.pem"
    if [ "$tls" = 1.3 ]; then c=$TLS13_CIPHER; else c=$TLS12_ECDSA; fi
    expect_ok "ec-rsa-$tls" "TLSv$tls" "$c"

    say "TLSv$tls: RSA server (hand-made ref) <-> EC client (encoder ref)"
    pair "rsa-ec-$tls" "$tls" "$T/srv-rsa.pem" "$T/srv-rsa.ref.pem" \
        "$T/cli-ec.pem" "$T/cli-ec.ref.pem"
    if [ "$tls" = 1.3 ]; then c=$TLS13_CIPHER; else c=$TLS12_RSA; fi
    expect_ok "rsa-ec-$tls" "TLSv$tls" "$c"
done

say "TLSv1.3: server given one combined PEM (certificate + key reference)"
pair combined 1.3 "$T/srv-rsa.combined.pem" "" "$T/cli-ec.pem" "$T/cli-ec.ref.pem"
expect_ok combined TLSv1.3 "$TLS13_CIPHER"

for tls in 1.3 1.2; do
    say "TLSv$tls: client certificate from another CA is refused"
    pair "foreign-$tls" "$tls" "$T/srv-ec.pem" "$T/srv-ec.ref.pem" \
        "$T/cli-foreign.pem" "$T/cli-foreign.ref.pem"
    [ "$BG_STATUS" -eq 1 ] || die "foreign-$tls: server status $BG_STATUS, not 1"
    [ "$CLI_STATUS" -eq 1 ] || die "foreign-$tls: client status $CLI_STATUS, not 1"
    assert_file_match '^error=SSLCertVerificationError: .*CERTIFICATE_VERIFY_FAILED.*unable to get local issuer certificate' \
        "$T/foreign-$tls.srv.err" "foreign-$tls: server refusal"
    # the alert, or (TLS 1.3: the client may write before it reads the
    # alert) the connection cut under it
    assert_file_match '^error=(SSLError: .*(TLSV1_ALERT_UNKNOWN_CA|alert unknown ca)|SSLEOFError: |ConnectionResetError: |BrokenPipeError: )' \
        "$T/foreign-$tls.cli.err" "foreign-$tls: client refused"
    assert_file_nomatch '^server\.received=' "$T/foreign-$tls.srv.out" \
        "foreign-$tls: data reached the server"
    assert_file_nomatch '^client\.reply=' "$T/foreign-$tls.cli.out" \
        "foreign-$tls: data came back"
    say "ok: foreign-$tls refused"
done

say "a key reference for the wrong key: load_cert_chain() refuses the pair"
should_fail 'error=SSLError: .*(KEY_VALUES_MISMATCH|key values mismatch)' \
    "${PRE[@]}" python3 "$PEER" load --cert "$T/srv-ec.pem" --key "$T/cli-ec.ref.pem"
