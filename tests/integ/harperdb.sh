#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# harperdb.sh -- a two-node HarperDB cluster on 127.0.0.1 whose TLS keys are
# on tokens, set up as docs/HARPERDB.md says, with HarperDB unchanged:
#   - `harperdb` from npm (harperdb_fetch.sh: version pinned, installed
#     once), each node with its own ROOTPATH, HOME and ports, run as an
#     unprivileged user;
#   - each node's key generated on its own SoftHSM2 token (`hsmkey keygen
#     --out`), its CSR made by `hsmkey csr`, issued by an intermediate CA of a
#     root made here; the CA file holds intermediate and root;
#   - the provider loaded through `nodejs_conf` of OPENSSL_CONF, the token
#     reached through the call-counting shim (tests/p11shim), `tls.privateKey`
#     and `operationsApi.tls.privateKey` the key-reference file.
# Asserts: every TLS port of each node (HTTP, operations API, replication)
# serves that node's certificate with the chain, and each handshake makes a
# C_Sign on the node's token; the operations API answers over HTTPS;
# add_node succeeds and a record written on each node is read on the other,
# with signatures on both tokens; no self-signed replication certificate
# outranks the token's (trap 1); after HarperDB lost its own CA key, a
# restart does not replace the key-reference file with a software key (trap
# 2) and the node still signs on the token; `hsmkey check --harperdb` passes
# on the configuration files the nodes wrote and fails, naming the trap, on
# copies with replication.hostname outside the SAN or a writable key file.
# Nodes are stopped by PID.
. "$(dirname "$0")/integ.sh"
need_tool node npm setpriv flock cmp

SHIM=$HSMKEY_BUILD/tests/p11shim/hsmkey-p11shim.so
HK=$HSMKEY_BUILD/tool/hsmkey
OP_JS=$INTEG_DIR/harperdb_op.js
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
RUN_UID=65534 # nobody: HarperDB never runs as the owner of its key file
RUN_GID=65534 # nogroup: reads the key-reference and PIN files as group
export HDB_USER=admin HDB_PASSWORD=hsmkey-test-admin-$RANDOM
[ -x "$SHIM" ] || die "p11shim not built: $SHIM"
[ -x "$HK" ] || die "hsmkey CLI not built: $HK"
START=$SECONDS

# ---------------------------------------------------------------- harperdb
# Installed once (harperdb_fetch.sh): into the build dir, or where
# HSMKEY_HARPERDB_CACHE says (CI shares one between its build dirs).
HDB_CACHE=$("$INTEG_DIR/harperdb_fetch.sh" \
    "${HSMKEY_HARPERDB_CACHE:-$HSMKEY_BUILD}") ||
    die "harperdb could not be installed from npm"
HDB_JS=$HDB_CACHE/node_modules/harperdb/bin/harperdb.js
[ -f "$HDB_JS" ] || die "no $HDB_JS after the install"
say "harperdb $(no_provider node -p "require('$HDB_CACHE/node_modules/harperdb/package.json').version"), node $(no_provider node -v) (OpenSSL $(no_provider node -p process.versions.openssl))"

# ---------------------------------------------------------------- tokens
# One token per node, as each node has its own HSM; the node user reads the
# token store and the PIN file (group), root provisions.
# (tokens and PIN files under $T/secret, which the PIN scan leaves out)
chmod 0711 "$T" "$T/secret"
mkdir -m 0755 "$T/etc"
umask 022 # an operator's: files are what the tools make of it
new_token() { # N
    HSMKEY_TOKEN_KEYS=none make_token "$T/secret/tok$1" "harper-node$1"
    chgrp "$RUN_GID" "$T/secret/tok$1/pin"
    chmod 0640 "$T/secret/tok$1/pin"
    chmod 0755 "$T/secret/tok$1"
    # what HarperDB's process reads: the provider, through the counting shim
    sed "s|^pkcs11-module *=.*|pkcs11-module = $SHIM|" "$T/secret/tok$1/openssl.cnf" \
        >"$T/etc/node$1.openssl.cnf"
    grep -q "^pkcs11-module = $SHIM\$" "$T/etc/node$1.openssl.cnf" ||
        die "no pkcs11-module line to replace in $T/secret/tok$1/openssl.cnf"
}
new_token 1
new_token 2
secret "$(cat "$T/secret/tok1/pin")"
secret "$(cat "$T/secret/tok2/pin")"

