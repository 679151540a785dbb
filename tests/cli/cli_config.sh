#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# hsmkey config: a complete openssl.cnf naming this build's hsmkey.so by
# absolute path, with the module and PIN source given; openssl works with
# it alone; --out, --json, --help documents every key.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

so=$(realpath "$HSMKEY_BUILD/provider/hsmkey.so")
key="pkcs11:token=$TOKEN_LABEL;object=rsa-key;type=private"

hk_ok config --pin-source "file:$TOKEN_PIN_FILE"
cp "$HK_OUT" "$T/hsmkey.cnf"
for line in "openssl_conf = openssl_init" "nodejs_conf  = openssl_init.*" \
    "providers = provider_sect" "default = default_sect" \
    "hsmkey  = hsmkey_sect" "activate = 1" "module        = $so" \
    "pkcs11-module = $TOKEN_MODULE" "pin-source    = file:$TOKEN_PIN_FILE"; do
    assert_file_match "^$line\$" "$T/hsmkey.cnf"
done
for sect in openssl_init provider_sect default_sect hsmkey_sect; do
    assert_file_match "^\\[$sect\\]\$" "$T/hsmkey.cnf"
done

# That file alone makes openssl use the token key (no test config).
token_pubkey rsa-key "$T/rsa.pub.pem"
OPENSSL_CONF=$T/hsmkey.cnf ossl_raw pkey -in "$key" -pubout \
    -out "$T/rsa.cnf.pem" 2>"$T/out/cnf.err" ||
    die "openssl with the generated config: $(cat "$T/out/cnf.err")"
assert_same_file "$T/rsa.pub.pem" "$T/rsa.cnf.pem"
say "ok: openssl loads the token key with the printed config alone"

# Relative paths become absolute; no module: p11-kit's, no PIN source.
mkdir "$T/rel"
(cd "$T/rel" && "$HSMKEY" config --pin-source file:node.pin) >"$T/out/rel.cnf"
assert_file_match "^pin-source    = file:$T/rel/node.pin\$" "$T/out/rel.cnf"
assert_file_match "^# pkcs11-module: every module registered with p11-kit\$" \
    "$T/out/rel.cnf"
(cd "$T/rel" && "$HSMKEY" --module ./lib.so config) >"$T/out/rel2.cnf"
assert_file_match "^pkcs11-module = $T/rel/lib.so\$" "$T/out/rel2.cnf"
assert_file_match "^# pin-source" "$T/out/rel2.cnf"
HSMKEY_PIN_SOURCE=env:NODE_PIN "$HSMKEY" config >"$T/out/env.cnf"
assert_file_match "^pin-source    = env:NODE_PIN\$" "$T/out/env.cnf"
say "ok: paths, defaults, environment"

# --out and --json.
hk_ok config --out "$T/out.cnf"
assert_eq "$(cat "$HK_OUT")" "" "config --out printed on stdout"
assert_file_match "^module        = $so\$" "$T/out.cnf"
hk_ok --json config --pin-source env:NODE_PIN
json_ok "$HK_OUT"
assert_eq "$(json_q "$HK_OUT" 'sorted(j)')" \
    '["config", "file", "module", "pin-source", "pkcs11-module", "pkcs11-module-init-args"]'
assert_eq "$(json_q "$HK_OUT" 'j["module"]')" "$so"
assert_eq "$(json_q "$HK_OUT" 'j["pkcs11-module"]')" "$TOKEN_MODULE"
assert_eq "$(json_q "$HK_OUT" 'j["pin-source"]')" env:NODE_PIN
json_q "$HK_OUT" 'j["config"]' >"$T/out/json.cnf"
assert_file_match "^module        = $so\$" "$T/out/json.cnf"

# Init args (NSS softoken's database): written so that OpenSSL's parser
# gives back the string as it was (quotes, '#' and '$' escaped); from the
# option or HSMKEY_PKCS11_MODULE_INIT_ARGS; in JSON as given.
args="configdir='sql:$T/db#1' certPrefix='' flags=\$x"
hk_ok --module-init-args "$args" config --out "$T/init.cnf"
grep -qxF "pkcs11-module-init-args = configdir=\\'sql:$T/db\\#1\\' certPrefix=\\'\\' flags=\\\$x" \
    "$T/init.cnf" || die "init args line: $(grep init-args "$T/init.cnf")"
HSMKEY_PKCS11_MODULE_INIT_ARGS="$args" "$HSMKEY" --module "$TOKEN_MODULE" config \
    >"$T/out/env-init.cnf"
assert_same_file "$T/init.cnf" "$T/out/env-init.cnf" "init args from the environment"
hk_ok --json --module-init-args "$args" config
assert_eq "$(json_q "$HK_OUT" 'j["pkcs11-module-init-args"]')" "$args"
hk_ok config
assert_file_nomatch '^pkcs11-module-init-args' "$HK_OUT" "no init args given"
hk_exit 2 "the module init args holds a control character" \
    --module-init-args "$(printf 'a\nb')" config
# The provider gets them verbatim: NSS softoken starts on a database whose
# path has a '#' (a missing key, not a failed C_Initialize, is the error).
nss=/usr/lib/x86_64-linux-gnu/libsoftokn3.so
mkdir "$T/nss#db"
certutil -N -d "sql:$T/nss#db" --empty-password >/dev/null 2>&1 ||
    die "certutil -N failed"
"$HSMKEY" --module "$nss" --module-init-args \
    "configdir='sql:$T/nss#db' certPrefix='' keyPrefix='' secmod='secmod.db' flags=" \
    config --out "$T/nss.cnf"
OPENSSL_CONF=$T/nss.cnf ossl_raw pkey -pubout \
    -in 'pkcs11:token=NSS%20Certificate%20DB;object=none;type=public' \
    >"$T/out/nss.out" 2>"$T/out/nss.err" && die "a key that is not there loaded"
assert_file_match 'no public key matches' "$T/out/nss.err"
assert_file_nomatch 'C_Initialize' "$T/out/nss.err"
say "ok: pkcs11-module-init-args"

# --help documents every key and the environment overrides.
hk_ok config --help
for word in module pkcs11-module pin-source activate HSMKEY_PKCS11_MODULE \
    HSMKEY_PIN_SOURCE nodejs_conf Examples pkcs11-module-init-args \
    HSMKEY_PKCS11_MODULE_INIT_ARGS "configdir='sql:"; do
    assert_file_match "$word" "$HK_OUT"
done
hk_exit 2 "config: --out needs a value" config --out
hk_exit 2 "cannot write $T/none/x.cnf: No such file or directory" config --out "$T/none/x.cnf"
hk_exit 2 "pin-source \"file:\" names no file" config --pin-source file:
