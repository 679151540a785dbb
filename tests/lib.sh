# SPDX-License-Identifier: Apache-2.0
# tests/lib.sh -- sourced by every integration test script (tests/*.sh).
#
# Gives each test a private temp dir ($T) with its own SoftHSM2 token
# (softhsm-conf/mktoken.sh), removed on exit, and helpers:
#   ossl ARGS...          the real openssl CLI with the hsmkey config
#   ossl_sw ARGS...       openssl with the default provider only (verification)
#   should_fail RE CMD... CMD must exit non-zero (no signal) and stderr match RE
#   assert_eq A B [MSG], assert_match RE STRING [MSG], assert_file_match RE FILE
#   uri NAME [TYPE]       pkcs11: URI of an object on the test token
#   preloaded CMD...      run a program that loads the provider (asan setup)
#   secret PIN            another PIN that no output file may contain
#   free_port, wait_port PORT, wait_output FILE RE
#   start_bg NAME CMD..., wait_bg NAME, stop_bg NAME   (background, by pid)
#   make_ca NAME, make_cert CA NAME KEY_URI CN         (dev CA + node certs)
# A script that brings its own token (tests/tokens/) sets TEST_TOKEN=none
# before sourcing: no SoftHSM2 token is made, and the script sets TOKEN_PIN
# (the PIN no output may contain), TOKEN_DIR and OPENSSL_CONF itself.
# Environment (set by tests/meson.build): HSMKEY_BUILD, HSMKEY_SRC; under the
# `asan` test setup HSMKEY_TEST_PRELOAD (libasan etc. for the uninstrumented
# openssl CLI), ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS.
# HSMKEY_KEEP_TMP=1 keeps the temp dir for inspection.  The token is a copy
# of a template made once per build directory (HSMKEY_TOKEN_CACHE, default
# $HSMKEY_BUILD/token-cache; empty: a token made from scratch).

set -euo pipefail
set -E
shopt -s inherit_errexit 2>/dev/null || true
# PIN files are written the way an operator must write them: hsmkey refuses a
# pin file that other users can read or write.
umask 077
# A program with no PIN configured asks the application's prompt: never the
# terminal of whoever runs the tests (those that type a PIN use a pty).
if [ -t 0 ]; then
    exec </dev/null
fi