hk() { # N ARGS...: the hsmkey CLI on node N's token
    local n=$1
    shift
    SOFTHSM2_CONF=$T/secret/tok$n/softhsm2.conf OPENSSL_CONF=$T/secret/tok$n/openssl.cnf \
        preloaded "$HK" --module "$SOFTHSM" --pin-source "file:$T/secret/tok$n/pin" "$@"
}

say "keys on the tokens (hsmkey keygen --out), CSRs by the token keys (hsmkey csr)"
hk 1 keygen --token harper-node1 --label node1-tls --type rsa:2048 \
    --out "$T/etc/node1.key.pem" >"$T/out/keygen1.out"
hk 2 keygen --token harper-node2 --label node2-tls --type ec:P-256 \
    --out "$T/etc/node2.key.pem" >"$T/out/keygen2.out"
for n in 1 2; do
    # after keygen: SoftHSM2 writes each object as a file of its own
    chown -R "$RUN_UID:$RUN_GID" "$T/secret/tok$n/tokens"
    assert_eq "$(stat -c %a "$T/etc/node$n.key.pem")" 640 "mode of the key-reference file hsmkey keygen wrote"
    chgrp "$RUN_GID" "$T/etc/node$n.key.pem"
    hk "$n" csr --key "$T/etc/node$n.key.pem" --subject "/O=hsmkey tests/CN=node$n.hsmkey.test" \
        --san "DNS:node$n.hsmkey.test,IP:127.0.0.1" --out "$T/node$n.csr" >"$T/out/csr$n.out"
done

say "a root CA, an intermediate, the node certificates; the CA file holds the chain"
make_ca root
ossl_sw req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/secret/inter.key" -subj "/O=hsmkey tests/CN=hsmkey test intermediate" \
    -out "$T/inter.csr" 2>"$T/out/inter.err"
cat >"$T/inter.ext" <<'EOF'
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
EOF
ossl_sw x509 -req -in "$T/inter.csr" -CA "$T/root.pem" -CAkey "$T/secret/root.key" \
    -CAcreateserial -days 90 -extfile "$T/inter.ext" -out "$T/inter.pem" 2>>"$T/out/inter.err"
for n in 1 2; do
    ku=digitalSignature
    [ "$n" = 1 ] && ku=digitalSignature,keyEncipherment
    cat >"$T/node$n.ext" <<EOF
basicConstraints = critical,CA:FALSE
keyUsage = critical,$ku
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:node$n.hsmkey.test,IP:127.0.0.1
EOF
    ossl_sw x509 -req -in "$T/node$n.csr" -CA "$T/inter.pem" -CAkey "$T/secret/inter.key" \
        -CAcreateserial -days 90 -extfile "$T/node$n.ext" -out "$T/etc/node$n.pem" \
        2>"$T/out/node$n.x509.err" || die "cannot issue node$n: $(cat "$T/out/node$n.x509.err")"
done
cat "$T/inter.pem" "$T/root.pem" >"$T/etc/ca.pem"
# a software client certificate for probing the ports
ossl_sw req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/secret/probe.key" -subj "/CN=probe.hsmkey.test" -out "$T/probe.csr" 2>/dev/null
ossl_sw x509 -req -in "$T/probe.csr" -CA "$T/inter.pem" -CAkey "$T/secret/inter.key" \
    -CAcreateserial -days 30 -extfile <(printf 'extendedKeyUsage = clientAuth\n') \
    -out "$T/probe.pem" 2>/dev/null

