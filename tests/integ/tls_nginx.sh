#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tls_nginx.sh -- Debian's nginx serving HTTPS on 127.0.0.1 with its private
# keys on the token (ssl_certificate_key = key-reference files, an RSA and an
# EC P-256 key), ssl_verify_client on with a dev CA; curl (linked with the
# system OpenSSL 3) as the client with --cert / --key = a key-reference
# file. nginx runs in the foreground under a temp prefix with a master and
# two workers: the key is loaded in the master and used by the forked
# workers; a reload (SIGHUP) loads it again and forks new workers.
# Everything through OPENSSL_CONF; nginx stopped by its pid.
. "$(dirname "$0")/integ.sh"
need_tool nginx curl timeout ps rev

no_provider nginx -V >"$T/out/nginx-V" 2>&1 || die "nginx -V failed"
grep -q -- '--with-http_ssl_module' "$T/out/nginx-V" ||
    die "this nginx has no http_ssl_module: $(head -1 "$T/out/nginx-V")"
no_provider curl -V >"$T/out/curl-V" 2>&1 || die "curl -V failed"
grep -qE '^curl .* OpenSSL/3\.' "$T/out/curl-V" ||
    die "curl is not linked with OpenSSL 3: $(head -1 "$T/out/curl-V")"

make_ca ca
make_ca other-ca
node_cert ca srv-rsa "$(uri rsa-key)" server.test
node_cert ca srv-ec "$(uri ec-key)" server.test
node_cert ca cli "$(uri ec384-key)" client.test
node_cert other-ca cli-foreign "$(uri ec521-key)" client.test
keyref_encoder srv-rsa "$(uri rsa-key)"
keyref_by_hand srv-ec "$(uri ec-key)"
keyref_encoder cli "$(uri ec384-key)"
keyref_encoder cli-foreign "$(uri ec521-key)"

NG=$T/nginx
mkdir -p "$NG/logs" "$NG/tmp" "$NG/conf"
PORT=$(free_port)
user_line='# not root: workers run as the current user'
if [ "$(id -u)" -eq 0 ]; then
    # The token files and the PIN file are private to the test's user.
    user_line="user $(id -un) $(id -gn);"
fi
sed -e "s|@USER@|$user_line|" -e "s|@PREFIX@|$NG|g" -e "s|@PORT@|$PORT|" \
    -e "s|@CERT_RSA@|$T/srv-rsa.pem|" -e "s|@KEYREF_RSA@|$T/srv-rsa.ref.pem|" \
    -e "s|@CERT_EC@|$T/srv-ec.pem|" -e "s|@KEYREF_EC@|$T/srv-ec.ref.pem|" \
    -e "s|@CA@|$T/ca.pem|" "$INTEG_DIR/nginx.conf.in" >"$NG/conf/nginx.conf"
if grep -n '@[A-Z_]*@' "$NG/conf/nginx.conf"; then
    die "nginx.conf: placeholder left"
fi

say "nginx -t reads the configuration and loads both token keys"
"${PRE[@]}" nginx -p "$NG" -e "$NG/logs/error.log" -c "$NG/conf/nginx.conf" -t \
    >"$T/out/nginx-t.out" 2>&1 || {
    sed 's/^/  | /' "$T/out/nginx-t.out" "$NG/logs/error.log" >&2
    die "nginx -t failed"
}

start_bg nginx "${PRE[@]}" nginx -p "$NG" -e "$NG/logs/error.log" \
    -c "$NG/conf/nginx.conf" -g 'daemon off;'
MASTER=$(_bg_pid nginx)
wait_port "$PORT" 30
wait_output "$NG/nginx.pid" '^[0-9]+$' 10
assert_eq "$(cat "$NG/nginx.pid")" "$MASTER" "nginx.pid is not the process we started"

workers() { # the master's children, one per line, sorted
    ps -o pid= --ppid "$MASTER" | tr -d ' ' | sort
}
# wait_workers N: until the master has N worker processes.
wait_workers() {
    local n=100
    while [ "$(workers | wc -l)" -ne "$1" ] && [ $n -gt 0 ]; do
        sleep 0.1
        n=$((n - 1))
    done
    [ "$(workers | wc -l)" -eq "$1" ] || die "nginx has $(workers | wc -l) workers, not $1"
}
wait_workers 2
WORKERS1=$(workers)

N=0
# get NAME CURL-ARGS...: one HTTPS request to the server; status in
# CURL_STATUS, HTTP code in $T/NAME.code, body in $T/NAME.body, -v in .err
get() {
    local name=$1
    shift
    N=$((N + 1))
    CURL_STATUS=0
    timeout 60 "${CURL[@]}" --silent --show-error --verbose --max-time 30 \
        --cacert "$T/ca.pem" --resolve "server.test:$PORT:127.0.0.1" \
        --output "$T/$name.body" --write-out '%{http_code}\n' "$@" \
        "https://server.test:$PORT/req-$N" \
        >"$T/$name.code" 2>"$T/$name.err" || CURL_STATUS=$?
    _status_check "$CURL_STATUS" "$T/$name.err" "curl ($name)" || true
}

