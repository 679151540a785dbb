#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench.sh HSMKEY_BENCH [ARGS...] - run the benchmark on throwaway SoftHSM2
# tokens: signing rates, handshakes, load times, throughput and many-key
# loads on the real token; then the provider's own cost on the instant
# token, the token calls per signature and the searches of many-key loads,
# each with the provider on the test shim (tests/p11shim).  ARGS
# (--seconds, --rounds, ...) go to every timed run.  `meson test -C build
# --benchmark --verbose` runs it with the defaults; see BENCHMARKS.md.
set -euo pipefail
bench=$1
shift
build=${HSMKEY_BUILD:?run through meson or set HSMKEY_BUILD}
src=${HSMKEY_SRC:?}
shim=$build/tests/p11shim/hsmkey-p11shim.so
softhsm=/usr/lib/softhsm/libsofthsm2.so
[ -e "$shim" ] || { echo "bench.sh: $shim not built" >&2; exit 1; }
# On tmpfs when there is one: SoftHSM2 writes each object to a file (a
# token of 1000 objects is made in a second there, in minutes on a busy
# shared disk), and the benchmark is about CPU, not the disk.
dir=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$dir"' EXIT

HSMKEY_SO=$build/provider/hsmkey.so \
    HSMKEY_TOKEN_CACHE=${HSMKEY_TOKEN_CACHE-$build/token-cache} \
    bash "$src/softhsm-conf/mktoken.sh" "$dir" bench >/dev/null
export SOFTHSM2_CONF=$dir/softhsm2.conf
pin=$(head -n1 "$dir/pin")
# The tools use the default provider only (an instrumented hsmkey.so would
# not load into them).
OPENSSL_CONF=/dev/null pkcs11-tool --module "$softhsm" --token-label bench \
    --login --pin "$pin" --keypairgen --key-type EC:edwards25519 --id 06 \
    --label ed-key >/dev/null
# The token for many keys (filled by the benchmark itself).
OPENSSL_CONF=/dev/null softhsm2-util --init-token --free --label many \
    --so-pin "$pin-so" --pin "$pin" >/dev/null
export OPENSSL_CONF=$dir/openssl.cnf

export HSMKEY_BENCH_TOKEN=bench HSMKEY_BENCH_MANY=many HSMKEY_BENCH_PIN=$pin \
    HSMKEY_BENCH_MODULE=$softhsm
echo "# hsmkey benchmark"
echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores ($(uname -m)," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg) at the start)," \
     "$(OPENSSL_CONF=/dev/null openssl version), SoftHSM2" \
     "$(OPENSSL_CONF=/dev/null softhsm2-util --version), token" \
     "store on $(df --output=fstype "$dir" | tail -n1)"
echo
start=$(date +%s)
"$bench" "$@"

# The same provider on the shim: the instant token, then the call count.
sed "s|^pkcs11-module *=.*|pkcs11-module = $shim|" "$OPENSSL_CONF" \
    >"$dir/shim.cnf"
OPENSSL_CONF=$dir/shim.cnf HSMKEY_SHIM_MODULE=$softhsm HSMKEY_SHIM_INSTANT=1 \
    HSMKEY_BENCH_MODULE=$shim HSMKEY_BENCH_SHIM=$shim \
    "$bench" --instant "$@"
OPENSSL_CONF=$dir/shim.cnf HSMKEY_SHIM_MODULE=$softhsm \
    HSMKEY_BENCH_SHIM=$shim "$bench" --count-calls 1000
OPENSSL_CONF=$dir/shim.cnf HSMKEY_SHIM_MODULE=$softhsm \
    HSMKEY_BENCH_SHIM=$shim "$bench" --count-finds "$@"
echo
echo "Run time: $(($(date +%s) - start)) s; load average at the end" \
     "$(cut -d' ' -f1-3 /proc/loadavg)."
