#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# readme_use.sh -- runs the snippets of README.md's "Use it with…" section,
# so the documentation is tested, not only written. Each snippet follows a
# `<!-- test: NAME -->` line; this test takes it as it is, swaps its paths
# (/etc/hsmkey/ -> the temp dir, the installed hsmkey.so -> the build's),
# its port (8443 -> a free one on 127.0.0.1) and its host name
# (node1.example -> 127.0.0.1 where a socket is opened), and runs it:
# openssl.cnf (used by everything after), the key-reference commands,
# s_server/s_client, nginx with curl and Python as clients, and the
# Node.js server with the Node.js client. Tokens `node1` and `node2`.
# HSMKEY_README overrides the file (for editing the section).
# shellcheck disable=SC2034 # read by lib.sh
TEST_TOKEN_LABEL=node1
. "$(dirname "$0")/integ.sh"
need_tool nginx curl python3 node timeout mkfifo

README=${HSMKEY_README:-$HSMKEY_SRC/README.md}
[ -r "$README" ] || die "$README not found"

# snippet NAME: the fenced block after `<!-- test: NAME -->`
snippet() {
    local out
    out=$(awk -v name="$1" '
        $0 == "<!-- test: " name " -->" { want = 1; next }
        want == 1 && /^```/ { want = 2; next }
        want == 2 && /^```/ { exit }
        want == 2 { print }' "$README")
    [ -n "$out" ] || die "README.md has no snippet '<!-- test: $1 -->' (section \"Use it with…\")"
    printf '%s\n' "$out"
}

D=$T/etc
mkdir -m 0700 "$D"
cp "$TOKEN_PIN_FILE" "$T/secret/node.pin"

# localize PORT: README paths, module, port -> this test's
localize() {
    sed -e "s|/etc/hsmkey/node\\.pin|$T/secret/node.pin|g" \
        -e "s|/etc/hsmkey/|$D/|g" \
        -e "s|/usr/lib/x86_64-linux-gnu/ossl-modules/hsmkey\\.so|$HSMKEY_SO|g" \
        -e "s|/usr/lib/softhsm/libsofthsm2\\.so|$TOKEN_MODULE|g" \
        -e "s|8443|$1|g"
}
# one command per line: backslash-newline continuations joined
join_lines() { sed -e ':a' -e '/\\$/N; s/\\\n//; ta'; }

# ---------------------------------------------------------------- tokens
# node1 is the test token; node2 a second token in the same SoftHSM2 store.
no_provider softhsm2-util --init-token --free --label node2 --so-pin "$TOKEN_SO_PIN" \
    --pin "$TOKEN_PIN" >"$T/secret/node2-init.log" 2>&1 ||
    die "cannot make token node2: $(cat "$T/secret/node2-init.log")"
token_keygen 11 node-key EC:prime256v1
TOKEN_LABEL=node2 token_keygen 12 node-key rsa:2048

# ---------------------------------------------------------------- openssl.cnf
say "openssl.cnf from README"
snippet openssl.cnf >"$T/readme.cnf"
modules=$(no_provider openssl version -m | sed -n 's/^MODULESDIR: "\(.*\)"$/\1/p')
grep -q "^module *= *$modules/hsmkey\\.so\$" "$T/readme.cnf" ||
    die "README's openssl.cnf does not name hsmkey.so in OpenSSL's modules dir $modules"
localize 8443 <"$T/readme.cnf" >"$D/openssl.cnf"
assert_file_nomatch '/etc/hsmkey|ossl-modules' "$D/openssl.cnf" "localized openssl.cnf"
for k in '^openssl_conf *= *openssl_init' '^nodejs_conf *= *openssl_init' \
    "^module *= *$HSMKEY_SO" "^pin-source *= *file:$T/secret/node.pin"; do
    assert_file_match "$k" "$D/openssl.cnf" "README's openssl.cnf"
done
export OPENSSL_CONF=$D/openssl.cnf

say "key-reference files with README's commands"
snippet keyref | localize 8443 >"$T/keyref.sh"
assert_file_match "^export OPENSSL_CONF=$D/openssl.cnf\$" "$T/keyref.sh"
"${PRE[@]}" bash -euo pipefail "$T/keyref.sh" >"$T/out/keyref.out" 2>&1 || {
    sed 's/^/  | /' "$T/out/keyref.out" >&2
    die "README's key-reference commands failed"
}
for n in node1 node2; do
    assert_file_match '^-----BEGIN PKCS#11 PROVIDER URI-----$' "$D/$n.key.pem"
    assert_file_match "UTF8STRING +:pkcs11:.*token=$n;.*object=node-key" \
        <(ossl_sw asn1parse -in "$D/$n.key.pem") "$n.key.pem"
done

# ---------------------------------------------------------------- certificates
make_ca ca
node_cert ca node1 "pkcs11:token=node1;object=node-key;type=private" node1.example
node_cert ca node2 "pkcs11:token=node2;object=node-key;type=private" node2.example
cp "$T/node1.pem" "$T/node2.pem" "$T/ca.pem" "$D/"

# ---------------------------------------------------------------- openssl
say "openssl s_server / s_client from README"
PORT=$(free_port)
snippet openssl | join_lines | sed -e "s|-accept 8443|-accept 127.0.0.1:8443|" \
    -e "s|node1\\.example:8443|127.0.0.1:8443|" | localize "$PORT" >"$T/openssl.cmds"
[ "$(wc -l <"$T/openssl.cmds")" -eq 2 ] || die "README's openssl snippet: expected 2 commands"
# s_server sends what it reads on stdin and ends a connection at EOF: give
# it a stdin that stays open (a terminal, when a person runs it).
mkfifo "$T/s_server.in"
start_bg s_server "${PRE[@]}" bash -c "exec $(sed -n 1p "$T/openssl.cmds")"
exec 9>"$T/s_server.in"
wait_port "$PORT" 30
# s_client: "Q" (after the handshake has settled) says goodbye and exits
timeout 60 "${PRE[@]}" bash -c "(sleep 1; echo Q) | $(sed -n 2p "$T/openssl.cmds")" \
    >"$T/s_client.out" 2>"$T/s_client.err" || {
    sed 's/^/  | /' "$T/s_client.err" >&2
    die "README's s_client command failed"
}
assert_file_match '^Verification: OK$' "$T/s_client.out" "s_client: server verified"
assert_file_match '^Peer signature type: ECDSA$' "$T/s_client.out" "s_client: node1's EC key"
assert_file_match '^subject=O ?= ?hsmkey tests, CN ?= ?node1\.example$' "$T/s_client.out"
wait_output "$T/s_server.out" '^CIPHER is ' 10
assert_file_match '^subject=O ?= ?hsmkey tests, CN ?= ?node2\.example$' \
    "$T/s_server.out" "s_server: client certificate"
assert_file_match '^Peer signature type: RSA-PSS$' "$T/s_server.out" "s_server: node2's RSA key"
# -verify_return_error: the connection exists only if node2 verified
assert_file_match '^depth=0 O ?= ?hsmkey tests, CN ?= ?node2\.example$' "$T/s_server.err"
assert_file_nomatch 'verify error' "$T/s_server.err" "s_server: client verification"
exec 9>&-
stop_bg s_server || true # s_server ends by SIGTERM
say "ok: node2 (RSA, token node2) <-> node1 (ECDSA, token node1)"

# ---------------------------------------------------------------- nginx
say "nginx from README, with curl and Python as clients"
PORT=$(free_port)
NG=$T/nginx
mkdir -p "$NG/logs" "$NG/tmp"
user_line=
[ "$(id -u)" -ne 0 ] || user_line="user $(id -un) $(id -gn);"
snippet nginx | localize "$PORT" |
    sed -e "s|^\\( *\\)listen $PORT ssl;|\\1listen 127.0.0.1:$PORT ssl;|" \
        -e "/^http {/a\\
    access_log $NG/logs/access.log;\\
    client_body_temp_path $NG/tmp/body;\\
    proxy_temp_path $NG/tmp/proxy;\\
    fastcgi_temp_path $NG/tmp/fastcgi;\\
    uwsgi_temp_path $NG/tmp/uwsgi;\\
    scgi_temp_path $NG/tmp/scgi;" >"$T/nginx.snippet"
assert_file_match '^env OPENSSL_CONF;' "$T/nginx.snippet" "README's nginx.conf"
assert_file_match "listen 127\\.0\\.0\\.1:$PORT ssl;" "$T/nginx.snippet" "README's nginx.conf"
{
    printf '%s\n' "$user_line" "pid $NG/nginx.pid;" "error_log $NG/logs/error.log info;" \
        "env SOFTHSM2_CONF;" "events { worker_connections 64; }"
    cat "$T/nginx.snippet"
} >"$NG/nginx.conf"
start_bg nginx "${PRE[@]}" nginx -p "$NG" -e "$NG/logs/error.log" -c "$NG/nginx.conf" -g 'daemon off;'
wait_port "$PORT" 30

snippet curl | join_lines | localize "$PORT" >"$T/curl.cmd"
grep -q '^curl ' "$T/curl.cmd" || die "README's curl snippet does not start with curl"
# under the asan setup the stand-in takes curl's place (see integ.sh)
sed -i "s|^curl |${CURL[*]} |" "$T/curl.cmd"
CURL_STATUS=0
timeout 60 bash -c "$(cat "$T/curl.cmd") -sS --max-time 30 --resolve node1.example:$PORT:127.0.0.1" \
    >"$T/curl.out" 2>"$T/curl.err" || CURL_STATUS=$?
[ "$CURL_STATUS" -eq 0 ] || {
    sed 's/^/  | /' "$T/curl.err" "$NG/logs/error.log" >&2
    die "README's curl command failed (status $CURL_STATUS)"
}
assert_file_match '^hello CN=node2\.example,O=hsmkey tests$' "$T/curl.out" "curl via nginx"
say "ok: curl -> nginx: $(cat "$T/curl.out")"

snippet python | localize "$PORT" |
    sed "s|(\"node1\\.example\", $PORT)|(\"127.0.0.1\", $PORT)|" >"$T/client.py"
assert_file_match "\\(\"127\\.0\\.0\\.1\", $PORT\\)" "$T/client.py" "README's Python snippet"
timeout 60 "${PRE[@]}" python3 "$T/client.py" >"$T/python.out" 2>"$T/python.err" || {
    sed 's/^/  | /' "$T/python.err" >&2
    die "README's Python client failed"
}
assert_file_match "^TLSv1\\.3 .*'commonName', 'node1\\.example'" "$T/python.out" "Python client"
say "ok: Python -> nginx: $(cat "$T/python.out")"
stop_bg nginx

# ---------------------------------------------------------------- Node.js
say "Node.js server and client from README"
PORT=$(free_port)
snippet node-server | localize "$PORT" |
    sed "s|\\.listen($PORT);|.listen($PORT, '127.0.0.1');|" >"$T/node1.js"
assert_file_match "listen\\($PORT, '127\\.0\\.0\\.1'\\)" "$T/node1.js" "README's Node server"
start_bg node-server "${PRE[@]}" node "$T/node1.js"
wait_port "$PORT" 30
snippet node-client | localize "$PORT" |
    sed "s|host: 'node1\\.example',|host: '127.0.0.1', servername: 'node1.example',|" >"$T/node2.js"
assert_file_match "servername: 'node1\\.example'" "$T/node2.js" "README's Node client"
timeout 60 "${PRE[@]}" node "$T/node2.js" >"$T/node2.out" 2>"$T/node2.err" || {
    sed 's/^/  | /' "$T/node2.err" "$T/node-server.err" >&2
    die "README's Node client failed"
}
assert_file_match '^hello node2\.example$' "$T/node2.out" "Node client -> Node server"
say "ok: Node -> Node: $(cat "$T/node2.out")"
stop_bg node-server || true # node ends by SIGTERM