# expect_200 NAME PROTOCOL CIPHER-RE: a verified server, a verified client.
expect_200() {
    local name=$1
    if [ "$CURL_STATUS" -ne 0 ]; then
        sed 's/^/  | /' "$T/$name.err" >&2
        tail -20 "$NG/logs/error.log" | sed 's/^/  log| /' >&2
        die "$name: curl status $CURL_STATUS"
    fi
    assert_eq "$(cat "$T/$name.code")" 200 "$name: HTTP status"
    assert_file_match "^hello from nginx: $2 SUCCESS CN=client\\.test,O=hsmkey tests pid=[0-9]+\$" \
        "$T/$name.body" "$name: body"
    assert_file_match "SSL connection using $2 / $3" "$T/$name.err" "$name: protocol"
    assert_file_match 'SSL certificate verify ok' "$T/$name.err" "$name: server verified"
    assert_file_match 'subject: O ?= ?hsmkey tests; CN ?= ?server\.test' "$T/$name.err" \
        "$name: server certificate"
    say "ok: $name: 200 ($2, $(grep -o 'SSL connection using .*' "$T/$name.err"))"
}

CLIENT=(--cert "$T/cli.pem" --key "$T/cli.ref.pem")

say "TLSv1.3 mutual TLS, curl's key on the token"
get tls13 "${CLIENT[@]}" --tlsv1.3
expect_200 tls13 TLSv1.3 'TLS_[A-Z0-9_]+'
say "TLSv1.2, nginx's RSA token key"
get tls12-rsa "${CLIENT[@]}" --tlsv1.2 --tls-max 1.2 \
    --ciphers ECDHE-RSA-AES128-GCM-SHA256
expect_200 tls12-rsa TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256
say "TLSv1.2, nginx's EC token key"
get tls12-ec "${CLIENT[@]}" --tlsv1.2 --tls-max 1.2 \
    --ciphers ECDHE-ECDSA-AES128-GCM-SHA256
expect_200 tls12-ec TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256

say "several requests, served by the forked workers"
pids=()
for i in 1 2 3 4 5 6; do
    get "many-$i" "${CLIENT[@]}" --no-keepalive
    expect_200 "many-$i" TLSv1.3 'TLS_[A-Z0-9_]+'
    pids+=("$(sed -n 's/.*pid=\([0-9]*\)$/\1/p' "$T/many-$i.body")")
done
for p in "${pids[@]}"; do
    grep -qx "$p" <<<"$WORKERS1" ||
        die "request served by pid $p, not one of the workers: $WORKERS1"
done

say "a client without a certificate is refused"
get nocert
[ "$CURL_STATUS" -eq 0 ] || die "nocert: curl status $CURL_STATUS (expected an HTTP answer)"
assert_eq "$(cat "$T/nocert.code")" 400 "nocert: HTTP status"
assert_file_match 'No required SSL certificate was sent' "$T/nocert.body" "nocert: body"
say "ok: nocert: 400 No required SSL certificate was sent"

say "a client certificate from another CA is refused"
get foreign --cert "$T/cli-foreign.pem" --key "$T/cli-foreign.ref.pem"
[ "$CURL_STATUS" -eq 0 ] || die "foreign: curl status $CURL_STATUS (expected an HTTP answer)"
assert_eq "$(cat "$T/foreign.code")" 400 "foreign: HTTP status"
assert_file_match 'The SSL certificate error' "$T/foreign.body" "foreign: body"
assert_file_match 'client SSL certificate verify error: \(2[01]:unable to (get local issuer|verify the first) certificate\)' \
    "$NG/logs/error.log" "foreign: nginx's log"
say "ok: foreign: 400 The SSL certificate error"

say "reload (SIGHUP): the master loads the keys again and forks new workers"
kill -HUP "$MASTER"
n=150
while [ $n -gt 0 ]; do
    w=$(workers)
    if [ "$(printf '%s\n' "$w" | wc -l)" -eq 2 ] &&
        ! grep -qxF -f <(printf '%s\n' "$WORKERS1") <<<"$w"; then
        break
    fi
    sleep 0.1
    n=$((n - 1))
done
[ $n -gt 0 ] || die "no new workers after SIGHUP: $(workers | tr '\n' ' ')"
assert_file_match 'reconfiguring' "$NG/logs/error.log" "reload"
get reloaded "${CLIENT[@]}"
expect_200 reloaded TLSv1.3 'TLS_[A-Z0-9_]+'

say "stop nginx by its pid; master and workers are gone"
WORKERS2=$(workers)
stop_bg nginx
for p in $WORKERS2 $WORKERS1; do
    n=50
    while kill -0 "$p" 2>/dev/null && [ $n -gt 0 ]; do
        sleep 0.1
        n=$((n - 1))
    done
    ! kill -0 "$p" 2>/dev/null || die "nginx worker $p still running"
done

# No worker died by a signal (a crash in the provider would show here).
assert_file_nomatch 'exited on signal|\[(alert|emerg|crit)\]' "$NG/logs/error.log" \
    "nginx's error log"