# ---------------------------------------------------------------- nodes
declare -A PORT
for n in 1 2; do
    for p in http ops repl; do PORT[$p$n]=$(free_port); done
    mkdir -p "$T/node$n/home" "$T/node$n/counts"
    chown -R "$RUN_UID:$RUN_GID" "$T/node$n"
done

# node_env N: the environment HarperDB node N runs with (as the unit file or
# container of the guide gives it)
node_env() {
    local n=$1
    NODE_ENV=(setpriv "--reuid=$RUN_UID" "--regid=$RUN_GID" --clear-groups
        env "HOME=$T/node$n/home"
        "OPENSSL_CONF=$T/etc/node$n.openssl.cnf"
        "SOFTHSM2_CONF=$T/secret/tok$n/softhsm2.conf"
        "HSMKEY_SHIM_MODULE=$SOFTHSM"
        "HSMKEY_SHIM_COUNTS=$T/node$n/counts/%p.txt")
    # Under the asan setup: leaks are not judged in node (as in integ.sh),
    # so the slow unwinder on each malloc, kept for leak stacks, and the
    # use-after-return stacks, which cost minutes in V8, are left out; the
    # provider's memory errors are still reported (and fail the test).
    if [ -n "${HSMKEY_TEST_PRELOAD:-}" ]; then
        NODE_ENV+=("LD_PRELOAD=$HSMKEY_TEST_PRELOAD"
            "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:fast_unwind_on_malloc=1:detect_stack_use_after_return=0")
    fi
}

# The installer needs no key (it writes the configuration and a software CA
# of HarperDB's own, with node-forge: slow, so a generous deadline); it runs
# as an operator runs it, before the service has its environment.
install_node() { # N
    local n=$1
    setpriv "--reuid=$RUN_UID" "--regid=$RUN_GID" --clear-groups \
        env -u LD_PRELOAD "HOME=$T/node$n/home" OPENSSL_CONF=/dev/null \
        "ROOTPATH=$T/node$n/hdb" TC_AGREEMENT=yes \
        "HDB_ADMIN_USERNAME=$HDB_USER" "HDB_ADMIN_PASSWORD=$HDB_PASSWORD" \
        DEFAULTS_MODE=dev THREADS_COUNT=1 THREADS_DEBUG=false \
        LOCALSTUDIO_ENABLED=false LOGGING_LEVEL=info \
        "REPLICATION_HOSTNAME=node$n.hsmkey.test" \
        "REPLICATION_URL=wss://127.0.0.1:${PORT[repl$n]}" \
        HTTP_PORT=null "HTTP_SECUREPORT=${PORT[http$n]}" \
        OPERATIONSAPI_NETWORK_PORT=null "OPERATIONSAPI_NETWORK_SECUREPORT=${PORT[ops$n]}" \
        "REPLICATION_SECUREPORT=${PORT[repl$n]}" \
        MQTT_NETWORK_PORT=null MQTT_NETWORK_SECUREPORT=null \
        "TLS_CERTIFICATE=$T/etc/node$n.pem" "TLS_PRIVATEKEY=$T/etc/node$n.key.pem" \
        "TLS_CERTIFICATEAUTHORITY=$T/etc/ca.pem" \
        "OPERATIONSAPI_TLS_CERTIFICATE=$T/etc/node$n.pem" \
        "OPERATIONSAPI_TLS_PRIVATEKEY=$T/etc/node$n.key.pem" \
        "OPERATIONSAPI_TLS_CERTIFICATEAUTHORITY=$T/etc/ca.pem" \
        timeout 400 node "$HDB_JS" install >"$T/out/install$n.log" 2>&1 || {
        tail -30 "$T/out/install$n.log" >&2
        die "harperdb install of node$n failed"
    }
}

start_node() { # N
    local n=$1
    node_env "$n"
    start_bg "hdb$n" "${NODE_ENV[@]}" timeout 600 node "$HDB_JS" run
}

