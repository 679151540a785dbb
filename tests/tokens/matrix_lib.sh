# SPDX-License-Identifier: Apache-2.0
# tests/tokens/matrix_lib.sh -- the checks every token of the matrix runs
# (SoftHSM2, TPM 2.0, openCryptoki, NSS softoken), sourced by
# tests/tokens/<token>.sh after tests/lib.sh and tests/tls_lib.sh once the
# token is set up.  The token script sets:
#   MX_COLUMN     the token's name in the matrix ("TPM 2.0 (swtpm)")
#   MX_MODULE     its PKCS#11 module;  MX_INIT_ARGS  C_Initialize's
#                 pReserved for it (empty: none)
#   MX_LABEL      the token's label;  MX_PIN_FILE  its user PIN (a file);
#                 TOKEN_PIN  the PIN itself (no output may contain it)
#   MX_NO_EC      empty when the token makes EC P-256 keys, else the reason
#                 it cannot (every EC check is then "N/A: <reason>", and
#                 keygen must refuse EC naming the missing mechanism)
#   MX_FOREIGN    keys made by the token's own tools, one per line:
#                 "TOOL KIND IDHEX LABEL BESIDE" (KIND rsa|ec, LABEL "-" for
#                 none, BESIDE what is on the token with it: pub, cert,
#                 pub+cert or none)
#   MX_NO_IMPORT  empty when hsmkey import (C_CreateObject of a private
#                 key) works, else why the token cannot
#   MX_NO_FORK_AFTER  empty when a key loaded before fork() signs in the
#                 children, else why the token's module cannot
#   MX_SETUP_MS   how long setting the token up took
# and calls matrix_run PROV_FORK (tests/c/prov_fork; tests/c/prov_index
# is found beside it).
#
# Every check prints "matrix | <column> | <check> | PASS | <ms>" or
# "| N/A: <reason> | <ms>"; a failure ends the test.  With HSMKEY_MATRIX_DIR set, the
# lines are also appended to HSMKEY_MATRIX_DIR/matrix.txt.

HSMKEY=$HSMKEY_BUILD/tool/hsmkey
[ -x "$HSMKEY" ] || die "hsmkey CLI $HSMKEY not built (meson compile -C build)"
# The CLI and the provider take their settings from what this file sets.
unset HSMKEY_PKCS11_MODULE HSMKEY_PKCS11_MODULE_INIT_ARGS HSMKEY_PIN_SOURCE

MX_DATA=$T/mx-data
head -c 3000 /dev/urandom >"$MX_DATA"
MX_RESULTS=$T/matrix.txt
: >"$MX_RESULTS"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# mx_record CHECK RESULT: one row of the matrix, with the time since the
# row before.
MX_LAST=$(now_ms)
mx_record() {
    local line now
    now=$(now_ms)
    line=$(printf 'matrix | %s | %s | %s | %d ms' "$MX_COLUMN" "$1" "$2" \
        $((now - MX_LAST)))
    MX_LAST=$now
    printf '%s\n' "$line" | tee -a "$MX_RESULTS"
    if [ -n "${HSMKEY_MATRIX_DIR:-}" ]; then
        printf '%s\n' "$line" >>"$HSMKEY_MATRIX_DIR/matrix.txt"
    fi
}

# hk ARGS...: the hsmkey CLI on the token; output in $HK_OUT / $HK_ERR.
_HK_N=0
hk() {
    local args=(--module "$MX_MODULE" --pin-source "file:$MX_PIN_FILE")
    _HK_N=$((_HK_N + 1))
    HK_OUT=$T/out/hk.$_HK_N.out
    HK_ERR=$T/out/hk.$_HK_N.err
    [ -z "$MX_INIT_ARGS" ] || args+=(--module-init-args "$MX_INIT_ARGS")
    HK_RC=0
    # preloaded: under the asan setup, modules p11-kit unloads stay mapped
    # so that leak reports can name them (tests/lsan.supp).
    preloaded "$HSMKEY" "${args[@]}" "$@" >"$HK_OUT" 2>"$HK_ERR" </dev/null ||
        HK_RC=$?
    _status_check "$HK_RC" "$HK_ERR" "hsmkey $*" || true
    return "$HK_RC"
}

hk_ok() {
    if ! hk "$@"; then
        sed 's/^/  | /' "$HK_ERR" >&2
        die "hsmkey $* failed with status $HK_RC"
    fi
}

