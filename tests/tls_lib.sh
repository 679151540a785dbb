# SPDX-License-Identifier: Apache-2.0
# tests/tls_lib.sh -- openssl s_server/s_client helpers for tls_*.sh,
# sourced after lib.sh. Certificates are $T/NAME.pem (make_cert); the
# client trusts $T/ca.pem and checks the name server.test.

RUN=0
reverse() {
    local s=$1 r= i
    for ((i = ${#s} - 1; i >= 0; i--)); do
        r+=${s:i:1}
    done
    printf '%s' "$r"
}

# start_server NAME S_SERVER_ARGS...: s_server on 127.0.0.1 and a free port
# (in $PORT), running once it printed ACCEPT; another port is tried when a
# parallel test took the one chosen.
start_server() {
    local name=$1 try
    shift
    for try in 1 2 3; do
        PORT=$(free_port)
        start_bg "$name" ossl_raw s_server -accept "127.0.0.1:$PORT" "$@"
        if wait_server_ready "$name"; then
            return 0
        fi
        grep -aq 'Address already in use' "$T/$name.err" ||
            die "$name: s_server did not start: $(cat "$T/$name.err")"
        say "port $PORT taken, another try"
    done
    die "$name: no free port found"
}

# wait_server_ready NAME: s_server printed ACCEPT (0) or exited (1).
wait_server_ready() {
    local n=600 pid
    pid=$(_bg_pid "$1")
    while [ "$n" -gt 0 ]; do
        grep -aq '^ACCEPT$' "$T/$1.out" 2>/dev/null && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            wait_bg "$1" 1
            return 1
        fi
        sleep 0.1
        n=$((n - 1))
    done
    die "$1: s_server did not print ACCEPT within 60 s"
}

# handshake NAME CERT KEY_URI [SERVER_ARGS...] -- [CLIENT_ARGS...]
# One s_server (-naccept 1, -rev: sends each line back reversed) and one
# s_client that sends a line and CLOSE. Outputs: $T/NAME.{srv,cli}.{out,err};
# s_client's status in CLI_STATUS, s_server's in BG_STATUS.
handshake() {
    local name=$1 cert=$2 key=$3 port sargs=() cargs=()
    shift 3
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        sargs+=("$1")
        shift
    done
    [ $# -eq 0 ] || shift
    cargs=("$@")
    RUN=$((RUN + 1))
    start_server "$name.srv" -naccept 1 -rev -cert "$T/$cert.pem" \
        -key "$key" ${sargs[@]+"${sargs[@]}"}
    port=$PORT
    printf 'hello-hsmkey-%s\nCLOSE\n' "$RUN" >"$T/$name.cli.in"
    CLI_STATUS=0
    timeout 60 env ${HSMKEY_TEST_PRELOAD:+LD_PRELOAD=$HSMKEY_TEST_PRELOAD} \
        openssl s_client -connect "127.0.0.1:$port" -ign_eof \
        -CAfile "$T/ca.pem" -verify_return_error -verify_hostname server.test \
        ${cargs[@]+"${cargs[@]}"} <"$T/$name.cli.in" \
        >"$T/$name.cli.out" 2>"$T/$name.cli.err" || CLI_STATUS=$?
    _status_check "$CLI_STATUS" "$T/$name.cli.err" "$name: s_client" || true
    wait_bg "$name.srv" 30
    EXPECT_REPLY=$(reverse "hello-hsmkey-$RUN")
}

# expect_ok NAME PROTOCOL SIGTYPE: the client saw a verified server of the
# given protocol and signature type and got its line back reversed.
expect_ok() {
    local name=$1 cli=$T/$1.cli.out
    if [ "$CLI_STATUS" -ne 0 ] || [ "$BG_STATUS" -ne 0 ]; then
        sed 's/^/  srv| /' "$T/$name.srv.err" >&2
        sed 's/^/  cli| /' "$T/$name.cli.err" >&2
        die "$name: s_client status $CLI_STATUS, s_server status $BG_STATUS"
    fi
    assert_file_match "^New, $2, Cipher is " "$cli" "$name: protocol"
    if [ "$3" = none ]; then # RSA key exchange: the server signs nothing
        ! grep -q '^Peer signature type:' "$cli" \
            || die "$name: unexpected server signature"
    else
        assert_file_match "^Peer signature type: $3\$" "$cli" "$name: signature"
    fi
    assert_file_match '^Verification: OK$' "$cli" "$name: server verified"
    assert_file_match '^ *Verify return code: 0 \(ok\)$' "$cli" "$name: verify"
    assert_file_match "$EXPECT_REPLY" "$cli" "$name: no reply from the server"
    say "ok: $name ($2, $3)"
}

expect_client_verified() { # NAME SIGTYPE
    local srv=$T/$1.srv.err
    assert_file_match '^CONNECTION ESTABLISHED$' "$srv" "$1: server side"
    assert_file_match '^Peer certificate: .*CN ?= ?client\.test' "$srv" \
        "$1: client certificate"
    assert_file_match "^Signature type: $2\$" "$srv" "$1: client signature"
    assert_file_match '^Verification: OK$' "$srv" "$1: client verified"
}