# js ARGS...: node for the test's own scripts, without the provider
js() {
    OPENSSL_CONF=$SW_CNF node "$@"
}

# op N JSON: an operations-API call to node N; output in $T/out/op.N.*
OPN=0
OP_OUT=
op() {
    OPN=$((OPN + 1))
    OP_OUT=$T/out/op.$OPN.out
    OPENSSL_CONF=$SW_CNF timeout 150 node "$OP_JS" "${PORT[ops$1]}" "$T/etc/ca.pem" "$2" \
        >"$OP_OUT" 2>&1
}

wait_ready() { # N
    local n=$1 deadline=$((SECONDS + 300))
    until op "$n" '{"operation":"user_info"}'; do
        [ -n "$(_bg_pid "hdb$n")" ] && kill -0 "$(_bg_pid "hdb$n")" 2>/dev/null || {
            tail -n 30 "$T/node$n/hdb/log/hdb.log" >&2
            die "node$n exited before its operations API answered"
        }
        [ "$SECONDS" -lt "$deadline" ] || {
            cat "$OP_OUT" >&2
            die "node$n: operations API not answering after 300 s"
        }
        sleep 0.5
    done
}

# signs N: the C_Sign calls node N's processes made on their token so far
signs() {
    local f total=0 v
    for f in "$T/node$1/counts/"*.txt; do
        [ -f "$f" ] || continue
        v=$(awk '$1 == "C_Sign" {print $2}' "$f")
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# signs_rise N BEFORE WHAT: C_Sign of node N goes above BEFORE (the shim
# writes its counts within 50 ms of a change)
signs_rise() {
    local deadline=$((SECONDS + 15))
    while [ "$(signs "$1")" -le "$2" ]; do
        [ "$SECONDS" -lt "$deadline" ] || die "$3: node$1's token made no signature (C_Sign stays at $2)"
        sleep 0.1
    done
}

# probe_port N PORTNAME: one full TLS handshake with a client that has the
# CA file the nodes have (intermediate and root: HarperDB 4.7 does not send
# the intermediate on every port); the node's certificate, and a signature
# on its token.
probe_port() {
    local n=$1 p=$2 before out=$T/out/probe.$1.$2
    before=$(signs "$n")
    ossl_sw s_client -connect "127.0.0.1:${PORT[$p$n]}" -servername "node$n.hsmkey.test" \
        -CAfile "$T/etc/ca.pem" -verify_return_error -verify_hostname "node$n.hsmkey.test" \
        -cert "$T/probe.pem" -key "$T/secret/probe.key" -cert_chain "$T/inter.pem" \
        -showcerts </dev/null >"$out" 2>"$out.err" || {
        cat "$out.err" >&2
        die "node$n $p port ${PORT[$p$n]}: TLS handshake failed"
    }
    assert_file_match '^Verify return code: 0 \(ok\)' "$out" "node$n $p: chain to our root"
    sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/{p;/-----END/q}' "$out" >"$out.leaf"
    assert_eq "$(ossl_sw x509 -in "$out.leaf" -noout -fingerprint -sha256)" \
        "$(ossl_sw x509 -in "$T/etc/node$n.pem" -noout -fingerprint -sha256)" \
        "node$n $p port serves the token key's certificate"
    signs_rise "$n" "$before" "node$n $p handshake"
    say "ok: node$n $p port ${PORT[$p$n]}: token certificate, chain, C_Sign $before -> $(signs "$n")"
}

declare -A CONF
say "install both nodes (as uid $RUN_UID, non-interactive)"
install_node 1 &
pid1=$!
install_node 2 &
pid2=$!
wait "$pid1" || die "installing node1 failed"
wait "$pid2" || die "installing node2 failed"
for n in 1 2; do
    CONF[$n]=$T/node$n/hdb/harperdb-config.yaml
    [ -s "${CONF[$n]}" ] || die "node$n: no ${CONF[$n]}"
    for k in 'privateKey: '"$T/etc/node$n.key.pem" 'hostname: node'"$n"'.hsmkey.test'; do
        grep -qF "$k" "${CONF[$n]}" || die "node$n: '$k' not in the configuration HarperDB wrote"
    done
done
cp "$T/etc/node1.key.pem" "$T/node1.key.pem.orig"

say "start both nodes"
start_node 1
start_node 2
wait_ready 1
wait_ready 2
say "both nodes answer on their operations API ($((SECONDS - START)) s after the start of the test)"
assert_file_match '"username":"'"$HDB_USER"'"' "$OP_OUT" "operations API user_info"

for n in 1 2; do
    for p in http ops repl; do probe_port "$n" "$p"; done
done

say "trap 1: no self-signed certificate is used for replication"
for n in 1 2; do
    op "$n" '{"operation":"list_certificates"}' || die "node$n: list_certificates: $(cat "$OP_OUT")"
    js -e '
        const certs = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").split("\n").slice(1).join("\n"));
        const bad = certs.filter((c) => c.is_self_signed && !c.is_authority);
        if (bad.length) { console.log("self-signed:", bad.map((c) => c.name).join(" ")); process.exit(1); }
        const ours = certs.filter((c) => c.name === process.argv[2]);
        if (ours.length !== 1) { console.log("no record", process.argv[2]); process.exit(1); }' \
        "$OP_OUT" "node$n.hsmkey.test" || die "node$n: $(cat "$OP_OUT")"
done

say "add_node: node1 joins node2 over mutual TLS; a record each way"
b1=$(signs 1)
b2=$(signs 2)
op 1 '{"operation":"add_node","url":"wss://127.0.0.1:'"${PORT[repl2]}"'","authorization":{"username":"'"$HDB_USER"'","password":"'"$HDB_PASSWORD"'"}}' ||
    die "add_node failed: $(cat "$OP_OUT")"
assert_file_match 'Successfully added' "$OP_OUT" "add_node"
for n in 1 2; do
    op "$n" '{"operation":"create_table","database":"data","table":"things","primary_key":"id"}' ||
        grep -q 'already exists' "$OP_OUT" || die "node$n: create_table: $(cat "$OP_OUT")"
done
op 1 '{"operation":"upsert","database":"data","table":"things","records":[{"id":"from-node1","by":"node1"}]}' ||
    die "upsert on node1: $(cat "$OP_OUT")"
op 2 '{"operation":"upsert","database":"data","table":"things","records":[{"id":"from-node2","by":"node2"}]}' ||
    die "upsert on node2: $(cat "$OP_OUT")"
read_on() { # N ID WHO
    local deadline=$((SECONDS + 60))
    until op "$1" '{"operation":"search_by_id","database":"data","table":"things","ids":["'"$2"'"],"get_attributes":["*"]}' &&
        grep -q '"by":"'"$3"'"' "$OP_OUT"; do
        [ "$SECONDS" -lt "$deadline" ] || die "record $2 never reached node$1: $(cat "$OP_OUT")"
        sleep 0.5
    done
    say "ok: node$1 reads $2, written on $3"
}
read_on 2 from-node1 node1
read_on 1 from-node2 node2
signs_rise 1 "$b1" "replication (node1)"
signs_rise 2 "$b2" "replication (node2)"
op 1 '{"operation":"cluster_status"}' || die "cluster_status: $(cat "$OP_OUT")"
cp "$OP_OUT" "$T/out/cluster_status.json"
say "ok: replication signs on both tokens (node1 C_Sign $b1 -> $(signs 1), node2 $b2 -> $(signs 2))"

# ---------------------------------------------------------------- trap 2
say "trap 2: HarperDB loses its own CA key, and restarts"
op 1 '{"operation":"list_certificates"}' || die "list_certificates: $(cat "$OP_OUT")"
ca_name=$(js -e '
    const certs = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").split("\n").slice(1).join("\n"));
    const ca = certs.find((c) => c.is_authority && c.private_key_name === "privateKey.pem");
    console.log(ca ? ca.name : "");' "$OP_OUT")
[ -n "$ca_name" ] || die "no HarperDB CA with keys/privateKey.pem: $(cat "$OP_OUT")"
op 1 '{"operation":"remove_certificate","name":"'"$ca_name"'"}' || die "remove_certificate: $(cat "$OP_OUT")"
[ ! -e "$T/node1/hdb/keys/privateKey.pem" ] || die "remove_certificate left keys/privateKey.pem"
stop_bg hdb1
start_node 1
# HarperDB cannot parse the key-reference file (node-forge), makes a new
# software key and writes it over its TLS key file: refused, so it stops
# (HarperDB 4.7 exits with status 0 then); it must exit by itself.
wait_bg hdb1 120
grep -hq 'Unable to parse the TLS key' "$T/node1/hdb/log/hdb.log" ||
    die "node1 did not take the path that overwrites its TLS key: $(tail -5 "$T/node1/hdb/log/hdb.log")"
grep -hq "EACCES: permission denied, open '$T/etc/node1.key.pem'" "$T/node1/hdb/log/hdb.log" ||
    die "node1 stopped, but not on writing over the key-reference file: $(tail -5 "$T/node1/hdb/log/hdb.log")"
cmp -s "$T/node1.key.pem.orig" "$T/etc/node1.key.pem" ||
    die "trap 2: node1's key-reference file was replaced: $(head -1 "$T/etc/node1.key.pem")"
say "ok: node1 stopped (status $BG_STATUS) rather than replace the token key"
# the guide's recovery: a file at keys/privateKey.pem makes HarperDB write
# its new CA key beside it
setpriv "--reuid=$RUN_UID" "--regid=$RUN_GID" --clear-groups touch "$T/node1/hdb/keys/privateKey.pem"
start_node 1
wait_ready 1
cmp -s "$T/node1.key.pem.orig" "$T/etc/node1.key.pem" ||
    die "trap 2: node1's key-reference file was replaced after the recovery"
ls "$T/node1/hdb/keys/"privateKey?*.pem >/dev/null 2>&1 ||
    die "node1 wrote no new CA key beside keys/privateKey.pem: $(ls "$T/node1/hdb/keys")"
say "ok: node1 runs again with a new software CA key of its own; the key-reference file is unchanged"
for p in http ops repl; do probe_port 1 "$p"; done

# ---------------------------------------------------------------- check
say "hsmkey check --harperdb on the configuration files the nodes wrote"
check_hdb() { # N CONFIG [EXPECTED-STATUS]
    local rc=0
    SOFTHSM2_CONF=$T/secret/tok$1/softhsm2.conf OPENSSL_CONF=$T/secret/tok$1/openssl.cnf \
        preloaded "$HK" --module "$SOFTHSM" --pin-source "file:$T/secret/tok$1/pin" \
        check --harperdb "$2" >"$T/out/check.out" 2>"$T/out/check.err" </dev/null || rc=$?
    _status_check "$rc" "$T/out/check.err" "hsmkey check --harperdb $2"
    [ "$rc" = "${3:-0}" ] || {
        cat "$T/out/check.out" "$T/out/check.err" >&2
        die "hsmkey check --harperdb $2: status $rc, expected ${3:-0}"
    }
}
for n in 1 2; do
    check_hdb "$n" "${CONF[$n]}"
    assert_file_nomatch '^FAIL' "$T/out/check.out" "node$n check"
    assert_file_match '^PASS tls\.key-proof:' "$T/out/check.out" "node$n check: tls key proof"
    assert_file_match '^PASS operationsApi\.tls\.key-proof:' "$T/out/check.out" "node$n check: operationsApi key proof"
    assert_file_match '^PASS replication\.hostname:' "$T/out/check.out" "node$n check: replication hostname"
    assert_file_match '^PASS harperdb\.key-writable:' "$T/out/check.out" "node$n check: key file not writable"
    check_hdb "$n" "$T/node$n/hdb"   # the ROOTPATH works too
    cp "$T/out/check.out" "$T/out/check.node$n.out"
done

say "check: replication.hostname outside the SAN is trap 1, said plainly"
mkdir -p "$T/bad1"
sed 's/^\(  hostname: \)node1\.hsmkey\.test/\1node1.elsewhere.test/' "${CONF[1]}" >"$T/bad1/harperdb-config.yaml"
grep -q 'hostname: node1.elsewhere.test' "$T/bad1/harperdb-config.yaml" || die "sed did not change replication.hostname"
chown "$RUN_UID:$RUN_GID" "$T/bad1/harperdb-config.yaml"
check_hdb 1 "$T/bad1/harperdb-config.yaml" 1
assert_file_match '^FAIL replication\.hostname: .*node1\.elsewhere\.test.*self-signed' "$T/out/check.out" "trap 1 named"

say "check: a key-reference file HarperDB's user may write is trap 2"
mkdir -p "$T/bad2"
cp -p "$T/etc/node1.key.pem" "$T/bad2/node1.key.pem"
chmod 0660 "$T/bad2/node1.key.pem"
sed "s|$T/etc/node1.key.pem|$T/bad2/node1.key.pem|" "${CONF[1]}" >"$T/bad2/harperdb-config.yaml"
chown "$RUN_UID:$RUN_GID" "$T/bad2/harperdb-config.yaml"
check_hdb 1 "$T/bad2/harperdb-config.yaml" 1
assert_file_match '^FAIL harperdb\.key-writable: .*bad2/node1\.key\.pem.*overwrit' "$T/out/check.out" "trap 2 named"
rc=0
SOFTHSM2_CONF=$T/secret/tok1/softhsm2.conf preloaded "$HK" --module "$SOFTHSM" \
    --pin-source "file:$T/secret/tok1/pin" check --json --harperdb "$T/bad2/harperdb-config.yaml" \
    >"$T/out/check.json" 2>"$T/out/check.json.err" </dev/null || rc=$?
assert_eq "$rc" 1 "check --json status on bad2"
js -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    if (j.ok !== false || !j.items.some((i) => i.item === "harperdb.key-writable" && i.status === "FAIL")) process.exit(1);' \
    "$T/out/check.json" || die "check --json: $(cat "$T/out/check.json")"

say "check: a CA file without the intermediate fails the chain, saying why"
mkdir -p "$T/bad3"
sed "s|certificateAuthority: $T/etc/ca.pem|certificateAuthority: $T/root.pem|" "${CONF[2]}" \
    >"$T/bad3/harperdb-config.yaml"
chown "$RUN_UID:$RUN_GID" "$T/bad3/harperdb-config.yaml"
check_hdb 2 "$T/bad3/harperdb-config.yaml" 1
assert_file_match '^FAIL tls\.chain: .*every intermediate in the certificateAuthority file' \
    "$T/out/check.out" "CA file lacking the intermediate"
assert_file_match '^PASS tls\.key-proof:' "$T/out/check.out" "bad3: key items still run"

say "check: an unreadable or malformed configuration is bad input (status 2)"
should_fail "check: --harperdb $T/nosuch/harperdb-config.yaml: No such file" \
    "$HK" check --harperdb "$T/nosuch/harperdb-config.yaml"
assert_eq "$LAST_RC" 2 "check --harperdb of a missing file"
printf 'tls:\n  certificate: [unclosed\n' >"$T/bad4.yaml"
should_fail "$T/bad4.yaml: line 3 column 1: " "$HK" check --harperdb "$T/bad4.yaml"
assert_eq "$LAST_RC" 2 "check --harperdb of malformed YAML"

stop_bg hdb1
stop_bg hdb2
say "done in $((SECONDS - START)) s"