# pct TEXT: TEXT percent-encoded for a pkcs11: URI path attribute.
pct() {
    local s=$1 out= c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
        [a-zA-Z0-9._~-]) out+=$c ;;
        *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}

# mx_uri_id IDHEX / mx_uri_label LABEL: private key URIs on the token.
mx_uri_id() {
    local id= i
    for ((i = 0; i < ${#1}; i += 2)); do
        id+=%${1:i:2}
    done
    printf 'pkcs11:token=%s;id=%s;type=private' "$(pct "$MX_LABEL")" "$id"
}
mx_uri_label() {
    printf 'pkcs11:token=%s;object=%s;type=private' "$(pct "$MX_LABEL")" \
        "$(pct "$1")"
}

# mx_pub KEY OUT: the key's public half, exported through the provider.
mx_pub() {
    ossl pkey -in "$1" -pubout -out "$2" 2>"$T/out/pub.err" ||
        die "openssl pkey -pubout $1: $(cat "$T/out/pub.err")"
    ossl_sw pkey -pubin -in "$2" -noout ||
        die "the public key of $1 is not a key"
}

# mx_sign KIND KEY PUB [once]: the token signs through the provider, the
# default provider alone verifies (RSA: PKCS#1 v1.5 and PSS, or with
# "once" PSS only, as TLS 1.3 signs; EC: ECDSA).
mx_sign() {
    local kind=$1 key=$2 pub=$3 sig=$T/out/sig.$RANDOM opts=("")
    local pss="-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32"
    if [ "$kind" = rsa ] && [ "${4:-}" = once ]; then
        opts=("$pss")
    elif [ "$kind" = rsa ]; then
        opts=("" "$pss")
    fi
    for o in "${opts[@]}"; do
        # shellcheck disable=SC2086 # $o is a list of options
        ossl dgst -sha256 $o -sign "$key" -out "$sig" "$MX_DATA" \
            2>"$sig.err" || die "signing with $key${o:+ ($o)}: $(cat "$sig.err")"
        # shellcheck disable=SC2086
        ossl_sw dgst -sha256 $o -verify "$pub" -signature "$sig" "$MX_DATA" \
            >"$sig.v" 2>&1 || true
        grep -q '^Verified OK$' "$sig.v" ||
            die "$key${o:+ ($o)}: signature does not verify: $(cat "$sig.v")"
    done
}

# ---------------------------------------------------------------- checks

mx_check_tokens() {
    hk_ok tokens
    grep -q -- "$MX_LABEL" "$HK_OUT" ||
        die "hsmkey tokens does not list '$MX_LABEL': $(cat "$HK_OUT")"
    hk_ok --json tokens
    OPENSSL_CONF=$SW_CNF python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
assert any(r["label"] == sys.argv[2] for r in rows), rows' \
        "$HK_OUT" "$MX_LABEL" || die "hsmkey --json tokens: no '$MX_LABEL'"
    mx_record "hsmkey tokens" PASS
}

# Every key the token's own tools made is listed, as a private key.
mx_check_keys() {
    local tool kind id label beside
    hk_ok keys --token "$MX_LABEL"
    while read -r tool kind id label beside; do
        [ -n "$tool" ] || continue
        grep -Eq " private +$id +$kind " "$HK_OUT" ||
            die "hsmkey keys does not list the $tool $kind key $id: $(cat "$HK_OUT")"
    done <<<"$MX_FOREIGN"
    mx_record "hsmkey keys" PASS
}

# Keys made by other tools load by id= and by label, and sign.
mx_check_foreign() {
    local tool kind id label beside by
    while read -r tool kind id label beside; do
        [ -n "$tool" ] || continue
        if [ "$kind" = ec ] && [ -n "$MX_NO_EC" ]; then
            continue
        fi
        mx_pub "$(mx_uri_id "$id")" "$T/out/foreign.$id.pub"
        mx_sign "$kind" "$(mx_uri_id "$id")" "$T/out/foreign.$id.pub" once
        by="by id"
        # By label: the same key (its public half), no second signature.
        if [ "$label" != - ]; then
            mx_pub "$(mx_uri_label "$label")" "$T/out/foreign.$id.label.pub"
            assert_same_file "$T/out/foreign.$id.pub" \
                "$T/out/foreign.$id.label.pub" "$tool key $id by label"
            by="by id and label"
        fi
        mx_record "$tool $kind key ($beside beside), $by" PASS
    done <<<"$MX_FOREIGN"
}

# mx_keygen KIND NAME TYPE: a key made by hsmkey keygen, with a key
# reference file ($T/NAME.ref.pem); its URI in $T/NAME.uri.
mx_keygen() {
    hk_ok keygen --token "$MX_LABEL" --label "$2" --type "$3" \
        --out "$T/$2.ref.pem"
    head -n 1 "$HK_OUT" >"$T/$2.uri"
    grep -q "sensitive and not extractable" "$HK_ERR" ||
        die "keygen $3: $(cat "$HK_ERR")"
    hk_ok keys --token "$MX_LABEL"
    grep -Eq "^$2 +private .* yes +no +pkcs11:" "$HK_OUT" ||
        die "keygen $3: the key is not listed sensitive and not extractable"
}

mx_check_keygen() {
    mx_keygen rsa mx-rsa rsa:2048
    mx_record "hsmkey keygen rsa:2048" PASS
    if [ -n "$MX_NO_EC" ]; then
        # The N/A is the token's: keygen says which mechanism is missing.
        hk keygen --token "$MX_LABEL" --label mx-ec --type ec:P-256 || true
        [ "$HK_RC" -eq 3 ] && grep -q 'does not offer CKM_EC_KEY_PAIR_GEN' \
            "$HK_ERR" || die "EC keygen on a token without EC: status" \
            "$HK_RC: $(cat "$HK_ERR")"
        mx_record "hsmkey keygen ec:P-256" "N/A: $MX_NO_EC"
        return 0
    fi
    mx_keygen ec mx-ec ec:P-256
    mx_record "hsmkey keygen ec:P-256" PASS
}

# A software key moved into the token (hsmkey import) signs there; the
# software key's public half verifies (MX_NO_IMPORT: why the token cannot;
# the import must then fail naming the PKCS#11 call).
mx_check_import() {
    local kind
    for kind in rsa ec; do
        if [ "$kind" = ec ] && [ -n "$MX_NO_EC" ]; then
            mx_record "hsmkey import ($kind)" "N/A: $MX_NO_EC"
            continue
        fi
        if [ "$kind" = rsa ]; then
            ossl_sw genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
                -out "$T/secret/import-$kind.pem" 2>/dev/null
        else
            ossl_sw genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
                -out "$T/secret/import-$kind.pem" 2>/dev/null
        fi
        ossl_sw pkey -in "$T/secret/import-$kind.pem" -pubout \
            -out "$T/import-$kind.pub"
        if [ -n "$MX_NO_IMPORT" ]; then
            hk import --token "$MX_LABEL" --label "mx-import-$kind" \
                --key "$T/secret/import-$kind.pem" || true
            [ "$HK_RC" -eq 3 ] &&
                grep -q 'C_CreateObject(private key): CKR_' "$HK_ERR" ||
                die "import on a token without import: status $HK_RC:" \
                    "$(cat "$HK_ERR")"
            # A template error comes with the attributes tried.
            if grep -Eq 'CKR_(ATTRIBUTE_VALUE_INVALID|TEMPLATE_INCONSISTENT)' \
                "$HK_ERR"; then
                grep -q "refused the key template: private key CKA_CLASS=0x3" \
                    "$HK_ERR" || die "import: no template in $(cat "$HK_ERR")"
            fi
            mx_record "hsmkey import ($kind)" "N/A: $MX_NO_IMPORT"
            continue
        fi
        hk_ok import --token "$MX_LABEL" --label "mx-import-$kind" \
            --key "$T/secret/import-$kind.pem"
        mx_sign "$kind" "$(head -n 1 "$HK_OUT")" "$T/import-$kind.pub" once
        mx_record "hsmkey import ($kind)" PASS
    done
}

# The public key through the provider, by URI and by key-reference file.
mx_check_pubout() {
    local kind
    for kind in rsa ec; do
        if [ "$kind" = ec ] && [ -n "$MX_NO_EC" ]; then
            mx_record "openssl pkey -pubout ($kind)" "N/A: $MX_NO_EC"
            continue
        fi
        mx_pub "$(cat "$T/mx-$kind.uri")" "$T/mx-$kind.pub"
        mx_pub "$T/mx-$kind.ref.pem" "$T/mx-$kind.ref.pub"
        assert_same_file "$T/mx-$kind.pub" "$T/mx-$kind.ref.pub" \
            "$kind public key by URI and by key reference"
        mx_record "openssl pkey -pubout ($kind)" PASS
    done
}

mx_check_sign() {
    local kind
    for kind in rsa ec; do
        if [ "$kind" = ec ] && [ -n "$MX_NO_EC" ]; then
            mx_record "signature verified in software ($kind)" "N/A: $MX_NO_EC"
            continue
        fi
        mx_sign "$kind" "$(cat "$T/mx-$kind.uri")" "$T/mx-$kind.pub"
        mx_sign "$kind" "$T/mx-$kind.ref.pem" "$T/mx-$kind.pub" once
        mx_record "signature verified in software ($kind)" PASS
    done
}

# TLS 1.3 with client authentication: the server's key by URI, the
# client's by key-reference file, both on the token.  The client's is the
# other tool's key when there is one (else a second hsmkey key).
mx_check_tls() {
    local kind sig client= tool k id label beside
    make_ca ca
    for kind in rsa ec; do
        if [ "$kind" = ec ] && [ -n "$MX_NO_EC" ]; then
            mx_record "TLS 1.3 mutual, URI + key reference ($kind)" \
                "N/A: $MX_NO_EC"
            continue
        fi
        client=
        while read -r tool k id label beside; do
            if [ -n "$tool" ] && [ "$k" = "$kind" ] && [ -z "$client" ]; then
                client=$(mx_uri_id "$id")
            fi
        done <<<"$MX_FOREIGN"
        if [ -z "$client" ]; then
            mx_keygen "$kind" "mx-$kind-client" "$( [ "$kind" = rsa ] &&
                echo rsa:2048 || echo ec:P-256)"
            client=$(cat "$T/mx-$kind-client.uri")
        fi
        "$HSMKEY" keyref --key "$client" --out "$T/client-$kind.ref.pem" \
            >/dev/null 2>"$T/out/keyref.err" ||
            die "hsmkey keyref: $(cat "$T/out/keyref.err")"
        make_cert ca "server-$kind" "$(cat "$T/mx-$kind.uri")" server.test
        make_cert ca "client-$kind" "$T/client-$kind.ref.pem" client.test
        sig=RSA-PSS
        [ "$kind" = rsa ] || sig=ECDSA
        handshake "tls-$kind" "server-$kind" "$(cat "$T/mx-$kind.uri")" \
            -tls1_3 -Verify 1 -CAfile "$T/ca.pem" -- -tls1_3 \
            -cert "$T/client-$kind.pem" -key "$T/client-$kind.ref.pem"
        expect_ok "tls-$kind" TLSv1.3 "$sig"
        expect_client_verified "tls-$kind" "$sig"
        mx_record "TLS 1.3 mutual, URI + key reference ($kind)" PASS
    done
}

# devcert issues a certificate for the token key; check passes on it.
mx_check_devcert() {
    local kind
    for kind in rsa ec; do
        if [ "$kind" = ec ] && [ -n "$MX_NO_EC" ]; then
            mx_record "hsmkey devcert + check ($kind)" "N/A: $MX_NO_EC"
            continue
        fi
        hk_ok devcert --ca-dir "$T/devca" --key "$T/mx-$kind.ref.pem" \
            --cn "node-$kind.test" --san "DNS:node-$kind.test" \
            --out "$T/node-$kind.pem"
        hk check --cert "$T/node-$kind.pem" --ca "$T/devca/ca.pem" \
            --key "$(cat "$T/mx-$kind.uri")" --host "node-$kind.test" || true
        if [ "$HK_RC" -ne 0 ] || grep -Eq '^(WARN|FAIL) ' "$HK_OUT" ||
            ! grep -q '^PASS key-proof' "$HK_OUT" ||
            ! grep -q '^PASS key-protection' "$HK_OUT"; then
            sed 's/^/  | /' "$HK_OUT" "$HK_ERR" >&2
            die "hsmkey check ($kind): status $HK_RC"
        fi
        mx_record "hsmkey devcert + check ($kind)" PASS
    done
}

# In one process (tests/c/prov_index, next to PROV_FORK), the public key
# objects first, before any login, then every key by id and by label: the
# token's index of objects answers from the second search on, and every
# key must be the one a process of its own finds.
mx_check_index() {
    local prog tool kind id label beside uris=() refs=() i
    prog=$(dirname "$1")/prov_index
    [ -x "$prog" ] || die "$prog not built"
    while read -r tool kind id label beside; do
        [ -n "$tool" ] || continue
        if [ "$kind" = ec ] && [ -n "$MX_NO_EC" ]; then
            continue
        fi
        case $beside in
        pub*) uris+=("$(mx_uri_id "$id" | sed 's/type=private$/type=public/')")
              refs+=("$T/out/foreign.$id.pub") ;;
        esac
    done <<<"$MX_FOREIGN"
    while read -r tool kind id label beside; do
        [ -n "$tool" ] || continue
        if [ "$kind" = ec ] && [ -n "$MX_NO_EC" ]; then
            continue
        fi
        uris+=("$(mx_uri_id "$id")")
        refs+=("$T/out/foreign.$id.pub")
        if [ "$label" != - ]; then
            uris+=("$(mx_uri_label "$label")")
            refs+=("$T/out/foreign.$id.pub")
        fi
    done <<<"$MX_FOREIGN"
    for kind in rsa ec; do
        [ "$kind" = ec ] && [ -n "$MX_NO_EC" ] && continue
        uris+=("$(cat "$T/mx-$kind.uri")")
        refs+=("$T/mx-$kind.pub")
    done
    mkdir -p "$T/out/index"
    HSMKEY_DEBUG=1 preloaded "$prog" pubs "$T/out/index" "${uris[@]}" \
        >"$T/out/index.out" 2>"$T/out/index.err" ||
        die "prov_index pubs: $(grep -v '^hsmkey\[' "$T/out/index.err")"
    for ((i = 0; i < ${#uris[@]}; i++)); do
        assert_same_file "${refs[i]}" "$T/out/index/$((i + 1)).pem" \
            "${uris[i]} in one process with the others"
    done
    grep -q 'from the index' "$T/out/index.err" ||
        die "the token's index answered none of ${#uris[@]} searches"
    say "$MX_COLUMN: $(grep -c 'from the index' "$T/out/index.err") searches" \
        "answered by the token's index, $(grep -c ': template ' \
        "$T/out/index.err") by the token, for ${#uris[@]} keys"
    mx_record "${#uris[@]} keys in one process, from the token's index" PASS
}

# Forked children sign (prov_fork): with a key they load after the fork
# (as pre-forking servers that load keys per worker), and with one the
# parent loaded before it (MX_NO_FORK_AFTER: why the token cannot).
mx_check_fork() {
    local kind mode fork=$1 what
    for kind in rsa ec; do
        for mode in fork-first fork-after; do
            what="forked child signs, key loaded after fork ($kind)"
            [ "$mode" = fork-first ] ||
                what="forked child signs, key loaded before fork ($kind)"
            if [ "$kind" = ec ] && [ -n "$MX_NO_EC" ]; then
                mx_record "$what" "N/A: $MX_NO_EC"
                continue
            fi
            if [ "$mode" = fork-after ] && [ -n "$MX_NO_FORK_AFTER" ]; then
                mx_record "$what" "N/A: $MX_NO_FORK_AFTER"
                continue
            fi
            preloaded "$fork" "$mode" "$(cat "$T/mx-$kind.uri")" 2 \
                >"$T/out/$mode-$kind.out" 2>&1 ||
                die "prov_fork $mode ($kind): $(cat "$T/out/$mode-$kind.out")"
            _status_check 0 "$T/out/$mode-$kind.out" "prov_fork" || true
            mx_record "$what" PASS
        done
    done
}

# matrix_run PROV_FORK: every check, in order, with the time it took.
matrix_run() {
    local fork=$1 t0 check
    [ -x "$fork" ] || die "$fork not built"
    # The provider's configuration is what hsmkey config prints (init args
    # included): every openssl and prov_fork run below reads it.
    hk_ok config --out "$T/hsmkey.cnf"
    export OPENSSL_CONF=$T/hsmkey.cnf
    t0=$(now_ms)
    MX_LAST=$t0
    for check in tokens keys foreign keygen import pubout sign tls devcert; do
        "mx_check_$check"
    done
    mx_check_index "$fork"
    mx_check_fork "$fork"
    say "matrix $MX_COLUMN: setup ${MX_SETUP_MS} ms, checks $(($(now_ms) - t0)) ms"
}