TEST_NAME=$(basename "$0" .sh)
HSMKEY_SRC=${HSMKEY_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
HSMKEY_BUILD=${HSMKEY_BUILD:-$HSMKEY_SRC/build}
export HSMKEY_SRC HSMKEY_BUILD
HSMKEY_SO=${HSMKEY_SO:-$HSMKEY_BUILD/provider/hsmkey.so}
export HSMKEY_SO

say() { printf '== %s: %s\n' "$TEST_NAME" "$*"; }

# A failure that must fail the test even if the caller ignores the status
# (sanitizer report, crash, PIN leak): noted in $T/FATAL, checked on exit.
fatal() {
    printf 'FATAL %s: %s\n' "$TEST_NAME" "$*" >&2
    if [ -n "${T:-}" ] && [ -d "$T" ]; then
        printf '%s\n' "$*" >>"$T/FATAL"
    fi
    return 1
}

die() {
    printf 'FAIL %s: %s\n' "$TEST_NAME" "$*" >&2
    exit 1
}

# ---------------------------------------------------------------- tools
for _tool in openssl softhsm2-util pkcs11-tool; do
    command -v "$_tool" >/dev/null ||
        die "required tool '$_tool' is not installed (see tests/deps.sh)"
done
[ -r /usr/lib/softhsm/libsofthsm2.so ] ||
    die "SoftHSM2 module /usr/lib/softhsm/libsofthsm2.so missing (apt-get install softhsm2)"
[ -s "$HSMKEY_SO" ] || die "provider $HSMKEY_SO not built (meson compile -C build)"
unset _tool

# ---------------------------------------------------------------- temp dir
T=$(mktemp -d "${TMPDIR:-/tmp}/hsmkey-$TEST_NAME.XXXXXX")
_BG_NAMES=()

_on_err() {
    local i where=
    # call stack, innermost first: file:line of each caller
    for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
        where+=" ${BASH_SOURCE[i]##*/}:${BASH_LINENO[i - 1]}"
    done
    printf 'FAIL %s: %s (status %s) at%s\n' "$TEST_NAME" "$2" "$3" \
        "${where:- line $1}" >&2
}
trap '_on_err "$LINENO" "$BASH_COMMAND" "$?"' ERR

_cleanup() {
    local rc=$? name
    trap - ERR
    set +e
    for name in "${_BG_NAMES[@]}"; do
        _bg_kill "$name"
    done
    _scan_outputs
    if [ -s "$T/FATAL" ]; then
        printf 'FAIL %s: fatal problems:\n' "$TEST_NAME" >&2
        sed 's/^/  /' "$T/FATAL" >&2
        [ "$rc" -ne 0 ] || rc=1
    fi
    if [ "$rc" -eq 0 ]; then
        say "PASS"
    else
        if [ -n "${HSMKEY_KEEP_TMP:-}" ]; then
            say "FAILED (status $rc); files kept in $T"
        else
            say "FAILED (status $rc); HSMKEY_KEEP_TMP=1 keeps the temp dir"
        fi
    fi
    if [ -z "${HSMKEY_KEEP_TMP:-}" ]; then
        rm -rf "$T"
    fi
    exit "$rc"
}
trap _cleanup EXIT

# Every file a test wrote (outputs, logs) must be free of the token PIN and
# of sanitizer reports. Files that hold a PIN on purpose live in $TOKEN_DIR
# or in $T/secret.
# secret VALUE: one more PIN that no output may contain.
_SECRETS=()
secret() {
    _SECRETS+=("$1")
}

_scan_outputs() {
    local f p
    [ -n "${TOKEN_PIN:-}" ] || return 0
    while IFS= read -r -d '' f; do
        for p in "$TOKEN_PIN" ${_SECRETS[@]+"${_SECRETS[@]}"}; do
            if grep -aqF -- "$p" "$f"; then
                fatal "a token PIN appears in output file ${f#"$T"/}"
            fi
        done
        if grep -aqE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f"; then
            fatal "sanitizer report in ${f#"$T"/}:$(head -c 4000 "$f" | sed 's/^/    /')"
        fi
    done < <(find "$T" -type f ! -path "$T/secret/*" \
        ! -path "${TOKEN_DIR:-/nonexistent}/*" ! -name FATAL -print0)
}

# ---------------------------------------------------------------- token
# make_token DIR [LABEL]: a token in DIR (see softhsm-conf/mktoken.sh).
export HSMKEY_TOKEN_CACHE=${HSMKEY_TOKEN_CACHE-$HSMKEY_BUILD/token-cache}
make_token() {
    "$HSMKEY_SRC/softhsm-conf/mktoken.sh" "$@" >/dev/null ||
        die "softhsm-conf/mktoken.sh $* failed"
}

if [ "${TEST_TOKEN:-softhsm}" != none ]; then
    make_token "$T/token" "${TEST_TOKEN_LABEL:-hsmkey-test}"
    # shellcheck source=/dev/null
    . "$T/token/token.vars"
    export SOFTHSM2_CONF
    export OPENSSL_CONF=$TOKEN_OPENSSL_CNF
fi
mkdir -m 0700 "$T/secret" "$T/out"

# Default provider only: what a peer without the token would use.
SW_CNF=$T/sw.cnf
cat >"$SW_CNF" <<'EOF'
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
[default_sect]
activate = 1
EOF

# uri NAME [TYPE]: URI of object NAME on the test token (type default private)
uri() {
    printf 'pkcs11:token=%s;object=%s;type=%s' "$TOKEN_LABEL" "$1" "${2:-private}"
}

# full_unwind: under the asan setup, the programs started from now on
# unwind allocation stacks fully.  SoftHSM2 leaks 37 bytes of libcrypto
# objects per Ed25519 signature; lsan.supp's `leak:libsofthsm2.so` matches
# only when the allocation stack reaches SoftHSM, which the fast unwinder
# cannot do through Debian's libcrypto (no frame pointers).  The same for
# the token matrix's modules (tpm2-pkcs11, openCryptoki).  A test whose
# leak-checked programs sign with Ed25519, or load one of those modules,
# calls this; it costs run time (every allocation walks the stack), so no
# other test does.
full_unwind() {
    ASAN_OPTIONS=$(full_unwind_options)
    export ASAN_OPTIONS
}

# full_unwind_options: ASAN_OPTIONS as full_unwind makes them, for one
# command (ASAN_OPTIONS=$(full_unwind_options) CMD...).
full_unwind_options() {
    if [ -n "${HSMKEY_TEST_PRELOAD:-}" ]; then
        printf '%s' "${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
    else
        printf '%s' "${ASAN_OPTIONS:-}"
    fi
}

# ---------------------------------------------------------------- openssl
# preloaded CMD...: run a program that loads the provider (openssl, nginx,
# curl, python3, node) with the sanitizer runtime preloaded when the asan
# test setup asks for it (HSMKEY_TEST_PRELOAD); plain otherwise.
preloaded() {
    if [ -n "${HSMKEY_TEST_PRELOAD:-}" ]; then
        LD_PRELOAD="$HSMKEY_TEST_PRELOAD${LD_PRELOAD:+:$LD_PRELOAD}" "$@"
    else
        "$@"
    fi
}

# ossl_raw: openssl with the test config (preloaded); output not captured
# (background servers).
ossl_raw() {
    preloaded openssl "$@"
}

# _status_check RC STDERR-FILE WHAT: a signal or a sanitizer report is fatal.
_status_check() {
    if [ "$1" -ge 128 ]; then
        fatal "$3: killed by signal $(($1 - 128)) (status $1)"
    fi
    if grep -aqE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$2"; then
        fatal "$3: sanitizer report: $(head -c 4000 "$2")"
    fi
    return 0
}

_OSSL_N=0
# ossl ARGS...: openssl with the hsmkey config; stdout and stderr are kept
# under $T/out (scanned for the PIN) and replayed; returns openssl's status.
ossl() {
    _OSSL_N=$((_OSSL_N + 1))
    local o=$T/out/ossl.$_OSSL_N rc=0
    ossl_raw "$@" >"$o.out" 2>"$o.err" || rc=$?
    cat "$o.out"
    cat "$o.err" >&2
    _status_check "$rc" "$o.err" "openssl $*" || true
    return "$rc"
}

# ossl_sw ARGS...: openssl with the default provider only (no hsmkey).
ossl_sw() {
    OPENSSL_CONF=$SW_CNF openssl "$@"
}

# ---------------------------------------------------------------- asserts
LAST_OUT=
LAST_ERR=
LAST_RC=
# should_fail REGEX CMD...: CMD exits non-zero but not by a signal, and its
# stderr matches the extended REGEX. Output in $LAST_OUT / $LAST_ERR, status
# in $LAST_RC.
should_fail() {
    local re=$1 rc=0
    shift
    _OSSL_N=$((_OSSL_N + 1))
    LAST_OUT=$T/out/fail.$_OSSL_N.out
    LAST_ERR=$T/out/fail.$_OSSL_N.err
    "$@" >"$LAST_OUT" 2>"$LAST_ERR" </dev/null || rc=$?
    LAST_RC=$rc
    if [ "$rc" -eq 0 ]; then
        sed 's/^/  | /' "$LAST_ERR" >&2
        die "expected failure, but succeeded: $*"
    fi
    if [ "$rc" -ge 128 ]; then
        sed 's/^/  | /' "$LAST_ERR" >&2
        die "crashed (status $rc, signal $((rc - 128))): $*"
    fi
    if ! grep -aqE -- "$re" "$LAST_ERR"; then
        sed 's/^/  | /' "$LAST_ERR" >&2
        die "failed as expected (status $rc) but stderr does not match /$re/: $*"
    fi
    say "ok: fails with /$re/: $*"
}

assert_eq() {
    [ "$1" = "$2" ] || die "${3:-values differ}: '$1' != '$2'"
}

assert_match() {
    printf '%s' "$2" | grep -aqE -- "$1" || die "${3:-no match}: /$1/ not in: $2"
}

# assert_file_match REGEX FILE [MSG]
assert_file_match() {
    if ! grep -aqE -- "$1" "$2"; then
        sed 's/^/  | /' "$2" >&2
        die "${3:-no match}: /$1/ not found in ${2#"$T"/}"
    fi
}

assert_file_nomatch() {
    if grep -aqE -- "$1" "$2"; then
        grep -aE -- "$1" "$2" | sed 's/^/  | /' >&2
        die "${3:-unexpected match}: /$1/ found in ${2#"$T"/}"
    fi
}

assert_same_file() {
    [ -s "$1" ] || die "${3:-empty file}: ${1#"$T"/} is empty or missing"
    cmp -s "$1" "$2" || die "${3:-files differ}: ${1#"$T"/} vs ${2#"$T"/}"
}

# ---------------------------------------------------------------- network
free_port() {
    python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# wait_port PORT [SECONDS]: until something listens on 127.0.0.1:PORT
# (checked without connecting, so a one-shot server is not consumed).
wait_port() {
    local port=$1 n=$((${2:-20} * 10))
    while [ "$n" -gt 0 ]; do
        if ss -ltnH "sport = :$port" 2>/dev/null | grep -q .; then
            return 0
        fi
        sleep 0.1
        n=$((n - 1))
    done
    die "nothing listens on port $port"
}

# wait_output FILE REGEX [SECONDS]: until FILE has a line matching REGEX.
wait_output() {
    local n=$((${3:-20} * 10))
    while [ "$n" -gt 0 ]; do
        if [ -f "$1" ] && grep -aqE -- "$2" "$1"; then
            return 0
        fi
        sleep 0.1
        n=$((n - 1))
    done
    [ ! -f "$1" ] || sed 's/^/  | /' "$1" >&2
    die "/$2/ did not appear in ${1#"$T"/}"
}

# start_bg NAME CMD...: run CMD in the background, stdout in $T/NAME.out,
# stderr in $T/NAME.err, stdin from $T/NAME.in if it exists (else
# /dev/null); its pid is kept for wait_bg / stop_bg / cleanup.
start_bg() {
    local name=$1 in=/dev/null
    shift
    [ ! -e "$T/$name.in" ] || in=$T/$name.in
    # A shell function in the background would run in a subshell whose pid
    # is not the program's: resolve our wrappers into a plain command so
    # that $! is the program itself and stop_bg reaches it.
    case $1 in
    ossl_raw) set -- preloaded openssl "${@:2}" ;;
    esac
    if [ "$1" = preloaded ]; then
        shift
        if [ -n "${HSMKEY_TEST_PRELOAD:-}" ]; then
            set -- env "LD_PRELOAD=$HSMKEY_TEST_PRELOAD${LD_PRELOAD:+:$LD_PRELOAD}" "$@"
        fi
    fi
    if [ "$(type -t "$1")" = function ]; then
        die "start_bg $name: $1 is a shell function; give a program"
    fi
    "$@" <"$in" >"$T/$name.out" 2>"$T/$name.err" &
    eval "_BG_PID_${name//[^a-zA-Z0-9_]/_}=$!"
    _BG_NAMES+=("$name")
}

_bg_pid() {
    local v=_BG_PID_${1//[^a-zA-Z0-9_]/_}
    printf '%s' "${!v:-}"
}

_bg_kill() {
    local pid
    pid=$(_bg_pid "$1")
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    eval "_BG_PID_${1//[^a-zA-Z0-9_]/_}="
}

# wait_bg NAME [SECONDS]: wait for it to exit by itself; its status in
# BG_STATUS (returns 0). A process still running after SECONDS is killed
# and the test fails.
BG_STATUS=
wait_bg() {
    local name=$1 n=$((${2:-30} * 10)) pid
    pid=$(_bg_pid "$name")
    [ -n "$pid" ] || die "no background process '$name'"
    while kill -0 "$pid" 2>/dev/null && [ "$n" -gt 0 ]; do
        sleep 0.1
        n=$((n - 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        _bg_kill "$name"
        die "'$name' did not exit in time"
    fi
    BG_STATUS=0
    wait "$pid" || BG_STATUS=$?
    eval "_BG_PID_${name//[^a-zA-Z0-9_]/_}="
    _status_check "$BG_STATUS" "$T/$name.err" "$name" || true
}

# stop_bg NAME: kill it (SIGTERM) by pid and reap it.
stop_bg() {
    _bg_kill "$1"
}

# ---------------------------------------------------------------- certificates
# make_ca NAME: a dev CA on disk ($T/NAME.pem, key $T/NAME.key), default
# provider only.
make_ca() {
    ossl_sw req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$T/secret/$1.key" -out "$T/$1.pem" -days 30 \
        -subj "/O=hsmkey tests/CN=$1" \
        -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign 2>"$T/out/$1.err" ||
        die "cannot make CA $1: $(cat "$T/out/$1.err")"
}

# make_cert CA NAME KEY_URI CN: $T/NAME.pem issued by CA for the token key
# KEY_URI (public key exported through the provider, as a node would), with
# SAN DNS:CN + IP:127.0.0.1 and EKU serverAuth+clientAuth.
make_cert() {
    local ca=$1 name=$2 key=$3 cn=$4
    ossl pkey -in "$key" -pubout -out "$T/$name.pub.pem" ||
        die "cannot export the public key of $key through the provider"
    ossl_sw req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$T/secret/$name.throwaway.key" -subj "/CN=$cn" \
        -out "$T/$name.csr" 2>/dev/null
    local ku=digitalSignature
    if ossl_sw pkey -pubin -in "$T/$name.pub.pem" -noout -text |
        grep -q '^Modulus'; then
        ku=digitalSignature,keyEncipherment
    fi
    cat >"$T/$name.ext" <<EOF
basicConstraints = critical,CA:FALSE
keyUsage = critical,$ku
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:$cn,IP:127.0.0.1
EOF
    ossl_sw x509 -req -in "$T/$name.csr" -CA "$T/$ca.pem" \
        -CAkey "$T/secret/$ca.key" -CAcreateserial -days 30 \
        -force_pubkey "$T/$name.pub.pem" -extfile "$T/$name.ext" \
        -out "$T/$name.pem" 2>"$T/out/$name.x509.err" ||
        die "cannot issue $name: $(cat "$T/out/$name.x509.err")"
}

# token_pub ID OUT.pem: the public key with CKA_ID ID, read off the token by
# pkcs11-tool (independent of the provider). pkcs11-tool 0.23 cannot export
# every EC public key, so EC keys are rebuilt from the attributes it lists.
token_pub() {
    local der=$T/out/pub.$1.der
    # pkcs11-tool reads OPENSSL_CONF too: keep hsmkey out of it
    if ! OPENSSL_CONF=$SW_CNF pkcs11-tool --module "$TOKEN_MODULE" --token-label "$TOKEN_LABEL" \
        --read-object --type pubkey --id "$1" -o "$der" >"$der.log" 2>&1; then
        OPENSSL_CONF=$SW_CNF pkcs11-tool --module "$TOKEN_MODULE" \
            --token-label "$TOKEN_LABEL" --list-objects --type pubkey 2>/dev/null |
            python3 "$HSMKEY_SRC/tests/p11pub.py" "$1" "$der" ||
            die "pkcs11-tool cannot read public key id $1"
    fi
    ossl_sw pkey -pubin -inform DER -in "$der" -out "$2"
}
