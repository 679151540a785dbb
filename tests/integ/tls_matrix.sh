#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tls_matrix.sh -- the openssl CLI (s_server / s_client), mutual TLS on
# 127.0.0.1, TLS 1.3 and TLS 1.2, for every key type the token holds for a
# node: RSA 2048/3072/4096, EC P-256/P-384/P-521 and Ed25519. Each type is
# the server's key once and a client's key once per protocol (the client's
# key is the next type in the list, so mixed pairs are covered too). The
# server names its key by pkcs11: URI, the client by a key-reference file.
# Asserted on both sides: protocol, peer signature type, peer key size,
# Verification: OK, and the data coming back.
# Ed25519 in TLS 1.2 is the RFC 8422 EdDSA-with-ECDHE_ECDSA suites, which
# OpenSSL offers by default; it is tested in both protocols.
. "$(dirname "$0")/integ.sh"
need_tool timeout rev

token_keygen 06 ed-key EC:edwards25519
token_keygen 07 rsa3072-key rsa:3072
token_keygen 08 rsa4096-key rsa:4096

# name | token object | signature type (s_client) | bits | TLS 1.3 digest
KEYS=(
    "rsa2048|rsa-key|RSA-PSS|2048|SHA256"
    "rsa3072|rsa3072-key|RSA-PSS|3072|SHA256"
    "rsa4096|rsa4096-key|RSA-PSS|4096|SHA256"
    "p256|ec-key|ECDSA|256|SHA256"
    "p384|ec384-key|ECDSA|384|SHA384"
    "p521|ec521-key|ECDSA|521|SHA512"
    "ed25519|ed-key|ed25519|256|"
)

# asan_for NAME...: ASAN_OPTIONS for a step that signs with these keys:
# full unwinding on malloc where Ed25519 signs through SoftHSM2 under leak
# checking (lib.sh, full_unwind), the fast unwinder everywhere else.
asan_for() {
    case " $* " in
    *" ed25519 "*) full_unwind_options ;;
    *) printf '%s' "${ASAN_OPTIONS:-}" ;;
    esac
}

make_ca ca
for row in "${KEYS[@]}"; do
    IFS='|' read -r name obj _ <<<"$row"
    ASAN_OPTIONS=$(asan_for "$name") node_cert ca "srv-$name" \
        "$(uri "$obj")" server.test
    ASAN_OPTIONS=$(asan_for "$name") node_cert ca "cli-$name" \
        "$(uri "$obj")" "client-$name.test"
    ASAN_OPTIONS=$(asan_for "$name") keyref_encoder "cli-$name" "$(uri "$obj")"
done

# The certificates carry the token's public keys of the expected types.
assert_file_match 'Public-Key: \(3072 bit\)' <(ossl_sw x509 -in "$T/srv-rsa3072.pem" -noout -text)
assert_file_match 'Public-Key: \(4096 bit\)' <(ossl_sw x509 -in "$T/srv-rsa4096.pem" -noout -text)
assert_file_match 'Public Key Algorithm: ED25519' <(ossl_sw x509 -in "$T/srv-ed25519.pem" -noout -text)

# handshake NAME OPT SRV_CERT SRV_KEY CLI_CERT CLI_KEY
handshake() {
    local name=$1 opt=$2 port
    port=$(free_port)
    start_bg "$name.srv" timeout 60 env ${HSMKEY_TEST_PRELOAD:+LD_PRELOAD=$HSMKEY_TEST_PRELOAD} \
        openssl s_server -accept "127.0.0.1:$port" -naccept 1 -rev \
        -cert "$3" -key "$4" -Verify 1 -verify_return_error -CAfile "$T/ca.pem"
    wait_output "$T/$name.srv.out" '^ACCEPT$' 30
    MSG="matrix-$name-$RANDOM"
    printf '%s\nCLOSE\n' "$MSG" >"$T/$name.cli.in"
    CLI_STATUS=0
    timeout 60 env ${HSMKEY_TEST_PRELOAD:+LD_PRELOAD=$HSMKEY_TEST_PRELOAD} \
        openssl s_client -connect "127.0.0.1:$port" "-$opt" -ign_eof \
        -CAfile "$T/ca.pem" -verify_return_error -verify_hostname server.test \
        -cert "$5" -key "$6" <"$T/$name.cli.in" \
        >"$T/$name.cli.out" 2>"$T/$name.cli.err" || CLI_STATUS=$?
    _status_check "$CLI_STATUS" "$T/$name.cli.err" "$name: s_client" || true
    wait_bg "$name.srv" 60
    _status_check "$BG_STATUS" "$T/$name.srv.err" "$name: s_server" || true
}

n=${#KEYS[@]}
for proto in tls1_3:TLSv1.3 tls1_2:TLSv1.2; do
    IFS=: read -r opt pname <<<"$proto"
    for ((i = 0; i < n; i++)); do
        IFS='|' read -r sname sobj ssig sbits sdig <<<"${KEYS[i]}"
        IFS='|' read -r cname _ csig _ _ <<<"${KEYS[(i + 1) % n]}"
        name=$opt-$sname-$cname
        ASAN_OPTIONS=$(asan_for "$sname" "$cname") handshake "$name" "$opt" \
            "$T/srv-$sname.pem" "$(uri "$sobj")" \
            "$T/cli-$cname.pem" "$T/cli-$cname.ref.pem"
        cli=$T/$name.cli.out
        srv=$T/$name.srv.all
        cat "$T/$name.srv.out" "$T/$name.srv.err" >"$srv"
        if [ "$CLI_STATUS" -ne 0 ] || [ "$BG_STATUS" -ne 0 ]; then
            sed 's/^/  srv| /' "$srv" | grep -v '^  srv| [A-Za-z0-9+/=]\{64\}$' >&2
            sed 's/^/  cli| /' "$T/$name.cli.err" >&2
            die "$name: s_client status $CLI_STATUS, s_server status $BG_STATUS"
        fi
        # client side: the server's token key
        assert_file_match "^New, $pname, Cipher is " "$cli" "$name: protocol"
        assert_file_match "^Peer signature type: $ssig\$" "$cli" "$name: server signature"
        assert_file_match "^Server public key is $sbits bit\$" "$cli" "$name: server key"
        if [ "$opt" = tls1_3 ] && [ -n "$sdig" ]; then
            assert_file_match "^Peer signing digest: $sdig\$" "$cli" "$name: digest"
        fi
        assert_file_match '^Verification: OK$' "$cli" "$name: server verified"
        assert_file_match '^ *Verify return code: 0 \(ok\)$' "$cli" "$name: verify code"
        # unanchored: s_client may print the reply inside its session dump
        grep -qF -- "$(printf "%s" "$MSG" | rev)" "$cli" || die "$name: no data back"
        # server side: the client's token key
        assert_file_match "^Protocol version: $pname\$" "$srv" "$name: server protocol"
        assert_file_match "^Peer certificate: .*CN ?= ?client-$cname\\.test" "$srv" \
            "$name: client certificate"
        if [ "$csig" = ed25519 ]; then
            assert_file_match '^Signature type: (ed25519|Ed25519)$' "$srv" "$name: client signature"
        else
            assert_file_match "^Signature type: $csig\$" "$srv" "$name: client signature"
        fi
        assert_file_match '^Verification: OK$' "$srv" "$name: client verified"
        say "ok: $pname server $sname ($ssig) <-> client $cname ($csig)"
    done
done
