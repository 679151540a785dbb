#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh [OPTIONS] PROGRAM MODE [ARGS...] - run a tests/c program against a
# fresh throwaway token (softhsm-conf/mktoken.sh, a copy of the build
# directory's template), once per key:
#     PROGRAM MODE URI ARGS...
# where URI is pkcs11:token=forktest;object=KEY;type=private.  In ARGS,
# @URI@ stands for that URI (then it is not inserted after MODE), @URIS@ for
# the URIs of every key at once (one run only), @DIR@ for the token's
# directory (it holds wrong.pin, a PIN the token refuses).
#   --keys "K1 K2..."  the keys (default: rsa-key ec-key)
#   --shim SHIM        the provider talks to SoftHSM2 through the
#                      fault-injecting shim SHIM (tests/p11shim), with the
#                      control file @DIR@/shim.ctl
#   --limits SPEC      the shim's HSMKEY_SHIM_LIMITS (a real HSM's limits)
#   --faults SPEC      the shim's HSMKEY_SHIM_FAULTS
#   --cnf "KEY = V"    one more line in the provider's openssl.cnf section
# Environment: HSMKEY_BUILD, HSMKEY_SRC (from meson); HSMKEY_TEST_WRAP, a
# command to run PROGRAM under (tests/c/valgrind.sh uses it);
# HSMKEY_TEST_PRELOAD (asan setup) is preloaded into PROGRAM.
set -euo pipefail
keys="rsa-key ec-key" shim= limits= faults= cnf=()
while [ $# -gt 0 ]; do
    case $1 in
    --keys) keys=$2; shift 2 ;;
    --shim) shim=$2; shift 2 ;;
    --limits) limits=$2; shift 2 ;;
    --faults) faults=$2; shift 2 ;;
    --cnf) cnf+=("$2"); shift 2 ;;
    *) break ;;
    esac
done
prog=$1 mode=$2
shift 2
label=forktest
dir=$(mktemp -d "${TMPDIR:-/tmp}/hsmkey-c.XXXXXX")
trap 'rm -rf "$dir"' EXIT
HSMKEY_SO=$HSMKEY_BUILD/provider/hsmkey.so \
    HSMKEY_TOKEN_CACHE=${HSMKEY_TOKEN_CACHE-$HSMKEY_BUILD/token-cache} \
    bash "$HSMKEY_SRC/softhsm-conf/mktoken.sh" "$dir" "$label" >/dev/null
(umask 077 && printf '0000-not-the-pin\n' >"$dir/wrong.pin")
export SOFTHSM2_CONF=$dir/softhsm2.conf OPENSSL_CONF=$dir/openssl.cnf
export HSMKEY_TEST_TOKEN=$label
if [ -n "$shim" ]; then
    [ -s "$shim" ] || { echo "run.sh: shim $shim not built" >&2; exit 1; }
    export HSMKEY_PKCS11_MODULE=$shim HSMKEY_TEST_SHIM=$shim
    export HSMKEY_SHIM_CONTROL=$dir/shim.ctl
    unset HSMKEY_SHIM_FAULTS HSMKEY_SHIM_COUNTS HSMKEY_SHIM_STRICT \
        HSMKEY_SHIM_LIMITS
    [ -z "$limits" ] || export HSMKEY_SHIM_LIMITS=$limits HSMKEY_SHIM_STRICT=1
    [ -z "$faults" ] || export HSMKEY_SHIM_FAULTS=$faults HSMKEY_SHIM_STRICT=1
fi
for line in ${cnf[@]+"${cnf[@]}"}; do
    printf '%s\n' "$line" >>"$dir/openssl.cnf" # the last section: hsmkey's
done
read -r -a wrap <<<"${HSMKEY_TEST_WRAP:-}"
# Under the asan setup: the runtime, and fake_dlclose so that hsmkey.so stays
# mapped and leak reports at exit name its frames (tests/meson.build).
if [ -n "${HSMKEY_TEST_PRELOAD:-}" ]; then
    wrap=(env "LD_PRELOAD=$HSMKEY_TEST_PRELOAD" ${wrap[@]+"${wrap[@]}"})
fi

uri_of() { printf 'pkcs11:token=%s;object=%s;type=private' "$label" "$1"; }
all=()
for key in $keys; do
    all+=("$(uri_of "$key")")
done

# ARGS with the placeholders filled in for one key ($1: its URI).
fill() {
    local one=$1 a
    shift
    args=()
    for a in "$@"; do
        case $a in
        @URIS@) args+=("${all[@]}") ;;
        *) a=${a//@URI@/$one}; args+=("${a//@DIR@/$dir}") ;;
        esac
    done
}

case " $* " in
*" @URIS@ "*)
    fill "" "$@"
    "${wrap[@]}" "$prog" "$mode" "${args[@]}"
    echo "$mode ($keys): ok"
    ;;
*)
    for key in $keys; do
        fill "$(uri_of "$key")" "$@"
        case " $* " in
        *@URI@*) "${wrap[@]}" "$prog" "$mode" "${args[@]}" ;;
        *) "${wrap[@]}" "$prog" "$mode" "$(uri_of "$key")" "${args[@]}" ;;
        esac
        echo "$mode $key: ok"
    done
    ;;
esac
